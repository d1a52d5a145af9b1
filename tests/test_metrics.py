"""Offline metrics: each protocol pinned at and around its thresholds; forecast metrics on small cases."""

import pytest

from tracer1kit.actions import ActionType, Plan, Step
from tracer1kit.episodes import Element, Episode, Feedback, Observation, StepRecord
from tracer1kit.metrics import (PROTOCOLS, ActionRecord, anls, consistent_prefix_length, episode_pairs,
                                evaluate_episodes, evaluate_steps, get_protocol, judge_step, op_f1,
                                position_agreement, record_from_step)


def click(x, y, box=None):
    return ActionRecord("click", point=(x, y), box=box)


def typed(text, **kw):
    return ActionRecord("type", text=text, **kw)


REF_POINT = click(0.5, 0.5)


@pytest.mark.parametrize("protocol", ["default", "androidcontrol"])
@pytest.mark.parametrize("dx, ok", [(0.139, True), (0.14, False), (0.141, False)])
def test_strict_distance_threshold(protocol, dx, ok):
    assert judge_step(click(0.5 + dx, 0.5), REF_POINT, protocol).success is ok


def test_distance_is_euclidean_in_normalised_units():
    # 0.1 right and 0.1 down: distance 0.1414 > 0.14
    assert not judge_step(click(0.6, 0.6), REF_POINT, "androidcontrol").grounding_ok
    assert judge_step(click(0.59, 0.59), REF_POINT, "androidcontrol").grounding_ok


@pytest.mark.parametrize("dx, ok", [(0.139, True), (0.14, True), (0.141, False), (0.1404, True), (0.1406, False)])
def test_guiodyssey_grid_distance_is_inclusive(dx, ok):
    # 0–1000 grid: 0.1404 rounds to 140 (counted at the threshold), 0.1406 to 141
    assert judge_step(click(0.5 + dx, 0.5), REF_POINT, "guiodyssey").grounding_ok is ok


BOX = (0.2, 0.2, 0.1, 0.1)


@pytest.mark.parametrize("point, ok", [((0.25, 0.25), True), ((0.2, 0.2), True), ((0.3, 0.3), True),
                                       ((0.3, 0.25), True), ((0.301, 0.25), False), ((0.25, 0.199), False)])
def test_mind2web_element_accuracy_is_inside_box_edges_included(point, ok):
    ref = ActionRecord("click", box=BOX)
    assert judge_step(ActionRecord("click", point=point), ref, "mind2web").grounding_ok is ok


def test_default_accepts_box_or_distance_androidcontrol_only_distance():
    ref = ActionRecord("click", box=(0.0, 0.0, 1.0, 0.2))  # wide box, centre (0.5, 0.1)
    far_inside = click(0.95, 0.1)
    assert judge_step(far_inside, ref, "default").success
    assert not judge_step(far_inside, ref, "androidcontrol").success
    near_outside = click(0.5, 0.21)
    assert judge_step(near_outside, ref, "default").success
    assert not judge_step(near_outside, ref, "mind2web").grounding_ok


def test_prediction_without_point_uses_box_centre_and_none_fails():
    assert judge_step(ActionRecord("click", box=(0.45, 0.45, 0.1, 0.1)), REF_POINT, "androidcontrol").success
    assert not judge_step(ActionRecord("click"), REF_POINT, "androidcontrol").success


def test_reference_without_geometry_uses_target_words():
    ref = ActionRecord("click", target="Settings")
    assert judge_step(ActionRecord("click", target="settings"), ref).success
    assert not judge_step(ActionRecord("click", target="Calendar"), ref).success


@pytest.mark.parametrize("protocol", ["default", "androidcontrol"])
@pytest.mark.parametrize("pred, ref, ok", [("a x", "a y", True),          # F1 = 0.5 exactly
                                           ("a x y", "a b", False),       # P 1/3, R 1/2 → F1 0.4
                                           ("a b c d e f x", "a b", False),  # P 2/7, R 1 → F1 0.44
                                           ("a b c", "a b", True)])        # P 2/3, R 1 → F1 0.8
