"""BabyAI grid domain: expert speed and replay success per level, and the executor's cost against raw minigrid.

    PYTHONPATH=. python benchmarks/bench_grid.py --seeds 50              # the whole suite (GRID_LEVELS)
    PYTHONPATH=. python benchmarks/bench_grid.py --seeds 5 --levels BabyAI-UnlockPickup-v0

Per level: expert episodes/min (BabyAI's bot on a fresh level, cut into grid steps), replay success through the
lenient and strict executors, mean and longest expert episode in grid steps (``GRID_LONGEST_EPISODE``).
Then the loop cost: the expert's steps replayed through ``GridExecutor`` + ``GridEnv`` (grounding, primitive
steps, the observation's screenshot, text and state per grid step) against raw minigrid driven by the bot on the
same seeds, as a ratio of seconds per primitive step (the goal is <= 1.1), and both per episode (the executor's
paths are often shorter than the bot's, which explores).

With ``--planner SPEC --params FILE`` it times instead what an evaluation row costs: that planner (a model spec or
a trained checkpoint folder, with the params' planner settings) through the kit's loop on the params' grid test
jobs, ``planner.batch_size`` episodes at a time, with the expert's reference at every step::

    PYTHONPATH=. python benchmarks/bench_grid.py --planner runs/x/trainings/T/checkpoints/sft/final \
        --params params/study_grid.yaml --episodes 500
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time

from tracer1kit.agents.grid import GridExecutor
from tracer1kit.envs.grid import GRID_LEVELS, GridEnv
from tracer1kit.experts.grid import expert_segments, replay


def bench_level(task: str, seeds: range) -> dict[str, object]:
    start = time.perf_counter()
    lengths = [len(expert_segments(task, seed)) for seed in seeds]
    expert_seconds = time.perf_counter() - start
    lenient = [seed for seed in seeds if not replay(task, seed, GridExecutor())[0]]
    strict = [seed for seed in seeds if not replay(task, seed, GridExecutor("strict"))[0]]
    return {"per_min": 60 * len(lengths) / expert_seconds, "lenient": 1 - len(lenient) / len(seeds),
            "strict": 1 - len(strict) / len(seeds), "mean": sum(lengths) / len(lengths), "longest": max(lengths),
            "failed": sorted(set(lenient) | set(strict))}


def loop_seconds(task: str, seeds: range) -> tuple[float, int, int]:
    """(seconds, primitive steps, grid steps) of the expert replayed through the executor and GridEnv."""
    executor, env = GridExecutor(), GridEnv(task)
    seconds, primitives, grid_steps = 0.0, 0, 0
    try:
        for seed in seeds:
            steps = expert_segments(task, seed)  # cached: the expert itself is not timed here
            start = time.perf_counter()
            observation = env.reset(seed)
            for step in steps:
                transition = env.step(executor.ground(step, observation).action)
                observation = transition.observation
                primitives += transition.info.get("primitive_steps", 0)
            seconds += time.perf_counter() - start
            grid_steps += len(steps)
    finally:
        env.close()
    return seconds, primitives, grid_steps


def raw_bot_seconds(task: str, seeds: range) -> tuple[float, int]:
    """(seconds, primitive steps) of raw minigrid (gymnasium env, headless) driven by BabyAI's bot."""
    import gymnasium as gym
    from minigrid.utils.baby_ai_bot import BabyAIBot

    env = gym.make(task, render_mode="rgb_array")
    seconds, primitives = 0.0, 0
    for seed in seeds:
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            env.reset(seed=seed)
        bot, action = BabyAIBot(env.unwrapped), None
        while True:
            action = bot.replan(action)
            _, _, terminated, truncated, _ = env.step(action)
            primitives += 1
            if terminated or truncated:
                break
        seconds += time.perf_counter() - start
    env.close()
    return seconds, primitives


def bench_planner(spec: str, params_path: str, episodes: int) -> None:
    """Episodes per minute of one evaluation row on the grid test jobs (the first ``episodes`` of them)."""
    from tracer1kit.domains.registry import domain_of, expert_planner
    from tracer1kit.evaluation import frozen_planner
    from tracer1kit.evaluation.online import episode_record, eval_jobs, run_jobs
    from tracer1kit.params import load_params

    params = load_params(params_path)
    jobs = eval_jobs(params)["grid"][:episodes]
    domain = domain_of(jobs[0][0])
    planner, envs = frozen_planner(spec, params), domain.slots(params)
    try:
        start = time.perf_counter()
        done = run_jobs(planner, domain.tool_agent(params, "eval"), envs, jobs, max_steps=domain.max_steps(params),
                        variant="bench", reference_planner=expert_planner(params.planner.horizon),
                        reward=params.reward, grounded=params.grounded,
                        stop_after=domain.stop_after(params))
        seconds = time.perf_counter() - start
    finally:
        envs.close()
    records = [episode_record(e) for e in done]
    steps = sum(r["steps"] for r in records)
    print(f"{len(done)} episodes, batch {len(envs)}, K = {params.planner.horizon}: {60 * len(done) / seconds:.0f} "
          f"episodes/min ({seconds:.1f} s, {steps / seconds:.1f} planner steps/s), success "
          f"{sum(r['success'] for r in records) / len(records):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50, help="seeds per level (0..N-1)")
    parser.add_argument("--levels", nargs="*", default=[t for group in GRID_LEVELS.values() for t in group])
    parser.add_argument("--planner", help="time an evaluation row of this model spec / checkpoint instead")
    parser.add_argument("--params", default="params/study_grid.yaml", help="the params file (with --planner)")
    parser.add_argument("--episodes", type=int, default=500, help="grid test episodes (with --planner)")
    args = parser.parse_args()
    if args.planner:
        bench_planner(args.planner, args.params, args.episodes)
        return
    seeds = range(args.seeds)
    print(f"{'level':32s} {'expert/min':>10s} {'lenient':>8s} {'strict':>7s} {'mean':>5s} {'longest':>7s}  failed")
    for task in args.levels:
        row = bench_level(task, seeds)
        print(f"{task:32s} {row['per_min']:10.0f} {row['lenient']:8.2f} {row['strict']:7.2f} {row['mean']:5.1f} "
              f"{row['longest']:7d}  {row['failed']}", flush=True)
    print(f"\n{'level':32s} {'grid steps/s':>12s} {'prim/grid':>9s} {'ms/prim ours':>12s} {'ms/prim raw':>11s} "
          f"{'ratio':>6s} {'ms/ep ours':>10s} {'ms/ep raw':>9s}")
    for task in args.levels:
        ours, primitives, grid_steps = loop_seconds(task, seeds)
        raw, raw_primitives = raw_bot_seconds(task, seeds)
        ours_ms, raw_ms = 1000 * ours / primitives, 1000 * raw / raw_primitives
        print(f"{task:32s} {grid_steps / ours:12.0f} {primitives / grid_steps:9.1f} {ours_ms:12.3f} {raw_ms:11.3f} "
              f"{ours_ms / raw_ms:6.2f} {1000 * ours / len(seeds):10.1f} {1000 * raw / len(seeds):9.1f}", flush=True)


if __name__ == "__main__":
    main()
