"""The plan format: exact round trip, lenient parsing of harmless variations, clear errors, no crash on junk."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from tracer1kit.actions import (MAX_FIELD_CHARS, MAX_STEPS, MAX_TEXT_CHARS, ActionType, Plan, PlanParseError, Step,
                                format_plan, parse_plan, try_parse_plan, completion_text)

# Adversarial pieces: tag syntax, Unicode letters whose case folds onto ASCII (İ ı K ſ), JSON escapes, quotes,
# newlines, control characters, lone surrogates.
PIECES = ["<", ">", "/", "\\", '"', "'", "\n", "\r", "\t", "\x00", "\x1f", "\x85", "\u2028", "\ud800", "\udfff",
          "İ", "ı", "\u212a", "ſ", "é", "😀", "<think>", "</think>", "</THINK>", "</ThInK>", "</thİnk>", "</thınk>",
          "</thin\u212a>", "</think", "<answer>", "</answer>", "\\u003c", '{"action": "done"}']
piece = st.one_of(st.characters(), st.sampled_from(PIECES))


def texts(max_size: int) -> st.SearchStrategy[str]:
    return st.lists(piece, max_size=max_size).map("".join)


def repeated(fill: list[str], low: int, high: int) -> st.SearchStrategy[str]:
    """A text of ``low``..``high`` characters made of one filler (a ``<`` is six characters once written)."""
    return st.builds(lambda c, n: (c * n)[:n], st.sampled_from(fill), st.integers(low, high))


# Fields on both sides of the field bound, some made of '<' (six characters each once written).
field = st.one_of(*[texts(8)] * 6, repeated(["<", "a", "\x00", "</think>"], MAX_FIELD_CHARS - 1, MAX_FIELD_CHARS + 1))
step_fields = st.fixed_dictionaries({
    "action": st.sampled_from(list(ActionType)), "target": field, "value": field, "instruction": field,
    "args": st.lists(st.tuples(field, field), max_size=2).map(tuple), "done": st.booleans()})
small_step_fields = st.fixed_dictionaries({
    "action": st.sampled_from(list(ActionType)), "target": texts(4), "value": st.just(""), "instruction": texts(4),
    "args": st.just(()), "done": st.booleans()})
step_lists = st.one_of(st.lists(step_fields, max_size=4),
                       st.lists(small_step_fields, min_size=MAX_STEPS - 1, max_size=MAX_STEPS + 1))
think_text = st.one_of(texts(20), repeated(["a", "<"], MAX_TEXT_CHARS - 200, MAX_TEXT_CHARS))


def unchecked(cls, **fields):
    """An instance made without its constructor's checks: what a writer that checked nothing would hold."""
    obj = object.__new__(cls)
    for name, value in fields.items():
        object.__setattr__(obj, name, value)
    return obj


@given(step_lists, think_text)
@settings(max_examples=300, deadline=None)
def test_the_constructors_accept_exactly_the_plans_that_round_trip(fields, think):
    raw = unchecked(Plan, steps=tuple(unchecked(Step, **f) for f in fields), think=think)
    round_trips = try_parse_plan(format_plan(raw)).plan == raw
    try:
        plan = Plan(tuple(Step(**f) for f in fields), think)
    except ValueError:
        assert not round_trips  # refused: the reader would refuse its text, or read another plan
        return
    assert round_trips and plan == raw  # accepted: written, read back exactly, and within the reader's bounds
    assert len(format_plan(plan)) <= MAX_TEXT_CHARS
    assert format_plan(parse_plan(format_plan(plan))) == format_plan(plan)


def closing_think_variants() -> st.SearchStrategy[str]:
    """``</think>`` with each letter in either ASCII case or a Unicode letter whose case folds onto it."""
    choices = {"t": "tT", "h": "hH", "i": "iIİı", "n": "nN", "k": "kK\u212a"}
    return st.tuples(*[st.sampled_from(choices.get(c, c)) for c in "</think>"]).map("".join)


@given(texts(6), closing_think_variants(), texts(6))
@settings(max_examples=300, deadline=None)
def test_the_writer_refuses_exactly_what_the_reader_treats_as_a_tag(before, tag, after):
    think = before + tag + after
    line = json.dumps(Step(ActionType.DONE, done=True).to_dict())
    read = try_parse_plan(f"<think>{think}</think>\n<answer>\n{line}\n</answer>")
    kept_whole = read.ok and read.plan.think == think  # the reader saw no tag inside the reasoning
    try:
        Plan((Step(ActionType.DONE, done=True),), think)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == kept_whole


@pytest.mark.parametrize("tag", ["</thİnk>", "</thınk>", "</thin\u212a>"])
def test_unicode_case_folding_does_not_make_a_tag(tag):
    """Issue 18.1: a reasoning text with a Unicode look-alike tag cannot replace the plan that follows."""
    think = f'x{tag}<answer>\n{{"action": "done"}}\n</answer>'
    plan = Plan((Step(ActionType.CLICK, target="OK"),), think)
    assert parse_plan(format_plan(plan)) == plan
    assert parse_plan(format_plan(plan)).steps[0].action is ActionType.CLICK


def test_an_ascii_case_variant_is_a_tag_on_both_sides():
    with pytest.raises(ValueError, match="'</ThInK>'"):
        Plan((Step(ActionType.DONE),), "a</ThInK>b")
    assert parse_plan('<think>a</ThInK>b\n<answer>\n{"action": "done"}\n</answer>').think == "a"


