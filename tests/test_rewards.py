"""Stage-1 and Stage-2 rewards pinned on hand-written cases, called exactly as TRL calls them, and term by term,
each value computed by hand from the documented formula on a plan small enough to check on paper (defaults:
γ = 0.8; current step 0.6·type + 0.4·detail, future steps 0.8·type + 0.2·detail; status 0.3 of the similarity;
0.1 per position of offset; −0.1 per extra step, −0.15 per missing one; −0.2 per repetition event; weights
0.7 / 0.1 / 0.05 / 0.05 / 0.1)."""

import pytest

from tracer1kit.actions import DONE_STEP, ActionType as A, Plan, Step, format_plan, pad_to_horizon
from tracer1kit.episodes import Episode, Feedback, Observation, StepRecord
from tracer1kit.params import GroundedRewardParams, RewardParams, RewardWeights
from tracer1kit.rewards import (align, format_score, grounded_reward, repetition_events, repetitions, score_episode,
                                score_record, score_text, stage1_reward, stage1_reward_funcs, step_similarity,
                                trajectory_reward)

P = RewardParams()
REF = Plan((
    Step(A.TYPE, "Username", "alice", "type 'alice' into the Username field"),
    Step(A.TYPE, "Password", "x9", "type 'x9' into the Password field"),
    Step(A.CLICK, "Login", instruction="click the Login button"),
    Step(A.CLICK, "Next"),
    Step(A.DONE, done=True),
))


def swap(plan: Plan, index: int, step: Step) -> Plan:
    steps = list(plan.steps)
    steps[index] = step
    return Plan(tuple(steps), plan.think)


def reward(pred: Plan, params: RewardParams = P) -> float:
    return score_text(format_plan(pred), REF, params).total


def test_identical_plan_scores_the_maximum():
    breakdown = score_text(format_plan(REF), REF, P)
    assert breakdown.total == pytest.approx(1.0)
    assert all(v == pytest.approx(1.0) for v in breakdown.terms.values())


def test_wrong_type_early_costs_more_than_late():
    early = reward(swap(REF, 0, Step(A.SCROLL, value="down")))
    late = reward(swap(REF, 4, Step(A.SCROLL, value="down", done=True)))
    assert early < late < 1.0


def test_gamma_one_weighs_all_positions_alike_and_gamma_below_one_favours_near_steps():
    wrong_2 = swap(REF, 1, Step(A.WAIT))
    wrong_4 = swap(REF, 3, Step(A.WAIT))
    flat = RewardParams(gamma=1.0, current_type_weight=0.8)  # current == future weighting isolates γ
    assert reward(wrong_2, flat) == pytest.approx(reward(wrong_4, flat))
    discounted = RewardParams(gamma=0.5, current_type_weight=0.8)
    assert reward(wrong_2, discounted) < reward(wrong_4, discounted)


def test_repeating_one_click_three_times_is_penalised():
    click = Step(A.CLICK, "Login")
    spam = Plan((click, click, click, Step(A.CLICK, "Next"), Step(A.DONE, done=True)))
    breakdown = score_text(format_plan(spam), REF, P)
    assert breakdown.terms["repetition"] < 1.0
    no_rep = RewardParams(weights=RewardWeights(repetition=0.0))
    off = score_text(format_plan(spam), REF, no_rep)
    assert off.terms["repetition"] == breakdown.terms["repetition"]  # still measured, for the plots...
    weights = no_rep.weights.model_dump()
    assert off.total == pytest.approx(sum(weights[t] * v for t, v in off.terms.items()))  # ...but it no longer counts
    assert off.total == pytest.approx(breakdown.total - 0.05 * breakdown.terms["repetition"])


def test_cycle_counts_twice_and_reference_repetitions_are_not_penalised():
    a, b = Step(A.CLICK, "A"), Step(A.CLICK, "B")
    assert repetition_events([a, b, a, b, a]) == [0, 0, 0, 0, 2]
    assert repetition_events([a, a, a, a]) == [0, 0, 1, 1]
    press = Step(A.PRESS, value="Backspace")
    ref = Plan((press, press, press))
    assert trajectory_reward(ref, ref, P).terms["repetition"] == 1.0


