"""Step 1 through the frozen tool agent → Feedback, case by case as agents/feedback.py documents it: what is
executable, when a step matched the reference (never without executing), and when it advanced (only with a
transition; done never advances)."""

from dataclasses import replace

import pytest

from tracer1kit.actions import ActionType as A, Step
from tracer1kit.agents.base import Grounding
from tracer1kit.agents.feedback import ground_step, matches_reference, state_changed, step_feedback
from tracer1kit.envs.base import BrowserAction, ToolResult, Transition
from tracer1kit.episodes import Element, Feedback, Observation

PAGE = Observation("press OK", elements=(Element(0, "button", "OK", left=1, top=1, width=9, height=9),
                                         Element(1, "button", "Cancel", left=20, top=1, width=9, height=9)))
OK, CANCEL, MISSING, FINISH = Step(A.CLICK, "OK"), Step(A.CLICK, "Cancel"), Step(A.CLICK, "Help"), Step(A.DONE, done=True)


class Agent:
    """Grounds a click on the element its target names; the same effect means the same element."""

    def __init__(self) -> None:
        self.grounded: list[Step] = []

    def ground(self, step: Step, observation: Observation) -> Grounding:
        self.grounded.append(step)
        match = next((e for e in observation.elements if e.text == step.target), None)
        if match is None:
            return Grounding(False, error="" if step.target == "" else f"no element {step.target!r}")
        return Grounding(True, BrowserAction("click", match.ref), f"click {match.text}", element_ref=match.ref,
                         point=(5.0, 5.0), output="clicked")

    def same_effect(self, step, grounding, reference, reference_grounding) -> bool:
        return reference_grounding.executable and grounding.element_ref == reference_grounding.element_ref


def test_nothing_is_grounded_for_no_step_or_done():
    agent = Agent()
    assert ground_step(None, PAGE, agent) is None and ground_step(FINISH, PAGE, agent) is None
    assert agent.grounded == []
    assert ground_step(OK, PAGE, agent).element_ref == 0 and agent.grounded == [OK]


def test_state_changed_looks_at_tags_texts_values_and_the_instruction():
    same_place = replace(PAGE, elements=tuple(replace(e, left=e.left + 3) for e in PAGE.elements))
    assert not state_changed(PAGE, PAGE) and not state_changed(PAGE, same_place)      # geometry alone is no change
    assert state_changed(PAGE, replace(PAGE, elements=PAGE.elements[:1]))
    assert state_changed(PAGE, replace(PAGE, elements=(replace(PAGE.elements[0], text="Ok!"), PAGE.elements[1])))
    assert state_changed(PAGE, replace(PAGE, elements=(replace(PAGE.elements[0], value="x"), PAGE.elements[1])))
    assert state_changed(PAGE, replace(PAGE, elements=(replace(PAGE.elements[0], tag="a"), PAGE.elements[1])))
    assert state_changed(PAGE, replace(PAGE, instruction="press Cancel"))


@pytest.mark.parametrize("step, reference, matched", [
    (FINISH, FINISH, True), (FINISH, OK, False), (OK, FINISH, False),   # done matches done only
    (OK, OK, True), (OK, CANCEL, False), (MISSING, MISSING, False),     # a step that cannot execute never matches
])
def test_matches_reference(step, reference, matched):
    agent = Agent()
    grounding = ground_step(step, PAGE, agent)
    assert matches_reference(step, grounding, reference, PAGE, agent) is matched


def test_an_unparsed_plan_is_not_executable_and_never_matched():
    assert step_feedback(None, PAGE, Agent()) == Feedback(False, error="unparseable plan: no plan")
    assert step_feedback(None, PAGE, Agent(), parse_error="no <answer> section", reference=OK) == Feedback(
        False, error="unparseable plan: no <answer> section", matched_reference=False)


def test_done_executes_and_never_advances():
    moved = Transition(replace(PAGE, instruction="other"), success=True)
    assert step_feedback(FINISH, PAGE, Agent(), transition=moved) == Feedback(True, executed="done", advanced=False)
    assert step_feedback(FINISH, PAGE, Agent(), reference=FINISH).matched_reference is True
    assert step_feedback(FINISH, PAGE, Agent(), reference=OK).matched_reference is False


def test_a_step_the_agent_cannot_ground_is_not_executable():
    assert step_feedback(MISSING, PAGE, Agent(), reference=OK) == Feedback(
        False, error="no element 'Help'", matched_reference=False)
    assert step_feedback(Step(A.CLICK), PAGE, Agent()) == Feedback(False, error="no action")   # the agent said nothing


def test_an_executed_step_offline_has_no_advanced():
    feedback = step_feedback(OK, PAGE, Agent(), reference=OK)
    assert feedback == Feedback(True, executed="click OK", element_ref=0, point=(5.0, 5.0), output="clicked",
                                matched_reference=True, advanced=None)
    assert step_feedback(CANCEL, PAGE, Agent(), reference=OK).matched_reference is False
    assert step_feedback(OK, PAGE, Agent()).matched_reference is None                 # no reference


@pytest.mark.parametrize("transition, advanced", [
    (Transition(PAGE), False),                                                        # nothing happened
    (Transition(PAGE, success=True), True),                                           # the task succeeded
    (Transition(replace(PAGE, elements=PAGE.elements[1:])), True),                    # the page changed
    (Transition(PAGE, info={"error": "stale element"}), False),
])
def test_advanced_in_an_environment(transition, advanced):
    feedback = step_feedback(OK, PAGE, Agent(), transition=transition)
    assert feedback.advanced is advanced and feedback.executable
    assert feedback.error == transition.info.get("error", "")


@pytest.mark.parametrize("ok", [True, False])
def test_a_tool_that_returned_information_advanced(ok):
    result = ToolResult("ocr", (), "TOTAL 12.50" if ok else "error: no text", ok)
    grounding = Grounding(True, result, "ocr()", output=result.output)
    feedback = step_feedback(Step(A.CALL, "ocr"), PAGE, Agent(), grounding=grounding, transition=Transition(PAGE))
    assert feedback.advanced is ok and feedback.output == result.output and feedback.executed == "ocr()"


def test_a_given_grounding_is_reused_and_only_the_reference_is_grounded():
    agent = Agent()
    given = Grounding(True, BrowserAction("click", 1), "click Cancel", element_ref=1)
    feedback = step_feedback(OK, PAGE, agent, reference=CANCEL, grounding=given)
    assert agent.grounded == [CANCEL]                                                 # the step was not grounded again
    assert feedback.executed == "click Cancel" and feedback.matched_reference is True
