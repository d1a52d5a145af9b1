"""Faults a run directory meets: a second writer, a writer killed while holding the lock, files cut short or
corrupted on disk. Each ends in one clear error naming the holder or the file and the fix, or is repaired; the
kit's other files are never touched by the refused writer. (Killed trainings: test_fault_training.py.)"""

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import pytest
from PIL import Image

from tracer1kit.cli import build_parser, main, raised_on_purpose, writing
from tracer1kit.episodes import Episode, EpisodeStore, Observation, StepRecord
from tracer1kit.runlock import RunDirBusy, acquire, holder, release, run_lock
from tracer1kit.runs import RunDir, UnreadableFile, append_jsonl, check_files, read_jsonl, unreadable

REPO = Path(__file__).resolve().parents[1]
HOLDER = """
import sys, time
from tracer1kit.runlock import acquire
acquire(sys.argv[1], "tracer1kit train params/ci.yaml")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def python(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {**(os.environ if env is None else env), "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def holding(run_dir: Path, seconds: float = 60) -> subprocess.Popen:
    """A real second process holding the run's write lock."""
    proc = python("-c", HOLDER, str(run_dir), str(seconds))
    assert proc.stdout.readline().strip() == "held", proc.stderr.read()
    return proc


def test_a_second_writer_is_refused_with_the_holder_named(tmp_path):
    run_dir = tmp_path / "run"
    proc = holding(run_dir)
    try:
        with pytest.raises(RunDirBusy) as refused:
            acquire(run_dir)
        message = str(refused.value)
        assert f"PID {proc.pid}" in message and "tracer1kit train params/ci.yaml" in message and "started 20" in message
        assert "another --run-dir" in message
        start = time.monotonic()
        cli = python("-m", "tracer1kit.cli", "train", str(REPO / "params" / "ci.yaml"), "--run-dir", str(run_dir))
        out, err = cli.communicate(timeout=120)
        assert cli.returncode == 1, err
        assert err.strip().count("\n") == 0 and err.startswith("error: ") and f"PID {proc.pid}" in err, err
        assert time.monotonic() - start < 60  # refused at once, before any data or model is loaded
        assert not (run_dir / "params.yaml").exists() and not (run_dir / "episodes").exists()
    finally:
        proc.kill()
        proc.wait()


def test_a_lock_left_by_a_killed_writer_is_taken_over_with_a_warning(tmp_path, caplog):
    run_dir = tmp_path / "run"
    proc = holding(run_dir)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert holder(run_dir)["pid"] == proc.pid  # its record outlives it; the kernel dropped its flock
    with caplog.at_level("WARNING", logger="tracer1kit"):
        assert acquire(run_dir, "me")
    try:
        assert f"taking over the lock of PID {proc.pid}" in caplog.text
        assert holder(run_dir)["pid"] == os.getpid() and holder(run_dir)["command"] == "me"
    finally:
        release(run_dir)
    assert holder(run_dir) is None  # a writer that ends normally leaves no record behind


def test_a_writer_that_exits_normally_leaves_nothing_to_take_over(tmp_path, caplog):
    run_dir = tmp_path / "run"
    proc = holding(run_dir, seconds=0)
    proc.wait()
    assert holder(run_dir) is None
    with caplog.at_level("WARNING", logger="tracer1kit"), run_lock(run_dir):
        assert "taking over" not in caplog.text


def test_the_holders_own_claims_nest_and_its_child_processes_share_them(tmp_path):
    run_dir = tmp_path / "run"
    with run_lock(run_dir, "outer"):
        with run_lock(run_dir, "inner"):  # train inside evaluate, train_main after setup
            assert holder(run_dir)["command"] == "outer"
        assert holder(run_dir)["command"] == "outer"
        child = python("-c", "import sys; from tracer1kit.runlock import acquire; print(acquire(sys.argv[1]))",
                       str(run_dir))  # a notebook kernel started by `tracer1kit run`
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0 and out.strip() == "False", err
        stranger = python("-c", "import sys; from tracer1kit.runlock import acquire; acquire(sys.argv[1])",
                          str(run_dir), env={k: v for k, v in os.environ.items() if k != "TRACER1KIT_RUN_LOCKS"})
        stranger.communicate(timeout=60)
        assert stranger.returncode != 0
    assert holder(run_dir) is None


def test_every_command_that_writes_a_run_locks_it_and_check_does_not(tmp_path):
    params = str(REPO / "params" / "ci.yaml")
    for command in ("run", "generate", "train", "evaluate"):
        args = build_parser().parse_args([command, params, "--run-dir", str(tmp_path / command)])
        with writing(args):
            assert holder(tmp_path / command)["command"] == f"tracer1kit {command} {params}"
        assert holder(tmp_path / command) is None
    assert isinstance(writing(build_parser().parse_args(["check", params])), nullcontext)


