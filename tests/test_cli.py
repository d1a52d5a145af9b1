"""The command line: every shipped params file passes `check`, bad input is one clear message and a non-zero
exit (never a traceback), `--debug` / TRACER1KIT_DEBUG=1 give the traceback, and real bugs keep theirs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracer1kit.cli import main, raised_on_purpose
from tracer1kit.params import ParamsError
from tracer1kit.training.preflight import TrainingInputError

REPO = Path(__file__).resolve().parents[1]
PARAMS = sorted((REPO / "params").glob("*.yaml"))


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("path", PARAMS, ids=[p.name for p in PARAMS])
def test_every_shipped_params_file_passes_check(capsys, monkeypatch, path):
    monkeypatch.chdir(REPO)
    code, out, err = run_main(capsys, "check", str(path.relative_to(REPO)))
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].startswith(f"params/{path.name}: ok (")
    notes = [line for line in out.splitlines() if line.startswith("note:")]
    data_path = next((line.split(":", 1)[1].strip() for line in path.read_text().splitlines()
                      if line.strip().startswith("path:")), None)
    if data_path is not None and not (REPO / data_path.split("#")[0].strip()).exists():
        assert len(notes) == 1 and "does not exist here" in notes[0] and "nothing is downloaded" in notes[0]
    else:
        assert notes == []


def test_check_catches_a_horizon_longer_than_the_tasks_episodes(capsys, tmp_path):
    """Issue 18.6: params/gpu_qwen25vl.yaml shipped horizon 5 on tasks whose longest episode is 4 steps."""
    bad = tmp_path / "gpu_k5.yaml"
    bad.write_text(f"base: {REPO / 'params' / 'gpu_qwen25vl.yaml'}\nplanner:\n  horizon: 5\n")
    code, out, err = run_main(capsys, "check", str(bad))
    assert (code, out) == (2, "")
    assert err == (f"error: {bad}: planner.horizon = 5 is larger than the longest training episode (4 steps: tool use "
                   "(receipt_tip), the longest expert episode known for the training tasks); lower planner.horizon to "
                   "at most 4 or train on longer tasks\n")


def test_check_runs_the_evaluation_plan_too(capsys, tmp_path):
    bad = tmp_path / "grid.yaml"
    bad.write_text(f"base: {REPO / 'params' / 'quickstart.yaml'}\neval:\n  horizons: [1, 3, 9]\n  variants: [tracer1]\n")
    code, _, err = run_main(capsys, "check", str(bad))
    assert code == 2 and "planner.horizon = 9 is larger" in err and "training with planner.horizon=9" in err
    bad.write_text(f"base: {REPO / 'params' / 'quickstart.yaml'}\neval:\n  variants: [tracer2]\n")
    code, _, err = run_main(capsys, "check", str(bad))
    assert code == 2 and "eval.variants: unknown variant 'tracer2'" in err


@pytest.mark.parametrize("content, fragment", [
    (b"run:\n  name: caf\xe9\n", "not UTF-8 text (byte 0xe9 at offset 16): save the file as UTF-8"),
    (None, "is a folder, not a params file"),
    (b"base: sub\n", "base: "),
    (b"planner:\n  horizn: 3\n", "planner.horizn: unknown key"),
])
def test_check_reports_bad_files_in_one_line(capsys, tmp_path, content, fragment):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" if content is None else tmp_path / "p.yaml"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run_main(capsys, "check", str(path))
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {path}") and fragment in err and err.count("\n") == 1 and "Traceback" not in err


def write_params(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text("env:\n  tasks: [click-button]\n  heldout_tasks: []\ntooluse:\n  enabled: false\n"
                    "planner:\n  horizon: 1\n" + text)
    return path


@pytest.mark.parametrize("text, fragment", [
    ("planner:\n  horizon: 2\n", "planner.horizon = 2 is larger than the longest training episode (1 steps"),
    ("train:\n  stage1: {per_device_batch_size: 6, num_generations: 4}\n", "train.stage1: per_device_batch_size"),
    ("train:\n  sft: {init_from: /nonexistent/model}\n", "train.sft.init_from: checkpoint /nonexistent/model does not"),
    ("env:\n  tasks: [click-button]\n  train_seeds: []\n", "no training episodes"),
])
def test_train_refuses_bad_input_in_one_message_before_writing_anything(capsys, tmp_path, text, fragment):
    """Issue 18.5: these arrived as a full traceback, the horizon one after the expert data was generated."""
    path = write_params(tmp_path, text)
    code, out, err = run_main(capsys, "train", str(path), "--run-dir", str(tmp_path / "run"))
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and fragment in err and "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_debug_flag_and_variable_show_the_traceback(capsys, tmp_path, monkeypatch):
    path = write_params(tmp_path, "planner:\n  horizon: 2\n")
    args = ["train", str(path), "--run-dir", str(tmp_path / "run")]
    for argv in (["--debug", *args], [*args, "--debug"]):
        with pytest.raises(TrainingInputError, match="planner.horizon = 2"):
            main(argv)
    monkeypatch.setenv("TRACER1KIT_DEBUG", "1")
    with pytest.raises(ParamsError, match="no such params file"):
        main(["check", str(tmp_path / "missing.yaml")])
    monkeypatch.setenv("TRACER1KIT_DEBUG", "0")
    assert main(["check", str(tmp_path / "missing.yaml")]) == 2


def test_a_bug_keeps_its_traceback(monkeypatch, tmp_path):
    import tracer1kit.cli as cli

    def broken(_):
        return {}["missing"]

    monkeypatch.setattr(cli, "_cmd_check", broken)
    with pytest.raises(KeyError):
        main(["check", str(write_params(tmp_path, ""))])


def test_what_counts_as_raised_on_purpose():
    from tracer1kit.envs.tooluse import recipe

    def caught(call):
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - the exception itself is under test
            return exc
        raise AssertionError("no exception")

    assert raised_on_purpose(caught(lambda: recipe("nope")))              # a ValueError raised by the kit
    assert raised_on_purpose(ParamsError("x"))                             # the kit's own class
    assert not raised_on_purpose(caught(lambda: json.loads("{")))          # a library's error
    assert not raised_on_purpose(caught(lambda: int("x")))                 # a failed call outside the kit
    assert not raised_on_purpose(caught(lambda: open("/nonexistent/x")))   # not in the kit's code


def test_the_installed_command_prints_no_traceback(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"run:\n  name: caf\xe9\n")
    env = {k: v for k, v in os.environ.items() if k != "TRACER1KIT_DEBUG"}
    done = subprocess.run([sys.executable, "-m", "tracer1kit.cli", "check", str(path)], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"error: {path}: not UTF-8 text (byte 0xe9 at offset 16): save the file as UTF-8\n"
