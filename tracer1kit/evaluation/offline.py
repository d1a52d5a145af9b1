"""Offline evaluation: forecast from recorded expert states and compare with what the expert did next.

Per recorded step the planner forecasts K steps; step 1 is grounded on the recorded page (nothing is
executed) and judged against the expert's executed step with the chosen protocol (type, grounding, text,
step success); the forecast is compared position by position with the reference's **real** steps — the
expert's next steps, not the ``done`` padding past the episode's end — (agreement, consistent prefix) and
scored with the Stage-1 reward over those real steps. One record per state, so two planners can be compared
state by state.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..actions import real_steps
from ..agents.base import ToolAgent
from ..agents.feedback import step_feedback
from ..agents.loop import PlannerLike
from ..data.examples import executed_step, observation_at, reference_plan
from ..episodes import Episode
from ..metrics import consistent_prefix_length, get_protocol, judge_step, position_agreement, record_from_step
from ..params import RewardParams
from ..rewards import trajectory_reward

Record = dict[str, Any]


def offline_states(planner: PlannerLike, episodes: Sequence[Episode], agents: Callable[[str], ToolAgent], *,
                   horizon: int, batch_size: int, reward: RewardParams, protocol: str) -> list[Record]:
    """One record per recorded state of the (successful) expert ``episodes``: the first step's judgement (grounded
    by the task's frozen tool agent, ``agents(task)``, judged by the protocol, and where the protocol has no rule
    for the action, by the agent's own same-step judgement), the forecast's agreement with each real reference
    step, its consistent prefix and its Stage-1 ``reward``. The planner forecasts ``horizon`` steps, ``batch_size``
    states at a time; ``protocol`` names the judging protocol (``eval.protocol``)."""
    rules = get_protocol(protocol)
    states = [(episode, t) for episode in episodes if episode.success for t in range(len(episode.steps))]
    if not states:
        return []
    views = [observation_at(episode, t) for episode, t in states]
    outputs = [out for i in range(0, len(views), batch_size) for out in planner.plan_batch(views[i:i + batch_size])]
    records = []
    for (episode, t), view, output in zip(states, views, outputs):
        recorded = episode.steps[t]
        reference = reference_plan(episode, t, horizon)
        real = real_steps(reference)
        step = output.plan.first if output.plan is not None else None
        executed = executed_step(episode, t)
        feedback = step_feedback(step, view, agents(episode.task), reference=executed, parse_error=output.error)
        judged = judge_step(record_from_step(step, view, feedback),
                            record_from_step(executed, recorded.observation, recorded.feedback),
                            rules, same=feedback.matched_reference)
        records.append({
            "task": episode.task, "seed": episode.seed, "episode_id": episode.episode_id, "t": t,
            "type_ok": judged.type_ok, "grounding_ok": judged.grounding_ok, "step_success": judged.success,
            "parsed": output.plan is not None, "real_steps": real,
            "agreement": position_agreement(output.plan, reference, real),
            "prefix": consistent_prefix_length(output.plan, reference, real),
            "stage1_reward": trajectory_reward(output.plan, reference, reward, text=output.raw_text,
                                               positions=real).total,
            "stage1_reward_padded": trajectory_reward(output.plan, reference, reward, text=output.raw_text).total,
        })
    return records
