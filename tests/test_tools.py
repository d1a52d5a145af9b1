"""The real tools (calculator, convert, OCR, zoom), their registry, and the frozen tool executor; the calculator's
documented bounds each on both sides, its functions' arities, and the exact reason it gives for every refusal (the
model reads that reason back as the tool's output)."""

from __future__ import annotations

import ast

import pytest
from PIL import Image, ImageDraw, ImageFont

from tracer1kit.actions import ActionType, Step
from tracer1kit.agents.base import Grounding, ToolAgent
from tracer1kit.agents.tools import ToolExecutor, same_output
from tracer1kit.envs.base import Answer, ToolResult
from tracer1kit.episodes import Observation
from tracer1kit.tools import TOOLS, calculator, run_tool, tool_descriptions
from tracer1kit.tools.calculator import (ALLOWED, MAX_ARGS, MAX_CHARS, MAX_EXPONENT, MAX_MAGNITUDE, MAX_NODES,
                                         CalculatorError, calculate)
from tracer1kit.tools.convert import ConversionError, convert
from tracer1kit.text import check_answer, numbers_in

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _render(lines: list[str], frame: bool = False) -> Image.Image:
    image = Image.new("RGB", (220, 30 + 28 * len(lines)), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for row, text in enumerate(lines):
        draw.text((16, 14 + 28 * row), text, font=ImageFont.truetype(FONT, 18), fill=(0, 0, 0))
    if frame:
        draw.rectangle((2, 2, image.width - 3, image.height - 3), outline=(0, 0, 0), width=2)
    return image


# ---------------------------------------------------------------- calculator

@pytest.mark.parametrize("expression, value", [
    ("23.40*1.15", 26.91), ("max(2.40, 31.00, 7.5)", 31.0), ("round(2.345, 2)", 2.35),
    ("-(3 + 4) * 2 ** 3 / 4", -14.0), ("sqrt(16) + abs(-1) + 7 // 2 + 7 % 4", 11.0), ("min(3, 1e2)", 3.0),
])
def test_calculator_computes(expression: str, value: float) -> None:
    assert calculate(expression) == pytest.approx(value)


@pytest.mark.parametrize("expression, reason", [
    ("__import__('os')", "function '__import__' is not allowed"),
    ("__import__('os').system('touch /tmp/pwned')", "attribute access is not allowed"),
    ("(1).real", "attribute access is not allowed"),
    ("lambda: 1", "Lambda is not allowed"),
    ("9**9**9", "exponent .* too large"),
    ("10.0**100 * 10**100", "result is too large"),
    ("x + 1", "names are not allowed"),
    ("'a' * 3", "only numbers are allowed"),
    ("True + 1", "only numbers are allowed"),
    ("[1, 2]", "List is not allowed"),
    ("1 / 0", "division by zero"),
    ("2 ^ 3", "write \\*\\*"),
    ("max(*[1, 2])", "plain numbers only"),
    ("1 +", "not an arithmetic expression"),
    ("", "empty"),
    ("1+" * 200 + "1", "at most 300"),
    ("(-8) ** 0.5", "not a real number"),
])
def test_calculator_refuses_with_a_reason(expression: str, reason: str) -> None:
    with pytest.raises(CalculatorError, match=reason):
        calculate(expression)
    output = run_tool("calculator", {"expression": expression})
    assert not output.ok and output.text.startswith("error: calculator")


def refusal(expression: object) -> str:
    with pytest.raises(CalculatorError) as info:
        calculate(expression)  # type: ignore[arg-type]
    return str(info.value)


def test_the_documented_bounds():
    assert (MAX_CHARS, MAX_NODES, MAX_EXPONENT, MAX_MAGNITUDE, MAX_ARGS) == (300, 200, 100, 1e100, 20)


def test_characters_up_to_the_bound_not_counting_outer_spaces():
    at = "1" + " " * (MAX_CHARS - 3) + "+1"
    assert len(at) == MAX_CHARS and calculate(at) == 2.0
    assert calculate("   " + at + "\n ") == 2.0
    assert refusal(at.replace(" ", "  ", 1)) == f"the expression is {MAX_CHARS + 1} characters long, at most {MAX_CHARS} are allowed"


def test_nodes_up_to_the_bound():
    at = "-" * 99 + "1"                  # Expression + 99 × (UnaryOp, USub) + Constant = 200 nodes
    over = "-" * 98 + "1+1"              # Expression, BinOp, Add, 2 Constants + 98 × 2 = 201 nodes
    assert sum(1 for _ in ast.walk(ast.parse(at, mode="eval"))) == MAX_NODES
    assert calculate(at) == -1.0
    assert refusal(over) == f"the expression has {MAX_NODES + 1} parts, at most {MAX_NODES} are allowed"


def test_exponents_up_to_the_bound_in_size():
    assert calculate("2**100") == 2.0 ** 100
    assert calculate("2**-100") == 2.0 ** -100
    assert refusal("2**101") == "the exponent 101 is too large (at most 100 in size)"
    assert refusal("2**-100.5") == "the exponent -100.5 is too large (at most 100 in size)"
    assert calculate("3 * 101") == 303.0                              # the bound is on powers only


def test_results_up_to_the_magnitude_bound():
    assert calculate("1e100") == 1e100 and calculate("-1e100") == -1e100
    assert calculate("1e99 * 10") == 1e100
    too_large = "the result is too large (more than 1e+100 in size)"
    assert refusal("2e100") == too_large                              # a number written too large
    assert refusal("1e100 * 1.01") == too_large                       # an operation
    assert refusal("1e100 ** 100") == too_large                       # a float overflow
    assert refusal("max(1e100 * 10)") == too_large


@pytest.mark.parametrize("name, least, most", [("max", 1, MAX_ARGS), ("min", 1, MAX_ARGS), ("round", 1, 2),
                                               ("abs", 1, 1), ("sqrt", 1, 1)])
def test_function_arities_on_both_sides(name, least, most):
    calculate(f"{name}({', '.join(['4'] * least)})")
    calculate(f"{name}({', '.join(['4'] * most)})")
    for count in (least - 1, most + 1):
        assert refusal(f"{name}({', '.join(['4'] * count)})") == f"{name}() takes {least} to {most} numbers, got {count}"


def test_function_values():
    assert calculate(f"max({', '.join(map(str, range(MAX_ARGS)))})") == MAX_ARGS - 1
    assert calculate("min(3, -2, 5)") == -2.0
    assert calculate("round(2.567)") == 3.0                           # no digits: a whole number
    assert calculate("round(2.567, 0)") == 3.0
    assert calculate("round(2.567, 1)") == 2.6
    assert calculate("round(0.1234567890123456789, 15)") == round(0.1234567890123456789, 15)
    assert calculate("sqrt(0)") == 0.0 and calculate("sqrt(0.25)") == 0.5
    assert calculate("abs(-2.5)") == 2.5 and calculate("+-3") == -3.0


@pytest.mark.parametrize("expression", ["round(1.5, 16)", "round(1.5, -1)", "round(1.5, 1.5)", "round(1.5, 2.5)"])
def test_round_needs_whole_digits_from_0_to_15(expression):
    assert refusal(expression) == "round(x, n) needs a whole number of digits n from 0 to 15"


@pytest.mark.parametrize("expression, reason", [
    ("sqrt(-1)", "sqrt of a negative number"),
    ("sqrt(-0.5)", "sqrt of a negative number"),
    ("1 / 0", "division by zero"),
    ("1 // 0", "division by zero"),
    ("1 % 0", "division by zero"),
    ("(-8) ** 0.5", "the result is not a real number"),
    ("2 ^ 3", "'^' is not a power here: write ** (e.g. 2**3)"),
    ("", "the expression is empty: write e.g. 23.40*1.15"),
    ("   ", "the expression is empty: write e.g. 23.40*1.15"),
    ("'a'", "only numbers are allowed, not str 'a'"),
    ("True", "only numbers are allowed, not bool True"),
    ("x", f"names are not allowed ('x'); allowed: {ALLOWED}"),
    ("x.y", f"attribute access is not allowed; allowed: {ALLOWED}"),
    ("math.sqrt(4)", f"attribute access is not allowed; allowed: {ALLOWED}"),
    ("foo(1)", "function 'foo' is not allowed (allowed: max, min, round, abs, sqrt)"),
    ("(lambda: 1)()", "function 'Lambda' is not allowed (allowed: max, min, round, abs, sqrt)"),
    ("round(1.5, ndigits=1)", "round() takes plain numbers only"),
    ("max(*[1, 2])", "max() takes plain numbers only"),
    ("1 if 1 else 2", f"IfExp is not allowed; allowed: {ALLOWED}"),
    ("1 +", f"not an arithmetic expression (invalid syntax); allowed: {ALLOWED}"),
])
def test_each_refusal_says_why(expression, reason):
    assert refusal(expression) == reason


def test_text_is_required():
    assert refusal(12) == "the expression must be text, got int"
    assert refusal(None) == "the expression must be text, got NoneType"


@pytest.mark.parametrize("error", [RecursionError, MemoryError, ValueError])
def test_a_parser_that_gives_up_is_a_refusal(monkeypatch, error):
    """Python 3.10's parser raises ValueError on a null byte; deep nesting can exhaust it."""
    def parse(*_, **__):
        raise error("too deep")

    monkeypatch.setattr(calculator.ast, "parse", parse)
    assert refusal("1+1") == "the expression is nested too deeply or contains invalid characters"


# ---------------------------------------------------------------- convert

@pytest.mark.parametrize("value, source, target, expected", [
    (42, "mi", "km", 67.592448), (100, "km", "miles", 62.137119), (75, "°F", "Celsius", 23.888889),
    (0, "C", "K", 273.15), (10, "ft", "metres", 3.048), (2, "kg", "lb", 4.409245), (65, "mph", "km/h", 104.60736),
    (1, "gallon", "l", 3.785412),
])
def test_convert_units(value: float, source: str, target: str, expected: float) -> None:
    assert convert(value, source, target) == pytest.approx(expected, rel=1e-6)


def test_convert_refuses_mismatched_and_unknown_units() -> None:
    with pytest.raises(ConversionError, match="cannot convert length .* to mass"):
        convert(1, "mi", "kg")
    with pytest.raises(ConversionError, match="unknown unit 'parsec'"):
        convert(1, "parsec", "m")
    assert run_tool("convert", {"value": "42", "from": "mi", "to": "km"}).text == "67.5924 km"
    assert "must be one number" in run_tool("convert", {"value": "4 2", "from": "mi", "to": "km"}).text


# ---------------------------------------------------------------- registry

def test_registry_validates_names_and_arguments() -> None:
    assert run_tool("Calculator", {"expression": "1+1"}).text == "2"   # GTA-style capitalised names work
    assert "unknown tool 'search'" in run_tool("search", {}).text
    assert "needs argument 'expression'" in run_tool("calculator", {}).text
    assert "has no argument 'expr'" in run_tool("calculator", {"expression": "1", "expr": "1"}).text
    assert "no image" in run_tool("ocr", {}).text
    image = _render(["hi"])
    assert "must be 'input'" in run_tool("ocr", {"image": "/etc/passwd"}, image).text
    assert "outside the 220x58 image" in run_tool("ocr", {"region": "0,0,999,10"}, image).text
    assert "factor' must be 2, 3 or 4" in run_tool("zoom", {"factor": "9"}, image).text


def test_tool_descriptions_are_one_short_line_per_tool() -> None:
    lines = tool_descriptions().splitlines()
    assert [line.split("(")[0] for line in lines] == list(TOOLS)
    assert all(len(line) <= 110 for line in lines)


# ---------------------------------------------------------------- OCR and zoom

def test_ocr_reads_a_clean_rendered_string_and_a_region() -> None:
    image = _render(["Coffee 3.50", "TOTAL 42.50"])
    assert run_tool("ocr", {"image": "input"}, image).text == "Coffee 3.50 | TOTAL 42.50"
    assert run_tool("ocr", {"region": "0,38,220,80"}, image).text == "TOTAL 42.50"


def test_zoom_reads_text_inside_a_frame() -> None:
    assert numbers_in(run_tool("zoom", {"factor": "2"}, _render(["Dover 134 mi"], frame=True)).text) == [134]


# ---------------------------------------------------------------- answers

@pytest.mark.parametrize("pred, gold, ok", [
    ("$26.90", "26.91", True), ("26.80", "26.91", False), ("26.91 or 30", "26.91", False),
    ("67.59 km", "67.6", True), ("67.8", "67.6", False), ("1,234.5", "1234.5", True), ("-10.6", "-10.6", True),
    ("LAMP.", "Lamp", True), (" the lamp", "Lamp", False), ("Lamp 31", "Lamp", False), ("", "", False),
])
def test_check_answer(pred: str, gold: str, ok: bool) -> None:
    assert check_answer(pred, gold) is ok


# ---------------------------------------------------------------- the executor

def _obs(image: Image.Image | None = None) -> Observation:
    return Observation("q", screenshot=image, task="tooluse/receipt_tip")


def test_executor_is_a_tool_agent_and_runs_calls() -> None:
    executor = ToolExecutor()
    assert isinstance(executor, ToolAgent)
    step = Step(ActionType.CALL, target="calculator", args=(("expression", "23.40*1.15"),))
    grounding = executor.ground(step, _obs())
    assert grounding.executable and grounding.output == "26.91"
    assert grounding.action == ToolResult("calculator", (("expression", "23.40*1.15"),), "26.91", True)


@pytest.mark.parametrize("step, error", [
    (Step(ActionType.CALL, target="shell", args=(("cmd", "ls"),)), "unknown tool 'shell'"),
    (Step(ActionType.CALL, target="calculator", args=(("expression", "__import__('os')"),)), "not allowed"),
    (Step(ActionType.CALL, target="ocr"), "no image"),
    (Step(ActionType.CLICK, target="Login"), "not 'click'"),
    (Step(ActionType.ANSWER), "needs a value"),
])
def test_executor_reports_what_cannot_run(step: Step, error: str) -> None:
    grounding = ToolExecutor().ground(step, _obs())
    assert not grounding.executable and error in grounding.error


def test_executor_answer_and_same_effect() -> None:
    executor, obs = ToolExecutor(), _obs()
    answer = executor.ground(Step(ActionType.ANSWER, value="$26.90"), obs)
    assert answer.executable and answer.action == Answer("$26.90")
    reference = Step(ActionType.ANSWER, value="26.91")
    assert executor.same_effect(Step(ActionType.ANSWER, value="$26.90"), answer, reference, Grounding(True))
    assert not executor.same_effect(Step(ActionType.ANSWER, value="27"), answer, reference, Grounding(True))
    a = Step(ActionType.CALL, target="calculator", args=(("expression", "23.4*1.15"),))
    b = Step(ActionType.CALL, target="calculator", args=(("expression", "(23.40*115)/100"),))
    c = Step(ActionType.CALL, target="calculator", args=(("expression", "23.40*1.2"),))
    ga, gb, gc = (executor.ground(s, obs) for s in (a, b, c))
    assert executor.same_effect(a, ga, b, gb) and not executor.same_effect(c, gc, b, gb)
    convert_step = Step(ActionType.CALL, target="convert", args=(("value", "26.91"), ("from", "m"), ("to", "m")))
    assert not executor.same_effect(convert_step, executor.ground(convert_step, obs), b, gb)  # another tool
    assert same_output("67.5924 km", "67.59") and not same_output("Lamp", "Mug")


def test_executor_caches_image_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    import tracer1kit.agents.tools as module

    calls = []
    monkeypatch.setattr(module, "run_tool", lambda *a: calls.append(a) or module.ToolOutput(True, "TOTAL 1.00"))
    executor, obs, step = ToolExecutor(), _obs(_render(["x"])), Step(ActionType.CALL, target="ocr")
    first, second = executor.ground(step, obs), executor.ground(step, _obs(_render(["x"])))
    assert first.output == second.output == "TOTAL 1.00" and len(calls) == 1
