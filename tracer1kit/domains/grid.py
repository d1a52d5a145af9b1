"""The grid domain: BabyAI levels (Farama minigrid) planned in high-level steps (goto, pickup, open, drop, put)
and executed by the frozen subgoal executor; the reference is minigrid's BabyAI bot cut at its interactions."""

from __future__ import annotations

import random
from typing import Any

from ..actions import GRID_ACTIONS, ActionType, Plan, Step
from ..agents.base import ToolAgent
from ..agents.grid import GridExecutor
from ..envs.base import Environment
from ..envs.grid import GridEnv, GridState, is_grid_task, object_names
from ..episodes import Observation
from ..experts.grid import GRID_LONGEST_EPISODE, grid_expert_steps
from ..params import GridExecutorParams, Params
from ..prompts import PromptContext, compact_system_prompt, system_prompt
from .base import Domain, Purpose, Split, short_budget, split_jobs, unknown_tasks

EXAMPLE_PLAN = Plan(
    steps=(
        Step(ActionType.PICKUP, target="the yellow key", instruction="pick up the yellow key"),
        Step(ActionType.OPEN, target="the yellow door", instruction="open the yellow door"),
        Step(ActionType.DROP, instruction="drop the yellow key"),
        Step(ActionType.PICKUP, target="the purple box", instruction="pick up the purple box", done=True),
    ),
    think="the box is behind the locked yellow door",
)
FIELDS = "target (the object: colour and kind, e.g. the red ball), instruction"
CONTEXT = PromptContext(system_prompt(GRID_ACTIONS, FIELDS, EXAMPLE_PLAN),
                        compact_system_prompt(GRID_ACTIONS, "target, instruction", EXAMPLE_PLAN))


def executor(params: GridExecutorParams) -> GridExecutor:
    """The frozen executor a params section describes (``grid.executor``, ``grid.eval_executor``)."""
    return GridExecutor(kind=params.kind, noise=params.noise, seed=params.seed)


class GridDomain(Domain):
    name = "grid"
    store = "grid_expert"
    source = ("BabyAI levels of Farama's Minigrid (https://github.com/Farama-Foundation/Minigrid)", "apache-2.0")

    def owns(self, task: str) -> bool:
        return is_grid_task(task)

    def enabled(self, params: Params) -> bool:
        return bool(params.grid.levels or params.grid.heldout_levels)

    def jobs(self, params: Params, split: Split) -> list[tuple[str, int]]:
        return split_jobs(params.grid.levels, params.grid.heldout_levels, params.grid, split)

    def max_steps(self, params: Params) -> int:
        return params.grid.max_steps

    def stop_after(self, params: Params) -> int | None:
        return params.grid.stop_after

    def make_env(self, task: str, params: Params, *, screenshots: bool | None = None) -> Environment:
        return GridEnv(task, image=params.grid.image if screenshots is None else screenshots)

    def tool_agent(self, params: Params, purpose: Purpose) -> ToolAgent:
        cfg = params.grid
        if purpose == "eval":
            return executor(cfg.eval_executor)
        if purpose == "train":
            return executor(cfg.executor)
        if purpose == "replay":
            return executor(cfg.executor.model_copy(update={"noise": 0.0}))
        return GridExecutor()

    def expert_steps(self, observation: Observation) -> list[Step]:
        return grid_expert_steps(observation)

    def config_key(self, params: Params) -> Any:
        return params.grid.model_dump(mode="json", exclude={"executor", "eval_executor"})

    def prompt_context(self, params: Params) -> PromptContext:
        return CONTEXT

    def protocol(self, params: Params) -> dict[str, str]:
        cfg = params.grid
        noise = f", noise {cfg.eval_executor.noise:g} (seed {cfg.eval_executor.seed})" if cfg.eval_executor.noise else ""
        return {"grid levels (held-out seeds)": ", ".join(cfg.levels) or "none",
                "held-out grid levels": ", ".join(cfg.heldout_levels) or "none",
                "grid test seeds": f"{len(cfg.test_seeds)} per level ({cfg.test_seeds[0]}–{cfg.test_seeds[-1]})"
                                   if cfg.test_seeds else "none",
                "grid max steps": str(cfg.max_steps) + (f", or {cfg.stop_after} non-executable steps in a row"
                                                        if cfg.stop_after else ""),
                "grid success": "the BabyAI mission completed (reward > 0) within the step budget",
                "frozen grid executor": f"{cfg.eval_executor.kind} subgoal executor{noise}"}

    def split_label(self, split: str) -> str:
        """Grid rows are their own metrics (``grid_success``, ``grid_heldout_success``), never pooled with pages."""
        return "grid" if split == "test" else "grid_heldout"

    def problems(self, params: Params) -> list[str]:
        return unknown_tasks([*params.grid.levels, *params.grid.heldout_levels], GRID_LONGEST_EPISODE,
                             "grid.levels / grid.heldout_levels", "measured expert", "levels")

    def budget_problems(self, params: Params) -> list[str]:
        return short_budget([*params.grid.levels, *params.grid.heldout_levels], GRID_LONGEST_EPISODE,
                            "grid.max_steps", params.grid.max_steps)

    def lengths(self, params: Params) -> dict[str, int]:
        return {level: GRID_LONGEST_EPISODE[level] for level in params.grid.levels if level in GRID_LONGEST_EPISODE}

    def random_step(self, observation: Observation, rng: random.Random) -> Step:
        """A random grid action on a random object of the level (``drop`` and ``done`` need none)."""
        action = rng.choice(sorted(GRID_ACTIONS, key=lambda a: a.value))
        if action is ActionType.DONE:
            return Step(action, instruction="the task is complete", done=True)
        if action is ActionType.DROP:
            return Step(action, instruction="drop what you carry")
        names = sorted(object_names(GridState.from_json(observation.state)).values())
        target = f"the {rng.choice(names)}" if names else "the red ball"
        return Step(action, target=target, instruction=f"{action.value} {target}")
