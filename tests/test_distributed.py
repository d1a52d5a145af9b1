"""Scale. Several processes: ``tracer1kit train`` under ``accelerate launch`` (2 CPU processes, gloo) writes the
expert data, every metrics line and every checkpoint once, from the main process; a stopped launch resumes under
the same launch; only the main process prints; ``evaluate`` refuses with a message. A resumed stage really goes on
from its checkpoint's weights (transformers' own reload misses Qwen2.5-VL's renamed keys). The GPU check
(benchmarks/gpu_check.py) runs on the CPU, and what it relies on holds there: its model builder, bf16 fingerprints,
no redundant end-of-training checkpoint."""

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from tracer1kit.runs import RunDir, read_jsonl
from tracer1kit.params import Params
from tracer1kit.training.common import (final_dir, last_checkpoint, stage_dir, trainer_kwargs, training_dtype,
                                        weights_fingerprint)
from tracer1kit.training.pipeline import train
from tracer1kit.training.processes import SeveralProcessesError, refuse_several_processes

from training_data import store_episodes, tiny_params

REPO = Path(__file__).resolve().parents[1]

# tracer1kit's command line, observed: every model save and every expert episode written is recorded with the
# writer's rank; a replica's output goes to its own file; STOP_AT=stage:step ends every process right after that
# step is logged (before its checkpoint), as a kill would.
LAUNCHED = '''
import json, os, sys
rank = int(os.environ.get("RANK", "0"))
if rank:
    replica = os.open(os.environ["REPLICA_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(replica, 1)
    os.dup2(replica, 2)
from pathlib import Path
from transformers import PreTrainedModel
from tracer1kit.cli import main
from tracer1kit.episodes import EpisodeStore
from tracer1kit.training.common import MetricsCallback


def recorded(method, kind, what):
    def wrapper(self, target, *args, **kwargs):
        with open(os.environ["WRITES_LOG"], "a") as log:
            log.write(json.dumps({"rank": rank, "kind": kind, "what": what(self, target)}) + "\\n")
        return method(self, target, *args, **kwargs)
    return wrapper


PreTrainedModel.save_pretrained = recorded(PreTrainedModel.save_pretrained, "model",
                                           lambda _, folder: str(Path(folder).resolve()))
EpisodeStore.write = recorded(EpisodeStore.write, "episode",
                              lambda store, e: f"{store.directory.name}/{e.episode_id}/{e.split}")
if os.environ.get("STOP_AT"):
    stop_stage, stop_step = os.environ["STOP_AT"].split(":")
    on_log = MetricsCallback.on_log

    def stopping(self, args, state, control, logs=None, **kwargs):
        on_log(self, args, state, control, logs=logs, **kwargs)
        if self.stage == stop_stage and state.global_step == int(stop_step):
            import torch.distributed
            torch.distributed.barrier()
            os._exit(3)

    MetricsCallback.on_log = stopping
sys.exit(main(sys.argv[1:]))
'''


def launch(tmp_path: Path, *args: str, stop_at: str = "") -> subprocess.CompletedProcess:
    """``accelerate launch`` (the venv's) of the observed command line on 2 CPU processes. ``--multi_gpu`` starts
    them through torchrun; on a machine without a GPU the trainers join them with gloo (``--cpu`` would start one)."""
    script = tmp_path / "launched.py"
    script.write_text(LAUNCHED)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "STOP_AT": stop_at, "WRITES_LOG": str(tmp_path / "writes.jsonl"),
           "REPLICA_LOG": str(tmp_path / "replica.log"), "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", str(script), *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