@pytest.mark.parametrize("garbage", ["", "lol", "<answer>\n{\"action\": \"fly\"}\n</answer>", "\x00\xff" * 50])
def test_garbage_scores_the_minimum_without_exception(garbage):
    breakdown = score_text(garbage, REF, P)
    assert breakdown.total == 0.0 and breakdown.parse_error


def test_missing_and_extra_steps_cost_coverage():
    short = Plan(REF.steps[:3])
    long = Plan(REF.steps + (Step(A.WAIT),))
    assert score_text(format_plan(short), REF, P).terms["coverage"] == pytest.approx(1 - 2 * 0.15)
    assert score_text(format_plan(long), REF, P).terms["coverage"] == pytest.approx(1 - 0.1)
    assert reward(short) < 1.0 and reward(long) < 1.0


def test_step_similarity_rules():
    ref = Step(A.CLICK, "Login")
    assert step_similarity(Step(A.CLICK, "login"), ref, True, P) == pytest.approx(1.0)
    assert step_similarity(Step(A.CLICK, "Cancel"), ref, True, P) == 0.0          # current click target must match
    assert 0.0 < step_similarity(Step(A.CLICK, "Cancel"), ref, False, P) < 1.0    # future: type still counts
    assert step_similarity(Step(A.SCROLL, value="up"), Step(A.SCROLL, value="down"), False, P) == 0.0
    assert step_similarity(Step(A.TYPE, "Name", "bob smith"), Step(A.TYPE, "Name", "bob"), True, P) == pytest.approx(1.0)
    assert step_similarity(Step(A.ANSWER, value="26.910"), Step(A.ANSWER, value="26.91"), True, P) == pytest.approx(1.0)
    assert step_similarity(Step(A.DONE, done=False), Step(A.DONE, done=True), True, P) == pytest.approx(0.7)


def test_reward_funcs_have_trl_signature_and_sum_to_the_total():
    funcs, weights = stage1_reward_funcs(P)
    names = [f.__name__ for f in funcs]
    assert names == ["alignment", "coverage", "done", "repetition", "format", "parsed"]
    completions = [[{"role": "assistant", "content": format_plan(REF)}], [{"role": "assistant", "content": "junk"}]]
    reference = [format_plan(REF)] * 2
    per_func = [f(prompts=["p", "p"], completions=completions, completion_ids=[[1], [2]], reference=reference, trainer_state=None)
                for f in funcs]
    totals = [sum(w * col[i] for w, col in zip(weights, per_func)) for i in range(2)]
    direct = stage1_reward(P)(completions=completions, reference=reference)
    assert totals == pytest.approx(direct)
    assert direct == pytest.approx([1.0, 0.0])
    assert per_func[-1] == [1.0, 0.0]  # parsed


def test_switching_a_term_off_removes_its_function():
    funcs, _ = stage1_reward_funcs(RewardParams(weights=RewardWeights(format=0.0)))
    assert "format" not in [f.__name__ for f in funcs]


def test_grounded_reward_terms():
    params = GroundedRewardParams(mode="live")
    good = Feedback(executable=True, matched_reference=True, advanced=True)
    assert grounded_reward(good, params)["total"] == pytest.approx(1.0)
    wrong = Feedback(executable=True, matched_reference=False, advanced=False)
    assert grounded_reward(wrong, params)["total"] == pytest.approx(0.2)
    assert grounded_reward(None, params)["total"] == 0.0
    offline = grounded_reward(Feedback(executable=True, matched_reference=True), GroundedRewardParams())
    assert offline["total"] == pytest.approx(1.0)


OK, BACKSPACE, A_, B_ = (Step(A.CLICK, "OK"), Step(A.PRESS, value="Backspace"), Step(A.CLICK, "A"), Step(A.CLICK, "B"))