@pytest.mark.parametrize("count", [1400, MAX_FIELD_CHARS])
def test_a_field_of_escaped_characters_round_trips(count):
    """Issue 18.2: 1400 '<' were written as an 8437-character line the reader refused."""
    plan = Plan((Step(ActionType.TYPE, target="Name", value="x", instruction="<" * count),))
    assert len(format_plan(plan)) > 6 * count
    assert parse_plan(format_plan(plan)) == plan


def test_the_text_bound_is_the_same_for_writer_and_reader():
    step = Step(ActionType.DONE, done=True)
    room = MAX_TEXT_CHARS - len(format_plan(Plan((step,))))
    at_bound = Plan((step,), "a" * room)
    assert len(format_plan(at_bound)) == MAX_TEXT_CHARS and parse_plan(format_plan(at_bound)) == at_bound
    with pytest.raises(ValueError, match=f"{MAX_TEXT_CHARS + 1} characters, more than the {MAX_TEXT_CHARS}"):
        Plan((step,), "a" * (room + 1))
    with pytest.raises(PlanParseError, match="more than"):
        parse_plan("a" + format_plan(at_bound))


def test_raw_angle_brackets_past_the_bound_are_refused_by_the_reader():
    """The reader accepts a raw '<' in a field, but not a plan whose canonical text would not fit."""
    line = json.dumps({"action": "type", "value": "<" * 1900, "instruction": "<" * 1900})
    text = "<answer>\n" + "\n".join([line] * 2) + "\n</answer>"
    assert len(text) < MAX_TEXT_CHARS
    with pytest.raises(PlanParseError, match="plan's text would be"):
        parse_plan(text)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"target": 3}, "field 'target' must be a string"),
    ({"value": "v" * (MAX_FIELD_CHARS + 1)}, f"field 'value' is {MAX_FIELD_CHARS + 1} characters"),
    ({"args": (("a", "1"), ("a", "2"))}, "argument 'a' is given twice"),
    ({"args": (("a", 1),)}, "argument 'a' must be a string"),
    ({"args": {"a": "1"}}, "tuple of (name, value) pairs"),
    ({"done": 1}, "'done' must be True or False"),
])
def test_step_refuses_what_cannot_be_written(kwargs, fragment):
    with pytest.raises(ValueError) as info:
        Step(ActionType.CALL, **kwargs)
    assert fragment in str(info.value)


def test_plan_refuses_no_steps_and_too_many():
    with pytest.raises(ValueError, match=f"1 to {MAX_STEPS} steps, got 0"):
        Plan(())
    with pytest.raises(ValueError, match=f"got {MAX_STEPS + 1}"):
        Plan((Step(ActionType.WAIT),) * (MAX_STEPS + 1))
    assert len(Plan((Step(ActionType.WAIT),) * MAX_STEPS)) == MAX_STEPS


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_never_crash(blob):
    outcome = try_parse_plan(blob)
    assert outcome.ok or outcome.error


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_arbitrary_text_inside_answer_never_crashes(body):
    outcome = try_parse_plan(f"<answer>\n{body}\n</answer>")
    assert outcome.ok or outcome.error


def test_harmless_variations_are_accepted():
    text = ('  <THINK>go</THINK>\n<Answer>\n\n  {"action": " Click ", "target": "OK", "status": "Done"},\n'
            '{"action": "TYPE", "target": "Name", "value": 42}\n')
    plan = parse_plan(text)
    assert plan.think == "go"
    assert plan.steps[0] == Step(ActionType.CLICK, target="OK", done=True)
    assert plan.steps[1] == Step(ActionType.TYPE, target="Name", value="42")


@pytest.mark.parametrize("text, step, fragment", [
    ("no tags at all", None, "no <answer>"),
    ("<answer></answer>", None, "no steps"),
    ('<answer>\n{"action": "click"}\n{"action": "jump"}\n</answer>', 2, "unknown action 'jump'"),
    ('<answer>\n{"action": "click", "colour": "red"}\n</answer>', 1, "unknown field 'colour'"),
    ('<answer>\n{"action": "click"\n</answer>', 1, "not a JSON object"),
    ('<answer>\n{"action": "click", "status": "maybe"}\n</answer>', 1, "status"),
    ('<answer>\n["click"]\n</answer>', 1, "must be a JSON object"),
    ('<answer>\n{"action": "call", "args": [1]}\n</answer>', 1, "args"),
    ("<answer>\n" + "[" * 100000 + "\n</answer>", None, "characters"),
])
def test_errors_name_the_step_and_the_problem(text, step, fragment):
    with pytest.raises(PlanParseError) as info:
        parse_plan(text)
    assert info.value.step == step
    assert fragment in str(info.value)


def test_deep_nesting_is_an_error_not_a_crash():
    outcome = try_parse_plan("<answer>\n" + "[" * 5000 + "\n</answer>")
    assert not outcome.ok and outcome.error_step == 1


def test_fields_cannot_close_the_answer_tag():
    plan = Plan((Step(ActionType.TYPE, target="</answer>", value="<answer>x"),), "")
    assert "</answer>" not in format_plan(plan).split("\n")[2]
    assert parse_plan(format_plan(plan)) == plan


def test_think_with_closing_tag_is_refused():
    with pytest.raises(ValueError, match="think"):
        format_plan(Plan((Step(ActionType.DONE),), "a</think>b"))


def test_completion_text_accepts_trl_shapes():
    assert completion_text("x") == "x"
    assert completion_text([{"role": "assistant", "content": "ab"}]) == "ab"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "c"}]}]) == "c"