@pytest.mark.browser
def test_two_processes_write_once_resume_and_print_once(tmp_path):
    params = tmp_path / "ci_short.yaml"  # params/ci.yaml with a 2-step SFT (CI time); stage 1 and 2 as they are
    params.write_text(f"base: {REPO / 'params' / 'ci.yaml'}\ntrain:\n  sft: {{max_steps: 2}}\n")
    run_dir = tmp_path / "run"
    run = RunDir(run_dir)
    train_args = ("train", str(params), "--run-dir", str(run_dir), "--stage", "sft", "stage1", "stage2")

    stopped = launch(tmp_path, *train_args, stop_at="stage1:2")
    assert stopped.returncode != 0, stopped.stderr[-3000:]
    assert (stage_dir(run, "stage1") / "checkpoint-1").exists() and not final_dir(run, "stage1").exists()
    assert [(m["stage"], m["step"]) for m in run.metrics()][-1] == ("stage1", 2)  # logged, not checkpointed

    resumed = launch(tmp_path, *train_args, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    steps = [(m["stage"], m["step"]) for m in run.metrics()]
    assert steps == [("sft", 1), ("sft", 2), ("stage1", 1), ("stage1", 2), ("stage2", 1), ("stage2", 2)]
    summary = [line for line in resumed.stdout.splitlines() if not line.startswith(("{", "  warning: "))]
    assert summary[0].startswith("data: ") and summary[1].startswith("sft: already trained"), summary
    assert summary[2].startswith("stage1: 2 steps") and summary[3].startswith("stage2: 2 steps"), summary
    assert len(summary) == 4  # printed once, by the main process

    writes = [json.loads(line) for line in (tmp_path / "writes.jsonl").read_text().splitlines()]
    assert {w["rank"] for w in writes} == {0}
    saved = Counter(w["what"] for w in writes if w["kind"] == "model")
    assert all(n == 1 for n in saved.values()), saved
    for stage in ("sft", "stage1", "stage2"):
        assert saved[str(final_dir(run, stage))] == 1
    assert saved[str(stage_dir(run, "stage1") / "checkpoint-2")] == 1  # saved by the resumed launch
    episodes = Counter(w["what"] for w in writes if w["kind"] == "episode")
    assert episodes and all(n == 1 for n in episodes.values()), episodes  # expert data generated once
    stored = [json.loads(line) for line in (run.episodes_dir / "expert" / "episodes.jsonl").read_text().splitlines()]
    assert len(stored) == sum(n for w, n in episodes.items() if w.startswith("expert/"))

    replica = (tmp_path / "replica.log").read_text() if (tmp_path / "replica.log").exists() else ""
    printed = [line for line in replica.splitlines() if line.strip() and not line.startswith("[rank1]:[W")]
    assert printed == [], printed[:10]  # no progress bars, warnings or summaries (torch's C++ notes aside)

    from tracer1kit.models import load_policy

    for stage in ("sft", "stage1", "stage2"):
        assert load_policy(str(final_dir(run, stage))).supports_images

    refused = launch(tmp_path, "evaluate", str(params), "--run-dir", str(run_dir))
    assert refused.returncode != 0
    assert "error: evaluate runs in one process, but 2 were launched" in refused.stderr


def test_evaluate_refuses_several_processes_with_the_fix(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    refuse_several_processes("evaluate")  # one process: nothing to refuse
    monkeypatch.setenv("WORLD_SIZE", "1")
    refuse_several_processes("evaluate")
    monkeypatch.setenv("WORLD_SIZE", "3")
    with pytest.raises(SeveralProcessesError, match=r"evaluate runs in one process, but 3 were launched: run "
                                                    r"`tracer1kit evaluate PARAMS --run-dir RUN` without accelerate"):
        refuse_several_processes("evaluate")


@pytest.mark.slow
def test_a_resumed_stage_goes_on_from_its_checkpoint_weights(tmp_path):
    """Stopped after step 1 and resumed, SFT ends with exactly the weights of an uninterrupted run."""
    root = store_episodes(tmp_path / "episodes")
    params = tiny_params(**{"train.sft.max_steps": 2, "train.sft.save_steps": 1})
    whole, stopped = RunDir(tmp_path / "whole"), RunDir.create(tmp_path / "stopped")
    train(params, whole.root, stages=["sft"], episodes_root=root)
    shutil.copytree(stage_dir(whole, "sft") / "checkpoint-1", stage_dir(stopped, "sft") / "checkpoint-1")
    stopped.log_metrics(next(read_jsonl(whole.metrics_path)))
    train(params, stopped.root, stages=["sft"], resume=True, episodes_root=root)
    expected = load_file(final_dir(whole, "sft") / "model.safetensors")
    got = load_file(final_dir(stopped, "sft") / "model.safetensors")
    assert expected.keys() == got.keys()
    differing = [k for k in expected if not (expected[k] == got[k]).all()]
    assert differing == []
    assert [m["step"] for m in stopped.metrics("sft")] == [1, 2]


@settings(max_examples=30, deadline=None)
@given(saved=st.dictionaries(st.integers(1, 500), st.booleans(), max_size=6))
def test_a_checkpoint_cut_short_by_a_kill_is_never_resumed_from(tmp_path_factory, saved):
    run = RunDir.create(tmp_path_factory.mktemp("run"))
    for step, complete in saved.items():  # the trainer writes trainer_state.json last
        (stage_dir(run, "sft") / f"checkpoint-{step}").mkdir(parents=True)
        if complete:
            (stage_dir(run, "sft") / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    complete = [step for step, done in saved.items() if done]
    newest = last_checkpoint(run, "sft")
    assert (newest.name if newest else None) == (f"checkpoint-{max(complete)}" if complete else None)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), row=st.integers(0, 63), col=st.integers(0, 63))
def test_the_weights_fingerprint_sees_one_bfloat16_step_of_one_weight(seed, row, col):
    torch.manual_seed(seed)
    layer = torch.nn.Linear(64, 64).to(torch.bfloat16)
    before = weights_fingerprint(layer)
    with torch.no_grad():
        layer.weight.view(torch.int16)[row, col] += 1  # the next bfloat16 value (away from zero)
    assert weights_fingerprint(layer) != before


@pytest.mark.parametrize("save_steps, strategy", [(3, "steps"), (4, "steps"), (5, "no"), (10_000, "no")])
def test_no_checkpoint_only_at_the_end_when_save_steps_exceed_max_steps(save_steps, strategy, tmp_path):
    params = Params()
    cfg = params.train.stage1.model_copy(update={"max_steps": 4, "save_steps": save_steps})
    assert trainer_kwargs(cfg, tmp_path, seed=params.run.seed, cpu=True)["save_strategy"] == strategy


@pytest.mark.parametrize("dtype, lora, held", [("bfloat16", False, "float32"), ("float16", False, "float32"),
                                                ("float32", False, "float32"), ("auto", False, "auto"),
                                                ("bfloat16", True, "bfloat16"), ("float32", True, "float32")])
def test_full_fine_tuning_holds_half_precision_models_in_float32(dtype, lora, held):
    params = Params().model_copy(update={"model": Params().model.model_copy(update={
        "dtype": dtype, "lora": Params().model.lora.model_copy(update={"enabled": lora})})})
    assert training_dtype(params.model) == held


@pytest.mark.slow
def test_one_step_of_a_bfloat16_model_at_the_papers_learning_rate_moves_nearly_every_weight(tmp_path):
    from tracer1kit.models import load_policy
    from tracer1kit.params import ModelParams

    params = tiny_params(**{"model.dtype": "bfloat16", "train.sft.bf16": True, "train.sft.max_steps": 1,
                            "train.sft.learning_rate": 1e-6})
    train(params, tmp_path / "run", stages=["sft"], episodes_root=store_episodes(tmp_path / "episodes"))
    trained = load_policy(ModelParams(spec=str(final_dir(RunDir(tmp_path / "run"), "sft")), dtype="auto")).model
    dtype = str(trained.dtype).removeprefix("torch.")
    start = load_policy(ModelParams(spec="tiny", dtype=dtype)).model.state_dict()
    moved = sum(int((start[k] != v).sum()) for k, v in trained.state_dict().items())
    assert moved / sum(v.numel() for v in start.values()) > 0.95  # held in bfloat16: about 2% (the rest rounds away)


def gpu_check():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import gpu_check

    return gpu_check


def test_gpu_check_builds_a_larger_qwen25vl_from_the_tiny_models_config(tmp_path, monkeypatch):
    from tracer1kit.agents.planner import Planner
    from tracer1kit.models import load_policy
    from tracer1kit.params import ModelParams

    check = gpu_check()
    monkeypatch.setitem(check.SIZES, "mini", (
        dict(hidden_size=96, intermediate_size=160, num_hidden_layers=5, num_attention_heads=6, num_key_value_heads=2),
        dict(depth=3, hidden_size=48, intermediate_size=64, num_heads=2, fullatt_block_indexes=[2])))
    folder = check.build_model("mini", tmp_path, "cpu")
    policy = load_policy(ModelParams(spec=str(folder), dtype="bfloat16"))
    text, vision = policy.model.config.text_config, policy.model.config.vision_config
    assert (text.hidden_size, text.num_hidden_layers, len(text.layer_types)) == (96, 5, 5)
    assert sum(text.rope_parameters["mrope_section"]) == 96 // 6 // 2
    assert (vision.depth, vision.out_hidden_size) == (3, 96) and policy.supports_images
    assert policy.model.dtype == torch.bfloat16
    assert check.parameter_count(folder) == round(sum(p.numel() for p in policy.model.parameters()) / 1e9, 3)
    ids = Planner(policy, horizon=2, max_new_tokens=3).generate_ids([check.observation()] * 2)
    assert ids.shape[0] == 2 and ids.shape[1] <= 3  # the kit's planner generates with the built model and image


def test_gpu_check_speedups_compare_the_tiny_model_on_both_devices():
    row = dict(size="tiny", mode="")
    rows = [dict(row, what="planner", batch=8, device="cpu", value=2.0, unit="plans/s"),
            dict(row, what="planner", batch=8, device="cuda", value=30.0, unit="plans/s"),
            dict(row, what="stage1", mode="lora", batch=8, device="cpu", value=4.0, unit="s/step"),
            dict(row, what="stage1", mode="lora", batch=8, device="cuda", value=0.5, unit="s/step"),
            dict(row, what="planner", batch=64, device="cuda", value=90.0, unit="plans/s")]  # no CPU twin
    assert gpu_check().speedups(rows) == {"planner b8": 15.0, "stage1 lora b8": 8.0}


@pytest.mark.slow
def test_gpu_check_smoke_runs_on_the_cpu_in_bfloat16(tmp_path):
    """The whole script, tiny model, one step per stage, both modes, in bfloat16 (the GPU's precision path)."""
    command = [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), "--device", "cpu", "--sizes", "tiny",
               "--steps", "1", "--batches", "1,2", "--new-tokens", "8", "--completion-tokens", "8",
               "--episodes", "4", "--dtype", "bfloat16", "--out", str(tmp_path)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}  # 2 threads on a busy 2-core VM: 10× slower
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = json.loads((tmp_path / "gpu_check.json").read_text())["rows"]
    planner = {r["batch"]: r for r in rows if r["what"] == "planner"}
    assert sorted(planner) == [1, 2] and all(r["value"] > 0 and r["tokens_per_s"] > 0 for r in planner.values())
    trained = {(r["what"], r["mode"]): r for r in rows if r["unit"] == "s/step"}
    assert sorted(trained) == sorted((s, m) for s in ("sft", "stage1", "stage2") for m in ("lora", "full"))
    assert all(r["value"] > 0 and r["device"] == "cpu" for r in trained.values())
    assert trained["sft", "lora"]["weights_changed"] and trained["sft", "full"]["weights_changed"]
    # (GRPO on a random model may leave them: every completion scores alike, so every advantage is zero)
    assert "| tiny | 0.002 | cpu | stage2 | full | 8 |" in (tmp_path / "gpu_check.md").read_text()
