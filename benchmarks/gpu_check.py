"""GPU check: the kit's planner and trainers on mid-size Qwen2.5-VL models built from a config on the device (random
weights, the tiny model's locally trained tokenizer and image processor, no download), in bf16, with the tiny model
on the CPU as the anchor of the GPU/CPU ratio.

    python benchmarks/gpu_check.py --out OUT                                 # GPU: tiny (CPU + GPU), 3b, 0.5b
    python benchmarks/gpu_check.py --device cpu --sizes tiny --steps 1 --batches 1,8   # smoke test on the CPU

Per (size, device): the kit's ``Planner`` (K = 5, greedy) at batch 1, 8, 64: plans/s and generated tokens/s, every
plan ``--new-tokens`` long (a random model never stops early). Then, for LoRA and for full fine-tuning, SFT →
Stage 1 → Stage 2 (offline) through ``train_sft`` / ``train_stage1`` / ``train_stage2`` with
``params/gpu_qwen25vl.yaml`` (batch 8, 4 generations; completion length ``--completion-tokens``; no checkpoints):
seconds per optimizer step (GRPO: generation included; the median of the steps after the first, which warms up),
the stage's whole time (loading and saving included) and peak GPU memory. Full fine-tuning holds the weights in
float32 under bf16 autocast, LoRA trains float32 adapters over the bf16 base (training.common.training_dtype).
GRPO rows of a random model may say ``weights_changed False``: all completions score alike, so every advantage is
zero; the step still generates, scores and back-propagates, which is what is timed. Training data: browser-free
MiniWoB-like expert episodes (select an option, click Submit) made into examples by the kit. Writes
``gpu_check.json`` and ``gpu_check.md`` to ``--out`` after every measurement, so a run cut short keeps what it
measured.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import platform
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, Callable

import torch
from transformers import TrainerCallback

from bench_planner import observation
from tracer1kit.actions import ActionType, Plan, Step
from tracer1kit.agents.planner import Planner
from tracer1kit.data.examples import examples_from_episodes, to_dataset
from tracer1kit.episodes import Episode, Feedback, StepRecord
from tracer1kit.models import load_policy, resolve_checkpoint
from tracer1kit.params import Params, load_params
from tracer1kit.runs import RunDir
from tracer1kit.training.common import final_dir
from tracer1kit.training.sft import train_sft
from tracer1kit.training.stage1 import train_stage1
from tracer1kit.training.stage2 import train_stage2

REPO = Path(__file__).resolve().parents[1]
GPU_PARAMS = REPO / "params" / "gpu_qwen25vl.yaml"
# Text and vision sizes over the tiny model's config: Qwen2.5-0.5B's text model with an 8-block vision tower, and
# Qwen2.5-VL-3B's architecture (both without the 151k-token vocabulary: the kit's tokenizer has under 1k tokens).
SIZES = {
    "0.5b": (dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                  num_key_value_heads=2),
             dict(depth=8, hidden_size=1280, intermediate_size=3420, num_heads=16, fullatt_block_indexes=[3, 7])),
    "3b": (dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36, num_attention_heads=16,
                num_key_value_heads=2),
           dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16,
                fullatt_block_indexes=[7, 15, 23, 31])),
}
TRAINERS = {"sft": train_sft, "stage1": train_stage1, "stage2": train_stage2}


def build_model(size: str, root: Path, device: str) -> Path:
    """The checkpoint folder of ``size``: the kit's tiny model itself, or a larger Qwen2.5-VL made from the tiny
    one's config (sizes from :data:`SIZES`), tokenizer and image processor, random weights initialised on
    ``device`` in bf16 (on the GPU: seconds, where the CPU takes minutes for 3 B)."""
    from transformers import AutoModelForImageTextToText, Qwen2_5_VLConfig

    tiny = resolve_checkpoint("tiny")
    if size == "tiny":
        return tiny
    text, vision = SIZES[size]
    data = json.loads((tiny / "config.json").read_text(encoding="utf-8"))
    head_dim = text["hidden_size"] // text["num_attention_heads"]
    section = head_dim // 2 // 4  # mrope_section must sum to head_dim / 2, as in models/tiny.py
    rope = {**data["text_config"]["rope_parameters"], "mrope_section": [head_dim // 2 - 3 * section, section,
                                                                         2 * section]}
    data["text_config"] = {**{k: v for k, v in data["text_config"].items() if k != "layer_types"}, **text,
                           "rope_parameters": rope}
    data["vision_config"] = {**data["vision_config"], **vision, "out_hidden_size": text["hidden_size"]}
    config = Qwen2_5_VLConfig(**{k: v for k, v in data.items()
                                 if k not in ("architectures", "model_type", "transformers_version", "dtype")})
    target = root / f"qwen2.5-vl-{size}"
    shutil.copytree(tiny, target, ignore=shutil.ignore_patterns("config.json", "*.safetensors", "tracer1kit-*"))
    with torch.device(device):
        model = AutoModelForImageTextToText.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(target)
    del model
    return target


def synthetic_episodes(count: int) -> list[Episode]:
    """Browser-free MiniWoB-like expert episodes on the planner benchmark's observation (15 elements, a 160×210
    screenshot): click the option the instruction names, then Submit."""
    base = observation()
    options = [e for e in base.elements if e.text.startswith("Option")]
    submit = next(e for e in base.elements if e.text == "Submit")
    episodes = []
    for seed in range(count):
        option = options[seed % len(options)]
        instruction = f'Select "{option.text}" and click Submit.'
        steps = (Step(ActionType.CLICK, option.text, instruction=f"click {option.text}"),
                 Step(ActionType.CLICK, "Submit", instruction="click Submit", done=True))
        obs = replace(base, instruction=instruction, history=(), task="click-button", seed=seed)
        records = tuple(StepRecord(replace(obs, step_index=t), Plan(steps[t:]),
                                   feedback=Feedback(True, executed=f"click {element.text}", element_ref=element.ref))
                        for t, element in enumerate((option, submit)))
        episodes.append(Episode(f"synthetic-{seed}", "click-button", seed, instruction, records, success=True,
                                split="train"))
    return episodes


class StepTimer(TrainerCallback):
    """Seconds of every optimizer step (GRPO: its generation included), the GPU synchronised at both ends."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = 0.0

    def on_step_begin(self, *_: Any, **__: Any) -> None:
        synchronize()
        self._start = time.perf_counter()

    def on_step_end(self, *_: Any, **__: Any) -> None:
        synchronize()
        self.seconds.append(time.perf_counter() - self._start)


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def reset_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device: str) -> float | None:
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if device.startswith("cuda") else None