def test_writing_notebooks_lock_and_reading_ones_do_not(tmp_path):
    from tracer1kit.notebook import setup

    run_dir = tmp_path / "run"
    proc = holding(run_dir)
    try:
        params, run = setup(REPO / "params" / "ci.yaml", run_dir, write=False)  # results, inspector
        assert run.root == run_dir.resolve()
        with pytest.raises(RunDirBusy, match=f"PID {proc.pid}"):
            setup(REPO / "params" / "ci.yaml", run_dir)
    finally:
        proc.kill()
        proc.wait()
    notebooks = {p.name: p.read_text() for p in (REPO / "notebooks").glob("*.ipynb")}
    readers = {name for name, text in notebooks.items() if "write=False" in text}
    assert readers == {n for n, text in notebooks.items() if "train_main" not in text and "ensure_expert_data" not in text
                       and "evaluate(" not in text}


# --- files cut short or corrupted -------------------------------------------------------------------------


def safetensors_file(path: Path) -> Path:
    import torch
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"w": torch.arange(64, dtype=torch.float32), "b": torch.ones(3)}, str(path))
    return path


@pytest.mark.parametrize("keep", [4, 30, -10])
def test_a_truncated_safetensors_file_is_named_with_its_stage_and_fix(tmp_path, keep):
    final = tmp_path / "run" / "checkpoints" / "stage1" / "final"
    weights = safetensors_file(final / "model.safetensors")
    check_files(final)  # whole: fine
    data = weights.read_bytes()
    weights.write_bytes(data[:keep] if keep > 0 else data[:keep])
    with pytest.raises(UnreadableFile) as error:
        check_files(final)
    message = str(error.value)
    assert str(weights) in message and "stage1 model" in message and "--stage stage1" in message
    assert raised_on_purpose(error.value)  # the command line prints it as one `error:` line


def test_loading_a_damaged_final_model_names_the_file_not_a_deserializer(tmp_path):
    from tracer1kit.models import load_policy

    final = tmp_path / "run" / "checkpoints" / "sft" / "final"
    weights = safetensors_file(final / "model.safetensors")
    (final / "config.json").write_text('{"model_type": "qwen2"')
    with pytest.raises(UnreadableFile, match=r"config.json \(not valid JSON.*the sft model of"):
        load_policy(str(final))
    (final / "config.json").write_text("{}")
    weights.write_bytes(weights.read_bytes()[:-1])
    with pytest.raises(UnreadableFile, match=r"model.safetensors \(truncated safetensors data"):
        load_policy(str(final))


def test_a_damaged_intermediate_checkpoint_is_refused_on_resume(tmp_path):
    from tracer1kit.training.common import stage_dir, start_point

    run = RunDir.create(tmp_path / "run")
    folder = stage_dir(run, "sft") / "checkpoint-10"
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text("{}")
    (folder / "optimizer.pt").write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(UnreadableFile, match=r"optimizer.pt \(not a complete torch archive\); it is the sft "
                                             r"checkpoint checkpoint-10 of .*delete .*checkpoint-10; train --resume"):
        start_point(run, "sft", resume=True)
    assert start_point(run, "sft", resume=False) is None  # training afresh does not read it


def episode_with_screenshot(seed: int, split: str) -> Episode:
    obs = Observation("Click OK.", Image.new("RGB", (32, 24), (seed, 0, 0)), task="click-button", seed=seed)
    return Episode(f"click-button-{seed}", "click-button", seed, obs.instruction, (StepRecord(obs),), split=split)


def test_damaged_episode_files_name_the_store_the_split_and_the_fix(tmp_path):
    store_dir = tmp_path / "run" / "episodes" / "expert"
    store = EpisodeStore(store_dir)
    store.write_all(episode_with_screenshot(s, "train") for s in range(3))
    screenshot = store_dir / "images" / "click-button-1" / "000.png"
    screenshot.write_bytes(screenshot.read_bytes()[:40])
    first, second, _ = store.read()
    assert first.steps[0].observation.image().size == (32, 24)
    with pytest.raises(UnreadableFile) as error:
        second.steps[0].observation.image()
    assert str(screenshot) in str(error.value) and "episode click-button-1" in str(error.value)
    assert "tracer1kit generate PARAMS --run-dir" in str(error.value)
    lines = store.path.read_text().splitlines(keepends=True)
    broken = json.loads(lines[1])
    del broken["instruction"]
    store.path.write_text(lines[0] + json.dumps(broken) + "\n" + lines[2])
    with pytest.raises(UnreadableFile, match=r"episode 2 is not a valid record.*the expert train split of"):
        store.read()
    store.path.write_text(lines[0] + "{not json\n" + lines[2])
    with pytest.raises(UnreadableFile, match=r"line 2 is not JSON.*the expert episodes of .*delete .*expert"):
        store.read()


def test_evaluation_episodes_are_made_again_by_evaluate(tmp_path):
    error = unreadable(tmp_path / "run" / "episodes" / "eval" / "episodes.jsonl", "line 3 is not JSON")
    assert "tracer1kit evaluate PARAMS" in str(error)


