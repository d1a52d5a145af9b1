"""One interface for an environment family (MiniWoB++ pages, generated tool use, BabyAI grids, …).

A :class:`Domain` names every part the kit needs of a family: which task names are its own, its environment, its
frozen tool agent, its scripted expert, what its prompts add, its checks of the params, its measured episode
lengths and what its online records add. Every caller above this floor asks the registry
(:mod:`tracer1kit.domains.registry`) for a task's domain instead of testing a task name; floors below receive the
domain's judgement as a function argument.

A new family is one module defining a subclass and one :func:`~tracer1kit.domains.registry.register` call
(``tests/test_domains.py`` plugs in a one-dimensional corridor that way).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import Any, Literal, Mapping, Sequence

from pathlib import Path

from ..actions import ActionType, Step
from ..agents.base import ToolAgent
from ..agents.loop import run_batch
from ..envs.base import BatchEnv, Environment
from ..envs.serial import SerialEnvs
from ..episodes import Episode, Observation
from ..experts.data import generated_once, store_episodes
from ..experts.planner import ExpertPlanner
from ..params import Params
from ..prompts import GUI_CONTEXT, PromptContext

Split = Literal["train", "val", "test", "heldout"]
SPLITS: tuple[Split, ...] = ("train", "val", "test", "heldout")
# What a tool agent is made for: evaluation's executor, Stage 2's training executor, the noise-free twin of that
# one that replays a recorded prefix (Stage 2 live), or the one expert data is recorded through.
Purpose = Literal["eval", "train", "replay", "expert"]


def split_jobs(trained: Sequence[str], heldout: Sequence[str], seeds: Any, split: Split) -> list[tuple[str, int]]:
    """(task, seed) of a split for a section with ``train_seeds``, ``val_seeds`` and ``test_seeds``: the trained
    tasks on the split's seeds, the held-out tasks on the test seeds."""
    tasks = heldout if split == "heldout" else trained
    chosen = {"train": seeds.train_seeds, "val": seeds.val_seeds, "test": seeds.test_seeds,
              "heldout": seeds.test_seeds}[split]
    return [(task, seed) for task in tasks for seed in chosen]


def unknown_tasks(names: Sequence[str], known: Mapping[str, int], where: str, expert: str, kind: str) -> list[str]:
    """The problem of task names no expert is known for (``known``: the measured longest episode by name)."""
    unknown = [name for name in names if name not in known]
    if not unknown:
        return []
    return [f"{where}: no {expert} for {', '.join(map(repr, unknown))}; supported {kind}: {', '.join(sorted(known))}"]


def short_budget(names: Sequence[str], longest: Mapping[str, int], key: str, budget: int) -> list[str]:
    """The problem of a step budget (the params ``key``) below the longest expert episode of some task."""
    short = [f"{name} ({longest[name]} steps)" for name in names if longest[name] > budget]
    if not short:
        return []
    return [f"{key} = {budget} is less than the longest expert episode of {', '.join(short)}: those episodes would "
            f"end unfinished; raise {key}"]