def check_params(spec: Path, device: str, lora: bool, args: argparse.Namespace) -> Params:
    """``params/gpu_qwen25vl.yaml`` on the built model: ``args.steps`` steps, no checkpoints, the given completion
    length, in ``args.dtype`` (auto: bf16 on the GPU, float32 on the CPU, the kit's CPU setting)."""
    dtype = args.dtype if args.dtype != "auto" else "bfloat16" if device.startswith("cuda") else "float32"
    overrides: dict[str, Any] = {"model.spec": str(spec), "model.device": device, "model.lora.enabled": lora,
                                 "model.dtype": dtype, "tooluse.enabled": False,
                                 "planner.max_new_tokens": args.new_tokens}
    for stage in TRAINERS:
        overrides |= {f"train.{stage}.max_steps": args.steps, f"train.{stage}.save_steps": 10_000,
                      f"train.{stage}.bf16": dtype == "bfloat16"}
    for stage in ("stage1", "stage2"):
        overrides[f"train.{stage}.max_completion_length"] = args.completion_tokens
    return load_params(GPU_PARAMS, overrides)


def parameter_count(spec: Path) -> float:
    """Billions of parameters of a checkpoint folder, from its safetensors headers (no weights read)."""
    from safetensors import safe_open

    total = 0
    for path in spec.glob("*.safetensors"):
        with safe_open(path, "pt") as handle:
            total += sum(math.prod(handle.get_slice(name).get_shape()) for name in handle.keys())
    return round(total / 1e9, 3)


def bench_planner(spec: Path, device: str, args: argparse.Namespace, record: Callable[..., None]) -> None:
    """Plans/s and tokens/s of the kit's Planner at each batch size (one warm-up call per size first)."""
    params = check_params(spec, device, False, args)
    start = time.perf_counter()
    policy = load_policy(params.model)
    record("load", "", None, "s", round(time.perf_counter() - start, 2))
    planner = Planner(policy, horizon=5, max_new_tokens=args.new_tokens, greedy=True)
    warm_up = Planner(policy, horizon=5, max_new_tokens=4, greedy=True)
    for batch in args.batches:
        observations = [observation()] * batch
        warm_up.generate_ids(observations)
        reset_memory()
        synchronize()
        start = time.perf_counter()
        ids = planner.generate_ids(observations)
        synchronize()
        seconds = time.perf_counter() - start
        tokens = int((ids != policy.tokenizer.pad_token_id).sum())
        record("planner", "", batch, "plans/s", round(batch / seconds, 2), tokens_per_s=round(tokens / seconds),
               peak=peak_gib(device))
    del planner, warm_up, policy