@pytest.mark.parametrize("pred, ref, expected", [
    # issue 18.3: three OK clicks are not excused by a reference that presses Backspace three times
    ((OK, OK, OK), (BACKSPACE, BACKSPACE, BACKSPACE), 1 - 0.2 * 0.8 ** 2),
    ((BACKSPACE, BACKSPACE, BACKSPACE), (BACKSPACE, BACKSPACE, BACKSPACE), 1.0),
    ((Step(A.CLICK, "ok", instruction="again"),) * 3, (OK, OK, OK), 1.0),           # same action key, other words
    ((BACKSPACE,) * 4, (BACKSPACE,) * 3, 1 - 0.2 * 0.8 ** 3),                          # one event excused, one not
    ((OK, OK, OK, BACKSPACE, BACKSPACE, BACKSPACE), (BACKSPACE,) * 3, 1 - 0.2 * 0.8 ** 2),
    ((B_, A_, B_, A_, B_), (A_, B_, A_, B_, A_), 1.0),                                 # the same two actions alternate
    ((A_, B_, A_, B_, A_), (A_, A_, A_), 1 - 0.2 * 2 * 0.8 ** 4),                      # a cycle is not a triple
    ((OK,) * 5, (OK,), 1 - 0.2 * (0.8 ** 2 + 0.8 ** 3 + 0.8 ** 4)),
])
def test_repetition_is_excused_only_by_the_same_repeated_action(pred, ref, expected):
    assert trajectory_reward(Plan(pred), Plan(ref), P).terms["repetition"] == pytest.approx(expected)


def test_repetition_term_is_floored_at_zero():
    harsh = RewardParams(repetition_penalty=1.0)  # Σ_{t=3..12} 0.8^(t-1) = 2.86 events' worth
    assert trajectory_reward(Plan((OK,) * 12), Plan((OK,)), harsh).terms["repetition"] == 0.0
    assert trajectory_reward(Plan((OK,) * 3), Plan((OK,)), harsh).terms["repetition"] == pytest.approx(1 - 0.64)


def test_repetition_events_per_position_with_and_without_a_reference():
    assert repetition_events([OK, OK, OK, OK], [BACKSPACE] * 3) == [0, 0, 1, 1]
    assert repetition_events([OK, OK, OK, OK], [OK] * 3) == [0, 0, 0, 1]
    assert repetition_events([A_, B_, A_, B_, A_], [B_, A_, B_, A_, B_]) == [0, 0, 0, 0, 0]


def test_real_step_positions_drop_the_padding_from_alignment_and_coverage():
    from tracer1kit.actions import DONE_STEP, pad_to_horizon, real_steps
    from tracer1kit.rewards import trajectory_reward

    params = RewardParams(gamma=0.5)
    last = Step(A.CLICK, target="Login", done=True)
    reference = Plan(pad_to_horizon([Step(A.TYPE, target="User", value="al"), last], 4))
    stops = Plan((Step(A.TYPE, target="User", value="al"), last))     # right, and stops at the task's end
    padded = trajectory_reward(stops, reference, params)
    real = trajectory_reward(stops, reference, params, positions=real_steps(reference))
    assert real.terms["alignment"] == 1.0 and real.terms["coverage"] == 1.0
    assert padded.terms["coverage"] == pytest.approx(1 - 2 * params.missing_step_penalty)   # owes the two padding steps
    assert padded.terms["alignment"] < 1.0                                      # and averages over them
    wrong_tail = Plan((stops.steps[0], Step(A.CLICK, target="Cancel", done=True), DONE_STEP, DONE_STEP))
    assert trajectory_reward(wrong_tail, reference, params, positions=2).terms["alignment"] == pytest.approx(
        (1 + 0.5 * ((1 - params.status_weight) * params.future_type_weight + params.status_weight)) / 1.5)


