"""The action vocabulary, K-step plans, and the one canonical text format the planner writes.

A plan as text::

    <think>free-form reasoning</think>
    <answer>
    {"action": "type", "target": "Username", "value": "alice", "instruction": "type 'alice' into the Username field"}
    {"action": "click", "target": "Login", "instruction": "click the Login button", "status": "done"}
    </answer>

One JSON object per step, keys in a fixed order, empty fields omitted. ``format_plan`` and
``parse_plan`` round-trip exactly. Model output is untrusted: parsing uses ``json.loads`` on bounded
input only, never ``eval``, and every failure becomes a :class:`PlanParseError` naming the step.

What a tag is: the ASCII words ``<think>``, ``</think>``, ``<answer>``, ``</answer>`` in any ASCII letter
case (``</THINK>`` is a tag; ``</thİnk>``, ``</thınk>`` or a Kelvin-sign ``K`` are plain text). The reader
matches tags by that rule only, and the writer refuses a think text in which that same rule finds
``</think>``; step fields never hold a ``<`` (written ``\u003c``).

What can be written is exactly what can be read: :class:`Step` and :class:`Plan` refuse at construction what
:func:`parse_plan` would refuse in their canonical text (a field over ``MAX_FIELD_CHARS``, no steps or more
than ``MAX_STEPS``, a closing think tag in the reasoning, a canonical text over ``MAX_TEXT_CHARS``), so every
plan that exists round-trips, and the reader's bounds are the writer's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping


class ActionType(str, Enum):
    """Every action a planner may forecast: GUI steps, tool-use steps, then grid (BabyAI) steps. A domain's
    vocabulary is a subset (``GUI_ACTIONS``, ``TOOL_ACTIONS``, ``GRID_ACTIONS``); a step outside it is refused
    by that domain's tool agent as not executable, never by the parser."""

    CLICK = "click"
    TYPE = "type"
    SELECT = "select"
    PRESS = "press"
    SCROLL = "scroll"
    WAIT = "wait"
    DONE = "done"
    CALL = "call"
    ANSWER = "answer"
    GOTO = "goto"
    PICKUP = "pickup"
    OPEN = "open"
    DROP = "drop"
    PUT = "put"


GUI_ACTIONS = frozenset({ActionType.CLICK, ActionType.TYPE, ActionType.SELECT, ActionType.PRESS,
                         ActionType.SCROLL, ActionType.WAIT, ActionType.DONE})
TOOL_ACTIONS = frozenset({ActionType.CALL, ActionType.ANSWER, ActionType.DONE})
GRID_ACTIONS = frozenset({ActionType.GOTO, ActionType.PICKUP, ActionType.OPEN, ActionType.DROP, ActionType.PUT,
                          ActionType.DONE})
SCROLL_DIRECTIONS = ("up", "down")  # what the GUI grounder scrolls

STATUS_DONE = "done"
STATUS_NOT_DONE = "not done"

# Untrusted text is refused beyond these bounds before any parsing; Step and Plan hold the writer to them.
MAX_TEXT_CHARS = 20_000   # a whole plan's text (the canonical text, for a Plan)
MAX_STEPS = 64            # steps in a plan
MAX_FIELD_CHARS = 2_000   # each text field, argument name and argument value, before JSON escaping

# Tags are ASCII words in any ASCII case: re.ASCII keeps Unicode case folding (İ, ı, K, ſ) out of them.
_TAG_FLAGS = re.IGNORECASE | re.ASCII
_CLOSE_THINK = re.compile(r"</think>", _TAG_FLAGS)


def _check_field(label: str, value: object) -> None:
    """A text field must be a string of at most ``MAX_FIELD_CHARS`` characters."""
    if not isinstance(value, str):
        raise ValueError(f"{label} must be a string, got {type(value).__name__}")
    if len(value) > MAX_FIELD_CHARS:
        raise ValueError(f"{label} is {len(value)} characters, more than {MAX_FIELD_CHARS}")


def _check_args(args: object) -> None:
    """A tool call's arguments: a tuple of (name, value) string pairs with distinct names."""
    if not isinstance(args, tuple) or not all(isinstance(p, tuple) and len(p) == 2 for p in args):
        raise ValueError("field 'args' must be a tuple of (name, value) pairs")
    for name, value in args:
        _check_field("an argument name", name)
        _check_field(f"argument '{name[:40]}'", value)
    names = [name for name, _ in args]
    if len(set(names)) != len(names):
        raise ValueError(f"argument '{next(n for n in names if names.count(n) > 1)[:40]}' is given twice")


