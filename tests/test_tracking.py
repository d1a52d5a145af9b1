"""Experiment tracking: a tiny training with ``train.report_to: [tensorboard, trackio]`` leaves curves in both,
TRL's metrics and the kit's own (reward terms, parse failures, pre-pass and dynamic-sampling counts), one tracker
run per stage; trackers that are not installed are refused before training."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracer1kit.params import ParamsError, Params, params_from_dict, with_overrides
from tracer1kit.runs import RunDir
from tracer1kit.training.preflight import preflight
from tracer1kit.training.tracking import tracker_kwargs, tracker_run_name

HERE = Path(__file__).resolve().parent

TRAIN = """
import json, sys
sys.path.insert(0, {here!r})
from pathlib import Path
from training_data import store_episodes, tiny_params
from tracer1kit.training.pipeline import train
root = Path(sys.argv[1])
params = tiny_params(**{{"train.report_to": ["tensorboard", "trackio"], "train.run_name": "tiny",
                         "run.name": "tracking-test", "train.sft.max_steps": 2, "train.stage2.enabled": False,
                         "train.stage1.prepass.enabled": True, "train.stage1.prepass.max_states": 4,
                         "train.stage1.dynamic_sampling.mode": "drop"}})
train(params, root / "run", stages=["sft", "stage1"], episodes_root=store_episodes(root / "eps", range(6)))
from trackio.sqlite_storage import SQLiteStorage
runs = SQLiteStorage.get_runs("tracking-test")
print(json.dumps({{run: SQLiteStorage.get_logs("tracking-test", run) for run in runs}}, default=str))
"""


def tensorboard_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


@pytest.mark.slow
def test_a_tiny_training_reports_to_tensorboard_and_trackio(tmp_path):
    env = {**os.environ, "TRACKIO_DIR": str(tmp_path / "trackio"), "PYTHONPATH": str(HERE.parent)}
    done = subprocess.run([sys.executable, "-c", TRAIN.format(here=str(HERE)), str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run = RunDir(tmp_path / "run")
    logged = {stage: run.metrics(stage) for stage in ("sft", "stage1")}

    board = {stage: tensorboard_scalars(tmp_path / "run" / "tensorboard" / stage) for stage in ("sft", "stage1")}
    assert [v for _, v in board["sft"]["train/loss"]] == pytest.approx([m["loss"] for m in logged["sft"] if "loss" in m])
    stage1 = board["stage1"]
    for tag in ("train/rewards/alignment/mean", "train/frac_reward_zero_std", "train/parse_failure_rate",
                "train/groups/dropped", "train/prepass/kept"):
        assert tag in stage1, sorted(stage1)
    last = [m for m in logged["stage1"] if "rewards/alignment/mean" in m][-1]
    assert stage1["train/rewards/alignment/mean"][-1] == (last["step"], pytest.approx(last["rewards/alignment/mean"]))
    prepass = next(m for m in logged["stage1"] if "prepass/kept" in m)
    assert stage1["train/prepass/kept"] == [(0, prepass["prepass/kept"])]

    tracked = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(tracked) == ["tiny-sft", "tiny-stage1"]  # one tracker run per stage: the stage boundaries
    sft_losses = [r["train/loss"] for r in tracked["tiny-sft"] if "train/loss" in r]
    assert sft_losses == pytest.approx([m["loss"] for m in logged["sft"] if "loss" in m])
    rows = tracked["tiny-stage1"]
    assert [r["train/prepass/kept"] for r in rows if "train/prepass/kept" in r] == [prepass["prepass/kept"]]
    rewards = [r["train/rewards/alignment/mean"] for r in rows if "train/rewards/alignment/mean" in r]
    assert rewards == pytest.approx([m["rewards/alignment/mean"] for m in logged["stage1"] if "rewards/alignment/mean" in m])
    assert any("train/parse_failure_rate" in r and "train/groups/dropped" in r for r in rows)


@pytest.mark.parametrize("given, expected", [("none", []), (None, []), ("trackio", ["trackio"]),
                                             (["tensorboard", "wandb"], ["tensorboard", "wandb"]), (["none"], [])])
def test_report_to_takes_trls_forms(given, expected, tmp_path):
    params = params_from_dict({"train": {"report_to": given, "run_name": "r"}, "run": {"name": "proj"}})
    assert params.train.report_to == expected
    kwargs = tracker_kwargs(params, RunDir(tmp_path / "myrun"), "stage1")
    assert kwargs == {"report_to": expected or "none", "run_name": "r-stage1", "project": "proj"}


def test_unknown_trackers_are_refused_naming_the_key():
    with pytest.raises(ParamsError, match=r"train.report_to.0: Input should be 'tensorboard', 'trackio', 'wandb'"):
        params_from_dict({"train": {"report_to": ["tensorbord"]}})


def test_the_run_name_defaults_to_the_run_folder(tmp_path):
    assert tracker_run_name(Params().train, RunDir(tmp_path / "seed3"), "sft") == "seed3-sft"


def test_a_tracker_that_is_not_installed_is_refused_before_training(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    problems = preflight(with_overrides(Params(), {"train.report_to": ["tensorboard", "wandb"]}))
    assert any(p.startswith("train.report_to: wandb not installed here; pip install wandb") for p in problems), problems
    assert not any("report_to" in p for p in preflight(with_overrides(Params(), {"train.report_to": ["tensorboard"]})))
