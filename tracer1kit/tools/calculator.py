"""Arithmetic on untrusted text through a whitelist of AST nodes: never ``eval``, ``exec`` or a shell.

Allowed: numbers, ``+ - * / // % **``, unary ``+ -``, parentheses and the functions ``max min round abs sqrt``.
Bounded: at most :data:`MAX_CHARS` characters, :data:`MAX_NODES` nodes, exponents up to :data:`MAX_EXPONENT`
in size and results up to :data:`MAX_MAGNITUDE`. Everything else is refused with a message saying why.
"""

from __future__ import annotations

import ast
import math
import operator
from typing import Callable

MAX_CHARS = 300
MAX_NODES = 200
MAX_EXPONENT = 100
MAX_MAGNITUDE = 1e100
MAX_ARGS = 20


class CalculatorError(ValueError):
    """An expression the calculator refuses; the message says what was wrong and what is allowed."""


_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[float], float]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def _round(value: float, digits: float = 0) -> float:
    if digits != int(digits) or not 0 <= digits <= 15:
        raise CalculatorError("round(x, n) needs a whole number of digits n from 0 to 15")
    return round(value, int(digits))


def _sqrt(value: float) -> float:
    if value < 0:
        raise CalculatorError("sqrt of a negative number")
    return math.sqrt(value)


_FUNCTIONS: dict[str, tuple[Callable[..., float], int, int]] = {  # name → (function, min args, max args)
    "max": (lambda *values: max(values), 1, MAX_ARGS), "min": (lambda *values: min(values), 1, MAX_ARGS),
    "round": (_round, 1, 2),
    "abs": (abs, 1, 1), "sqrt": (_sqrt, 1, 1),
}
ALLOWED = "numbers, + - * / // % ** ( ) and " + ", ".join(_FUNCTIONS)


def calculate(expression: str) -> float:
    """The value of an arithmetic expression, or :class:`CalculatorError` saying why it is refused."""
    if not isinstance(expression, str):
        raise CalculatorError(f"the expression must be text, got {type(expression).__name__}")
    text = expression.strip()
    if not text:
        raise CalculatorError("the expression is empty: write e.g. 23.40*1.15")
    if len(text) > MAX_CHARS:
        raise CalculatorError(f"the expression is {len(text)} characters long, at most {MAX_CHARS} are allowed")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise CalculatorError(f"not an arithmetic expression ({exc.msg}); allowed: {ALLOWED}") from None
    except (RecursionError, MemoryError, ValueError):
        raise CalculatorError("the expression is nested too deeply or contains invalid characters") from None
    size = sum(1 for _ in ast.walk(tree))
    if size > MAX_NODES:
        raise CalculatorError(f"the expression has {size} parts, at most {MAX_NODES} are allowed")
    return _checked(_evaluate(tree.body))


def _checked(value: float) -> float:
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise CalculatorError(f"the result is too large (more than {MAX_MAGNITUDE:g} in size)")
    return value


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise CalculatorError(f"only numbers are allowed, not {type(node.value).__name__} {node.value!r:.40}")
        return _checked(float(node.value))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise CalculatorError(f"the exponent {right:g} is too large (at most {MAX_EXPONENT} in size)")
        try:
            return _checked(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise CalculatorError("division by zero") from None
        except OverflowError:
            raise CalculatorError(f"the result is too large (more than {MAX_MAGNITUDE:g} in size)") from None
        except TypeError:  # a negative number to a fractional power gives a complex number
            raise CalculatorError("the result is not a real number") from None
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.Call):
        return _call(node)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
        raise CalculatorError("'^' is not a power here: write ** (e.g. 2**3)")
    if isinstance(node, ast.Name):
        raise CalculatorError(f"names are not allowed ({node.id!r:.40}); allowed: {ALLOWED}")
    if isinstance(node, ast.Attribute):
        raise CalculatorError(f"attribute access is not allowed; allowed: {ALLOWED}")
    raise CalculatorError(f"{type(node).__name__} is not allowed; allowed: {ALLOWED}")


def _call(node: ast.Call) -> float:
    if isinstance(node.func, ast.Attribute):
        raise CalculatorError(f"attribute access is not allowed; allowed: {ALLOWED}")
    if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
        name = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
        raise CalculatorError(f"function {name!r:.40} is not allowed (allowed: {', '.join(_FUNCTIONS)})")
    function, least, most = _FUNCTIONS[node.func.id]
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise CalculatorError(f"{node.func.id}() takes plain numbers only")
    if not least <= len(node.args) <= most:
        raise CalculatorError(f"{node.func.id}() takes {least} to {most} numbers, got {len(node.args)}")
    return _checked(float(function(*(_evaluate(a) for a in node.args))))