@dataclass(frozen=True, slots=True)
class Step:
    """One forecast step: an action type, its arguments, the instruction in words, and a status.

    ``target`` is the element words for GUI actions (or the tool name for ``call``); ``value`` is the
    text typed, the option selected, the key pressed, the scroll direction or the answer; ``args`` are
    a tool call's named arguments; ``done`` says the task is complete after this step.
    """

    action: ActionType
    target: str = ""
    value: str = ""
    instruction: str = ""
    args: tuple[tuple[str, str], ...] = ()
    done: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.action, ActionType):
            raise ValueError(f"field 'action' must be an ActionType, got {self.action!r}")
        for name in ("target", "value", "instruction"):
            _check_field(f"field '{name}'", getattr(self, name))
        _check_args(self.args)
        if not isinstance(self.done, bool):
            raise ValueError(f"field 'done' must be True or False, got {self.done!r}")

    @property
    def key(self) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
        """What identifies the action itself (ignoring wording and status): used for repetition."""
        return (self.action.value, self.target.strip().lower(), self.value.strip().lower(), self.args)

    @property
    def args_dict(self) -> dict[str, str]:
        return dict(self.args)

    def to_dict(self) -> dict[str, Any]:
        """The canonical dict: fixed key order, empty fields omitted."""
        out: dict[str, Any] = {"action": self.action.value}
        if self.target:
            out["target"] = self.target
        if self.value:
            out["value"] = self.value
        if self.args:
            out["args"] = dict(self.args)
        if self.instruction:
            out["instruction"] = self.instruction
        if self.done:
            out["status"] = STATUS_DONE
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Step":
        """Build a step from a dict, raising ``ValueError`` naming the field that is wrong."""
        return _step_from_obj(data)

    def describe(self) -> str:
        """A short human-readable form, e.g. ``click "Login"`` (used in histories and widgets)."""
        parts = [self.action.value]
        if self.target:
            parts.append(json.dumps(self.target, ensure_ascii=False))
        if self.value:
            parts.append("= " + json.dumps(self.value, ensure_ascii=False))
        if self.args:
            parts.append(json.dumps(dict(self.args), ensure_ascii=False))
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Plan:
    """A forecast trajectory of K steps (1 to ``MAX_STEPS``) plus the planner's reasoning; refuses with
    ``ValueError`` what :func:`parse_plan` could not read back from :func:`format_plan`'s text."""

    steps: tuple[Step, ...]
    think: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.steps, tuple):
            object.__setattr__(self, "steps", tuple(self.steps))
        if not 1 <= len(self.steps) <= MAX_STEPS:
            raise ValueError(f"a plan has 1 to {MAX_STEPS} steps, got {len(self.steps)}")
        if not all(isinstance(step, Step) for step in self.steps):
            raise ValueError("a plan's steps must be Step objects")
        if not isinstance(self.think, str):
            raise ValueError(f"a plan's think text must be a string, got {type(self.think).__name__}")
        tag = _CLOSE_THINK.search(self.think)
        if tag:
            raise ValueError(f"a plan's think text may not contain {tag.group()!r}: it would end the reasoning there")
        if _size_bound(self) <= MAX_TEXT_CHARS:  # the common case, without writing the text
            return
        size = len(format_plan(self))
        if size > MAX_TEXT_CHARS:
            raise ValueError(f"the plan's text would be {size} characters, more than the {MAX_TEXT_CHARS} allowed: "
                             "shorten the think text or the steps")

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def first(self) -> Step | None:
        return self.steps[0] if self.steps else None


_ESCAPED_MAX = 6       # the longest JSON escape of one character (\u003c, \u0000)
_STEP_OVERHEAD = 120   # keys, quotes, separators and status of one written step, beyond its escaped field text


def _size_bound(plan: Plan) -> int:
    """An upper bound on ``len(format_plan(plan))`` computed without writing it."""
    fields = sum(len(s.target) + len(s.value) + len(s.instruction) + sum(len(k) + len(v) + 8 for k, v in s.args)
                 for s in plan.steps)
    return len(plan.think) + 32 + _ESCAPED_MAX * fields + _STEP_OVERHEAD * len(plan.steps)


DONE_STEP = Step(ActionType.DONE, instruction="the task is complete", done=True)


def pad_to_horizon(steps: "tuple[Step, ...] | list[Step]", horizon: int) -> tuple[Step, ...]:
    """The first ``horizon`` steps; when they end the task (last step done), padded with ``done`` steps to
    exactly ``horizon`` — the shape of a reference trajectory near the end of an episode."""
    steps = tuple(steps[:horizon])
    if steps and steps[-1].done:
        steps += (DONE_STEP,) * (horizon - len(steps))
    return steps


def real_steps(plan: Plan) -> int:
    """How many of a reference plan's steps are real, not ``done`` padding: up to and including the first
    step whose status is done (the step that completes the task), or all of them."""
    return next((i + 1 for i, step in enumerate(plan.steps) if step.done), len(plan.steps))


class PlanParseError(ValueError):
    """Model output that is not a plan; ``step`` is 1-based, or ``None`` for whole-text problems."""

    def __init__(self, message: str, step: int | None = None) -> None:
        self.step = step
        self.reason = message
        super().__init__(f"step {step}: {message}" if step is not None else message)


@dataclass(frozen=True, slots=True)
class ParseOutcome:
    """The result of parsing untrusted text: a plan, or the error saying what was wrong."""

    plan: Plan | None
    error: str | None = None
    error_step: int | None = None

    @property
    def ok(self) -> bool:
        return self.plan is not None