def test_token_f1_threshold(protocol, pred, ref, ok):
    assert judge_step(typed(pred), typed(ref), protocol).success is ok


@pytest.mark.parametrize("pred, ref, ok", [
    ("new york", "new york city", True),   # substring
    ("abcde", "abcdx", True),              # ANLS 0.8
    ("abcde", "abxyz", False),             # ANLS 0.4
    ("abcd", "abxy", True),                # ANLS 0.5 exactly
    ("", "hello", False),                  # empty never a substring match
])
def test_guiodyssey_text_substring_or_anls(pred, ref, ok):
    assert judge_step(typed(pred), typed(ref), "guiodyssey").success is ok


def test_anls_values():
    assert anls("abcd", "abxy") == 0.5
    assert anls("", "") == 1.0
    assert anls("kitten", "sitting") == pytest.approx(1 - 3 / 7)


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_type_mismatch_and_scroll_direction_exact(protocol):
    ref = ActionRecord("scroll", direction="down")
    assert judge_step(ActionRecord("scroll", direction="Down"), ref, protocol).type_ok
    assert not judge_step(ActionRecord("scroll", direction="up"), ref, protocol).success
    assert not judge_step(ActionRecord("long_press", point=(0.5, 0.5)), REF_POINT, protocol).success


def test_mind2web_op_f1_and_step_success():
    ref = typed("new york", box=BOX)
    inside = (0.25, 0.25)
    assert op_f1(typed("new york"), ref) == 1.0
    assert op_f1(typed("york"), ref) == pytest.approx(0.8)  # "type york" vs "type new york"
    assert op_f1(ActionRecord("click"), ref) == 0.0
    assert judge_step(typed("New York", point=inside), ref, "mind2web").success
    assert not judge_step(typed("york", point=inside), ref, "mind2web").success      # Op-F1 < 1
    assert not judge_step(typed("new york", point=(0.9, 0.9)), ref, "mind2web").success  # wrong element
    assert judge_step(typed("york"), ref, "default").success  # outside mind2web: no element, token-F1 0.67


def test_evaluate_steps_and_episodes():
    good, bad = (click(0.5, 0.5), REF_POINT), (click(0.9, 0.9), REF_POINT)
    text = (typed("hello"), typed("hello"))
    steps = evaluate_steps([good, bad, text], "androidcontrol")
    assert steps["steps"] == 3
    assert steps["type_accuracy"] == 1.0
    assert steps["grounding_accuracy"] == 0.5
    assert steps["text_accuracy"] == 1.0
    assert steps["step_success_rate"] == pytest.approx(2 / 3)
    assert "0.14" in steps["protocol_description"]
    episodes = evaluate_episodes([[good, text], [good, bad], []], "androidcontrol")
    assert episodes["episodes"] == 3 and episodes["episode_success_rate"] == pytest.approx(1 / 3)
    assert evaluate_steps([], "default")["step_success_rate"] is None


def test_describe_lists_each_protocols_thresholds():
    assert "< 0.14" in get_protocol("androidcontrol").describe()
    assert "token-F1 >= 0.5" in get_protocol("androidcontrol").describe()
    assert "0-1000 grid" in get_protocol("guiodyssey").describe() and "ANLS >= 0.5" in get_protocol("guiodyssey").describe()
    assert "Op-F1 = 1" in get_protocol("mind2web").describe()
    with pytest.raises(ValueError, match="eval.protocol"):
        get_protocol("nope")


