"""Documented bounds and formulas, both sides of each, written from the docstrings: which checkpoint is the
latest, the grounder's fuzzy-match threshold and which fields "same effect" compares, a tool call's argument
agreement (partial credit), the Stage-1 floors, the params ranges and split disjointness (property tests), and
the byte bounds of the damaged-file checks."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracer1kit.actions import ActionType, Plan, Step
from tracer1kit.agents.base import Grounding
from tracer1kit.agents.grounding import FUZZY_MIN, resolve, same_gui_effect
from tracer1kit.envs.base import BrowserAction
from tracer1kit.episodes import Element, Observation
from tracer1kit.params import EnvParams, RewardParams
from tracer1kit.rewards import step_similarity, trajectory_reward
from tracer1kit.runs import RunDir, UnreadableFile, check_files
from tracer1kit.text import token_f1
from tracer1kit.training.common import last_checkpoint, stage_dir, truncate_metrics_after

CLICK, TYPE, SELECT, CALL = ActionType.CLICK, ActionType.TYPE, ActionType.SELECT, ActionType.CALL


# --- which checkpoint is the latest ------------------------------------------------------------------------


def test_the_latest_checkpoint_is_the_highest_step_number_not_the_last_name(tmp_path):
    run = RunDir.create(tmp_path / "run")
    for step in (2, 9, 10):
        (stage_dir(run, "sft") / f"checkpoint-{step}").mkdir(parents=True)
        (stage_dir(run, "sft") / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert last_checkpoint(run, "sft").name == "checkpoint-10"  # "checkpoint-9" sorts after it as a string
    (stage_dir(run, "sft") / "checkpoint-11").mkdir()  # cut short while saving: no trainer_state.json
    assert last_checkpoint(run, "sft").name == "checkpoint-10"
    assert last_checkpoint(run, "stage1") is None


def test_resuming_at_a_step_keeps_that_step_and_drops_the_later_ones(tmp_path):
    run = RunDir.create(tmp_path / "run")
    for step in range(1, 5):
        run.log_metrics({"stage": "sft", "step": step})
    assert truncate_metrics_after(run, "sft", 2) == 2
    assert [m["step"] for m in run.metrics("sft")] == [1, 2]


# --- the grounder: fuzzy threshold and "same effect" ---------------------------------------------------------


def page(*texts: str) -> Observation:
    return Observation("", elements=tuple(Element(i, "button", t, left=10, top=10 + 30 * i, width=50, height=20)
                                          for i, t in enumerate(texts)))


@given(st.integers(1, 6), st.integers(0, 6))
def test_a_fuzzy_name_resolves_exactly_when_its_token_f1_reaches_the_threshold(shared, other):
    words = " ".join(f"w{i}" for i in range(shared + other))  # the step's words
    label = " ".join(f"w{i}" for i in range(shared)) + " zz"   # the element's text: ``shared`` of them and one more
    score = token_f1(words, label)
    found = resolve(page(label), words)
    assert (found is not None) == (score >= FUZZY_MIN), (words, label, score)


def test_the_fuzzy_threshold_is_one_half_inclusive():
    assert FUZZY_MIN == 0.5
    assert token_f1("a b", "a c") == 0.5 and resolve(page("a c"), "a b") is not None
    assert token_f1("a b c", "a d e") < 0.5 and resolve(page("a d e"), "a b c") is None
    assert resolve(page("a c"), "a b", strict=True) is None  # strict: no fuzzy match at all


def grounded(kind: str, ref: int | None, text: str = "") -> Grounding:
    return Grounding(True, BrowserAction(kind, ref, text), element_ref=ref)


@pytest.mark.parametrize("action, kind", [(TYPE, "type"), (SELECT, "select")])
def test_typing_and_selecting_compare_the_element_and_the_text(action, kind):
    step, ref = Step(action, "name", "Ann"), Step(action, "name", "ann")
    assert same_gui_effect(step, grounded(kind, 3, "Ann"), ref, grounded(kind, 3, " ann "))  # normalised text
    assert not same_gui_effect(step, grounded(kind, 3, "Ann"), ref, grounded(kind, 4, "Ann"))  # other element
    assert not same_gui_effect(step, grounded(kind, 3, "Ann"), ref, grounded(kind, 3, "Bob"))  # other text
    assert not same_gui_effect(step, Grounding(False, error="x"), ref, grounded(kind, 3, "Ann"))


def test_a_click_compares_the_element_only_and_a_key_press_the_key_only():
    click = Step(CLICK, "OK")
    assert same_gui_effect(click, grounded("click", 1, "a"), click, grounded("click", 1, "b"))
    assert not same_gui_effect(click, grounded("click", 1), click, grounded("click", 2))
    press = Step(ActionType.PRESS, value="Enter")
    assert same_gui_effect(press, grounded("press", None, "Enter"), press, grounded("press", 5, "enter"))
    assert not same_gui_effect(press, grounded("press", None, "Enter"), press, grounded("press", None, "Tab"))
    assert not same_gui_effect(click, grounded("click", 1), Step(TYPE, "OK", "x"), grounded("click", 1))


# --- a step's agreement: tool arguments, partial credit, floors ---------------------------------------------


def call(**args: str) -> Step:
    return Step(CALL, "calculator", args=tuple(args.items()))


@pytest.mark.parametrize("current", [True, False])
def test_tool_arguments_agree_in_proportion_of_the_reference_arguments_matched(current):
    params = RewardParams()
    type_weight = params.current_type_weight if current else params.future_type_weight
    ref = call(a="12", b="3.5")

    def expected(detail: float) -> float:  # target agrees (1), arguments agree ``detail``; status agrees
        action = type_weight + (1 - type_weight) * (1 + detail) / 2
        return (1 - params.status_weight) * action + params.status_weight

    assert step_similarity(call(a="12", b="3.5"), ref, current, params) == pytest.approx(expected(1.0))
    assert step_similarity(call(a="12", b="9"), ref, current, params) == pytest.approx(expected(0.5))
    assert step_similarity(call(a="12"), ref, current, params) == pytest.approx(expected(0.5))  # missing = 0
    assert step_similarity(call(a="1", b="2"), ref, current, params) == pytest.approx(expected(0.0))
    assert step_similarity(call(a="12.0", b="3.50", c="x"), ref, current, params) == pytest.approx(expected(1.0))


def test_a_current_call_of_another_tool_scores_zero_but_a_future_one_keeps_partial_credit():
    params = RewardParams()
    other = Step(CALL, "ocr", args=(("a", "12"),))
    assert step_similarity(other, call(a="12"), True, params) == 0.0
    assert 0.0 < step_similarity(other, call(a="12"), False, params) < 1.0


def test_coverage_and_repetition_are_floored_at_zero():
    params = RewardParams(extra_step_penalty=0.4, repetition_penalty=0.9, gamma=1.0)
    ok = Step(CLICK, "OK")
    pred, ref = Plan((ok,) * 6), Plan((ok,))
    terms = trajectory_reward(pred, ref, params).terms
    assert terms["coverage"] == 0.0  # 1 - 0.4 * 5 < 0
    assert terms["repetition"] == 0.0  # 4 events of three OKs in a row, 1 - 0.9 * 4 < 0
    assert trajectory_reward(Plan((ok,) * 3), ref, params).terms["coverage"] == pytest.approx(1 - 0.4 * 2)
    assert trajectory_reward(Plan((ok,) * 3), ref, params).terms["repetition"] == pytest.approx(1 - 0.9)


def test_missing_steps_cost_their_penalty_each_and_format_gives_half_for_a_lenient_parse():
    params = RewardParams()
    ok, next_ = Step(CLICK, "OK"), Step(CLICK, "Next")
    terms = trajectory_reward(Plan((ok,)), Plan((ok, next_, ok)), params).terms
    assert terms["coverage"] == pytest.approx(1 - 2 * params.missing_step_penalty)
    lenient = trajectory_reward(Plan((ok,)), Plan((ok,)), params, text='{"action": "click", "target": "OK"}')
    assert lenient.terms["format"] == 0.5


# --- params: both sides of every range, split disjointness ---------------------------------------------------


@given(st.floats(-2, 3, allow_nan=False))
def test_gamma_is_accepted_exactly_in_the_half_open_unit_interval(gamma):
    accepted = 0.0 < gamma <= 1.0
    try:
        RewardParams(gamma=gamma)
    except ValueError:
        assert not accepted, gamma
    else:
        assert accepted, gamma


@pytest.mark.parametrize("field, low, high", [
    ("current_type_weight", 0.0, 1.0), ("future_type_weight", 0.0, 1.0), ("status_weight", 0.0, 1.0)])
def test_the_type_and_status_weights_accept_their_closed_range_only(field, low, high):
    RewardParams(**{field: low})
    RewardParams(**{field: high})
    for outside in (low - 1e-9, high + 1e-9):
        with pytest.raises(ValueError, match=field):
            RewardParams(**{field: outside})


@given(st.sets(st.integers(0, 20), max_size=6), st.sets(st.integers(0, 20), max_size=6),
       st.sets(st.integers(0, 20), max_size=6))
@settings(max_examples=60)
def test_seed_splits_are_accepted_exactly_when_pairwise_disjoint(train, val, test):
    disjoint = not (train & val or train & test or val & test)
    try:
        EnvParams(train_seeds=sorted(train), val_seeds=sorted(val), test_seeds=sorted(test))
    except ValueError as exc:
        assert not disjoint and "splits must be disjoint" in str(exc)
    else:
        assert disjoint


def test_a_heldout_task_may_not_be_a_training_task():
    EnvParams(tasks=["click-button"], heldout_tasks=["click-test"])
    with pytest.raises(ValueError, match="heldout_tasks must not be training tasks"):
        EnvParams(tasks=["click-button", "click-test"], heldout_tasks=["click-test"])


@pytest.mark.parametrize("value, ok", [(1, True), (200, True), (0, False), (201, False)])
def test_env_max_steps_range(value, ok):
    if ok:
        assert EnvParams(max_steps=value).max_steps == value
    else:
        with pytest.raises(ValueError, match="max_steps"):
            EnvParams(max_steps=value)


# --- damaged files: the exact byte bounds -------------------------------------------------------------------


def safetensors_bytes(data_len: int, declared_end: int) -> bytes:
    header = ('{"w": {"dtype": "U8", "shape": [%d], "data_offsets": [0, %d]}}' % (declared_end, declared_end)).encode()
    return struct.pack("<Q", len(header)) + header + b"\x00" * data_len


@pytest.mark.parametrize("data_len, ok", [(16, True), (17, True), (15, False), (0, False)])
def test_a_safetensors_file_must_hold_every_byte_its_header_declares(tmp_path, data_len, ok):
    (tmp_path / "model.safetensors").write_bytes(safetensors_bytes(data_len, 16))
    if ok:
        check_files(tmp_path)
    else:
        with pytest.raises(UnreadableFile, match="truncated safetensors data"):
            check_files(tmp_path)


def test_a_safetensors_header_longer_than_the_file_is_refused(tmp_path):
    data = safetensors_bytes(16, 16)
    (tmp_path / "model.safetensors").write_bytes(data[:8] + data[8:-17])
    with pytest.raises(UnreadableFile, match="truncated safetensors header"):
        check_files(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x01\x00")
    with pytest.raises(UnreadableFile, match="truncated safetensors header"):
        check_files(tmp_path)


# --- scripted baselines under several training seeds --------------------------------------------------------


@given(st.lists(st.integers(0, 50), min_size=1, max_size=4, unique=True))
@settings(max_examples=25, deadline=None)
def test_scripted_baselines_are_evaluated_once_and_trained_variants_once_per_seed(seeds):
    from tracer1kit.evaluation.variants import SCRIPTED_VARIANTS, TRAINED_VARIANTS, plan_evaluations
    from tracer1kit.params import Params, with_overrides

    variants = [*SCRIPTED_VARIANTS, *TRAINED_VARIANTS]
    params = with_overrides(Params(), {"eval.training_seeds": seeds, "eval.variants": variants,
                                       "eval.horizons": [3], "eval.gammas": [], "eval.repetition_weights": []})
    evals = [ev for ev in plan_evaluations(params) if not ev.grid]
    for variant in SCRIPTED_VARIANTS:
        assert [(ev.seed, ev.training) for ev in evals if ev.variant == variant] == [(seeds[0], None)]
    for variant in TRAINED_VARIANTS:
        found = [ev for ev in evals if ev.variant == variant]
        assert [ev.seed for ev in found] == seeds and all(ev.training.seed == ev.seed for ev in found)