# Distinct weights and type weights, so that swapping any two of them changes a value below.
ODD = RewardParams(weights=RewardWeights(alignment=0.5, coverage=0.2, done=0.15, repetition=0.1, format=0.05),
                   current_type_weight=0.5, future_type_weight=0.9, status_weight=0.2)

TYPE_USER = Step(A.TYPE, "Username", "alice")
LOGIN, NEXT, CANCEL = Step(A.CLICK, "Login"), Step(A.CLICK, "Next"), Step(A.CLICK, "Cancel")
FINISH = Step(A.DONE, done=True)
LOGIN_REF = Plan((TYPE_USER, LOGIN, NEXT, FINISH))


# ------------------------------------------------------------------ similarity of one step

@pytest.mark.parametrize("pred, current, expected", [
    # type right, no detail right: 0.7·(type weight) + 0.3·(status agrees)
    (Step(A.TYPE, "Email", "zzz"), True, 0.7 * 0.6 + 0.3),
    (Step(A.TYPE, "Email", "zzz"), False, 0.7 * 0.8 + 0.3),
    # half the detail right (target yes, value no)
    (Step(A.TYPE, "Username", "zzz"), True, 0.7 * (0.6 + 0.4 * 0.5) + 0.3),
    (Step(A.TYPE, "Username", "zzz"), False, 0.7 * (0.8 + 0.2 * 0.5) + 0.3),
    # all right but the status: only the action part counts
    (Step(A.TYPE, "Username", "alice", done=True), True, 0.7),
    (Step(A.CLICK, "Username"), True, 0.0),                         # another action type
])
def test_step_similarity_weighs_type_detail_and_status(pred, current, expected):
    assert step_similarity(pred, TYPE_USER, current, P) == pytest.approx(expected)


def test_current_and_future_type_weights_and_the_status_weight_are_their_own_parameters():
    wrong = Step(A.TYPE, "Email", "zzz")
    assert step_similarity(wrong, TYPE_USER, True, ODD) == pytest.approx(0.8 * 0.5 + 0.2)
    assert step_similarity(wrong, TYPE_USER, False, ODD) == pytest.approx(0.8 * 0.9 + 0.2)
    assert step_similarity(Step(A.TYPE, "Username", "alice", done=True), TYPE_USER, True, ODD) == pytest.approx(0.8)


def test_a_click_target_must_match_on_the_current_step_only():
    half = Step(A.CLICK, "Submit form")                     # token F1 0.5 against "Submit order"
    ref = Step(A.CLICK, "Submit order")
    assert step_similarity(half, ref, True, P) == 0.0
    assert step_similarity(half, ref, False, P) == pytest.approx(0.7 * (0.8 + 0.2 * 0.5) + 0.3)
    assert step_similarity(Step(A.CLICK, "the Submit order button"), ref, True, P) == pytest.approx(1.0)
    tool, other = Step(A.CALL, "calculator"), Step(A.CALL, "ocr")
    assert step_similarity(other, tool, True, P) == 0.0     # a call's tool name likewise
    assert step_similarity(other, tool, False, P) == pytest.approx(0.7 * 0.8 + 0.3)


def test_detail_averages_target_value_and_the_share_of_tool_arguments():
    ref = Step(A.CALL, "calculator", args=(("expression", "1+2"), ("digits", "3")))
    one_arg = Step(A.CALL, "calculator", args=(("expression", "1+2"),))
    # detail = mean(target 1, arguments 1/2) = 0.75
    assert step_similarity(one_arg, ref, True, P) == pytest.approx(0.7 * (0.6 + 0.4 * 0.75) + 0.3)
    # a target only one side names counts as a wrong part: mean(target 0, value 1)
    assert step_similarity(Step(A.TYPE, "Name", "bob"), Step(A.TYPE, value="bob"), True, P) == pytest.approx(
        0.7 * (0.6 + 0.4 * 0.5) + 0.3)
    assert step_similarity(Step(A.TYPE, value="bob"), Step(A.TYPE, "Name", "bob"), True, P) == pytest.approx(
        0.7 * (0.6 + 0.4 * 0.5) + 0.3)
    assert step_similarity(Step(A.TYPE, "Name"), Step(A.TYPE, "Name", "bob"), True, P) == pytest.approx(
        0.7 * (0.6 + 0.4 * 0.5) + 0.3)
    assert step_similarity(Step(A.SELECT), Step(A.SELECT), True, P) == 1.0          # nothing to compare


