"""Tool-use tasks: expert success per kind through the real tools, episodes/s, OCR calls/s, task generation.

    python benchmarks/bench_tooluse.py --seeds 100            # every kind, seeds 0..99
    python benchmarks/bench_tooluse.py --seeds 10 --kinds receipt_tip

Episodes run the scripted tool-use expert (:class:`ExpertPlanner`) through a :class:`ToolExecutor` in :class:`ToolUseEnv` (the agent loop),
with the expert also as the reference planner, as expert-data generation does.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from tracer1kit.agents.loop import run_episode
from tracer1kit.agents.tools import ToolExecutor
from tracer1kit.envs.tooluse import KINDS, ToolUseEnv, make_task
from tracer1kit.domains.registry import expert_planner
from tracer1kit.tools import run_tool


def bench_kind(kind: str, seeds: range, max_steps: int) -> dict[str, object]:
    env, expert = ToolUseEnv([kind], max_steps=max_steps), expert_planner(5)
    for seed in seeds:  # render first, so episode timing counts the loop and the tools only
        make_task(kind, seed)
    start = time.perf_counter()
    episodes = [run_episode(expert, ToolExecutor(), env, seed, max_steps=max_steps, reference_planner=expert)
                for seed in seeds]
    seconds = time.perf_counter() - start
    tools = Counter(r.plan.first.target for e in episodes for r in e.steps if r.plan and r.plan.first.target)
    return {"success": sum(e.success for e in episodes) / len(episodes),
            "steps": sum(len(e.steps) for e in episodes) / len(episodes),
            "episodes_per_s": len(episodes) / seconds, "tools": dict(tools),
            "failed": [e.seed for e in episodes if not e.success]}


def bench_ocr(calls: int) -> tuple[float, float]:
    """OCR calls per second on varied task images, and task generations (render + reference) per second."""
    start = time.perf_counter()
    tasks = [make_task(kind, 10_000 + i) for i in range(calls) for kind in KINDS][:calls]
    generate = len(tasks) / (time.perf_counter() - start)
    start = time.perf_counter()
    for task in tasks:
        run_tool("ocr", {"image": "input"}, task.image)
    return calls / (time.perf_counter() - start), generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100, help="seeds per kind (0..N-1)")
    parser.add_argument("--kinds", nargs="*", default=list(KINDS))
    parser.add_argument("--max-steps", type=int, default=6)
    parser.add_argument("--ocr-calls", type=int, default=30)
    args = parser.parse_args()
    ocr_per_s, generated_per_s = bench_ocr(args.ocr_calls)
    print(f"OCR calls/s: {ocr_per_s:.2f}   task generations/s: {generated_per_s:.1f}\n")
    print("| kind | expert success | mean steps | episodes/s | first tools | failed seeds |\n|---|---|---|---|---|---|")
    for kind in args.kinds:
        r = bench_kind(kind, range(args.seeds), args.max_steps)
        print(f"| {kind} | {r['success']:.2f} | {r['steps']:.2f} | {r['episodes_per_s']:.2f} | {r['tools']} "
              f"| {r['failed'][:15]} |", flush=True)


if __name__ == "__main__":
    main()
