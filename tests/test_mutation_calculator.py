"""The calculator's documented bounds, each on both sides, its functions' arities, and the exact reason it gives
for every refusal (the model reads that reason back as the tool's output)."""

import ast

import pytest

from tracer1kit.tools import calculator
from tracer1kit.tools.calculator import (ALLOWED, MAX_ARGS, MAX_CHARS, MAX_EXPONENT, MAX_MAGNITUDE, MAX_NODES,
                                         CalculatorError, calculate)


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