@pytest.mark.parametrize("pred, ref, expected", [
    (Step(A.SCROLL, value="down"), Step(A.SCROLL, value="Down"), 1.0),
    (Step(A.SCROLL, value="up"), Step(A.SCROLL, value="down"), 0.0),           # direction is a hard requirement
    (Step(A.WAIT, value="5"), Step(A.WAIT), 1.0),                              # wait and done: no detail
    (Step(A.DONE, "x"), Step(A.DONE), 1.0),
    (Step(A.PRESS, value="Tab"), Step(A.PRESS, value="Enter"), 0.7 * 0.6 + 0.3),
    (Step(A.PRESS, value="enter"), Step(A.PRESS, value="Enter"), 1.0),
    (Step(A.ANSWER, value="12"), Step(A.ANSWER, value="13"), 0.7 * 0.6 + 0.3),
    (Step(A.ANSWER, value="The answer is 13"), Step(A.ANSWER, value="13"), 1.0),
])
def test_detail_rules_per_action_type(pred, ref, expected):
    assert step_similarity(pred, ref, True, P) == pytest.approx(expected)


# ------------------------------------------------------------------ alignment

def test_equal_lengths_align_by_position_and_only_position_one_is_current():
    assert align([LOGIN, NEXT], [NEXT, LOGIN], P) == [(0, 0.0), (1, pytest.approx(0.7 * 0.8 + 0.3))]


def test_unequal_lengths_align_greedily_with_the_offset_penalty():
    assert align([Step(A.WAIT), LOGIN], [LOGIN], P) == [(1, pytest.approx(1.0 - 0.1))]
    assert align([Step(A.WAIT), LOGIN], [LOGIN], RewardParams(offset_penalty=0.25)) == [(1, pytest.approx(0.75))]
    assert align([Step(A.SCROLL, value="down")] * 2, [LOGIN], P) == [(None, 0.0)]   # nothing scores above 0


def test_a_predicted_step_is_matched_once_and_ties_go_to_the_earliest():
    # j = 1: position 0 is used; "Cancel" at offset 0 scores 0.86, the second "Login" at offset 1 scores 0.9
    assert align([LOGIN, CANCEL, LOGIN], [LOGIN, LOGIN], P) == [(0, 1.0), (2, pytest.approx(0.9))]
    # j = 1: "Login" at positions 0 and 2 both score 1 − 0.1: the first wins
    assert align([LOGIN, NEXT, LOGIN], [CANCEL, LOGIN], P)[1] == (0, pytest.approx(0.9))


# ------------------------------------------------------------------ the trajectory reward, term by term

SHORT = Plan((TYPE_USER, LOGIN, Step(A.WAIT)))   # right, right, then a wait where "Next" and done belong
NORM = 1 + 0.8 + 0.64 + 0.512


def test_every_term_of_a_short_forecast_by_hand():
    b = trajectory_reward(SHORT, LOGIN_REF, P)
    # greedy (3 vs 4 steps): Type→1 (1.0), Login→2 (1.0 as a future step), Next and done unmatched
    assert b.per_step == [
        {"position": 1, "matched": 1, "similarity": 1.0, "discount": 1.0},
        {"position": 2, "matched": 2, "similarity": 1.0, "discount": 0.8},
        {"position": 3, "matched": None, "similarity": 0.0, "discount": pytest.approx(0.64)},
        {"position": 4, "matched": None, "similarity": 0.0, "discount": pytest.approx(0.512)},
    ]
    expected = {"alignment": 1.8 / NORM, "coverage": 1 - 0.15, "done": 0.0, "repetition": 1.0, "format": 1.0}
    assert b.terms == pytest.approx(expected)
    assert b.total == pytest.approx(0.7 * 1.8 / NORM + 0.1 * 0.85 + 0.05 * 0 + 0.05 * 1 + 0.1 * 1)
    assert b.parse_error is None


