"""Offline metrics: each protocol pinned at and on both sides of its thresholds, with the records built from kit
steps the way evaluation builds them; forecast metrics on small cases; the summaries' rates over exactly the steps
they are defined on."""

import pytest

from tracer1kit.actions import ActionType as A, Plan, Step
from tracer1kit.episodes import Element, Episode, Feedback, Observation, StepRecord
from tracer1kit.metrics import (NO_ACTION, PROTOCOLS, ActionRecord, EvalProtocol, anls, box_center,
                                consistent_prefix_length, episode_pairs, evaluate_episodes, evaluate_steps,
                                get_protocol, grounding_correct, judge_step, normalise_box, normalise_point, op_f1,
                                point_in_box, position_agreement, predicted_record, record_from_step,
                                reference_record, steps_agree, text_correct)


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
    rec = record_from_step(Step(A.CLICK, target="OK"), obs, fb)
    assert rec.point == (0.375, 0.55)
    assert rec.box == (0.25, 0.5, 0.25, 0.1)
    long = record_from_step(Step(A.CLICK, target="OK", args=(("press", "long"),)))
    assert long.action_type == "long_press"
    assert record_from_step(Step(A.SCROLL, value="up")).direction == "up"
    assert record_from_step(Step(A.TYPE, target="Name", value="bo")).text == "bo"


