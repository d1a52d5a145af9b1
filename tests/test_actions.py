"""The plan format: exact round trip, lenient parsing of harmless variations, clear errors, no crash on junk; its
documented bounds on both sides (MAX_FIELD_CHARS, MAX_STEPS, MAX_TEXT_CHARS, the latter with plans whose written
text is as long as the writer's estimate allows), the exact errors it gives, the canonical text it writes, and the
helpers that shape reference plans (padding, real steps)."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from tracer1kit.actions import (DONE_STEP, MAX_FIELD_CHARS, MAX_STEPS, MAX_TEXT_CHARS, ActionType as A, Plan,
                                PlanParseError, Step, completion_text, format_plan, pad_to_horizon, parse_plan,
                                real_steps, try_parse_plan)

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
    "action": st.sampled_from(list(A)), "target": field, "value": field, "instruction": field,
    "args": st.lists(st.tuples(field, field), max_size=2).map(tuple), "done": st.booleans()})
small_step_fields = st.fixed_dictionaries({
    "action": st.sampled_from(list(A)), "target": texts(4), "value": st.just(""), "instruction": texts(4),
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
    line = json.dumps(Step(A.DONE, done=True).to_dict())
    read = try_parse_plan(f"<think>{think}</think>\n<answer>\n{line}\n</answer>")
    kept_whole = read.ok and read.plan.think == think  # the reader saw no tag inside the reasoning
    try:
        Plan((Step(A.DONE, done=True),), think)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == kept_whole


@pytest.mark.parametrize("tag", ["</thİnk>", "</thınk>", "</thin\u212a>"])
def test_unicode_case_folding_does_not_make_a_tag(tag):
    """Issue 18.1: a reasoning text with a Unicode look-alike tag cannot replace the plan that follows."""
    think = f'x{tag}<answer>\n{{"action": "done"}}\n</answer>'
    plan = Plan((Step(A.CLICK, target="OK"),), think)
    assert parse_plan(format_plan(plan)) == plan
    assert parse_plan(format_plan(plan)).steps[0].action is A.CLICK


def test_an_ascii_case_variant_is_a_tag_on_both_sides():
    with pytest.raises(ValueError, match="'</ThInK>'"):
        Plan((Step(A.DONE),), "a</ThInK>b")
    assert parse_plan('<think>a</ThInK>b\n<answer>\n{"action": "done"}\n</answer>').think == "a"


@pytest.mark.parametrize("count", [1400, MAX_FIELD_CHARS])
def test_a_field_of_escaped_characters_round_trips(count):
    """Issue 18.2: 1400 '<' were written as an 8437-character line the reader refused."""
    plan = Plan((Step(A.TYPE, target="Name", value="x", instruction="<" * count),))
    assert len(format_plan(plan)) > 6 * count
    assert parse_plan(format_plan(plan)) == plan


def test_the_text_bound_is_the_same_for_writer_and_reader():
    step = Step(A.DONE, done=True)
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
        Step(A.CALL, **kwargs)
    assert fragment in str(info.value)


def test_plan_refuses_no_steps_and_too_many():
    with pytest.raises(ValueError, match=f"1 to {MAX_STEPS} steps, got 0"):
        Plan(())
    with pytest.raises(ValueError, match=f"got {MAX_STEPS + 1}"):
        Plan((Step(A.WAIT),) * (MAX_STEPS + 1))
    assert len(Plan((Step(A.WAIT),) * MAX_STEPS)) == MAX_STEPS


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
    assert plan.steps[0] == Step(A.CLICK, target="OK", done=True)
    assert plan.steps[1] == Step(A.TYPE, target="Name", value="42")


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
    plan = Plan((Step(A.TYPE, target="</answer>", value="<answer>x"),), "")
    assert "</answer>" not in format_plan(plan).split("\n")[2]
    assert parse_plan(format_plan(plan)) == plan


def test_think_with_closing_tag_is_refused():
    with pytest.raises(ValueError, match="think"):
        format_plan(Plan((Step(A.DONE),), "a</think>b"))


def test_completion_text_accepts_trl_shapes():
    assert completion_text("x") == "x"
    assert completion_text([{"role": "assistant", "content": "ab"}]) == "ab"
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "c"}]}]) == "c"


ACTIONS = "click, type, select, press, scroll, wait, done, call, answer, goto, pickup, open, drop, put"
KEYS = "action, target, value, args, instruction, status"


def refusal(make, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as info:
        make(*args, **kwargs)
    return str(info.value)


def parse_error(text) -> PlanParseError:
    with pytest.raises(PlanParseError) as info:
        parse_plan(text)
    return info.value


# ------------------------------------------------------------------ steps

def test_field_bound_on_both_sides_for_every_text_field():
    at, over = "x" * MAX_FIELD_CHARS, "x" * (MAX_FIELD_CHARS + 1)
    for name in ("target", "value", "instruction"):
        assert getattr(Step(A.TYPE, **{name: at}), name) == at
        assert refusal(Step, A.TYPE, **{name: over}) == f"field '{name}' is 2001 characters, more than 2000"
    assert Step(A.CALL, args=((at, at),)).args == ((at, at),)
    assert refusal(Step, A.CALL, args=((over, "1"),)) == "an argument name is 2001 characters, more than 2000"
    assert refusal(Step, A.CALL, args=(("k" * 50, over),)) == f"argument '{'k' * 40}' is 2001 characters, more than 2000"


@pytest.mark.parametrize("kwargs, message", [
    ({"target": 3}, "field 'target' must be a string, got int"),
    ({"instruction": None}, "field 'instruction' must be a string, got NoneType"),
    ({"args": [("a", "1")]}, "field 'args' must be a tuple of (name, value) pairs"),
    ({"args": (("a", "1", "2"),)}, "field 'args' must be a tuple of (name, value) pairs"),
    ({"args": (["a", "1"],)}, "field 'args' must be a tuple of (name, value) pairs"),
    ({"args": ((1, "1"),)}, "an argument name must be a string, got int"),
    ({"args": (("a", 1.5),)}, "argument 'a' must be a string, got float"),
    ({"args": (("k" * 50, "1"), ("b", "2"), ("k" * 50, "3"))}, f"argument '{'k' * 40}' is given twice"),
    ({"done": "yes"}, "field 'done' must be True or False, got 'yes'"),
])
def test_step_refusals_name_the_field(kwargs, message):
    assert refusal(Step, A.CALL, **kwargs) == message


def test_the_action_must_be_an_action_type():
    assert refusal(Step, "click") == "field 'action' must be an ActionType, got 'click'"


def test_key_ignores_wording_status_and_case():
    a = Step(A.TYPE, " User ", " Bob ", "type bob", done=True)
    assert a.key == ("type", "user", "bob", ())
    assert a.key == Step(A.TYPE, "user", "bob").key
    assert Step(A.CALL, "calc", args=(("x", "1"),)).args_dict == {"x": "1"}


@pytest.mark.parametrize("step, text", [
    (Step(A.CLICK, "Café"), 'click "Café"'),
    (Step(A.TYPE, "Name", "Zoë"), 'type "Name" = "Zoë"'),
    (Step(A.CALL, "calculator", args=(("expression", "1+2"), ("note", "é"))),
     'call "calculator" {"expression": "1+2", "note": "é"}'),
    (Step(A.DONE, instruction="finished", done=True), "done"),
])
def test_describe(step, text):
    assert step.describe() == text


def test_canonical_dict_and_from_dict():
    step = Step(A.CALL, "calc", "v", "compute", (("x", "1"),), done=True)
    assert list(step.to_dict().items()) == [("action", "call"), ("target", "calc"), ("value", "v"),
                                            ("args", {"x": "1"}), ("instruction", "compute"), ("status", "done")]
    assert Step(A.WAIT).to_dict() == {"action": "wait"}
    assert Step.from_dict(step.to_dict()) == step
    assert Step.from_dict({"action": "type", "value": 7, "target": 2.5}) == Step(A.TYPE, "2.5", "7")


# ------------------------------------------------------------------ plans

def test_a_plan_holds_its_steps_as_a_tuple():
    plan = Plan([Step(A.WAIT), Step(A.DONE)])
    assert isinstance(plan.steps, tuple) and plan.steps == (Step(A.WAIT), Step(A.DONE))
    assert plan == Plan((Step(A.WAIT), Step(A.DONE))) and hash(plan) == hash(Plan((Step(A.WAIT), Step(A.DONE))))
    assert plan.first == Step(A.WAIT) and len(plan) == 2


def test_plan_refusals():
    assert refusal(Plan, (Step(A.WAIT), "click")) == "a plan's steps must be Step objects"
    assert refusal(Plan, (Step(A.WAIT),), 3) == "a plan's think text must be a string, got int"
    assert refusal(Plan, (Step(A.WAIT),), "a</Think>b") == (
        "a plan's think text may not contain '</Think>': it would end the reasoning there")
    assert refusal(Plan, ()) == f"a plan has 1 to {MAX_STEPS} steps, got 0"


def worst_steps(count: int, args: int) -> tuple[Step, ...]:
    """Steps whose every field is '<' (six characters each once written): the writer's estimate is tightest."""
    lt = "<" * 300
    return tuple(Step(A.ANSWER, lt, lt, lt, tuple((f"{'<' * 20}{i}", lt) for i in range(args)), done=True)
                 for _ in range(count))