def test_the_total_uses_each_terms_own_weight():
    b = trajectory_reward(SHORT, LOGIN_REF, ODD)
    # similarities under ODD are still 1.0 for exact steps
    assert b.terms["alignment"] == pytest.approx(1.8 / NORM)
    assert b.total == pytest.approx(0.5 * 1.8 / NORM + 0.2 * 0.85 + 0.15 * 0 + 0.1 * 1 + 0.05 * 1)


def test_gamma_discounts_the_alignment():
    b = trajectory_reward(SHORT, LOGIN_REF, RewardParams(gamma=0.5))
    assert b.terms["alignment"] == pytest.approx((1 + 0.5) / (1 + 0.5 + 0.25 + 0.125))
    assert [s["discount"] for s in b.per_step] == [1.0, 0.5, 0.25, 0.125]


def test_positions_limit_the_alignment_and_the_missing_steps():
    two = trajectory_reward(SHORT, LOGIN_REF, P, positions=2)
    assert two.terms["alignment"] == pytest.approx(1.0) and two.terms["coverage"] == 1.0
    three = trajectory_reward(SHORT, LOGIN_REF, P, positions=3)
    assert three.terms["alignment"] == pytest.approx(1.8 / 2.44) and three.terms["coverage"] == 1.0
    assert trajectory_reward(SHORT, LOGIN_REF, P, positions=99).terms == trajectory_reward(SHORT, LOGIN_REF, P).terms
    one = trajectory_reward(Plan((Step(A.WAIT), TYPE_USER)), LOGIN_REF, P, positions=0)   # at least one position counts
    assert one.terms["alignment"] == pytest.approx(1.0 - 0.1)                        # the type, one off
    assert len(one.per_step) == 4                                                     # detail for every position


def test_extra_and_missing_steps_and_the_coverage_floor():
    long = Plan(LOGIN_REF.steps + (Step(A.WAIT), Step(A.WAIT)))
    assert trajectory_reward(long, LOGIN_REF, P).terms["coverage"] == pytest.approx(1 - 2 * 0.1)
    coverage = trajectory_reward(long, LOGIN_REF, RewardParams(extra_step_penalty=0.3)).terms["coverage"]
    assert coverage == pytest.approx(0.4)
    assert trajectory_reward(long, LOGIN_REF, RewardParams(extra_step_penalty=0.6)).terms["coverage"] == 0.0
    one = Plan((TYPE_USER,))
    assert trajectory_reward(one, LOGIN_REF, P).terms["coverage"] == pytest.approx(1 - 3 * 0.15)
    assert trajectory_reward(one, LOGIN_REF, RewardParams(missing_step_penalty=0.4)).terms["coverage"] == 0.0


def test_the_done_term_compares_the_final_statuses():
    assert trajectory_reward(Plan((TYPE_USER, LOGIN, NEXT, FINISH)), LOGIN_REF, P).terms["done"] == 1.0
    assert trajectory_reward(Plan((TYPE_USER, Step(A.CLICK, "Login", done=True))), LOGIN_REF, P).terms["done"] == 1.0
    assert trajectory_reward(Plan((TYPE_USER, LOGIN, NEXT, Step(A.DONE))), LOGIN_REF, P).terms["done"] == 0.0
    open_ref = Plan((TYPE_USER, LOGIN))
    assert trajectory_reward(Plan((TYPE_USER, LOGIN)), open_ref, P).terms["done"] == 1.0
    assert trajectory_reward(Plan((TYPE_USER, FINISH)), open_ref, P).terms["done"] == 0.0