def test_episode_pairs_from_stored_loop_steps():
    obs = Observation("go", elements=(Element(1, "button", "OK", left=0, top=0, width=80, height=105),), size=(160, 210))
    ref = Plan((Step(A.CLICK, target="OK"), Step(A.DONE)))
    hit = StepRecord(obs, plan=Plan((Step(A.CLICK, target="ok"),)), reference=ref,
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


X, Y, Z = S(A.CLICK, target="Login"), S(A.TYPE, target="User", value="alice"), S(A.DONE)


def test_consistent_prefix_length():
    assert consistent_prefix_length(plan(X, Y, Z), plan(X, Y, Z)) == 3
    assert consistent_prefix_length(plan(X, S(A.TYPE, target="User", value="bob"), Z), plan(X, Y, Z)) == 1
    assert consistent_prefix_length(plan(Y, X), plan(X, Y)) == 0
    assert consistent_prefix_length(plan(X), plan(X, Y, Z)) == 1
    assert consistent_prefix_length(None, plan(X)) == 0
    # wording and status do not matter; target words match case-insensitively
    assert consistent_prefix_length(plan(S(A.CLICK, target="login", instruction="x", done=True)), plan(X)) == 1


def test_position_agreement_counts_only_the_positions_asked_for():
    assert position_agreement(plan(X, Y, X), plan(X, Y, Z)) == [True, True, False]
    assert position_agreement(plan(X, Z), plan(X, Y)) == [True, False]
    assert position_agreement(None, plan(Y)) == [False]
    assert position_agreement(plan(X), plan(X, Y, Z)) == [True, False, False]  # a short forecast misses the rest


def test_forecast_metrics_skip_done_padding():
    from tracer1kit.actions import DONE_STEP, pad_to_horizon, real_steps

    last = S(A.CLICK, target="Login", done=True)
    reference = plan(*pad_to_horizon([Y, last], 4))                 # two real steps, then two padding steps
    assert real_steps(reference) == 2 and real_steps(plan(X, Y)) == 2 and real_steps(plan(DONE_STEP)) == 1
    wrong_then_done = plan(Y, Y, DONE_STEP, DONE_STEP)
    assert position_agreement(wrong_then_done, reference) == [True, False, True, True]   # padding "agrees"
    assert position_agreement(wrong_then_done, reference, real_steps(reference)) == [True, False]
    assert consistent_prefix_length(plan(Y, last, X, X), reference, real_steps(reference)) == 2


DESCRIPTIONS = {
    "default": "protocol default: action type exact; click correct if point inside the reference box (edges "
               "included) or normalised L2 distance < 0.14; text correct if token-F1 >= 0.5; scroll direction exact; "
               "key and done status exact; step SR = type and argument correct; episode SR = every step correct",
    "androidcontrol": "protocol androidcontrol: action type exact; click correct if normalised L2 distance < 0.14; "
                      "text correct if token-F1 >= 0.5; scroll direction exact; key and done status exact; step SR = "
                      "type and argument correct; episode SR = every step correct",
    "guiodyssey": "protocol guiodyssey: action type exact; click correct if L2 on a 0-1000 grid / 1000 <= 0.14; text "
                  "correct if substring either way or ANLS >= 0.5; scroll direction exact; key and done status exact; "
                  "step SR = type and argument correct; episode SR = every step correct",
    "mind2web": "protocol mind2web: action type exact; click correct if point inside the reference box (edges "
                "included); type/select also need the element (element accuracy); text correct if token-F1 >= 1; "
                "scroll direction exact; key and done status exact; Op-F1 = token F1 of 'OP value'; step SR = element "
                "correct and Op-F1 = 1; episode SR = every step correct",
}


@pytest.mark.parametrize("name", sorted(DESCRIPTIONS))
def test_each_protocol_describes_its_thresholds(name):
    assert get_protocol(name).describe() == DESCRIPTIONS[name]
    assert get_protocol(get_protocol(name)) is get_protocol(name)


def test_unknown_protocol():
    with pytest.raises(ValueError) as info:
        get_protocol("ac")
    assert str(info.value) == "unknown eval.protocol 'ac' (allowed: default, androidcontrol, guiodyssey, mind2web)"


def test_pixels_to_page_fractions():
    assert normalise_point((40, 105), (160, 210)) == (0.25, 0.5)
    assert normalise_box((40, 21, 80, 42), (160, 210)) == (0.25, 0.1, 0.5, 0.2)
    for size in ((0, 210), (160, 0), (160, -1), (160, 210, 3)):
        with pytest.raises(ValueError) as info:
            normalise_point((1, 1), size)
        assert str(info.value) == f"size must be (width, height) with both > 0, got {tuple(size)}"


def test_points_boxes_and_centres():
    box = (0.2, 0.4, 0.2, 0.1)
    assert box_center(box) == pytest.approx((0.3, 0.45))
    for point, inside in (((0.2, 0.4), True), ((0.4, 0.5), True), ((0.19, 0.45), False), ((0.41, 0.45), False),
                          ((0.3, 0.39), False), ((0.3, 0.51), False)):
        assert point_in_box(point, box) is inside


def test_anls_and_op_f1_values():
    assert anls("abc", "") == 0.0 and anls("", "abc") == 0.0
    assert anls("abcd", "abce") == 0.75 and anls("ab", "abcd") == 0.5
    assert anls(" The Lamp. ", "the lamp") == 1.0                                  # normalised first
    assert op_f1(ActionRecord("scroll", direction="down"), ActionRecord("scroll", direction="down")) == 1.0
    assert op_f1(ActionRecord("scroll", direction="up"), ActionRecord("scroll", direction="down")) == 0.5
    assert op_f1(ActionRecord("type", text="a b", direction="up"), ActionRecord("type", text="a b")) == 1.0
    assert op_f1(ActionRecord("click"), ActionRecord("click")) == 1.0


def test_records_from_kit_steps():
    call = Step(A.CALL, "calculator", args=(("expression", "1+2"), ("digits", "2")))
    assert record_from_step(call) == ActionRecord("call", text="expression=1+2 digits=2", target="calculator")
    for action in (A.TYPE, A.SELECT, A.PRESS, A.ANSWER, A.DONE):
        assert record_from_step(Step(action, "t", "v")).text == "v"
    assert record_from_step(Step(A.CLICK, "OK", "v")) == ActionRecord("click", target="OK")
    assert record_from_step(Step(A.WAIT, value="2")) == ActionRecord("wait")
    assert record_from_step(Step(A.SCROLL, value="up")) == ActionRecord("scroll", direction="up")
    assert record_from_step(Step(A.CLICK, "OK", args=(("press", "short"),))).action_type == "click"
    assert record_from_step(None) is NO_ACTION and NO_ACTION.action_type == "none"


def test_geometry_comes_from_executed_feedback_on_the_observation():
    obs = Observation("go", elements=(Element(3, "button", "OK", left=40, top=21, width=80, height=42),), size=(160, 210))
    step = Step(A.CLICK, "OK")
    full = record_from_step(step, obs, Feedback(True, element_ref=3, point=(80, 42)))
    assert (full.point, full.box) == ((0.5, 0.2), (0.25, 0.1, 0.5, 0.2))
    no_obs = record_from_step(step, None, Feedback(True, element_ref=3, point=(80, 42)), point=(0.1, 0.1))
    assert (no_obs.point, no_obs.box) == ((0.1, 0.1), None)                            # pixels need a page size
    no_point = record_from_step(step, obs, Feedback(True, element_ref=3), point=(0.1, 0.1))
    assert (no_point.point, no_point.box) == ((0.1, 0.1), (0.25, 0.1, 0.5, 0.2))
    gone = record_from_step(step, obs, Feedback(True, element_ref=9, point=(16, 21)), box=(0, 0, 1, 1))
    assert (gone.point, gone.box) == ((0.1, 0.1), (0, 0, 1, 1))
    assert record_from_step(step, obs, Feedback(True, point=(16, 21))).box is None


def test_stored_steps_to_pairs():
    obs = Observation("go", elements=(Element(1, "button", "OK", left=0, top=0, width=80, height=105),), size=(160, 210))
    ref = Plan((Step(A.CLICK, "OK"),))
    hit = StepRecord(obs, plan=Plan((Step(A.CLICK, "ok"),)), reference=ref, feedback=Feedback(True, element_ref=1))
    no_ref = StepRecord(obs, plan=Plan((Step(A.CLICK, "ok"),)))
    unparsed = StepRecord(obs, reference=ref)
    assert predicted_record(unparsed) is NO_ACTION
    assert predicted_record(hit) == ActionRecord("click", box=(0.0, 0.0, 0.5, 0.5), target="ok")
    episode = Episode("e", "t", 0, "go", steps=(hit, no_ref, unparsed))
    assert [(p.action_type, r.target) for p, r in episode_pairs(episode)] == [("click", "OK"), ("none", "OK")]
    assert reference_record(episode, 1) is NO_ACTION
    stored = [ActionRecord("click", point=(0.1, 0.1)).to_dict(), ActionRecord("type", text="x").to_dict(),
              ActionRecord("click", box=(0, 0, 1, 1)).to_dict()]
    with_meta = Episode("e", "t", 0, "go", steps=(hit, no_ref, unparsed), meta={"reference_actions": stored})
    assert [r.action_type for _, r in episode_pairs(with_meta)] == ["click", "type", "click"]   # every step
    assert reference_record(with_meta, 2) == ActionRecord("click", box=(0, 0, 1, 1))


def test_grounding_without_reference_geometry_uses_the_target_words():
    ref = ActionRecord("click", target="Settings menu")
    assert grounding_correct(ActionRecord("click", target="settings"), ref, get_protocol("default"))
    assert not grounding_correct(ActionRecord("click", target="Setting tab"), ref, get_protocol("default"))
    assert not grounding_correct(ActionRecord("click", target=""), ActionRecord("click"), get_protocol("default"))


def test_grounding_by_box_by_distance_or_both():
    box_ref = ActionRecord("click", box=(0.0, 0.0, 0.2, 0.2))                    # centre (0.1, 0.1)
    inside_far = ActionRecord("click", point=(0.2, 0.2))                         # a corner: 0.1414 from the centre
    near_outside = ActionRecord("click", point=(0.1, 0.21))
    assert grounding_correct(inside_far, box_ref, get_protocol("default"))
    assert not grounding_correct(inside_far, box_ref, get_protocol("androidcontrol"))   # no box rule there
    assert grounding_correct(near_outside, box_ref, get_protocol("androidcontrol"))    # distance to the box centre
    assert not grounding_correct(near_outside, box_ref, get_protocol("mind2web"))      # no distance rule there
    assert grounding_correct(ActionRecord("click", box=(0.05, 0.05, 0.1, 0.1)), box_ref, get_protocol("androidcontrol"))
    assert not grounding_correct(ActionRecord("click"), box_ref, get_protocol("default"))


@pytest.mark.parametrize("grid, a, b, ok", [
    (None, 0.64, 0.5, True), (None, 0.6400001, 0.5, False),          # inclusive at 0.14, float noise aside
    (100, 0.644, 0.5, True), (100, 0.646, 0.5, False),                # on a 0–100 grid 64.4 → 64, 64.6 → 65
    (100, 0.644, 0.496, True),                                        # the reference is rounded too (49.6 → 50)
])
def test_distance_on_a_grid_rounds_both_points_first(grid, a, b, ok):
    protocol = EvalProtocol("g", click_in_box=False, max_distance=0.14, distance_inclusive=True, grid=grid,
                            text_f1=None, text_substring=False, text_anls=None, element_for_all_ops=False,
                            op_f1_step=False)
    assert grounding_correct(ActionRecord("click", point=(a, 0.5)), ActionRecord("click", point=(b, 0.5)), protocol) is ok


@pytest.mark.parametrize("protocol, pred, ref, ok", [
    ("default", "a b", "a c", True), ("default", "a b c", "a d", False),          # token F1 0.5 | 0.4
    ("default", "new york", "new york city", True),                               # F1 0.8
    ("guiodyssey", "york", "new york city", True),                                # substring
    ("guiodyssey", "abcd", "abxy", True), ("guiodyssey", "abcde", "abxyz", False),   # ANLS 0.5 | 0.4
    ("guiodyssey", "", "", True),                                                 # ANLS of two empty texts
    ("mind2web", "new york", "New York.", True), ("mind2web", "new york city", "new york", False),
])
def test_text_rules(protocol, pred, ref, ok):
    assert text_correct(pred, ref, get_protocol(protocol)) is ok


@pytest.mark.parametrize("pred, ref, protocol, verdict", [
    # (type_ok, grounding_ok, text_ok, success)
    (ActionRecord("press", text="Enter"), ActionRecord("press", text="enter"), "default", (True, None, True, True)),
    (ActionRecord("press", text="Tab"), ActionRecord("press", text="Enter"), "default", (True, None, False, False)),
    (ActionRecord("done", text=""), ActionRecord("done", text=""), "default", (True, None, True, True)),
    (ActionRecord("scroll", direction="up"), ActionRecord("scroll", direction="down"), "default",
     (True, None, False, False)),
    (ActionRecord("wait"), ActionRecord("wait"), "default", (True, None, None, True)),
    (ActionRecord("click", point=(0.5, 0.5)), ActionRecord("wait"), "default", (False, None, None, False)),
    (ActionRecord("select", text="Red"), ActionRecord("select", text="red"), "default", (True, None, True, True)),
    (ActionRecord("answer", text="42"), ActionRecord("answer", text="41"), "default", (True, None, False, False)),
    (ActionRecord("call", target="calc", text="x=1"), ActionRecord("call", target="Calc", text="x=1"), "default",
     (True, None, True, True)),
    (ActionRecord("call", target="ocr", text="x=1"), ActionRecord("call", target="calc", text="x=1"), "default",
     (True, None, False, False)),
    (ActionRecord("call", target="calc", text="y=2"), ActionRecord("call", target="calc", text="x=1"), "default",
     (True, None, False, False)),
    (ActionRecord("long_press", point=(0.5, 0.5)), ActionRecord("long_press", point=(0.5, 0.5)), "default",
     (True, True, None, True)),
    (ActionRecord("click", point=(0.5, 0.5)), ActionRecord("long_press", point=(0.5, 0.5)), "default",
     (False, True, None, False)),
    # Mind2Web: type and select must hit the element; the step succeeds on element and Op-F1 = 1
    (ActionRecord("type", point=(0.9, 0.9), text="x"), ActionRecord("type", box=(0, 0, 0.1, 0.1), text="x"), "mind2web",
     (True, False, True, False)),
    (ActionRecord("select", point=(0.05, 0.05), text="x"), ActionRecord("select", box=(0, 0, 0.1, 0.1), text="x"),
     "mind2web", (True, True, True, True)),
    (ActionRecord("type", point=(0.9, 0.9), text="x"), ActionRecord("type", box=(0, 0, 0.1, 0.1), text="x"), "default",
     (True, None, True, True)),
    (ActionRecord("scroll", direction="down"), ActionRecord("scroll", direction="down"), "mind2web",
     (True, None, True, True)),
])
def test_judge_step(pred, ref, protocol, verdict):
    j = judge_step(pred, ref, protocol)
    assert (j.type_ok, j.grounding_ok, j.text_ok, j.success) == verdict


def test_summaries_count_rates_over_the_steps_they_are_defined_on():
    pairs = [(ActionRecord("click", point=(0.5, 0.5)), ActionRecord("click", point=(0.5, 0.5))),
             (ActionRecord("click", point=(0.9, 0.9)), ActionRecord("click", point=(0.5, 0.5))),
             (ActionRecord("type", text="a"), ActionRecord("type", text="b")),
             (ActionRecord("wait"), ActionRecord("wait")),
             (ActionRecord("press", text="x"), ActionRecord("scroll", direction="up"))]
    out = evaluate_steps(pairs, "androidcontrol")
    assert out == {"protocol": "androidcontrol", "protocol_description": DESCRIPTIONS["androidcontrol"], "steps": 5,
                   "type_accuracy": 0.8, "grounding_accuracy": 0.5, "text_accuracy": 0.0,
                   "op_f1": pytest.approx((1 + 1 + 0.5 + 1 + 0) / 5), "step_success_rate": 0.4}
    empty = evaluate_steps([])
    assert empty["steps"] == 0 and empty["op_f1"] is None and empty["type_accuracy"] is None
    assert empty["grounding_accuracy"] is None and empty["text_accuracy"] is None


def test_episode_success_needs_every_step():
    ok = (ActionRecord("wait"), ActionRecord("wait"))
    bad = (ActionRecord("click"), ActionRecord("wait"))
    out = evaluate_episodes([[ok, ok], [ok, bad], [ok], []])
    assert out["episodes"] == 4 and out["episode_success_rate"] == 0.5 and out["steps"] == 5
    assert evaluate_episodes([])["episode_success_rate"] is None


@pytest.mark.parametrize("pred, ref, agree", [
    (Step(A.SCROLL, value="Down"), Step(A.SCROLL, value="down"), True),
    (Step(A.SCROLL, value="down the page"), Step(A.SCROLL, value="down"), False),      # directions exactly
    (Step(A.CLICK, "the Login button"), Step(A.CLICK, "Login"), True),
    (Step(A.CLICK, "Log"), Step(A.CLICK, "Login button"), True),                        # contained either way
    (Step(A.CLICK, "Logout"), Step(A.CLICK, "Login"), False),
    (Step(A.CLICK, "anything"), Step(A.CLICK), True),                                    # no reference target
    (Step(A.TYPE, "Name", "bob smith"), Step(A.TYPE, "Name", "bob"), True),
    (Step(A.TYPE, "Name", "alice"), Step(A.TYPE, "Name", "bob"), False),
    (Step(A.TYPE, "Name", "alice"), Step(A.TYPE, "Name"), True),                         # no reference value
    (Step(A.TYPE, "Name", "bob"), Step(A.SELECT, "Name", "bob"), False),
    (Step(A.CALL, "calc", args=(("x", "1"), ("y", "2"))), Step(A.CALL, "calc", args=(("x", "1"),)), True),
    (Step(A.CALL, "calc", args=(("y", "2"),)), Step(A.CALL, "calc", args=(("x", "1"),)), False),
    (Step(A.CALL, "calc", args=(("x", "3"),)), Step(A.CALL, "calc", args=(("x", "1"),)), False),
])
def test_steps_agree(pred, ref, agree):
    assert steps_agree(pred, ref) is agree


def test_forecast_positions():
    a, b, c = Step(A.CLICK, "A"), Step(A.CLICK, "B"), Step(A.CLICK, "C")
    ref = Plan((a, b, c))
    assert position_agreement(Plan((a, c, c)), ref, 2) == [True, False]
    assert position_agreement(Plan((a, b, c)), ref, 9) == [True, True, True]
    assert position_agreement(Plan((a,)), ref, 0) == []
    assert consistent_prefix_length(Plan((a, b, a)), ref) == 2
    assert consistent_prefix_length(Plan((a, b, c)), ref, 2) == 2
    assert consistent_prefix_length(Plan((b,)), ref) == 0
