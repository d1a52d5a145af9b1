"""One text normaliser and the matching helpers built on it, used by rewards, grounding, metrics and tools alike.

- :func:`normalize`: case-folded, quotes and punctuation trimmed at both ends, whitespace collapsed.
- :func:`text_match`: 1 for equal texts, containment either way, or equal numbers; else token F1.
- :func:`token_f1`: whitespace-token F1 of two normalised texts.
- numbers written in text (:func:`numbers_in`, :func:`single_number`, :func:`decimals`, :func:`close`) and
  :func:`check_answer`, which decides whether a tool-use answer is right.
"""

from __future__ import annotations

import math
import re

_SPACE = re.compile(r"\s+")
_EDGE_PUNCT = "\"'`.,;:!?"
_PLAIN_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_NUMBER = re.compile(r"(?<![\d.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\d.]?\d)")
_NUMERIC = re.compile(r"^\s*[-+]?\$?\d[\d,]*(?:\.\d+)?\s*$")

#: A number agrees with a reference written with ``d`` decimals when they differ by at most one unit of
#: that last decimal (a cent for ``26.91``, 0.1 for ``67.6``, 1 for ``31``) or ``REL_TOL`` of the
#: reference, whichever is larger.
REL_TOL = 0.001


def normalize(text: str) -> str:
    """Case-folded, quotes and ``.,;:!?`` trimmed at the ends, whitespace collapsed: ``' "The  Lamp." '`` → ``the lamp``."""
    return _SPACE.sub(" ", text.strip().strip(_EDGE_PUNCT).casefold()).strip()


def text_match(pred: str, ref: str) -> float:
    """1 if the normalised texts are equal or one contains the other (numbers compare by value), else token F1."""
    a, b = normalize(pred), normalize(ref)
    if a == b:
        return 1.0
    if _PLAIN_NUMBER.match(a) and _PLAIN_NUMBER.match(b):
        return 1.0 if math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9) else 0.0
    if a and b and (a in b or b in a):
        return 1.0
    return token_f1(a, b)


def token_f1(pred: str, ref: str) -> float:
    """Token-level F1 of two strings (whitespace tokens after :func:`normalize`); 1 when both are empty."""
    p, r = normalize(pred).split(), normalize(ref).split()
    if not p or not r:
        return float(p == r)
    remaining = list(r)
    common = 0
    for token in p:
        if token in remaining:
            remaining.remove(token)
            common += 1
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(r)
    return 2 * precision * recall / (precision + recall)


def numbers_in(text: str) -> list[float]:
    """Every number written in ``text`` (``$1,234.50`` → 1234.5; ``-3``; ``2.5e3``), in order."""
    found = []
    for match in _NUMBER.finditer(text):
        token = match.group(0)
        if not any(c.isdigit() for c in token):
            continue
        try:
            found.append(float(token.replace(",", "")))
        except ValueError:
            continue
    return found


def single_number(text: str) -> float | None:
    """The number ``text`` states, if it states exactly one (``"$26.91"``, ``"67.6 km"``); else ``None``."""
    values = numbers_in(text)
    return values[0] if len(values) == 1 else None


def decimals(text: str) -> int:
    """How many decimals the (first) number in ``text`` is written with: ``"26.91"`` → 2, ``"31"`` → 0."""
    match = _NUMBER.search(text)
    token = match.group(0).lower().split("e")[0] if match else ""
    return len(token.split(".")[1]) if "." in token else 0


def close(value: float, reference: float, places: int) -> bool:
    """Whether ``value`` agrees with ``reference`` (written with ``places`` decimals) within the tolerance."""
    return abs(value - reference) <= max(10.0 ** -places, REL_TOL * abs(reference)) + 1e-9


def format_number(value: float) -> str:
    """A number as a person writes it: ``26.909999999999997`` → ``26.91``, ``31.0`` → ``31``."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


def check_answer(pred: str, gold: str) -> bool:
    """Whether an answer is right: a numeric gold needs exactly one number in ``pred`` that is
    :func:`close` to it (``"$26.90"`` matches ``26.91``, ``"26.80"`` does not); any other gold needs
    equal text after :func:`normalize` (``"LAMP."`` matches ``"Lamp"``)."""
    gold_value = single_number(gold) if _NUMERIC.match(gold) else None
    if gold_value is None:
        return bool(normalize(gold)) and normalize(pred) == normalize(gold)
    value = single_number(pred)
    return value is not None and close(value, gold_value, decimals(gold))
