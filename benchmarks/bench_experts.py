"""Scripted MiniWoB++ experts through the frozen grounder: success rate, steps, speed, grounder accuracy.

    python benchmarks/bench_experts.py --seeds 50            # every supported task
    python benchmarks/bench_experts.py --seeds 5 --tasks login-user click-tab-2

Grounder accuracy counts the expert's steps whose target words ground back to the element the expert meant;
"longest" is the most steps of a successful episode (the figures of ``tracer1kit.experts.lengths``).
"""

from __future__ import annotations

import argparse
import time

from tracer1kit.agents.grounding import DomGrounder
from tracer1kit.experts.data import run_expert_episode
from tracer1kit.experts.gui import EXPERTS, expert_for
from tracer1kit.envs.miniwob import MiniWoBEnv
from tracer1kit.episodes import Episode


def grounding_hits(task: str, episode: Episode) -> tuple[int, int]:
    """(steps whose grounded element is the one the expert meant, steps that target an element)."""
    expert, hits, total = expert_for(task), 0, 0
    for record in episode.steps:
        if record.plan is None or record.feedback is None:
            continue
        expert.next_steps(record.observation)
        meant = expert.last_targets[0]
        if meant is None:
            continue
        total += 1
        hits += record.feedback.element_ref == meant
    return hits, total


def bench_task(task: str, seeds: range, max_steps: int, screenshots: bool) -> dict[str, float]:
    env, grounder = MiniWoBEnv(task, screenshots=screenshots), DomGrounder()
    try:
        start = time.perf_counter()
        episodes = [run_expert_episode(env, seed, max_steps, grounder) for seed in seeds]
        seconds = time.perf_counter() - start
    finally:
        env.close()
    hits = [grounding_hits(task, e) for e in episodes]
    failed = [e.seed for e in episodes if not e.success]
    return {"success": sum(e.success for e in episodes) / len(episodes),
            "steps": sum(len(e.steps) for e in episodes) / len(episodes),
            "longest": max((len(e.steps) for e in episodes if e.success), default=0),
            "per_min": 60 * len(episodes) / seconds,
            "grounding": sum(h for h, _ in hits) / max(1, sum(t for _, t in hits)),
            "failed": failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50, help="seeds per task (0..N-1)")
    parser.add_argument("--tasks", nargs="*", default=sorted(EXPERTS), help="tasks (default: all supported)")
    parser.add_argument("--max-steps", type=int, default=30)
    parser.add_argument("--screenshots", action="store_true", help="take screenshots (slower, like data generation)")
    args = parser.parse_args()
    print("| task | success | mean steps | longest | episodes/min | grounder acc. | failed seeds |\n"
          "|---|---|---|---|---|---|---|")
    for task in args.tasks:
        r = bench_task(task, range(args.seeds), args.max_steps, args.screenshots)
        print(f"| {task} | {r['success']:.0%} | {r['steps']:.1f} | {r['longest']} | {r['per_min']:.0f} "
              f"| {r['grounding']:.1%} | {' '.join(map(str, r['failed'][:8]))} |", flush=True)


if __name__ == "__main__":
    main()
