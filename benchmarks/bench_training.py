"""Seconds per GRPO step: the kit's Stage-1 trainer vs a plain TRL GRPOTrainer with the same model, data and
reward, in the same run (overhead ratio, aim ≤ 1.10); Stage-2 steps per second offline and live.

    .venv/bin/python benchmarks/bench_training.py [--steps 8] [--params params/ci.yaml]

The model is first warmed up with a short SFT so completions parse and rewards are really computed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tracer1kit.data.examples import examples_from_episodes, to_dataset
from tracer1kit.experts.data import ensure_expert_data, expert_episodes
from tracer1kit.params import load_params, with_overrides
from tracer1kit.rewards import stage1_reward
from tracer1kit.runs import RunDir
from tracer1kit.training.common import final_dir, trainer_kwargs
from tracer1kit.training.grpo import load_for_training, peft_config
from tracer1kit.training.pipeline import train
from tracer1kit.training.stage1 import train_stage1
from tracer1kit.training.stage2 import train_stage2


def plain_grpo_seconds(params, run: RunDir, dataset, init: Path, steps: int) -> float:
    """A plain GRPOTrainer: one reward function (the total), no callbacks, no samples, no checkpoints."""
    from trl import GRPOConfig, GRPOTrainer

    cfg = params.train.stage1
    policy = load_for_training(params, init)
    config = GRPOConfig(**{**trainer_kwargs(cfg, run.root / "plain", params), "save_strategy": "no"},
                        num_generations=cfg.num_generations, beta=cfg.beta, temperature=cfg.temperature,
                        max_completion_length=cfg.max_completion_length, top_p=cfg.top_p)
    trainer = GRPOTrainer(model=policy.model, reward_funcs=[stage1_reward(params.reward)], args=config,
                          train_dataset=dataset, processing_class=policy.processor, peft_config=peft_config(params))
    start = time.perf_counter()
    trainer.train()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params/ci.yaml")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--sft-steps", type=int, default=120)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-training-"))
    base = load_params(args.params)
    params = with_overrides(base, {
        "tooluse.enabled": False, "train.sft.max_steps": args.sft_steps, "train.sft.per_device_batch_size": 8,
        "train.sft.save_steps": 10_000,
        **{f"train.{s}.{k}": v for s in ("stage1", "stage2") for k, v in
           {"max_steps": args.steps, "save_steps": 10_000, "per_device_batch_size": 8, "num_generations": 4}.items()}})
    run = RunDir.create(root / "run")
    train(params, run.root, stages=["sft"])
    episodes = expert_episodes(params, ensure_expert_data(params, run), "train")
    dataset = to_dataset(examples_from_episodes(episodes, params, use_image=True))
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
