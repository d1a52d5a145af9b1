"""Online evaluation throughput: episodes per minute with 1 and 4 environment workers.

    .venv/bin/python benchmarks/bench_evaluation.py [--params params/quickstart.yaml] [--model PATH] [--workers 1 4]

Runs the GUI jobs of the params' evaluation (held-out seeds of the training tasks, then the held-out tasks)
through the same ``run_jobs`` the evaluation uses, once with the scripted expert and, with ``--model``,
once with a trained checkpoint (e.g. ``runs/quickstart/trainings/base-s0/checkpoints/stage2/final``).
With more workers the planner batches across environments and the browsers run in separate processes.
"""

from __future__ import annotations

import argparse
import time

from tracer1kit.agents.grounding import DomGrounder
from tracer1kit.evaluation import frozen_planner
from tracer1kit.domains.registry import domain_of, expert_planner
from tracer1kit.evaluation.online import episode_record, eval_jobs, run_jobs
from tracer1kit.params import load_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", default="params/quickstart.yaml")
    parser.add_argument("--model", default=None, help="a model spec or checkpoint path (default: expert only)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    params = load_params(args.params)
    jobs = eval_jobs(params)["miniwob"]
    reference = expert_planner(params.planner.horizon)
    planners = [("expert", reference)]
    if args.model:
        planners.append((args.model, frozen_planner(args.model, params)))
    print(f"{len(jobs)} episodes ({', '.join(params.env.tasks + params.env.heldout_tasks)}), "
          f"screenshots={params.env.screenshots}, K={params.planner.horizon}")
    print(f"{'planner':>10} {'workers':>7} {'episodes/min':>12} {'success':>8} {'steps/episode':>13}")
    for name, planner in planners:
        for workers in args.workers:
            envs = domain_of(jobs[0][0]).slots(params, workers)
            try:
                start = time.perf_counter()
                episodes = run_jobs(planner, DomGrounder(), envs, jobs, max_steps=params.env.max_steps,
                                    variant=name, reference_planner=reference,
                                    reward=params.reward, grounded=params.grounded)
                elapsed = time.perf_counter() - start
            finally:
                envs.close()
            records = [episode_record(e) for e in episodes]
            success = sum(r["success"] for r in records) / len(records)
            steps = sum(r["steps"] for r in records) / len(records)
            print(f"{name[-10:]:>10} {workers:>7} {len(episodes) / elapsed * 60:>12.1f} {success:>8.2f} {steps:>13.2f}")


if __name__ == "__main__":
    main()