def format_plan(plan: Plan) -> str:
    """The canonical text of a plan (exact inverse of :func:`parse_plan`).

    ``<`` inside step fields is written as the JSON escape ``\\u003c`` so no field can open or close a tag;
    the think text is written as it is (:class:`Plan` refuses one holding a closing think tag).
    """
    lines = [json.dumps(step.to_dict(), ensure_ascii=False).replace("<", "\\u003c") for step in plan.steps]
    return f"<think>{plan.think}</think>\n<answer>\n" + "".join(line + "\n" for line in lines) + "</answer>"


_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL | _TAG_FLAGS)
_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|\Z)", re.DOTALL | _TAG_FLAGS)
_ACTIONS = {a.value: a for a in ActionType}
_KEYS = ("action", "target", "value", "args", "instruction", "status")


def parse_plan(text: str | bytes) -> Plan:
    """Parse planner output into a :class:`Plan`.

    Accepts harmless variations: surrounding whitespace, ASCII upper-case tags or action types, a missing
    ``<think>`` block, a missing closing ``</answer>``, blank lines, a trailing comma after a step, and
    ``"not done"`` written out. Raises :class:`PlanParseError` saying which step is wrong and why.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise PlanParseError(f"expected text, got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise PlanParseError(f"output is {len(text)} characters, more than the {MAX_TEXT_CHARS} allowed")
    think_match = _THINK.search(text)
    think = think_match.group(1) if think_match else ""
    rest = text[think_match.end():] if think_match else text
    answer = _ANSWER.search(rest)
    if answer is None:
        raise PlanParseError("no <answer> section: write the plan inside <answer>…</answer>")
    lines = [ln.strip() for ln in answer.group(1).split("\n")]
    lines = [ln[:-1].rstrip() if ln.endswith(",") else ln for ln in lines if ln]
    if not lines:
        raise PlanParseError("the <answer> section has no steps")
    if len(lines) > MAX_STEPS:
        raise PlanParseError(f"{len(lines)} steps, more than the {MAX_STEPS} allowed")
    steps = []
    for index, line in enumerate(lines, start=1):
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise PlanParseError(f"not a JSON object ({_short(exc)}): {line[:80]!r}", index) from None
        try:
            steps.append(_step_from_obj(obj))
        except ValueError as exc:
            raise PlanParseError(str(exc), index) from None
    try:
        return Plan(tuple(steps), think)
    except ValueError as exc:  # e.g. raw '<' that the canonical text escapes, past the text bound
        raise PlanParseError(str(exc)) from None


def try_parse_plan(text: str | bytes) -> ParseOutcome:
    """Like :func:`parse_plan` but never raises: unparseable output is a normal outcome."""
    try:
        return ParseOutcome(parse_plan(text))
    except PlanParseError as exc:
        return ParseOutcome(None, exc.reason, exc.step)


def _short(exc: BaseException) -> str:
    return str(exc).split(":")[0][:60] or type(exc).__name__


def _number_as_text(value: Any) -> Any:
    """Numbers written where text belongs are read as their text; anything else is left for Step to judge."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _step_from_obj(obj: Any) -> Step:
    if not isinstance(obj, dict):
        raise ValueError(f"a step must be a JSON object, got {type(obj).__name__}")
    unknown = [k for k in obj if k not in _KEYS]
    if unknown:
        raise ValueError(f"unknown field '{unknown[0]}' (allowed: {', '.join(_KEYS)})")
    raw_action = obj.get("action")
    if not isinstance(raw_action, str):
        raise ValueError("missing 'action' (one of: " + ", ".join(_ACTIONS) + ")")
    action = _ACTIONS.get(raw_action.strip().lower())
    if action is None:
        raise ValueError(f"unknown action {raw_action[:40]!r} (allowed: {', '.join(_ACTIONS)})")
    raw_args = obj.get("args", {})
    if not isinstance(raw_args, dict):
        raise ValueError("field 'args' must be an object of named arguments")
    args = tuple((name, _number_as_text(value)) for name, value in raw_args.items())
    bad = next((name for name, value in args if not isinstance(value, str)), None)
    if bad is not None:
        raise ValueError(f"argument '{bad[:40]}' must be a string or number")
    status = obj.get("status", STATUS_NOT_DONE)
    if not isinstance(status, str) or status.strip().lower() not in (STATUS_DONE, STATUS_NOT_DONE):
        raise ValueError(f"field 'status' must be \"{STATUS_DONE}\" or \"{STATUS_NOT_DONE}\"")
    return Step(
        action=action,
        target=_number_as_text(obj.get("target", "")),
        value=_number_as_text(obj.get("value", "")),
        instruction=_number_as_text(obj.get("instruction", "")),
        args=args,
        done=status.strip().lower() == STATUS_DONE,
    )


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a plain string or a list of chat messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        parts = []
        for message in completion:
            content = message.get("content", "") if isinstance(message, dict) else message
            if isinstance(content, list):  # multimodal content blocks
                content = "".join(b.get("text", "") for b in content if isinstance(b, dict))
            parts.append(str(content))
        return "".join(parts)
    return str(completion)
