"""Domains plug in: a one-dimensional corridor, defined here and nowhere in the package, runs the whole method
(expert data → SFT → Stage 1 → Stage 2 → evaluation with a paired contrast) through the registry alone; and the
registry sends every task to its own domain."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace

import pytest

from tracer1kit.actions import ActionType, Step
from tracer1kit.agents.base import Grounding
from tracer1kit.domains.base import Domain
from tracer1kit.domains.registry import DOMAINS, active, domain_of, register, unregister
from tracer1kit.envs.base import Transition
from tracer1kit.episodes import Observation
from tracer1kit.params import Params, with_overrides

LENGTH = 6


@dataclass
class Corridor:
    """Cells 0..LENGTH-1; the agent starts at a seeded cell and must reach the seeded goal cell."""

    task: str
    position: int = 0
    goal: int = 0
    seed: int = 0

    def observe(self, steps: int = 0) -> Observation:
        return Observation(f"reach cell {self.goal}", text=f"You are at cell {self.position}.", task=self.task,
                           seed=self.seed, step_index=steps, state={"position": self.position, "goal": self.goal})

    def reset(self, seed: int) -> Observation:
        rng = random.Random(seed)
        self.seed, self.position, self.goal = seed, rng.randrange(LENGTH), rng.randrange(LENGTH)
        while self.goal == self.position:
            self.goal = rng.randrange(LENGTH)
        return self.observe()

    def step(self, action: int) -> Transition:
        self.position = min(LENGTH - 1, max(0, self.position + action))
        won = self.position == self.goal
        return Transition(self.observe(), reward=float(won), terminated=won, success=won)

    def close(self) -> None:
        pass


class Walker:
    """The frozen tool agent: ``press`` ``left`` or ``right`` moves one cell."""

    def ground(self, step: Step, observation: Observation) -> Grounding:
        if step.action is not ActionType.PRESS or step.value not in ("left", "right"):
            return Grounding(False, error="the walker only presses left or right")
        return Grounding(True, action=1 if step.value == "right" else -1, description=f"walk {step.value}")

    def same_effect(self, step: Step, grounding: Grounding, reference: Step, reference_grounding: Grounding) -> bool:
        return grounding.action == reference_grounding.action


class CorridorDomain(Domain):
    name, store = "corridor", "corridor_expert"

    def owns(self, task: str) -> bool:
        return task == "corridor"

    def enabled(self, params: Params) -> bool:
        return True

    def jobs(self, params: Params, split):
        seeds = {"train": params.env.train_seeds, "val": params.env.val_seeds, "test": params.env.test_seeds}
        return [("corridor", s) for s in seeds.get(split, [])]

    def max_steps(self, params: Params) -> int:
        return params.env.max_steps

    def make_env(self, task: str, params: Params, *, screenshots=None) -> Corridor:
        return Corridor(task)

    def tool_agent(self, params: Params, purpose) -> Walker:
        return Walker()

    def expert_steps(self, observation: Observation) -> list[Step]:
        here, goal = observation.state["position"], observation.state["goal"]
        way = "right" if goal > here else "left"
        steps = [Step(ActionType.PRESS, value=way, instruction=f"walk {way}") for _ in range(abs(goal - here))]
        return [*steps[:-1], replace(steps[-1], done=True)]

    def lengths(self, params: Params) -> dict[str, int]:
        return {"corridor": LENGTH - 1}


@pytest.fixture
def corridor():
    domain = register(CorridorDomain())
    yield domain
    unregister(domain.name)


def corridor_params(**overrides) -> Params:
    base = {"env.tasks": [], "env.train_seeds": list(range(12)), "env.val_seeds": [100], "env.test_seeds": [200, 201, 202, 203],
            "env.max_steps": 6, "tooluse.enabled": False, "planner.horizon": 2, "planner.max_new_tokens": 48,
            "train.sft.max_steps": 4, "train.sft.per_device_batch_size": 4,
            "train.stage1.max_steps": 1, "train.stage1.per_device_batch_size": 4, "train.stage1.num_generations": 2,
            "train.stage1.max_completion_length": 32,
            "train.stage2.max_steps": 1, "train.stage2.per_device_batch_size": 4, "train.stage2.num_generations": 2,
            "train.stage2.max_completion_length": 32,
            "eval.variants": ["expert", "tracer1"], "eval.horizons": [2], "eval.episodes_per_task": 4,
            "eval.contrasts": [["tracer1", "expert"]]}
    return with_overrides(Params(), {**base, **overrides})


def test_the_registry_sends_each_task_to_its_domain(corridor):
    assert domain_of("corridor") is corridor
    assert domain_of("tooluse/receipt_tip").name == "tooluse"
    assert domain_of("click-button").name == "miniwob" and domain_of("no-such-task").name == "miniwob"  # fallback
    assert [d.name for d in active(corridor_params())] == ["corridor"]
    with pytest.raises(ValueError, match="fallback"):
        register(type("Bad", (CorridorDomain,), {"name": DOMAINS[0].name})())


@pytest.mark.slow
def test_a_domain_defined_in_a_test_runs_the_whole_method(corridor, tmp_path):
    from tracer1kit.evaluation import evaluate

    report = evaluate(corridor_params(), tmp_path / "run", progress=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "reports" / "evaluations.jsonl").read_text().splitlines()]
    rows = {r["evaluation"]["variant"]: r["evaluation"] for r in records}
    assert set(rows) == {"expert", "tracer1"}
    assert all(e["task"] == "corridor" for row in rows.values() for e in row["episodes"])
    assert sum(e["success"] for e in rows["expert"]["episodes"]) == 4          # the expert walks every corridor
    assert len(rows["tracer1"]["states"]) == len(rows["expert"]["states"]) > 0  # offline: the same recorded states
    for stage in ("sft", "stage1", "stage2"):
        assert list((tmp_path / "run" / "trainings").glob(f"*/checkpoints/{stage}/final"))
    contrasts = (tmp_path / "run" / "reports" / "results.md").read_text()
    assert "tracer1 − expert" in contrasts and report.exists()
