"""Stage-1 and Stage-2 rewards pinned on hand-written cases, and called exactly as TRL calls them."""

import pytest

from tracer1kit.actions import ActionType as A, Plan, Step, format_plan
from tracer1kit.episodes import Feedback
from tracer1kit.params import GroundedRewardParams, RewardParams, RewardWeights
from tracer1kit.rewards import (grounded_reward, repetition_events, score_text, stage1_reward,
                                stage1_reward_funcs, step_similarity, trajectory_reward)

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
