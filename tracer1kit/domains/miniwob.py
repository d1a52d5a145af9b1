"""The MiniWoB++ domain: web tasks in headless Chromium, the DOM grounder as frozen tool agent, scripted experts.

It is the registry's fallback: a task no other domain claims is a MiniWoB++ task, and its params checks name
the supported ones.
"""

from __future__ import annotations

import random
from typing import Any

from ..actions import Step
from ..agents.base import ToolAgent
from ..agents.grounding import DomGrounder, make_grounder
from ..agents.planner import random_gui_step
from ..envs.base import BatchEnv, Environment
from ..episodes import Observation
from ..experts.data import generate_expert_episodes, generated_once, gui_expert_steps
from ..experts.lengths import LONGEST_EPISODE
from ..params import Params
from .base import Domain, Purpose, Split, short_budget, split_jobs, unknown_tasks


class MiniWoBDomain(Domain):
    name = "miniwob"
    store = "expert"
    source = ("MiniWoB++ (https://github.com/Farama-Foundation/miniwob-plusplus)", "mit")

    def owns(self, task: str) -> bool:
        return task in LONGEST_EPISODE  # and, as the fallback, every task no other domain claims

    def enabled(self, params: Params) -> bool:
        return bool(params.env.tasks or params.env.heldout_tasks)

    def jobs(self, params: Params, split: Split) -> list[tuple[str, int]]:
        return split_jobs(params.env.tasks, params.env.heldout_tasks, params.env, split)

    def eval_jobs(self, params: Params) -> list[tuple[str, int, str]]:
        seeds = params.env.test_seeds[: params.eval.episodes_per_task]
        return ([(t, s, "test") for t in params.env.tasks for s in seeds]
                + [(t, s, "heldout") for t in params.env.heldout_tasks for s in seeds])

    def max_steps(self, params: Params) -> int:
        return params.env.max_steps

    def make_env(self, task: str, params: Params, *, screenshots: bool | None = None) -> Environment:
        from ..envs.miniwob import MiniWoBEnv

        return MiniWoBEnv(task, screenshots=params.env.screenshots if screenshots is None else screenshots,
                          headless=params.env.headless, episode_max_time_s=params.env.episode_max_time_s)

    def slots(self, params: Params, workers: int = 1) -> BatchEnv:
        """A pool of ``workers`` browser processes when ``workers > 1``, else in-process browsers."""
        if workers > 1:
            from ..envs.pool import EnvPool

            return EnvPool(workers, screenshots=params.env.screenshots, headless=params.env.headless,
                           episode_max_time_s=params.env.episode_max_time_s)
        return super().slots(params)

    def tool_agent(self, params: Params, purpose: Purpose) -> ToolAgent:
        if purpose == "eval":
            return make_grounder(params.eval.grounder)
        if purpose == "train":
            return make_grounder(params.grounded.grounder)
        if purpose == "replay":
            return make_grounder(params.grounded.grounder.model_copy(update={"noise": 0.0}))
        return DomGrounder()

    def expert_steps(self, observation: Observation) -> list[Step]:
        return gui_expert_steps(observation)

    def generate(self, params: Params, store_dir: Any) -> dict[str, int]:
        """Expert episodes of ``env.tasks`` (train/val/test seeds) and ``env.heldout_tasks`` (test seeds, split
        ``heldout``), ``env.workers`` browser processes at a time."""
        cfg = params.env

        def generate() -> dict[str, int]:
            plan = [("train", cfg.tasks, cfg.train_seeds), ("val", cfg.tasks, cfg.val_seeds),
                    ("test", cfg.tasks, cfg.test_seeds), ("heldout", cfg.heldout_tasks, cfg.test_seeds)]
            return {split: len(generate_expert_episodes(list(tasks), list(seeds), store_dir, split=split,
                                                        screenshots=cfg.screenshots, max_steps=cfg.max_steps,
                                                        workers=cfg.workers))
                    for split, tasks, seeds in plan if tasks and seeds}

        return generated_once(store_dir, cfg.model_dump(mode="json", exclude={"workers", "headless"}), generate)

    def problems(self, params: Params) -> list[str]:
        return unknown_tasks([*params.env.tasks, *params.env.heldout_tasks], LONGEST_EPISODE,
                             "env.tasks / env.heldout_tasks", "scripted expert", "tasks")

    def budget_problems(self, params: Params) -> list[str]:
        return short_budget([*params.env.tasks, *params.env.heldout_tasks], LONGEST_EPISODE, "env.max_steps",
                            params.env.max_steps)

    def lengths(self, params: Params) -> dict[str, int]:
        return {task: LONGEST_EPISODE[task] for task in params.env.tasks if task in LONGEST_EPISODE}

    def protocol(self, params: Params) -> dict[str, str]:
        grounder = params.eval.grounder
        noise = f", noise {grounder.noise:g} (seed {grounder.seed})" if grounder.noise else ""
        return {"gui tasks (held-out seeds)": ", ".join(params.env.tasks) or "none",
                "held-out tasks": ", ".join(params.env.heldout_tasks) or "none",
                "test seeds": str(params.env.test_seeds[: params.eval.episodes_per_task]),
                "max steps": str(params.env.max_steps),
                "success": "MiniWoB++ raw reward > 0 (undecayed)",
                "frozen GUI executor": f"{grounder.kind} grounder{noise}"}

    def random_step(self, observation: Observation, rng: random.Random) -> Step:
        return random_gui_step(observation, rng)