@pytest.mark.parametrize("count, args", [(1, 0), (2, 0), (2, 1), (1, 3), (3, 0)])
def test_the_text_bound_on_both_sides_for_escape_heavy_plans(count, args):
    steps = worst_steps(count, args)
    room = MAX_TEXT_CHARS - len(format_plan(Plan(steps)))
    at_bound = Plan(steps, "t" * room)
    assert len(format_plan(at_bound)) == MAX_TEXT_CHARS and parse_plan(format_plan(at_bound)) == at_bound
    assert refusal(Plan, steps, "t" * (room + 1)) == (
        f"the plan's text would be {MAX_TEXT_CHARS + 1} characters, more than the {MAX_TEXT_CHARS} allowed: "
        "shorten the think text or the steps")


def test_fields_alone_can_exceed_the_text_bound():
    lt = "<" * MAX_FIELD_CHARS
    with pytest.raises(ValueError, match="the plan's text would be"):
        Plan((Step(A.TYPE, lt, lt, lt),) * 2)
    with pytest.raises(ValueError, match="the plan's text would be"):
        Plan((Step(A.CALL, args=tuple((f"k{i}", lt) for i in range(4))),) * 2)


@pytest.mark.parametrize("steps, horizon, padded", [
    ((Step(A.WAIT), Step(A.CLICK, "OK", done=True)), 4, (Step(A.WAIT), Step(A.CLICK, "OK", done=True),
                                                         DONE_STEP, DONE_STEP)),
    ((Step(A.WAIT), Step(A.CLICK, "OK")), 4, (Step(A.WAIT), Step(A.CLICK, "OK"))),       # not finished: no padding
    ((Step(A.CLICK, "OK", done=True), Step(A.WAIT)), 4, (Step(A.CLICK, "OK", done=True), Step(A.WAIT))),
    ((Step(A.WAIT), Step(A.WAIT), Step(A.DONE, done=True)), 2, (Step(A.WAIT), Step(A.WAIT))),  # cut to the horizon
    ((), 3, ()),
    ((Step(A.WAIT), Step(A.WAIT), Step(A.CLICK, "OK", done=True)), 4,                  # the last step decides,
     (Step(A.WAIT), Step(A.WAIT), Step(A.CLICK, "OK", done=True), DONE_STEP)),          # not the second
    ((Step(A.WAIT), Step(A.CLICK, "OK", done=True), Step(A.WAIT)), 5,
     (Step(A.WAIT), Step(A.CLICK, "OK", done=True), Step(A.WAIT))),
])
def test_pad_to_horizon(steps, horizon, padded):
    assert pad_to_horizon(list(steps), horizon) == padded