def test_records_from_kit_steps_and_feedback():
    obs = Observation("go", elements=(Element(3, "button", "OK", left=40, top=105, width=40, height=21),),
                      size=(160, 210))
    fb = Feedback(True, element_ref=3, point=(60.0, 115.5))
    rec = record_from_step(Step(ActionType.CLICK, target="OK"), obs, fb)
    assert rec.point == (0.375, 0.55)
    assert rec.box == (0.25, 0.5, 0.25, 0.1)
    long = record_from_step(Step(ActionType.CLICK, target="OK", args=(("press", "long"),)))
    assert long.action_type == "long_press"
    assert record_from_step(Step(ActionType.SCROLL, value="up")).direction == "up"
    assert record_from_step(Step(ActionType.TYPE, target="Name", value="bo")).text == "bo"


def test_episode_pairs_from_stored_loop_steps():
    obs = Observation("go", elements=(Element(1, "button", "OK", left=0, top=0, width=80, height=105),), size=(160, 210))
    ref = Plan((Step(ActionType.CLICK, target="OK"), Step(ActionType.DONE)))
    hit = StepRecord(obs, plan=Plan((Step(ActionType.CLICK, target="ok"),)), reference=ref,
                     feedback=Feedback(True, element_ref=1, point=(40, 50)))
    unparsed = StepRecord(obs, plan=None, reference=ref)
    episode = Episode("e", "t", 0, "go", steps=(hit, unparsed))
    pairs = episode_pairs(episode)
    assert [p.action_type for p, _ in pairs] == ["click", "none"]
    assert evaluate_episodes([episode])["step_success_rate"] == 0.5
    with_geometry = Episode("e", "t", 0, "go", steps=(hit,),
                            meta={"reference_actions": [ActionRecord("click", box=(0.6, 0.6, 0.1, 0.1)).to_dict()]})
    assert evaluate_episodes([with_geometry], "mind2web")["grounding_accuracy"] == 0.0


def test_action_record_dict_round_trip():
    rec = ActionRecord("type", point=(0.1, 0.2), box=(0.0, 0.1, 0.2, 0.3), text="x", target="Name")
    assert ActionRecord.from_dict(rec.to_dict()) == rec


S = Step


def plan(*steps):
    return Plan(tuple(steps))


A, B, C = S(ActionType.CLICK, target="Login"), S(ActionType.TYPE, target="User", value="alice"), S(ActionType.DONE)


def test_consistent_prefix_length():
    assert consistent_prefix_length(plan(A, B, C), plan(A, B, C)) == 3
    assert consistent_prefix_length(plan(A, S(ActionType.TYPE, target="User", value="bob"), C), plan(A, B, C)) == 1
    assert consistent_prefix_length(plan(B, A), plan(A, B)) == 0
    assert consistent_prefix_length(plan(A), plan(A, B, C)) == 1
    assert consistent_prefix_length(None, plan(A)) == 0
    # wording and status do not matter; target words match case-insensitively
    assert consistent_prefix_length(plan(S(ActionType.CLICK, target="login", instruction="x", done=True)), plan(A)) == 1


def test_position_agreement_counts_only_the_positions_asked_for():
    assert position_agreement(plan(A, B, A), plan(A, B, C)) == [True, True, False]
    assert position_agreement(plan(A, C), plan(A, B)) == [True, False]
    assert position_agreement(None, plan(B)) == [False]
    assert position_agreement(plan(A), plan(A, B, C)) == [True, False, False]  # a short forecast misses the rest


def test_forecast_metrics_skip_done_padding():
    from tracer1kit.actions import DONE_STEP, pad_to_horizon, real_steps

    last = S(ActionType.CLICK, target="Login", done=True)
    reference = plan(*pad_to_horizon([B, last], 4))                 # two real steps, then two padding steps
    assert real_steps(reference) == 2 and real_steps(plan(A, B)) == 2 and real_steps(plan(DONE_STEP)) == 1
    wrong_then_done = plan(B, B, DONE_STEP, DONE_STEP)
    assert position_agreement(wrong_then_done, reference) == [True, False, True, True]   # padding "agrees"
    assert position_agreement(wrong_then_done, reference, real_steps(reference)) == [True, False]
    assert consistent_prefix_length(plan(B, last, A, A), reference, real_steps(reference)) == 2