def bench_training(spec: Path, device: str, mode: str, work: Path, args: argparse.Namespace,
                   record: Callable[..., None], timer: StepTimer) -> None:
    """SFT → Stage 1 → Stage 2 (offline) with the kit's trainers; each stage starts from the one before and its
    model is deleted once the next one has loaded it (a 3 B model is 7 GB per save)."""
    params = check_params(spec, device, mode == "lora", args)
    run = RunDir.create(work / f"run-{spec.name}-{device.replace(':', '')}-{mode}")
    dataset = to_dataset(examples_from_episodes(synthetic_episodes(args.episodes), params.planner, use_image=True))
    source: Path = spec
    for stage, trainer in TRAINERS.items():
        reset_memory()
        timer.seconds.clear()
        result = trainer(params, run, dataset, source)
        steps = timer.seconds[1:] or timer.seconds
        record(stage, mode, getattr(params.train, stage).per_device_batch_size, "s/step",
               round(statistics.median(steps), 3), first_step_s=round(timer.seconds[0], 3),
               stage_s=round(result.seconds, 1), weights_changed=result.weights_changed, peak=peak_gib(device))
        if source != spec:
            shutil.rmtree(source, ignore_errors=True)
        source = final_dir(run, stage)
    shutil.rmtree(run.root, ignore_errors=True)


def environment(device: str) -> dict[str, Any]:
    import peft
    import transformers
    import trl

    info = {"date": datetime.date.today().isoformat(), "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "trl": trl.__version__, "peft": peft.__version__,
            "cpu_threads": torch.get_num_threads()}
    if device.startswith("cuda"):
        info |= {"gpu": torch.cuda.get_device_name(), "cuda": torch.version.cuda,
                 "gpu_memory_gib": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)}
    return info


def speedups(rows: list[dict[str, Any]]) -> dict[str, float]:
    """GPU/CPU speed-up of each measurement of the tiny model taken on both."""
    tiny = {}
    for r in rows:
        if r["size"] == "tiny" and r["unit"] in ("plans/s", "s/step"):
            tiny[(r["what"], r["mode"], r["batch"], r["device"] == "cpu")] = (r["value"], r["unit"])
    out = {}
    for (what, mode, batch, on_cpu), (gpu_value, unit) in tiny.items():
        if on_cpu or (what, mode, batch, True) not in tiny:
            continue
        cpu_value = tiny[(what, mode, batch, True)][0]
        ratio = gpu_value / cpu_value if unit == "plans/s" else cpu_value / gpu_value
        out[f"{what} {mode or ''} b{batch}".replace("  ", " ")] = round(ratio, 1)
    return out


def runs_to_do(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(size, device) pairs: on a GPU the tiny model also runs on the CPU, as the ratio's anchor."""
    pairs = [(size, args.device) for size in args.sizes]
    if args.device.startswith("cuda") and "tiny" in args.sizes:
        pairs.insert(0, ("tiny", "cpu"))
    return pairs


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--sizes", default="tiny,3b,0.5b",
                        help=f"comma-separated, measured in this order: tiny, {', '.join(SIZES)} (3b before 0.5b: "
                             "if --budget-s runs out, the size gpu_qwen25vl.yaml uses is measured)")
    parser.add_argument("--modes", default="lora,full", help="comma-separated: lora, full")
    parser.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float32"],
                        help="auto: bfloat16 on the GPU, float32 on the CPU (bfloat16 on the CPU tries the GPU's path)")
    parser.add_argument("--steps", type=int, default=3, help="optimizer steps per stage (the first warms up)")
    parser.add_argument("--batches", default="1,8,64", help="planner batch sizes")
    parser.add_argument("--new-tokens", type=int, default=128, help="tokens per plan in the planner benchmark")
    parser.add_argument("--completion-tokens", type=int, default=128, help="GRPO completion length")
    parser.add_argument("--episodes", type=int, default=24, help="synthetic expert episodes (2 examples each)")
    parser.add_argument("--budget-s", type=float, default=420.0, help="start no new measurement after this")
    parser.add_argument("--out", default="runs/gpu_check", help="folder for gpu_check.json and gpu_check.md")
    args = parser.parse_args(argv)
    args.sizes = [s for s in args.sizes.split(",") if s]
    args.modes = [m for m in args.modes.split(",") if m]
    args.batches = [int(b) for b in args.batches.split(",") if b]
    unknown = [s for s in args.sizes if s != "tiny" and s not in SIZES] + [m for m in args.modes
                                                                           if m not in ("lora", "full")]
    if unknown:
        parser.error(f"unknown size or mode {unknown}: sizes are tiny, {', '.join(SIZES)}; modes lora, full")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda but torch sees no GPU: run with --device cpu for the CPU smoke test")
    return args


