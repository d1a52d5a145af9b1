"""Seconds per GRPO step: the kit's Stage-1 trainer vs a plain TRL GRPOTrainer with the same model, data and
reward, in the same run (overhead ratio, aim ≤ 1.10); Stage-2 steps per second offline and live.

    .venv/bin/python benchmarks/bench_training.py [--steps 8] [--params params/ci.yaml]

The model is first warmed up with a short SFT so completions parse and rewards are really computed.

With ``--forms full compact`` it instead compares the prompt forms (``planner.prompt``): for each form an SFT warm
start (``--sft-steps``) on the same expert data (``--tasks``, ``--seeds`` train seeds), then the kit's Stage-1 trainer,
``--repeats`` times interleaved (full, compact, full, compact, …), printing the prompt tokens of the training set,
wall and CPU seconds per GRPO step and the mean completion length, e.g. for SmolLM2 with LoRA::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_training.py --params params/smollm2_cpu.yaml \
        --forms full compact --tasks login-user email-inbox book-flight --sft-steps 16 --steps 6 --repeats 2
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tracer1kit.data.examples import examples_from_episodes, to_dataset
from tracer1kit.domains.data import ensure_expert_data, expert_episodes
from tracer1kit.params import load_params, with_overrides
from tracer1kit.rewards import stage1_reward
from tracer1kit.runs import RunDir
from tracer1kit.training.common import final_dir, trainer_kwargs
from tracer1kit.training.processes import use_cpu
from tracer1kit.training.stage import load_for_training, peft_config
from tracer1kit.training.pipeline import train
from tracer1kit.training.stage1 import train_stage1
from tracer1kit.training.stage2 import train_stage2


def plain_grpo_seconds(params, run: RunDir, dataset, init: Path, steps: int) -> float:
    """A plain GRPOTrainer: one reward function (the total), no callbacks, no samples, no checkpoints."""
    from trl import GRPOConfig, GRPOTrainer

    cfg = params.train.stage1
    policy = load_for_training(params.model, init)
    kwargs = trainer_kwargs(cfg, run.root / "plain", seed=params.run.seed, cpu=use_cpu(params.model))
    config = GRPOConfig(**{**kwargs, "save_strategy": "no"},
                        num_generations=cfg.num_generations, beta=cfg.beta, temperature=cfg.temperature,
                        max_completion_length=cfg.max_completion_length, top_p=cfg.top_p)
    trainer = GRPOTrainer(model=policy.model, reward_funcs=[stage1_reward(params.reward)], args=config,
                          train_dataset=dataset, processing_class=policy.processor,
                          peft_config=peft_config(params.model.lora))
    start = time.perf_counter()
    trainer.train()
    return (time.perf_counter() - start) / steps


def prompt_tokens(policy, dataset) -> float:
    """Mean prompt tokens of a dataset's rows (chat template and generation prompt included; text only)."""
    counts = [len(policy.tokenizer(policy.processor.apply_chat_template(p, tokenize=False, add_generation_prompt=True),
                                   add_special_tokens=False)["input_ids"]) for p in dataset["prompt"]]
    return statistics.mean(counts)


