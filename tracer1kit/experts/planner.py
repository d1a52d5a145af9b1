"""The scripted experts as a planner: the first ``horizon`` expert steps per state, for GUI and tool-use tasks
alike (one adapter; the reference planner of evaluation, expert data and the benches)."""

from __future__ import annotations

from typing import Sequence

from ..actions import Plan, Step, format_plan, pad_to_horizon
from ..agents.planner import PlannerOutput
from ..envs.base import is_tool_task
from ..episodes import Observation
from .gui import Expert, expert_for
from .page import ExpertError
from .tooluse import tool_expert_steps


class ExpertPlanner:
    """Plans with the scripted expert of each observation's task; an expert failure becomes the output's error."""

    def __init__(self, horizon: int = 5) -> None:
        if horizon < 1:
            raise ValueError(f"horizon must be at least 1, got {horizon}")
        self.horizon = horizon
        self._experts: dict[str, Expert] = {}

    def expert(self, task: str) -> Expert:
        """The GUI expert of ``task`` (one per task, so its ``last_targets`` can be read after planning)."""
        if task not in self._experts:
            self._experts[task] = expert_for(task)
        return self._experts[task]

    def steps(self, observation: Observation) -> list[Step]:
        """The expert's remaining steps from this observation."""
        if is_tool_task(observation.task):
            try:
                return list(tool_expert_steps(observation))
            except ValueError as exc:
                raise ExpertError(str(exc)) from None
        return self.expert(observation.task).next_steps(observation)

    def plan(self, observation: Observation) -> PlannerOutput:
        try:
            steps = self.steps(observation)
        except ExpertError as exc:
            return PlannerOutput(None, "", error=str(exc))
        plan = Plan(pad_to_horizon(steps, self.horizon), think=f"expert for {observation.task}")
        return PlannerOutput(plan, format_plan(plan))

    def plan_batch(self, observations: Sequence[Observation]) -> list[PlannerOutput]:
        return [self.plan(o) for o in observations]
