"""The anticipatory loop: plan K steps → execute step 1 through the frozen tool agent → observe → re-plan.

Every step is recorded with the full predicted plan, the reference, what was executed and the execution
feedback (rewards are scored from these records), which is what the inspector shows (predicted vs executed). Episodes run in lockstep over a
batch of environments so the planner generates for all of them at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, Sequence

from ..actions import ActionType, Step
from ..envs.base import BatchEnv, Environment, Transition
from ..envs.serial import SerialEnvs
from ..episodes import Episode, HistoryItem, Observation, StepRecord
from .base import Grounding, ToolAgent
from .feedback import ground_step, step_feedback
from .planner import PlannerOutput


class PlannerLike(Protocol):
    """What the loop plans with: a model's planner, the scripted experts, the random floor."""

    horizon: int

    def plan_batch(self, observations: Sequence[Observation]) -> list[PlannerOutput]: ...


@dataclass
class LoopTimings:
    """Wall time split into planning, grounding, environment and the loop's own bookkeeping."""

    plan_s: float = 0.0
    ground_s: float = 0.0
    env_s: float = 0.0
    total_s: float = 0.0

    @property
    def overhead_s(self) -> float:
        return max(0.0, self.total_s - self.plan_s - self.ground_s - self.env_s)


@dataclass
class _Live:
    job: tuple[str, int]
    observation: Observation
    history: list[HistoryItem] = field(default_factory=list)
    records: list[StepRecord] = field(default_factory=list)
    success: bool = False
    interrupted: bool = False
    reward: float = 0.0
    finished: bool = False
    failures: int = 0                  # consecutive steps not executable


def run_batch(planner: PlannerLike, tool_agent: ToolAgent, envs: BatchEnv, jobs: list[tuple[str, int]], *,
              max_steps: int, variant: str = "", reference_planner: PlannerLike | None = None,
              timings: LoopTimings | None = None, stop_after: int | None = None) -> list[Episode]:
    """Run one episode per job (``len(jobs) <= len(envs)``) in lockstep and return their records; with
    ``stop_after``, an episode also ends (unsolved) after that many consecutive steps that were not executable.

    ``reference_planner`` (e.g. the scripted expert) gives the reference trajectory at every state, so each
    record carries it and whether step 1 matched the reference's effect; rewards are scored from the records
    afterwards (``rewards.score_record``).
    """
    if len(jobs) > len(envs):
        raise ValueError(f"{len(jobs)} jobs for {len(envs)} environment slots: run them in chunks")
    clock = timings or LoopTimings()
    start = time.perf_counter()
    t0 = time.perf_counter()
    live = [_Live(job, obs) for job, obs in zip(jobs, envs.reset(jobs))]
    clock.env_s += time.perf_counter() - t0
    for _ in range(max_steps):
        active = [s for s in live if not s.finished]
        if not active:
            break
        views = [replace(s.observation, history=tuple(s.history), step_index=len(s.records)) for s in active]
        t0 = time.perf_counter()
        outputs = planner.plan_batch(views)
        references = reference_planner.plan_batch(views) if reference_planner is not None else [None] * len(views)
        clock.plan_s += time.perf_counter() - t0
        actions: list[Any] = [None] * len(envs)
        pending: list[tuple[_Live, Observation, PlannerOutput, PlannerOutput | None, Grounding | None]] = []
        t0 = time.perf_counter()
        for state, view, output, ref_out in zip(active, views, outputs, references):
            grounding = ground_step(output.plan.first if output.plan is not None else None, view, tool_agent)
            if grounding is not None and grounding.executable and grounding.action is not None:
                actions[live.index(state)] = grounding.action
            pending.append((state, view, output, ref_out, grounding))
        clock.ground_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        transitions = envs.step(actions) if any(a is not None for a in actions) else [None] * len(envs)
        clock.env_s += time.perf_counter() - t0
        for state, view, output, ref_out, grounding in pending:
            _record(state, view, output, ref_out, grounding, transitions[live.index(state)], tool_agent)
            if stop_after is not None and state.failures >= stop_after:
                state.finished = True
    clock.total_s += time.perf_counter() - start
    horizon = getattr(planner, "horizon", 1)
    return [Episode(episode_id=f"{variant or 'run'}-{s.job[0].replace('/', '_')}-{s.job[1]}", task=s.job[0], seed=s.job[1],
                    instruction=s.records[0].observation.instruction if s.records else s.observation.instruction,
                    steps=tuple(s.records), success=s.success, reward=s.reward, variant=variant,
                    horizon=horizon, interrupted=s.interrupted) for s in live]


def _record(state: _Live, view: Observation, output: PlannerOutput, ref_out: PlannerOutput | None,
            grounding: Grounding | None, transition: Transition | None, tool_agent: ToolAgent) -> None:
    reference = ref_out.plan if ref_out is not None else None
    step = output.plan.first if output.plan is not None else None
    feedback = step_feedback(step, view, tool_agent, reference=reference.first if reference is not None else None,
                             grounding=grounding, transition=transition, parse_error=output.error)
    state.records.append(StepRecord(observation=view, plan=output.plan, raw_text=output.raw_text,
                                    parse_error=output.error, reference=reference, feedback=feedback,
                                    env_reward=transition.reward if transition is not None else 0.0))
    state.history.append(HistoryItem(step if step is not None else Step(ActionType.WAIT), feedback.outcome()))
    state.failures = 0 if feedback.executable else state.failures + 1
    if transition is not None:
        state.observation = transition.observation
        state.reward += transition.reward
        state.success = state.success or transition.success
        state.interrupted = bool(transition.info.get("interrupted", False))
        state.finished = transition.terminated or transition.truncated
    if step is not None and step.action is ActionType.DONE:
        state.finished = True


def run_episode(planner: PlannerLike, tool_agent: ToolAgent, env: Environment, seed: int, *, max_steps: int,
                variant: str = "", reference_planner: PlannerLike | None = None) -> Episode:
    """One episode on one environment: plan K steps, execute step 1, observe, re-plan until the task ends,
    the planner says ``done``, or ``max_steps`` run out."""
    return run_batch(planner, tool_agent, SerialEnvs.of(env), [(env.task, seed)], max_steps=max_steps,
                     variant=variant, reference_planner=reference_planner)[0]
