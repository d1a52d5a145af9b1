"""Full or partial view for the grid planner? What BabyAI's egocentric view would hide, on validation seeds (issue 26).

Follows the expert on each level and, before every expert step, asks minigrid whether the agent sees (its 7×7
egocentric view, walls occluding: ``agent_sees``) the objects the next K reference steps name. A planner given only
the partial view must name objects it cannot see, and the grid vocabulary has no step to explore; a share near 0
would make the partial view a fair, harder choice, a large share makes it a different task (exploration).

    PYTHONPATH=. .venv/bin/python benchmarks/bench_grid_view.py --seeds 50 --horizon 4
"""

from __future__ import annotations

import argparse

from tracer1kit.agents.grid import GridExecutor, TargetQuery, parse_target
from tracer1kit.envs.grid import GridEnv, GridState
from tracer1kit.experts.grid import expert_segments

LEVELS = ["BabyAI-PickupLoc-v0", "BabyAI-UnlockPickup-v0", "BabyAI-BlockedUnlockPickup-v0",
          "BabyAI-MoveTwoAcrossS5N2-v0", "BabyAI-KeyCorridorS3R3-v0"]


def _seen(env: GridEnv, state: GridState, target: str) -> bool:
    """Whether the agent sees some object the target text fits (a parsed BabyAI description)."""
    query = parse_target(target)
    assert isinstance(query, TargetQuery), query
    return any(query.fits(obj, state) and env.minigrid.agent_sees(*obj.pos) for obj in state.objects)


def hidden_shares(level: str, seeds: list[int], horizon: int) -> tuple[int, float, float]:
    """(states, share whose step-1 target is out of view, share with some target of steps 1..K out of view)."""
    executor, states, first, any_ = GridExecutor(), 0, 0, 0
    env = GridEnv(level, image=False)
    for seed in seeds:
        steps = expert_segments(level, seed)
        observation = env.reset(seed)
        for index, step in enumerate(steps):
            state = GridState.from_json(observation.state)
            hidden = [bool(s.target) and not _seen(env, state, s.target) for s in steps[index:index + horizon]]
            states += 1
            first += hidden[0]
            any_ += any(hidden)
            observation = env.step(executor.ground(step, observation).action).observation
    env.close()
    return states, first / states, any_ / states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50, help="validation seeds per level, from 1000")
    parser.add_argument("--horizon", type=int, default=4)
    args = parser.parse_args()
    seeds = list(range(1000, 1000 + args.seeds))
    print(f"| level | states | step-1 target out of view | some target of steps 1..{args.horizon} out of view |")
    print("|---|---|---|---|")
    for level in LEVELS:
        states, first, any_ = hidden_shares(level, seeds, args.horizon)
        print(f"| {level.removeprefix('BabyAI-').removesuffix('-v0')} | {states} | {first:.2f} | {any_:.2f} |")


if __name__ == "__main__":
    main()