class Results:
    """The measurements, one row each, written to ``OUT/gpu_check.json`` and ``OUT/gpu_check.md`` after every row."""

    def __init__(self, out: Path, environment: dict[str, Any], settings: dict[str, Any]) -> None:
        self.out = out
        self.data: dict[str, Any] = {"environment": environment, "settings": settings, "rows": []}

    def add(self, context: dict[str, Any], what: str, mode: str, batch: int | None, unit: str, value: Any,
            peak: float | None = None, **extra: Any) -> None:
        row = {**context, "what": what, "mode": mode, "batch": batch, "value": value, "unit": unit, "peak": peak,
               **extra}
        self.data["rows"].append(row)
        print(json.dumps(row), flush=True)
        self.save()

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "gpu_check.json").write_text(json.dumps(self.data, indent=1), encoding="utf-8")
        (self.out / "gpu_check.md").write_text(self.markdown(), encoding="utf-8")

    def markdown(self) -> str:
        """A markdown table, and the tiny model's GPU/CPU speed-ups where both were measured."""
        env, rows = self.data["environment"], self.data["rows"]
        lines = [f"# GPU check, {env['date']}", "", ", ".join(f"{k} {v}" for k, v in env.items() if k != "date"),
                 "", f"Settings: {self.data['settings']}", "",
                 "| size | params (B) | device | measured | mode | batch | value | unit | peak GPU GiB | notes |",
                 "|---|---|---|---|---|---|---|---|---|---|"]
        shown = ("size", "params_b", "device", "what", "mode", "batch", "value", "unit", "peak")
        for r in rows:
            notes = ", ".join(f"{k} {v}" for k, v in r.items() if k not in shown)
            cells = [r["size"], r["params_b"], r["device"], r["what"], r["mode"], r["batch"], r["value"], r["unit"],
                     r["peak"], notes]
            lines.append("| " + " | ".join("" if c is None else str(c) for c in cells) + " |")
        ratios = speedups(rows)
        if ratios:
            lines += ["", "Tiny model, GPU over CPU (same steps): " + "; ".join(f"{k} ×{v}" for k, v in ratios.items())]
        return "\n".join(lines) + "\n"


def measure(size: str, device: str, args: argparse.Namespace, work: Path, results: Results, timer: StepTimer,
            deadline: float) -> int:
    """Every measurement of one (size, device); returns how many failed (each failure is a row, the rest run)."""
    spec = build_model(size, work, device)
    record = partial(results.add, {"size": size, "params_b": parameter_count(spec), "device": device})
    jobs = {"planner": partial(bench_planner, spec, device, args, record)}
    jobs |= {mode: partial(bench_training, spec, device, mode, work, args, record, timer) for mode in args.modes}
    failures = 0
    for name, job in jobs.items():
        if time.perf_counter() > deadline:
            record(name, "", None, "", "skipped: --budget-s spent")
            continue
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - one failure is a result; the next measurement still runs
            failures += 1
            traceback.print_exc()
            record(name, "", None, "", f"failed: {type(exc).__name__}: {str(exc)[:300]}")
        reset_memory()
    if spec.parent == work:
        shutil.rmtree(spec, ignore_errors=True)
    return failures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    results = Results(Path(args.out), environment(args.device), settings)
    timer = StepTimer()
    import transformers.trainer

    transformers.trainer.DEFAULT_CALLBACKS.append(timer)  # every trainer the kit builds times its steps
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    try:
        failures = sum(measure(size, device, args, work, results, timer, started + args.budget_s)
                       for size, device in runs_to_do(args))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results.data["total_s"] = round(time.perf_counter() - started, 1)
    results.save()
    print(results.markdown())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