def test_gamma_discounts_the_repetition_events():
    ok = Step(A.CLICK, "OK")
    spam = Plan((ok, ok, ok, ok))                       # events at positions 3 and 4 (0-based 2 and 3)
    assert trajectory_reward(spam, LOGIN_REF, P).terms["repetition"] == pytest.approx(1 - 0.2 * (0.8 ** 2 + 0.8 ** 3))
    half = RewardParams(gamma=0.5, repetition_penalty=0.4)
    assert trajectory_reward(spam, LOGIN_REF, half).terms["repetition"] == pytest.approx(1 - 0.4 * (0.25 + 0.125))


def test_unparseable_output_scores_zero_on_every_term_and_says_why():
    none = trajectory_reward(None, LOGIN_REF, P)
    assert none.total == 0.0 and none.terms == dict.fromkeys(none.terms, 0.0) and len(none.terms) == 5
    assert none.parse_error == "empty plan" and none.per_step == []
    assert trajectory_reward(None, LOGIN_REF, P, parse_error="no <answer>").parse_error == "no <answer>"


# ------------------------------------------------------------------ format

EXACT = format_plan(LOGIN_REF)


@pytest.mark.parametrize("text, parsed, expected", [
    (EXACT, True, 1.0),
    ("  \n" + EXACT + "\n ", True, 1.0),                                   # surrounding whitespace is fine
    (EXACT, False, 0.0),
    (EXACT.split("</think>")[1], True, 0.5),                               # no think block
    (EXACT.removesuffix("</answer>"), True, 0.5),                          # no closing answer tag
    (EXACT + " ok", True, 0.5),                                            # text after the answer
    ("ok " + EXACT, True, 0.5),                                            # text before the think block
    (EXACT.replace("<think>", "<think><answer>", 1), True, 0.5),           # a second <answer>
    (EXACT.replace("</think>", "</think></think>", 1), True, 0.5),         # a second </think>
])
def test_format_partial_credit(text, parsed, expected):
    assert format_score(text, parsed) == expected


def test_the_format_term_enters_the_total_at_its_weight():
    lenient = EXACT.split("</think>")[1]                                   # parses, without the think block
    b = score_text(lenient, LOGIN_REF, P)
    assert b.terms["format"] == 0.5 and b.total == pytest.approx(1.0 - 0.1 * 0.5)
    assert score_text(EXACT, LOGIN_REF, ODD).total == pytest.approx(1.0)


# ------------------------------------------------------------------ repetitions

def test_repetitions_start_at_the_third_and_fifth_step():
    a, b = Step(A.CLICK, "A"), Step(A.CLICK, "B")
    assert repetitions([a, a]) == []
    assert repetitions([a, b, a, b]) == []
    assert repetitions([a, a, a]) == [(2, frozenset({a.key}), 1)]
    assert repetitions([a, b, a, b, a]) == [(4, frozenset({a.key, b.key}), 2)]
    assert repetitions([a] * 5) == [(2, frozenset({a.key}), 1), (3, frozenset({a.key}), 1), (4, frozenset({a.key}), 1)]
    assert repetition_events([a] * 5) == [0, 0, 1, 1, 1]                      # a triple run is not also a cycle


# ------------------------------------------------------------------ TRL reward functions

def test_reward_functions_weights_follow_the_terms_and_parsed_weighs_nothing():
    funcs, weights = stage1_reward_funcs(ODD)
    assert [f.__name__ for f in funcs] == ["alignment", "coverage", "done", "repetition", "format", "parsed"]
    assert weights == [0.5, 0.2, 0.15, 0.1, 0.05, 0.0]
    lenient = EXACT.split("</think>")[1]
    by_name = {f.__name__: f([lenient, "junk"], [EXACT, EXACT]) for f in funcs}
    assert by_name["format"] == [0.5, 0.0] and by_name["parsed"] == [1.0, 0.0]
    assert by_name["alignment"] == [pytest.approx(1.0), 0.0]


# ------------------------------------------------------------------ Stage 2

LIVE = GroundedRewardParams(mode="live")