@pytest.mark.parametrize("steps, real", [
    ((Step(A.WAIT), Step(A.CLICK, "OK", done=True), DONE_STEP, DONE_STEP), 2),
    ((Step(A.CLICK, "OK", done=True), DONE_STEP), 1),
    ((Step(A.WAIT), Step(A.WAIT), Step(A.WAIT)), 3),
])
def test_real_steps_end_at_the_first_done(steps, real):
    assert real_steps(Plan(steps)) == real


# ------------------------------------------------------------------ the text format

def test_the_canonical_text():
    plan = Plan((Step(A.TYPE, "Näme", "a<b"), Step(A.DONE, done=True)), "why")
    assert format_plan(plan) == ('<think>why</think>\n<answer>\n{"action": "type", "target": "Näme", "value": '
                                 '"a\\u003cb"}\n{"action": "done", "status": "done"}\n</answer>')


def test_parse_errors_say_what_and_where():
    assert str(PlanParseError("bad", 3)) == "step 3: bad" and PlanParseError("bad", 3).reason == "bad"
    assert str(PlanParseError("bad")) == "bad" and PlanParseError("bad").step is None
    assert try_parse_plan("junk").ok is False and try_parse_plan(format_plan(Plan((Step(A.WAIT),)))).ok is True


def test_step_count_bound_on_both_sides():
    line = '{"action": "wait"}\n'
    assert len(parse_plan("<answer>\n" + line * MAX_STEPS + "</answer>")) == MAX_STEPS
    error = parse_error("<answer>\n" + line * (MAX_STEPS + 1) + "</answer>")
    assert str(error) == f"{MAX_STEPS + 1} steps, more than the {MAX_STEPS} allowed" and error.step is None


