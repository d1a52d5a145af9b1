"""Online evaluation: run a planner through the plan → execute step 1 → re-plan loop in live environments."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from ..actions import ActionType
from ..agents.loop import LoopTimings, PlannerLike, run_batch
from ..envs.base import BatchEnv, is_tool_task
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


def episode_record(episode: Episode) -> dict[str, Any]:
    """One online episode as a plain record (``split`` is ``test``, ``heldout`` or ``tool``): success, steps,
    steps not executable / not parsed, the mean Stage-1 reward (real steps) and first-step match per step, and
    for tool use GTA's tool selection (the first call names the reference's first tool) and executable calls."""
    steps = episode.steps
    rewards = [r.rewards["stage1/total"] for r in steps if "stage1/total" in r.rewards]
    record: dict[str, Any] = {
        "task": episode.task, "seed": episode.seed, "split": "tool" if is_tool_task(episode.task) else episode.split,
        "success": episode.success, "steps": len(steps), "interrupted": episode.interrupted,
        "non_executable": sum(1 for r in steps if r.feedback is not None and not r.feedback.executable),
        "parse_failures": sum(1 for r in steps if r.plan is None),
        "stage1_reward": sum(rewards) / len(rewards) if rewards else None,
        "first_step_matched": (sum(bool(r.feedback and r.feedback.matched_reference) for r in steps) / len(steps)
                               if steps else None),
    }
    if is_tool_task(episode.task):
        calls = [r for r in steps if r.plan is not None and r.plan.steps[0].action is ActionType.CALL]
        reference = steps[0].reference.steps[0] if steps and steps[0].reference is not None else None
        if reference is not None:
            chosen = calls[0].plan.steps[0].target if calls else ""
            record["tool_selected"] = reference.action is ActionType.CALL and chosen == reference.target
        record["calls"] = len(calls)
        record["calls_executable"] = sum(1 for r in calls if r.feedback is not None and r.feedback.executable)
    return record