class Domain(ABC):
    """An environment family's parts. Subclasses set ``name`` and ``store`` and implement the abstract methods;
    the others have defaults that fit a family of in-process environments."""

    name: str = ""
    store: str = ""  # its expert data's folder under RUN/episodes
    source: tuple[str, str] = ("", "")  # where its tasks come from and their licence (an exported dataset's card)

    @abstractmethod
    def owns(self, task: str) -> bool:
        """Whether ``task`` names one of this domain's tasks."""

    @abstractmethod
    def enabled(self, params: Params) -> bool:
        """Whether the params use this domain at all (its expert data, training rows and evaluation rows)."""

    @abstractmethod
    def jobs(self, params: Params, split: Split) -> list[tuple[str, int]]:
        """(task, seed) of a split; empty where the domain has no such split."""

    @abstractmethod
    def max_steps(self, params: Params) -> int:
        """The step budget of one episode."""

    def stop_after(self, params: Params) -> int | None:
        """Consecutive non-executable steps after which an evaluation episode ends unsolved (None: never)."""
        return None

    @abstractmethod
    def make_env(self, task: str, params: Params, *, screenshots: bool | None = None) -> Environment:
        """A fresh environment of ``task`` (``screenshots=False``: none needed, e.g. Stage 2's live judge)."""

    @abstractmethod
    def tool_agent(self, params: Params, purpose: Purpose) -> ToolAgent:
        """The frozen tool agent for ``purpose``."""

    @abstractmethod
    def expert_steps(self, observation: Observation) -> list[Step]:
        """The scripted expert's remaining steps from ``observation`` (``ExpertError`` when it has none)."""

    def eval_jobs(self, params: Params) -> list[tuple[str, int, str]]:
        """(task, seed, split) of online evaluation: the test jobs, then the held-out ones."""
        return ([(task, seed, "test") for task, seed in self.jobs(params, "test")]
                + [(task, seed, "heldout") for task, seed in self.jobs(params, "heldout")])

    def generate(self, params: Params, store_dir: Path) -> dict[str, int]:
        """Expert episodes of every split into ``store_dir`` (episodes per split), recorded by the agent loop
        through the ``expert`` tool agent, ``planner.batch_size`` at a time; nothing when the store was already
        generated under the same :meth:`config_key`."""

        def generate() -> dict[str, int]:
            planner = ExpertPlanner(params.planner.horizon, self.expert_steps)
            agent, counts = self.tool_agent(params, "expert"), {}
            envs = self.slots(params)
            try:
                for split in SPLITS:
                    jobs = self.jobs(params, split)
                    if not jobs:
                        continue
                    episodes = [e for i in range(0, len(jobs), len(envs))
                                for e in run_batch(planner, agent, envs, jobs[i:i + len(envs)],
                                                   max_steps=self.max_steps(params), variant="expert")]
                    counts[split] = len(store_episodes(episodes, store_dir, split))
            finally:
                envs.close()
            return counts

        return generated_once(store_dir, self.config_key(params), generate)

    def slots(self, params: Params, workers: int = 1) -> BatchEnv:
        """Environment slots for the agent loop: ``planner.batch_size`` in-process environments."""
        return SerialEnvs(lambda task: self.make_env(task, params), slots=params.planner.batch_size)

    def prompt_context(self, params: Params) -> PromptContext:
        """What this domain's prompts say: its vocabulary, its example, fixed text (tool lists)."""
        return GUI_CONTEXT

    def config_key(self, params: Params) -> Any:
        """Everything its expert data depends on: data generated under another key is generated again."""
        return {"jobs": {split: self.jobs(params, split) for split in SPLITS}, "max_steps": self.max_steps(params)}

    def problems(self, params: Params) -> list[str]:
        """What is wrong with the params' names for this domain (unknown tasks or kinds), before any work."""
        return []

    def budget_problems(self, params: Params) -> list[str]:
        """Step budgets too small for the longest expert episode (asked only when :meth:`problems` is empty)."""
        return []

    def lengths(self, params: Params) -> dict[str, int]:
        """The longest expert episode, in steps, of each training task (for the horizon check)."""
        return {}

    def protocol(self, params: Params) -> dict[str, str]:
        """How this domain's rows were made, in words (the report prints it under the table)."""
        return {}

    def record_fields(self, episode: Episode) -> dict[str, Any]:
        """What an online episode's record adds to the common fields (tool use: tool selection)."""
        return {}

    def split_label(self, split: str) -> str:
        """The split an online record names (tool use reports its rows as ``tool``)."""
        return split

    def random_step(self, observation: Observation, rng: random.Random) -> Step:
        """A random valid step (the ``random`` floor planner): by default ``done``."""
        return Step(ActionType.DONE, instruction="the task is complete", done=True)