def test_the_text_length_bound_on_both_sides():
    body = '<answer>\n{"action": "wait"}\n</answer>'
    at = " " * (MAX_TEXT_CHARS - len(body)) + body
    assert parse_plan(at) == Plan((Step(A.WAIT),))
    assert str(parse_error(" " + at)) == f"output is {MAX_TEXT_CHARS + 1} characters, more than the {MAX_TEXT_CHARS} allowed"


def test_bytes_and_other_input():
    text = format_plan(Plan((Step(A.TYPE, value="é"),), "t"))
    assert parse_plan(text.encode()) == Plan((Step(A.TYPE, value="é"),), "t")
    broken = b'<answer>\n{"action": "type", "value": "\xff"}\n</answer>'
    assert parse_plan(broken).steps[0].value == "\ufffd"
    assert str(parse_error(12)) == "expected text, got int"


@pytest.mark.parametrize("text, step, message", [
    ("nothing here", None, "no <answer> section: write the plan inside <answer>…</answer>"),
    ("<think>x</think><answer>\n\n</answer>", None, "the <answer> section has no steps"),
    ("<answer>\n{oops\n</answer>", 1,
     "not a JSON object (Expecting property name enclosed in double quotes): '{oops'"),
    ('<answer>\n{"action": "wait"}\n["wait"]\n</answer>', 2, "a step must be a JSON object, got list"),
    ('<answer>\n{"action": "wait", "colour": 1}\n</answer>', 1, f"unknown field 'colour' (allowed: {KEYS})"),
    ('<answer>\n{"target": "OK"}\n</answer>', 1, f"missing 'action' (one of: {ACTIONS})"),
    ('<answer>\n{"action": 3}\n</answer>', 1, f"missing 'action' (one of: {ACTIONS})"),
    ('<answer>\n{"action": "' + "j" * 50 + '"}\n</answer>', 1,
     f"unknown action '{'j' * 40}' (allowed: {ACTIONS})"),
    ('<answer>\n{"action": "call", "args": [1]}\n</answer>', 1, "field 'args' must be an object of named arguments"),
    ('<answer>\n{"action": "call", "args": {"' + "k" * 50 + '": [1]}}\n</answer>', 1,
     f"argument '{'k' * 40}' must be a string or number"),
    ('<answer>\n{"action": "call", "args": {"a": "1", "b": null}}\n</answer>', 1, "argument 'b' must be a string or number"),
    ('<answer>\n{"action": "type", "value": true}\n</answer>', 1, "field 'value' must be a string, got bool"),
    ('<answer>\n{"action": "done", "status": 1}\n</answer>', 1, "field 'status' must be \"done\" or \"not done\""),
    ('<answer>\n{"action": "done", "status": "finished"}\n</answer>', 1, "field 'status' must be \"done\" or \"not done\""),
])
def test_each_parse_error_exactly(text, step, message):
    error = parse_error(text)
    assert (error.reason, error.step) == (message, step)
    assert str(error) == (f"step {step}: {message}" if step else message)


def test_lenient_reading():
    plan = parse_plan('<answer>\n {"action": "Wait", "status": " Not Done "} , \n{"action": "call", "args": '
                      '{"x": 2, "y": 1.5}},\n')
    assert plan == Plan((Step(A.WAIT), Step(A.CALL, args=(("x", "2"), ("y", "1.5")))))
    assert plan.think == ""
    assert parse_plan("<think></think><answer>\n{\"action\": \"done\"}\n</answer>").think == ""


def test_completion_text_shapes():
    assert completion_text([{"role": "assistant"}, {"content": "a"}, "b"]) == "ab"
    assert completion_text([{"content": [{"type": "image"}, {"type": "text", "text": "x"}, "raw", {"text": "y"}]}]) == "xy"
    assert completion_text(["p", "q"]) == "pq"
    assert completion_text(5) == "5" and completion_text(None) == "None"
