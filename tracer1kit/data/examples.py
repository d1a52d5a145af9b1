"""Episodes → training examples → Hugging Face datasets for SFT and GRPO.

One example per episode step t: the planner's prompt at t (instruction, screenshot, element text, the
abstracted history of steps < t) and the reference future trajectory from t (the next K reference steps,
padded with ``done``). Columns:

- ``prompt``       chat messages (TRL's conversational format; an image placeholder when ``use_image``)
- ``completion``   the reference plan as the assistant message (SFT; loss on these tokens only)
- ``images``       ``[screenshot]`` or ``[]``
- ``reference``    the reference plan text (the Stage-1 reward's reference)
- ``observation``  the observation as JSON (Stage 2 grounds the predicted step on this recorded state)
- ``task``, ``seed``, ``step``, ``episode_id``, ``prefix`` (JSON list of the reference steps before t,
  replayed to restore the live state in Stage 2's live mode)
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, Iterable, Sequence

from ..actions import DONE_STEP, ActionType, Plan, Step, format_plan, pad_to_horizon, real_steps
from ..agents.planner import Contexts, planner_messages
from ..episodes import Episode, HistoryItem, Observation, observation_json
from ..params import PlannerParams
from ..prompts import gui_context, prompt_form


def executed_step(episode: Episode, t: int) -> Step:
    """The step actually executed at t: the first step of the plan recorded there (a ``wait`` if none)."""
    plan = episode.steps[t].plan
    return plan.steps[0] if plan is not None and plan.steps else Step(ActionType.WAIT)


def reference_plan(episode: Episode, t: int, horizon: int) -> Plan:
    """The next ``horizon`` executed steps from t, padded at the episode's end with ``done``."""
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1, got {horizon}")
    if not 0 <= t < len(episode.steps):
        raise ValueError(f"step index t={t} is outside episode {episode.episode_id!r} of {len(episode.steps)} steps")
    steps = [executed_step(episode, i) for i in range(t, min(len(episode.steps), t + horizon))]
    if len(steps) < horizon:  # the episode ends inside the window
        steps[-1] = replace(steps[-1], done=True) if steps else DONE_STEP
    return Plan(pad_to_horizon(steps, horizon))


def sft_target(plan: Plan, planner: PlannerParams) -> Plan:
    """A reference plan as the SFT target the planner settings ask for: its reasoning (``think``) and, with
    ``instructions: false``, its steps without their instructions in words."""
    plan = with_reasoning(plan, planner.think)
    if planner.instructions:
        return plan
    return replace(plan, steps=tuple(replace(step, instruction="") for step in plan.steps))


def with_reasoning(plan: Plan, think: str) -> Plan:
    """A reference plan as an SFT target: with ``think = "forecast"`` its reasoning names the coming real steps in
    words (``next: type 'alice' into the Username field; then click the Login button, done``), else none."""
    if think != "forecast":
        return plan
    words = [step.instruction or step.describe() for step in plan.steps[:real_steps(plan)]]
    return replace(plan, think="next: " + "; then ".join(words) + (", done" if plan.steps[real_steps(plan) - 1].done else ""))


def history_at(episode: Episode, t: int) -> tuple[HistoryItem, ...]:
    """The abstracted history before step t: each executed step and a short description of its outcome."""
    return tuple(HistoryItem(executed_step(episode, i), r.feedback.outcome() if r.feedback is not None else "")
                 for i, r in enumerate(episode.steps[:t]))


def observation_at(episode: Episode, t: int) -> Observation:
    """The observation at t with the history the loop would have shown the planner."""
    obs = episode.steps[t].observation
    return replace(obs, history=history_at(episode, t), step_index=t)


def examples_from_episodes(episodes: Iterable[Episode], planner: PlannerParams, *, use_image: bool,
                           contexts: Contexts = gui_context, horizon: int | None = None) -> list[dict[str, Any]]:
    """Training rows for every step of every successful episode, prompted and targeted as the ``planner``
    settings say (``horizon`` overrides theirs); ``contexts`` gives each task's prompt context
    (``domains.registry.prompt_contexts``)."""

    horizon = horizon or planner.horizon
    form = prompt_form(planner.prompt, use_image)
    rows = []
    for episode in episodes:
        if not episode.success:
            continue
        for t in range(len(episode.steps)):
            obs = observation_at(episode, t)
            reference = format_plan(sft_target(reference_plan(episode, t, horizon), planner))
            image = obs.image() if use_image else None
            prompt = planner_messages(obs, horizon=horizon, use_image=use_image and image is not None,
                                      history_len=planner.history_len,
                                      max_elements=planner.max_elements,
                                      context=contexts(episode.task), form=form)
            rows.append({
                "prompt": prompt,
                "completion": [{"role": "assistant", "content": reference}],
                "images": [image] if image is not None else [],
                "reference": reference,
                "observation": observation_json(obs),
                "task": episode.task, "seed": episode.seed, "step": t, "episode_id": episode.episode_id,
                "prefix": json.dumps([executed_step(episode, i).to_dict() for i in range(t)], ensure_ascii=False),
            })
    return rows


def to_dataset(rows: Sequence[dict[str, Any]]):
    """A ``datasets.Dataset`` of example rows (images kept as PIL images)."""
    import datasets

    if not rows:
        raise ValueError("no training examples: the expert episodes are empty or all failed "
                         "(check env.tasks and env.train_seeds in the params file)")
    has_images = any(r["images"] for r in rows)
    data = {key: [r[key] for r in rows] for key in rows[0]}
    if not has_images:
        data.pop("images")
    return datasets.Dataset.from_dict(data)
