"""Online evaluation: run a planner through the plan → execute step 1 → re-plan loop in live environments."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

from ..actions import ActionType
from ..agents.loop import LoopTimings, PlannerLike, run_batch
from ..envs.base import BatchEnv
from ..envs.factory import tool_jobs as factory_tool_jobs
from ..episodes import Episode
from ..params import Params
from ..rewards import score_episode


def gui_jobs(params: Params) -> list[tuple[str, int, str]]:
    """(task, seed, split): held-out seeds of the training tasks, then held-out tasks never trained on."""
    seeds = params.env.test_seeds[: params.eval.episodes_per_task]
    return ([(t, s, "test") for t in params.env.tasks for s in seeds]
            + [(t, s, "heldout") for t in params.env.heldout_tasks for s in seeds])


def tool_jobs(params: Params) -> list[tuple[str, int, str]]:
    """(task, seed, split) of the tool-use test seeds."""
    return [(task, seed, "test") for task, seed in factory_tool_jobs(params.tooluse.kinds, params.tooluse.test_seeds)]


def task_affine_rounds(tasks: Sequence[str], width: int) -> list[list[int]]:
    """Job indices per round (slot i runs ``round[i]``), so each slot keeps its task as long as it has jobs.

    Switching task makes a new browser, which costs more than an episode: a slot that loses its task takes
    the task with the most jobs left. Only the last rounds may be narrower than ``width``.
    """
    left: dict[str, list[int]] = {}
    for index, task in enumerate(tasks):
        left.setdefault(task, []).append(index)
    held: list[str | None] = [None] * width
    rounds: list[list[int]] = []
    while left:
        width_now = min(width, sum(map(len, left.values())))
        chosen = {slot: _take(left, held[slot]) for slot in range(width_now) if held[slot] in left}
        for slot in range(width_now):
            if slot not in chosen:
                held[slot] = max(left, key=lambda t: len(left[t]))
                chosen[slot] = _take(left, held[slot])
        rounds.append([chosen[slot] for slot in range(width_now)])
    return rounds


def _take(left: dict[str, list[int]], task: str) -> int:
    index = left[task].pop(0)
    if not left[task]:
        del left[task]
    return index


def run_jobs(planner: PlannerLike, tool_agent: Any, envs: BatchEnv, jobs: Sequence[tuple[str, int, str]], *,
             max_steps: int, variant: str, reference_planner: PlannerLike | None,
             params: Params, timings: LoopTimings | None = None) -> list[Episode]:
    """Episodes for every job, in the jobs' order, ``len(envs)`` at a time so the planner batches across
    environments; slots keep their task between rounds (see ``task_affine_rounds``). Each step is scored with
    the params' Stage-1 reward and the live grounded reward."""
    grounded = params.grounded.model_copy(update={"mode": "live"})
    out: dict[int, Episode] = {}
    for chosen in task_affine_rounds([task for task, _, _ in jobs], len(envs)):
        episodes = run_batch(planner, tool_agent, envs, [jobs[i][:2] for i in chosen], max_steps=max_steps,
                             variant=variant, reference_planner=reference_planner, timings=timings)
        out.update((i, replace(score_episode(episode, params.reward, grounded), split=jobs[i][2]))
                   for i, episode in zip(chosen, episodes))
    return [out[i] for i in range(len(jobs))]


@dataclass(frozen=True)
class OnlineSummary:
    episodes: int
    success_rate: float
    mean_steps: float
    non_executable_rate: float
    parse_failure_rate: float


def summarize(episodes: Sequence[Episode]) -> OnlineSummary:
    steps = [r for e in episodes for r in e.steps]
    n = max(1, len(steps))
    return OnlineSummary(
        episodes=len(episodes),
        success_rate=sum(e.success for e in episodes) / max(1, len(episodes)),
        mean_steps=len(steps) / max(1, len(episodes)),
        non_executable_rate=sum(1 for r in steps if r.feedback is not None and not r.feedback.executable) / n,
        parse_failure_rate=sum(1 for r in steps if r.plan is None) / n,
    )


def tool_use_summary(episodes: Sequence[Episode]) -> dict[str, float]:
    """GTA's metrics: answer accuracy, tool-selection accuracy (the first call names the reference's first
    tool) and tool-call executability (the fraction of tool calls that ran without error)."""
    selected, calls, executable = [], 0, 0
    for episode in episodes:
        first_call = next((r for r in episode.steps if r.plan is not None and r.plan.steps[0].action is ActionType.CALL), None)
        if episode.steps and episode.steps[0].reference is not None:
            ref_first = episode.steps[0].reference.steps[0]
            chosen = first_call.plan.steps[0].target if first_call is not None else ""
            selected.append(float(ref_first.action is ActionType.CALL and chosen == ref_first.target))
        for record in episode.steps:
            if record.plan is not None and record.plan.steps[0].action is ActionType.CALL:
                calls += 1
                executable += int(record.feedback is not None and record.feedback.executable)
    n = max(1, len(episodes))
    return {"answer_acc": sum(e.success for e in episodes) / n,
            "tool_acc": sum(selected) / max(1, len(selected)),
            "code_exec": executable / calls if calls else 0.0}