def compare_prompt_forms(args, root: Path) -> None:
    """Stage-1 seconds per step with each prompt form, each from its own SFT warm start on the same data."""
    overrides = {"tooluse.enabled": False, "env.heldout_tasks": [], "env.train_seeds": list(range(args.seeds)),
                 "train.sft.max_steps": args.sft_steps, "train.sft.save_steps": 10_000,
                 "train.stage1.max_steps": args.steps, "train.stage1.save_steps": 10_000}
    if args.tasks:
        overrides.update({"env.tasks": args.tasks, "env.max_steps": 30})  # room for the longest expert episodes
    params = with_overrides(load_params(args.params), overrides)
    data = RunDir.create(root / "data")
    episodes = expert_episodes(params, ensure_expert_data(params, data), "train")
    policy = load_for_training(params.model, params.model.spec)
    setups = {}
    for form in args.forms:
        form_params = with_overrides(params, {"planner.prompt": form})
        dataset = to_dataset(examples_from_episodes(episodes, form_params.planner, use_image=policy.supports_images))
        run = RunDir.create(root / form)
        init = params.model.spec
        if args.sft_steps:
            train(form_params, run.root, stages=["sft"], episodes_root=data.episodes_dir)
            init = str(final_dir(run, "sft"))
        setups[form] = (form_params, dataset, init, prompt_tokens(policy, dataset))
    timings: dict[str, list[tuple[float, float, float]]] = {form: [] for form in args.forms}
    for repeat in range(args.repeats):
        for form, (form_params, dataset, init, _) in setups.items():
            run = RunDir.create(root / f"{form}-stage1-{repeat}")
            cpu = time.process_time()
            wall = train_stage1(form_params, run, dataset, init).seconds / args.steps
            cpu = (time.process_time() - cpu) / args.steps
            length = statistics.mean(m["completions/mean_length"] for m in run.metrics("stage1")
                                     if "completions/mean_length" in m)
            timings[form].append((wall, cpu, length))
    print(f"{params.model.spec}, LoRA {params.model.lora.enabled}, K = {params.planner.horizon}, tasks "
          f"{params.env.tasks}, {len(episodes)} episodes, SFT {args.sft_steps} steps, {args.steps} GRPO steps × "
          f"{args.repeats} (batch {params.train.stage1.per_device_batch_size} = "
          f"{params.train.stage1.num_generations} generations, max {params.train.stage1.max_completion_length} tokens)")
    print(f"{'form':<8} {'examples':>8} {'prompt tok':>10} {'s/step (each run)':>24} {'s/step':>7} {'CPU s/step':>10} "
          f"{'compl. tok':>10}")
    for form, (_, dataset, _, tokens) in setups.items():
        walls, cpus, lengths = zip(*timings[form])
        print(f"{form:<8} {len(dataset):>8} {tokens:>10.0f} {' / '.join(f'{w:.1f}' for w in walls):>24} "
              f"{statistics.mean(walls):>7.1f} {statistics.mean(cpus):>10.1f} {statistics.mean(lengths):>10.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params/ci.yaml")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--sft-steps", type=int, default=120)
    parser.add_argument("--forms", nargs="*", choices=["full", "compact"], default=[],
                        help="compare Stage-1 s/step across prompt forms instead")
    parser.add_argument("--tasks", nargs="*", default=[], help="env.tasks for --forms (default: the params file's)")
    parser.add_argument("--seeds", type=int, default=4, help="train seeds per task for --forms")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved Stage-1 runs per form for --forms")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-training-"))
    if args.forms:
        compare_prompt_forms(args, root)
        return
    base = load_params(args.params)
    params = with_overrides(base, {
        "tooluse.enabled": False, "train.sft.max_steps": args.sft_steps, "train.sft.per_device_batch_size": 8,
        "train.sft.save_steps": 10_000,
        **{f"train.{s}.{k}": v for s in ("stage1", "stage2") for k, v in
           {"max_steps": args.steps, "save_steps": 10_000, "per_device_batch_size": 8, "num_generations": 4}.items()}})
    run = RunDir.create(root / "run")
    train(params, run.root, stages=["sft"])
    episodes = expert_episodes(params, ensure_expert_data(params, run), "train")
    dataset = to_dataset(examples_from_episodes(episodes, params.planner, use_image=True))
    init = final_dir(run, "sft")

    plain = plain_grpo_seconds(params, run, dataset, init, args.steps)
    kit = train_stage1(params, run, dataset, init).seconds / args.steps
    plain_again = plain_grpo_seconds(params, run, dataset, init, args.steps)  # interleaved: CPU drift shows up
    offline = train_stage2(params, run, dataset, final_dir(run, "stage1")).seconds / args.steps
    live_params = with_overrides(params, {"grounded.mode": "live"})
    live_run = RunDir.create(root / "live")
    live = train_stage2(live_params, live_run, dataset, final_dir(run, "stage1")).seconds / args.steps

    plain_mean = (plain + plain_again) / 2
    print(f"examples: {len(dataset)}, steps: {args.steps}, batch 8 = 2 prompts × 4 generations")
    print(f"plain GRPOTrainer      {plain:6.2f} / {plain_again:6.2f} s/step")
    print(f"kit Stage-1 trainer    {kit:6.2f} s/step   overhead ratio {kit / plain_mean:.2f}")
    print(f"kit Stage-2 offline    {offline:6.2f} s/step   {1 / offline:.2f} steps/s")
    print(f"kit Stage-2 live       {live:6.2f} s/step   {1 / live:.2f} steps/s")


if __name__ == "__main__":
    main()
