"""Faults around real trainings, through the command line as a user meets them (tiny model, hand-built expert
episodes, seconds of training): two `train` commands into one run directory, `kill -9` mid-SFT then `--resume`,
and a damaged final model under the next stage."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tracer1kit.domains import data as domain_data
from tracer1kit.domains import miniwob
from tracer1kit.experts.data import store_episodes
from tracer1kit.runs import RunDir
from tracer1kit.training.common import final_dir

from training_data import episode, tiny_params

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
STEPS, SAVE = 24, 4


def prepared(tmp_path: Path, name: str, monkeypatch) -> tuple[Path, Path]:
    """A params file and a run directory whose expert data is already there (hand-built episodes stored by the
    kit's own once-per-params generation, so `train` starts no browser)."""
    params = tiny_params(**{"train.sft.max_steps": STEPS, "train.sft.save_steps": SAVE})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False))
    monkeypatch.setattr(miniwob, "generate_expert_episodes", lambda tasks, seeds, store_dir, *, split, **_:
                        store_episodes([episode(s, split) for s in seeds], store_dir, split))
    domain_data.generate_expert_data(params, RunDir.create(tmp_path / name).episodes_dir)
    return path, tmp_path / name


def train(params: Path, run_dir: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "tracer1kit.cli", "train", str(params), "--run-dir", str(run_dir),
                             "--stage", "sft", *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def weights(run_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(final_dir(RunDir(run_dir), "sft") / "model.safetensors"))


def test_a_second_writer_a_kill_9_and_a_damaged_model_around_real_trainings(tmp_path, monkeypatch):
    params, whole = prepared(tmp_path, "whole", monkeypatch)
    _, killed = prepared(tmp_path, "killed", monkeypatch)

    # kill -9 mid-SFT, after its first complete checkpoint
    proc = train(params, killed)
    checkpoints = killed / "checkpoints" / "sft"
    deadline = time.time() + 300
    while time.time() < deadline and not list(checkpoints.glob("checkpoint-*/trainer_state.json")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not final_dir(RunDir(killed), "sft").exists(), "killed too late: training had finished"

    # an uninterrupted run, and a second `train` into its run directory while it trains: refused, holder named
    first = train(params, whole)
    while not (whole / ".writer.lock").exists() or not (whole / ".writer.lock").read_text():
        assert first.poll() is None, first.communicate()
        time.sleep(0.2)
    second = train(params, whole)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 1 and err.startswith("error: ") and err.count("\n") == 1, err
    assert f"PID {first.pid}" in err and f"tracer1kit train {params}" in err
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert [(r["stage"], r["step"]) for r in RunDir(whole).metrics()] == [("sft", s) for s in range(1, STEPS + 1)]

    # --resume the killed run: it takes over the dead writer's lock and ends with the same weights, bit for bit
    resumed = train(params, killed, "--resume")
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert f"taking over the lock of PID {proc.pid}" in err
    a, b = weights(whole), weights(killed)
    assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a)
    assert [r["step"] for r in RunDir(killed).metrics("sft")] == list(range(1, STEPS + 1))

    # the next stage over a damaged final model: one line naming the file, the stage and the fix
    model = final_dir(RunDir(whole), "sft") / "model.safetensors"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "tracer1kit.cli", "train", str(params), "--run-dir", str(whole),
                           "--stage", "stage1"], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    error = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and str(model) in error[0] and "the sft model of" in error[0], proc.stderr
    assert "--stage sft" in error[0]
