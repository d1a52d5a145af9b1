"""Offline evaluation: forecast from recorded expert states and compare with what the expert did next.

Per recorded step the planner forecasts K steps; step 1 is grounded on the recorded page (nothing is
executed) and judged against the expert's executed step with the chosen protocol (type, grounding,
text, step and episode success); the whole forecast is compared position by position with the
reference trajectory (per-position agreement, consistent-prefix length) and scored with the Stage-1 reward
(what Stage 1 optimises, here on held-out states).
"""

from __future__ import annotations

from typing import Any, Sequence

from ..agents.feedback import step_feedback
from ..data.examples import executed_step, observation_at, reference_plan
from ..envs.base import is_tool_task
from ..episodes import Episode
from ..metrics import consistent_prefix_length, evaluate_episodes, get_protocol, per_position_agreement, record_from_step
from ..params import Params
from ..rewards import trajectory_reward


def offline_metrics(planner: Any, episodes: Sequence[Episode], params: Params, gui_agent: Any,
                    tool_agent: Any) -> dict[str, float]:
    """Offline step metrics and forecast metrics of ``planner`` on recorded (successful) expert episodes."""
    protocol = get_protocol(params.eval.protocol)
    horizon = params.planner.horizon
    episodes = [e for e in episodes if e.success and e.steps]
    views, references, owners = [], [], []
    for index, episode in enumerate(episodes):
        for t in range(len(episode.steps)):
            views.append(observation_at(episode, t))
            references.append(reference_plan(episode, t, horizon))
            owners.append((index, t))
    if not views:
        return {}
    size = params.planner.batch_size
    outputs = [out for i in range(0, len(views), size) for out in planner.plan_batch(views[i:i + size])]
    pairs: list[list[tuple[Any, Any]]] = [[] for _ in episodes]
    for view, output, (index, t) in zip(views, outputs, owners):
        episode = episodes[index]
        recorded = episode.steps[t]
        reference = record_from_step(executed_step(episode, t), recorded.observation, recorded.feedback)
        step = output.plan.first if output.plan is not None else None
        agent = tool_agent if is_tool_task(episode.task) else gui_agent
        feedback = step_feedback(step, view, agent, parse_error=output.error)
        pairs[index].append((record_from_step(step, view, feedback), reference))
    judged = evaluate_episodes(pairs, protocol)
    agreement = per_position_agreement([o.plan for o in outputs], references, horizon=horizon)
    prefixes = [consistent_prefix_length(o.plan, r) for o, r in zip(outputs, references)]
    stage1 = [trajectory_reward(o.plan, r, params.reward, text=o.raw_text).total for o, r in zip(outputs, references)]
    result = {
        "offline_type_acc": judged["type_accuracy"], "offline_grounding_acc": judged["grounding_accuracy"],
        "offline_step_sr": judged["step_success_rate"], "offline_episode_sr": judged["episode_success_rate"],
        "forecast_agreement": sum(agreement) / len(agreement), "forecast_prefix": sum(prefixes) / len(prefixes),
        "offline_stage1_reward": sum(stage1) / len(stage1),
    }
    result.update({f"forecast_pos{k + 1}": v for k, v in enumerate(agreement)})
    return {k: v for k, v in result.items() if v is not None}
