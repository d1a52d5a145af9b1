"""Planner throughput on CPU: plans/s and tokens/s at K = 1, 5, 10, batched and not; load time and memory.

Also prints the prompt length in tokens for a MiniWoB-like observation with 15 elements, with and without
the screenshot (when the model sees). Usage:
``python benchmarks/bench_planner.py [--model tiny|smollm2-135m|PATH] [--repeats 3] [--max-new-tokens 64]``.
Tokens/s counts generated tokens (padding excluded); the untrained model rarely stops before
``max_new_tokens``, so a plan's time here is an upper bound for a trained model's short plans.

With ``--tasks`` it instead runs the scripted experts on those MiniWoB++ tasks (Chromium, ``--seeds`` seeds each)
and prints the prompt tokens of every recorded observation in the full and the compact form (``planner.prompt``),
per task and for the system prompt alone:
``python benchmarks/bench_planner.py --model smollm2-135m --tasks login-user email-inbox book-flight``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from tracer1kit.actions import ActionType, Step
from tracer1kit.agents.planner import Planner
from tracer1kit.episodes import Element, HistoryItem, Observation
from tracer1kit.models import load_policy
from tracer1kit.prompts import GUI_CONTEXT, build_messages

TAGS = ["button", "input_text", "div", "span", "a", "label"]


def observation(n_elements: int = 15) -> Observation:
    """A MiniWoB-like observation: a form with ``n_elements`` elements, a 160×210 screenshot, 2 past steps."""
    elements = tuple(Element(i + 1, TAGS[i % len(TAGS)], f"Option {i}" if i % 3 else "Submit",
                             left=10 + 5 * i, top=20 + 12 * i, width=60, height=14) for i in range(n_elements))
    history = (HistoryItem(Step(ActionType.TYPE, target="Username", value="alice"), "typed alice"),
               HistoryItem(Step(ActionType.CLICK, target="Option 2"), "clicked"))
    return Observation('Select "Option 4" and click Submit.', screenshot=Image.new("RGB", (160, 210), "white"),
                       elements=elements, history=history)


def prompt_tokens(policy, obs: Observation, horizon: int, use_image: bool) -> int:
    planner = Planner(policy, horizon=horizon)
    messages = build_messages(obs, horizon=horizon, use_image=use_image, history_len=planner.history_len,
                              max_elements=planner.max_elements)
    text = policy.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    images = [obs.screenshot] if use_image else None
    return int(policy.processor(text=[text], images=images, return_tensors="pt")["input_ids"].shape[1])


def chat_tokens(policy, messages: list[dict]) -> int:
    """Tokens of a text-only chat prompt as the model sees it (chat template and generation prompt included)."""
    text = policy.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return len(policy.tokenizer(text, add_special_tokens=False)["input_ids"])


def expert_prompt_tokens(policy, tasks: list[str], seeds: int, horizon: int, max_elements: int) -> None:
    """Full vs compact prompt tokens on every observation the experts record on ``tasks`` (history as in training)."""
    from tracer1kit.data.examples import observation_at
    from tracer1kit.experts.data import generate_expert_episodes

    store = Path(tempfile.mkdtemp(prefix="bench-prompts-"))
    episodes = generate_expert_episodes(tasks, list(range(seeds)), store, split="train", screenshots=False)
    system = {"full": GUI_CONTEXT.system, "compact": GUI_CONTEXT.compact_system}
    sizes = {form: len(policy.tokenizer(text, add_special_tokens=False)["input_ids"]) for form, text in system.items()}
    print("system prompt tokens: " + ", ".join(f"{form} {size}" for form, size in sizes.items()))
    print(f"{'task':<16} {'states':>6} {'full mean':>9} {'full max':>8} {'compact mean':>12} {'compact max':>11} "
          f"{'saved':>6}")
    everything: dict[str, list[int]] = {"full": [], "compact": []}
    for task in tasks:
        observations = [observation_at(e, t) for e in episodes if e.task == task for t in range(len(e.steps))]
        counts = {form: [chat_tokens(policy, build_messages(o, horizon=horizon, use_image=False, history_len=4,
                                                            max_elements=max_elements, form=form))
                         for o in observations] for form in ("full", "compact")}
        for form, values in counts.items():
            everything[form] += values
        full, compact = statistics.mean(counts["full"]), statistics.mean(counts["compact"])
        print(f"{task:<16} {len(observations):>6} {full:>9.0f} {max(counts['full']):>8} {compact:>12.0f} "
              f"{max(counts['compact']):>11} {1 - compact / full:>6.0%}")
    full, compact = statistics.mean(everything["full"]), statistics.mean(everything["compact"])
    print(f"{'all':<16} {len(everything['full']):>6} {full:>9.0f} {max(everything['full']):>8} {compact:>12.0f} "
          f"{max(everything['compact']):>11} {1 - compact / full:>6.0%}")


def bench(policy, horizon: int, batch: int, max_new_tokens: int, repeats: int) -> tuple[float, float]:
    planner = Planner(policy, horizon=horizon, max_new_tokens=max_new_tokens, greedy=True)
    observations = [observation()] * batch
    planner.generate(observations)  # warm-up
    start, tokens = time.perf_counter(), 0
    for _ in range(repeats):
        ids = planner.generate_ids(observations)
        tokens += int((ids != policy.tokenizer.pad_token_id).sum())
    elapsed = time.perf_counter() - start
    return batch * repeats / elapsed, tokens / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--model", default="tiny", help="a model spec or checkpoint path")
    parser.add_argument("--tasks", nargs="*", default=[], help="MiniWoB++ tasks: prompt tokens, full vs compact")
    parser.add_argument("--seeds", type=int, default=3, help="expert episodes per task (with --tasks)")
    parser.add_argument("--horizon", type=int, default=2, help="K in the prompts (with --tasks)")
    parser.add_argument("--max-elements", type=int, default=20, help="planner.max_elements (with --tasks)")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    start = time.perf_counter()
    policy = load_policy(args.model)
    print(f"{args.model}: loaded in {time.perf_counter() - start:.1f} s, "
          f"{sum(p.numel() for p in policy.model.parameters()) / 1e6:.1f} M parameters, "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.tasks:
        expert_prompt_tokens(policy, args.tasks, args.seeds, args.horizon, args.max_elements)
        return
    obs = observation()
    for use_image in (False, True) if policy.supports_images else (False,):
        print(f"prompt tokens, 15 elements, image={use_image}: {prompt_tokens(policy, obs, 5, use_image)}")
    print(f"{'K':>3} {'batch':>5} {'plans/s':>8} {'tokens/s':>9}")
    for horizon in (1, 5, 10):
        for batch in (1, 8):
            plans, tokens = bench(policy, horizon, batch, args.max_new_tokens, args.repeats)
            print(f"{horizon:>3} {batch:>5} {plans:>8.2f} {tokens:>9.0f}")
    print(f"peak RSS after generation {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
