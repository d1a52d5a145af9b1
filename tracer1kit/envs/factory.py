"""Making environments from params: one factory for every task name, and in-process environment slots.

``make_env(task, params)`` is the only place an environment is constructed from params (evaluation, Stage 2's
live judge, expert data); ``SerialEnvs`` runs environments in this process as the agent loop's batch of slots,
``env_slots`` picks a pool of browser processes instead when more than one worker is asked for.
"""

from __future__ import annotations

from typing import Callable

from ..episodes import Observation
from ..params import Params
from .base import TASK_PREFIX, BatchEnv, Environment, Transition, is_tool_task


def make_env(task: str, params: Params, *, screenshots: bool | None = None) -> Environment:
    """A fresh environment for ``task``: the tool-use env for ``tooluse/<kind>``, else MiniWoB++ in Chromium
    (``screenshots`` overrides ``env.screenshots``)."""
    if is_tool_task(task):
        from .tooluse import ToolUseEnv, kind_of

        return ToolUseEnv([kind_of(task)], max_steps=params.tooluse.max_steps)
    from .miniwob import MiniWoBEnv

    return MiniWoBEnv(task, screenshots=params.env.screenshots if screenshots is None else screenshots,
                      headless=params.env.headless, episode_max_time_s=params.env.episode_max_time_s)


class SerialEnvs:
    """In-process environment slots: ``factory(task)`` makes an environment, reused while the slot's task stays."""

    def __init__(self, factory: Callable[[str], Environment], slots: int = 1) -> None:
        self.factory = factory
        self.envs: list[Environment | None] = [None] * slots
        self.tasks: list[str | None] = [None] * slots

    @classmethod
    def of(cls, env: Environment) -> "SerialEnvs":
        """One existing environment as a single slot, kept on its task (the caller still owns and closes ``env``)."""
        slots = cls(lambda task: env)
        slots.envs[0], slots.tasks[0] = env, env.task
        return slots

    def __len__(self) -> int:
        return len(self.envs)

    def reset(self, jobs: list[tuple[str, int]]) -> list[Observation]:
        observations = []
        for slot, (task, seed) in enumerate(jobs):
            env = self.envs[slot]
            if env is None or self.tasks[slot] != task:
                if env is not None:
                    env.close()
                env = self.envs[slot] = self.factory(task)
                self.tasks[slot] = task
            observations.append(env.reset(seed))
        return observations

    def step(self, actions: list[object]) -> list[Transition | None]:
        return [None if action is None else self.envs[i].step(action) for i, action in enumerate(actions)]

    def close(self) -> None:
        for env in self.envs:
            if env is not None:
                env.close()
        self.envs = [None] * len(self.envs)
        self.tasks = [None] * len(self.tasks)

    def __enter__(self) -> "SerialEnvs":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def env_slots(params: Params, workers: int = 1) -> BatchEnv:
    """Slots for any task: a pool of ``workers`` browser processes for MiniWoB++ when ``workers > 1``, else
    ``planner.batch_size`` in-process environments from :func:`make_env` (stepped one after another, so the
    planner still generates for that many episodes at once)."""
    if workers > 1:
        from .pool import EnvPool

        return EnvPool(workers, screenshots=params.env.screenshots, headless=params.env.headless,
                       episode_max_time_s=params.env.episode_max_time_s)
    return SerialEnvs(lambda task: make_env(task, params), slots=params.planner.batch_size)


def tool_jobs(kinds: list[str], seeds: list[int]) -> list[tuple[str, int]]:
    """(task, seed) of generated tool-use tasks: seed ``s`` gets kind ``kinds[s % len(kinds)]``."""
    return [(TASK_PREFIX + kinds[s % len(kinds)], s) for s in seeds]