@pytest.mark.parametrize("feedback, params, terms", [
    (Feedback(True, matched_reference=True, advanced=False), LIVE,
     {"executable": 1.0, "matched": 1.0, "advanced": 0.0, "total": 0.8}),
    (Feedback(True, matched_reference=False, advanced=True), LIVE,
     {"executable": 1.0, "matched": 0.0, "advanced": 1.0, "total": 0.4}),
    # matched and advanced count only when the step executed
    (Feedback(False, matched_reference=True, advanced=True), LIVE,
     {"executable": 0.0, "matched": 0.0, "advanced": 0.0, "total": 0.0}),
    (Feedback(True, matched_reference=None, advanced=None), LIVE,
     {"executable": 1.0, "matched": 0.0, "advanced": 0.0, "total": 0.2}),
    # offline: advanced is measured but weighs nothing; the total is normalised by 0.2 + 0.6
    (Feedback(True, matched_reference=False, advanced=True), GroundedRewardParams(),
     {"executable": 1.0, "matched": 0.0, "advanced": 1.0, "total": 0.25}),
    (Feedback(True, matched_reference=True), GroundedRewardParams(),
     {"executable": 1.0, "matched": 1.0, "advanced": 0.0, "total": 1.0}),
    # the total is normalised by the sum of the weights
    (Feedback(True, matched_reference=False, advanced=False), GroundedRewardParams(mode="live", executable=1.0,
                                                                                  matched=2.0, advanced=1.0),
     {"executable": 1.0, "matched": 0.0, "advanced": 0.0, "total": 0.25}),
    (Feedback(True, matched_reference=True, advanced=True), GroundedRewardParams(executable=0, matched=0, advanced=0),
     {"executable": 1.0, "matched": 1.0, "advanced": 1.0, "total": 0.0}),
    (None, LIVE, {"executable": 0.0, "matched": 0.0, "advanced": 0.0, "total": 0.0}),
])
def test_grounded_reward_terms_and_total(feedback, params, terms):
    assert grounded_reward(feedback, params) == pytest.approx(terms)


def test_a_loop_steps_record_is_scored_on_the_real_steps_of_its_reference():
    reference = Plan(pad_to_horizon([TYPE_USER, Step(A.CLICK, "Login", done=True)], 4))
    assert reference.steps[2:] == (DONE_STEP, DONE_STEP)
    plan = Plan((TYPE_USER, Step(A.CLICK, "Login", done=True)))
    record = StepRecord(Observation("log in"), plan=plan, raw_text=format_plan(plan), reference=reference,
                        feedback=Feedback(True, matched_reference=True, advanced=False))
    rewards = score_record(record, P, GroundedRewardParams())
    assert rewards == pytest.approx({
        "stage1/alignment": 1.0, "stage1/coverage": 1.0, "stage1/done": 1.0, "stage1/repetition": 1.0,
        "stage1/format": 1.0, "stage1/total": 1.0,
        "grounded/executable": 1.0, "grounded/matched": 1.0, "grounded/advanced": 0.0, "grounded/total": 1.0})
    lenient = StepRecord(Observation("log in"), plan=plan, raw_text=format_plan(plan).split("</think>")[1],
                         reference=reference)
    assert score_record(lenient, P, GroundedRewardParams())["stage1/format"] == 0.5
    assert score_record(StepRecord(Observation("log in"), plan=plan), P, GroundedRewardParams()) == {}
    unparsed = StepRecord(Observation("x"), raw_text="junk", parse_error="no <answer> section", reference=reference)
    assert score_record(unparsed, P, GroundedRewardParams())["stage1/total"] == 0.0
    episode = Episode("e", "t", 0, "log in", steps=(record, StepRecord(Observation("x"))))
    scored = score_episode(episode, P, GroundedRewardParams())
    assert scored.steps[0].rewards == rewards and scored.steps[1].rewards == {}
    assert episode.steps[0].rewards == {}                                  # the input episode is left as it was