def test_a_damaged_params_copy_is_named_before_training_starts(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints" / "sft" / "final").mkdir(parents=True)
    (run_dir / "params.yaml").write_text("model: {spec: tiny\nplanner: [")
    proc = python("-m", "tracer1kit.cli", "train", str(REPO / "params" / "ci.yaml"), "--run-dir", str(run_dir))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and err.count("\n") == 1, err
    assert err.startswith(f"error: cannot read {run_dir.resolve() / 'params.yaml'} (not valid YAML") and "delete it" in err
    assert holder(run_dir) is None  # the refused command released the lock


def test_a_corrupt_line_inside_a_jsonl_file_is_named_by_its_number(tmp_path):
    run = RunDir.create(tmp_path / "run")
    run.log_metrics({"stage": "sft", "step": 1})
    with run.metrics_path.open("a") as handle:
        handle.write("\x00\x00garbage\n")
    run.log_metrics({"stage": "sft", "step": 2})
    with pytest.raises(UnreadableFile, match=r"metrics.jsonl \(line 2 is not JSON.*training log"):
        run.metrics()


def test_a_partial_last_metrics_line_does_not_swallow_the_next_record(tmp_path):
    run = RunDir.create(tmp_path / "run")
    run.log_metrics({"stage": "sft", "step": 1})
    with run.metrics_path.open("a") as handle:
        handle.write('{"stage": "sft", "st')
    assert [r["step"] for r in run.metrics()] == [1]
    run.log_metrics({"stage": "sft", "step": 2})
    assert [r["step"] for r in run.metrics()] == [1, 2]


def test_a_damaged_model_cache_entry_is_built_again(tmp_path, caplog):
    from tracer1kit.models import resolve_checkpoint

    entry = resolve_checkpoint("tiny", str(tmp_path / "cache"))
    weights = next(entry.glob("*.safetensors"))
    whole = weights.read_bytes()
    weights.write_bytes(whole[: len(whole) // 2])
    with caplog.at_level("WARNING", logger="tracer1kit"):
        again = resolve_checkpoint("tiny", str(tmp_path / "cache"))
    assert again == entry and weights.read_bytes() == whole  # rebuilt, bit for bit
    assert "model cache" in caplog.text and str(weights) in caplog.text and "building it again" in caplog.text
    check_files(entry)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [entry.name]  # no damaged copy left behind


def test_appends_from_two_processes_interleave_whole_lines(tmp_path):
    path = tmp_path / "m.jsonl"
    code = ("import sys\nfrom tracer1kit.runs import append_jsonl\n"
            "for i in range(200): append_jsonl(sys.argv[1], {'w': sys.argv[2], 'i': i, 'pad': 'x' * 3000})")
    procs = [python("-c", code, str(path), name) for name in "ab"]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    rows = list(read_jsonl(path))
    for name in "ab":
        assert [r["i"] for r in rows if r["w"] == name] == list(range(200))


SLOW_APPENDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_APPEND)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, b'{"w": "slow", ')
print("half", flush=True)
time.sleep(2)
os.write(fd, b'"i": 0}\\n')
"""


def test_an_append_waits_for_a_line_another_process_is_still_writing(tmp_path):
    path = tmp_path / "m.jsonl"
    slow = python("-c", SLOW_APPENDER, str(path))
    assert slow.stdout.readline().strip() == "half", slow.stderr.read()
    append_jsonl(path, {"w": "fast", "i": 0})  # must not take the half line for a torn tail left by a crash
    assert slow.wait(timeout=60) == 0
    assert list(read_jsonl(path)) == [{"w": "slow", "i": 0}, {"w": "fast", "i": 0}]


def test_cli_prints_one_error_line_for_a_damaged_file(tmp_path, capsys, monkeypatch):
    def broken(args):
        raise unreadable(tmp_path / "run" / "checkpoints" / "stage2" / "final" / "model.safetensors", "truncated")

    monkeypatch.setattr("tracer1kit.cli._cmd_evaluate", broken)
    assert main(["evaluate", str(REPO / "params" / "ci.yaml"), "--run-dir", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error: cannot read" in err and "stage2 model" in err


@pytest.mark.slow
def test_notebooks_run_by_tracer1kit_run_write_under_its_lock(tmp_path):
    """A real papermill kernel: its writing ``setup`` shares the runner's claim instead of being refused."""
    import nbformat

    from tracer1kit.notebook_runner import run_notebooks

    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                          "display_name": "Python 3"}})
    nb.cells = [nbformat.v4.new_code_cell('params_path = ""\nrun_dir = ""', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("from tracer1kit.notebook import setup\nparams, run = setup(params_path, run_dir)\n"
                                          "(run.root / 'written.txt').write_text('ok')")]
    nbformat.write(nb, folder / "writer.ipynb")
    run_dir = tmp_path / "run"
    with run_lock(run_dir, "tracer1kit run"):  # as the command line holds it
        results = run_notebooks(REPO / "params" / "ci.yaml", run_dir, notebooks_dir=folder, only=["writer"],
                                progress=False)
    assert results[0].status == "executed" and (run_dir / "written.txt").read_text() == "ok"
