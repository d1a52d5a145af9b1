"""In-process environment slots: the agent loop's batch of environments when they live in this process
(the browser pool, ``envs.pool.EnvPool``, is the other kind of slots)."""

from __future__ import annotations

from typing import Callable

from ..episodes import Observation
from .base import Environment, Transition


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
