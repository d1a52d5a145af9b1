"""Where an episode's wall time goes in the plan → execute step 1 → re-plan loop: planning (generation),
grounding, the environment, and the loop's own bookkeeping (aim: overhead under 5%).

    .venv/bin/python benchmarks/bench_loop.py [--episodes 6] [--task login-user] [--model tiny]

Uses the tiny model (untrained: every step runs generation to the token cap, the worst case for planning)
and the scripted expert as reference planner, so each step's feedback is matched against it as in evaluation.
"""

from __future__ import annotations

import argparse

from tracer1kit.agents.grounding import DomGrounder
from tracer1kit.agents.loop import LoopTimings, run_batch
from tracer1kit.agents.planner import Planner
from tracer1kit.envs.serial import SerialEnvs
from tracer1kit.envs.miniwob import MiniWoBEnv
from tracer1kit.domains.registry import expert_planner
from tracer1kit.models import load_policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=6)
    parser.add_argument("--task", default="login-user")
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    args = parser.parse_args()
    planner = Planner(load_policy(args.model), horizon=3, max_new_tokens=args.max_new_tokens)
    for name, model_planner in (("expert planner", expert_planner(3)), (f"{args.model} planner", planner)):
        timings = LoopTimings()
        with SerialEnvs(lambda task: MiniWoBEnv(task, screenshots=True)) as envs:
            for seed in range(args.episodes):
                run_batch(model_planner, DomGrounder(), envs, [(args.task, seed)], max_steps=4,
                          reference_planner=expert_planner(3), timings=timings)
        total = timings.total_s
        print(f"{name:16s} total {total:6.2f}s  plan {timings.plan_s / total:5.1%}  ground {timings.ground_s / total:5.1%}"
              f"  env {timings.env_s / total:5.1%}  loop overhead {timings.overhead_s / total:5.1%}")


if __name__ == "__main__":
    main()
