"""Online evaluation: run a planner through the plan → execute step 1 → re-plan loop in live environments."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from ..agents.base import ToolAgent
from ..agents.loop import LoopTimings, PlannerLike, run_batch
from ..domains.registry import active, domain_of
from ..envs.base import BatchEnv
from ..episodes import Episode
from ..params import GroundedRewardParams, Params, RewardParams
from ..rewards import score_episode


def eval_jobs(params: Params) -> dict[str, list[tuple[str, int, str]]]:
    """(task, seed, split) per active domain: its held-out seeds of the training tasks, then its held-out tasks."""
    return {domain.name: domain.eval_jobs(params) for domain in active(params)}


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


def run_jobs(planner: PlannerLike, tool_agent: ToolAgent, envs: BatchEnv, jobs: Sequence[tuple[str, int, str]], *,
             max_steps: int, variant: str, reference_planner: PlannerLike | None,
             reward: RewardParams, grounded: GroundedRewardParams, timings: LoopTimings | None = None,
             stop_after: int | None = None) -> list[Episode]:
    """Episodes for every job, in the jobs' order, ``len(envs)`` at a time so the planner batches across
    environments; slots keep their task between rounds (see ``task_affine_rounds``). Each step is scored with
    the Stage-1 ``reward`` and the ``grounded`` reward in live mode."""
    live = grounded.model_copy(update={"mode": "live"})
    out: dict[int, Episode] = {}
    for chosen in task_affine_rounds([task for task, _, _ in jobs], len(envs)):
        episodes = run_batch(planner, tool_agent, envs, [jobs[i][:2] for i in chosen], max_steps=max_steps,
                             variant=variant, reference_planner=reference_planner, timings=timings,
                             stop_after=stop_after)
        out.update((i, replace(score_episode(episode, reward, live), split=jobs[i][2]))
                   for i, episode in zip(chosen, episodes))
    return [out[i] for i in range(len(jobs))]


def episode_record(episode: Episode) -> dict[str, Any]:
    """One online episode as a plain record (``split`` as its domain reports it: ``test``, ``heldout``, ``tool``):
    success, steps, steps not executable / not parsed, the mean Stage-1 reward (real steps) and first-step match
    per step, and what the domain adds (tool use: GTA's tool selection and executable calls)."""
    steps = episode.steps
    domain = domain_of(episode.task)
    rewards = [r.rewards["stage1/total"] for r in steps if "stage1/total" in r.rewards]
    return {
        "task": episode.task, "seed": episode.seed, "split": domain.split_label(episode.split),
        "success": episode.success, "steps": len(steps), "interrupted": episode.interrupted,
        "non_executable": sum(1 for r in steps if r.feedback is not None and not r.feedback.executable),
        "parse_failures": sum(1 for r in steps if r.plan is None),
        "stage1_reward": sum(rewards) / len(rewards) if rewards else None,
        "first_step_matched": (sum(bool(r.feedback and r.feedback.matched_reference) for r in steps) / len(steps)
                               if steps else None),
        **domain.record_fields(episode),
    }
