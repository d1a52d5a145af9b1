"""Step 1 of a plan through the frozen tool agent → the :class:`Feedback` record Stage 2 rewards.

The one implementation of "what happened to the first step", used by the agent loop (live), Stage 2's grounded
judge (offline on recorded states, or live by replaying the state) and offline evaluation:

- ``executable``: the agent could turn the step into an action (``done`` always can);
- ``matched_reference``: the step does what the reference's first step does (``same_effect``, or both ``done``);
  ``None`` only when there is no reference; a step that did not execute never matched;
- ``advanced``: only when the step was executed in an environment (``transition`` given): the task succeeded,
  a tool returned new information, or the visible page (or a grid level's text) changed. ``done`` never advances.
"""

from __future__ import annotations

from ..actions import ActionType, Step
from ..envs.base import ToolResult, Transition
from ..episodes import Feedback, Observation
from .base import Grounding, ToolAgent


def ground_step(step: Step | None, view: Observation, agent: ToolAgent) -> Grounding | None:
    """What the agent makes of a step on this observation; ``None`` when there is nothing to ground
    (no parsed step, or ``done``)."""
    if step is None or step.action is ActionType.DONE:
        return None
    return agent.ground(step, view)


def state_changed(before: Observation, after: Observation) -> bool:
    """Whether the visible page (element tags, texts, values), the domain's text (a grid level) or the instruction
    changed."""
    return ([(e.tag, e.text, e.value) for e in before.elements] != [(e.tag, e.text, e.value) for e in after.elements]
            or before.text != after.text or before.instruction != after.instruction)


def matches_reference(step: Step, grounding: Grounding | None, reference: Step, view: Observation,
                      agent: ToolAgent) -> bool:
    """Whether ``step`` (grounded as ``grounding``) does what ``reference`` does on ``view``."""
    if step.action is ActionType.DONE or reference.action is ActionType.DONE:
        return step.action is reference.action
    if grounding is None or not grounding.executable:
        return False
    return agent.same_effect(step, grounding, reference, agent.ground(reference, view))


def step_feedback(step: Step | None, view: Observation, agent: ToolAgent, *, reference: Step | None = None,
                  grounding: Grounding | None = None, transition: Transition | None = None,
                  parse_error: str | None = None) -> Feedback:
    """The feedback on a plan's first ``step`` (``None``: the plan did not parse, ``parse_error`` says why).

    ``grounding`` is reused when the caller already grounded the step (the loop needs the action first);
    ``transition`` is what executing it did (absent offline, where ``advanced`` stays ``None``)."""
    if step is not None and grounding is None:
        grounding = ground_step(step, view, agent)
    matched = None if reference is None else (
        step is not None and matches_reference(step, grounding, reference, view, agent))
    if step is None:
        return Feedback(executable=False, error=f"unparseable plan: {parse_error or 'no plan'}",
                        matched_reference=matched)
    if step.action is ActionType.DONE:
        return Feedback(executable=True, executed="done", matched_reference=matched, advanced=False)
    assert grounding is not None
    if not grounding.executable:
        return Feedback(executable=False, error=grounding.error or "no action", matched_reference=matched)
    advanced = None
    if transition is not None:
        new_information = isinstance(grounding.action, ToolResult) and grounding.action.ok
        advanced = transition.success or new_information or state_changed(view, transition.observation)
    return Feedback(executable=True, executed=grounding.description, element_ref=grounding.element_ref,
                    point=grounding.point, output=grounding.output,
                    error=str(transition.info.get("error", "")) if transition is not None else "",
                    matched_reference=matched, advanced=advanced)
