"""A scripted expert as a planner: the first ``horizon`` of its remaining steps per state (the reference planner
of evaluation, expert data and the benches). Which expert plans a task is its domain's: ``steps`` is the
domain's expert (``tracer1kit.domains.registry.expert_steps`` picks it by task)."""

from __future__ import annotations

from typing import Callable, Sequence

from ..actions import Plan, Step, format_plan, pad_to_horizon
from ..agents.planner import PlannerOutput
from ..episodes import Observation
from .page import ExpertError

ExpertSteps = Callable[[Observation], Sequence[Step]]


class ExpertPlanner:
    """Plans with ``steps`` (an expert: observation → its remaining steps); an expert failure (``ExpertError``)
    becomes the output's error."""

    def __init__(self, horizon: int, steps: ExpertSteps) -> None:
        if horizon < 1:
            raise ValueError(f"horizon must be at least 1, got {horizon}")
        self.horizon = horizon
        self.steps = steps

    def plan(self, observation: Observation) -> PlannerOutput:
        try:
            steps = self.steps(observation)
        except ExpertError as exc:
            return PlannerOutput(None, "", error=str(exc))
        if not steps:
            return PlannerOutput(None, "", error=f"{observation.task}: the expert has no steps left")
        plan = Plan(pad_to_horizon(tuple(steps), self.horizon), think=f"expert for {observation.task}")
        return PlannerOutput(plan, format_plan(plan))

    def plan_batch(self, observations: Sequence[Observation]) -> list[PlannerOutput]:
        return [self.plan(o) for o in observations]
