"""Offline metrics with the field's protocols, and forecast metrics. Pure functions of plain records.

A step is compared as a pair of :class:`ActionRecord` (predicted, reference). Coordinates are
**normalised to [0, 1]**: x by the screen/page width, y by its height, origin top-left; a point is
``(x, y)`` and a box is ``(left, top, width, height)``. A point on a box's edge is inside it. Distances
are Euclidean in normalised units, rounded to 1e-9 so a point exactly at a threshold is judged by the
protocol's strict/inclusive rule rather than by float noise.

Protocols (``get_protocol(name)``; ``params.EvalParams.protocol``):

- ``default``        click: inside the reference box or distance < 0.14; text: token-F1 ≥ 0.5.
- ``androidcontrol`` OS-Atlas: click: distance < 0.14 to the reference point; text: token-F1 ≥ 0.5.
- ``guiodyssey``     AMS: points on a 0–1000 integer grid, click: L2/1000 ≤ 0.14; text: substring either
                     way or ANLS ≥ 0.5.
- ``mind2web``       element accuracy = click point inside the reference box (for every op);
                     Op-F1 = token F1 of ``"OP value"``; step SR = element correct and Op-F1 = 1.

Texts are compared after ``text.normalize`` (lower case, outer punctuation trimmed); a substring
match needs both texts non-empty (the official GUI-Odyssey script also counts an empty prediction).

Every protocol: action types must match exactly (``long_press`` is its own type); scroll direction exact;
keys (press) and the done status text equal after normalisation; a step succeeds when the type and every
argument the reference has are correct; an episode succeeds when every step succeeds. A reference click
without geometry (e.g. MiniWoB expert steps, AndroidControl ``open_app``) is judged by its target words
(normalised equality or containment); a prediction without a point uses its box centre. A tool call
needs the same tool name and its arguments (as ``k=v`` words) correct by the protocol's text rule.

Forecast metrics compare plans position by position with :func:`steps_agree`: same action type, the
reference target contained in / containing the predicted one, the reference value likewise (scroll
directions exactly), every reference tool argument likewise. Evaluation counts only the reference's real
steps (``actions.real_steps``), never the ``done`` padding past an episode's end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from .actions import ActionType, Plan, Step
from .episodes import Episode, Feedback, Observation, StepRecord
from .text import normalize, text_match, token_f1

UnitPoint = tuple[float, float]              # (x, y) as fractions of the page (episodes.Point is in pixels)
UnitBox = tuple[float, float, float, float]  # (left, top, width, height) as fractions of the page

REFERENCE_ACTIONS_KEY = "reference_actions"  # Episode.meta key: one ActionRecord dict per step
LONG_PRESS_ARG = ("press", "long")            # Step.args entry that marks a click as a long press
GROUNDED_TYPES = frozenset({"click", "long_press"})
TEXT_TYPES = frozenset({"type", "select", "answer"})
EXACT_TYPES = frozenset({"press", "done"})
PROTOCOL_TYPES = GROUNDED_TYPES | TEXT_TYPES | EXACT_TYPES | {"scroll", "call", "wait"}  # what the protocols judge


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One action in comparable form; ``point``/``box`` normalised to [0, 1] (see the module docstring).

    ``target`` is the element words (or tool name), ``text`` the typed/selected/pressed/answered text
    (or a tool call's arguments as ``k=v`` words), ``direction`` a scroll direction.
    """

    action_type: str
    point: UnitPoint | None = None
    box: UnitBox | None = None
    text: str = ""
    direction: str = ""
    target: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"action_type": self.action_type, "point": list(self.point) if self.point else None,
                "box": list(self.box) if self.box else None, "text": self.text,
                "direction": self.direction, "target": self.target}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ActionRecord":
        point, box = data.get("point"), data.get("box")
        return cls(action_type=data["action_type"], point=tuple(point) if point else None,
                   box=tuple(box) if box else None, text=data.get("text", ""),
                   direction=data.get("direction", ""), target=data.get("target", ""))


NO_ACTION = ActionRecord("none")


def normalise_point(point: Sequence[float], size: Sequence[float]) -> UnitPoint:
    """A pixel point as a fraction of ``size`` = (width, height)."""
    width, height = _check_size(size)
    return (float(point[0]) / width, float(point[1]) / height)


def normalise_box(box: Sequence[float], size: Sequence[float]) -> UnitBox:
    """A pixel box (left, top, width, height) as fractions of ``size`` = (width, height)."""
    width, height = _check_size(size)
    return (float(box[0]) / width, float(box[1]) / height, float(box[2]) / width, float(box[3]) / height)


def _check_size(size: Sequence[float]) -> tuple[float, float]:
    if len(size) != 2 or size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"size must be (width, height) with both > 0, got {tuple(size)}")
    return float(size[0]), float(size[1])


def record_from_step(step: Step | None, observation: Observation | None = None,
                     feedback: Feedback | None = None, *, point: UnitPoint | None = None,
                     box: UnitBox | None = None) -> ActionRecord:
    """The record of a kit step; geometry from the executed ``feedback`` (pixels, normalised by
    ``observation.size``) or from ``point``/``box`` given already normalised."""
    if step is None:
        return NO_ACTION
    action = step.action
    kind = "long_press" if action is ActionType.CLICK and LONG_PRESS_ARG in step.args else action.value
    text = ""
    if action in (ActionType.TYPE, ActionType.SELECT, ActionType.PRESS, ActionType.ANSWER, ActionType.DONE):
        text = step.value
    elif action is ActionType.CALL:
        text = " ".join(f"{k}={v}" for k, v in step.args)
    if feedback is not None and observation is not None:
        if feedback.point is not None:
            point = normalise_point(feedback.point, observation.size)
        element = observation.element(feedback.element_ref) if feedback.element_ref is not None else None
        if element is not None:
            box = normalise_box(element.box, observation.size)
    return ActionRecord(kind, point=point, box=box, text=text,
                        direction=step.value if action is ActionType.SCROLL else "", target=step.target)


def predicted_record(record: StepRecord) -> ActionRecord:
    """The executed first step of a stored loop step (``none`` when the plan did not parse)."""
    step = record.plan.first if record.plan is not None else None
    return record_from_step(step, record.observation, record.feedback)


def reference_record(episode: Episode, index: int) -> ActionRecord:
    """The reference action at step ``index``: ``meta["reference_actions"]`` (public datasets, with
    geometry) when present, else the first step of the step's reference plan (target words only)."""
    stored = episode.meta.get(REFERENCE_ACTIONS_KEY)
    if stored is not None:
        return ActionRecord.from_dict(stored[index])
    reference = episode.steps[index].reference
    return record_from_step(reference.first if reference is not None else None)


def episode_pairs(episode: Episode) -> list[tuple[ActionRecord, ActionRecord]]:
    """(predicted, reference) records of every step of a stored episode that has a reference."""
    stored = episode.meta.get(REFERENCE_ACTIONS_KEY)
    return [(predicted_record(r), reference_record(episode, i)) for i, r in enumerate(episode.steps)
            if r.reference is not None or stored is not None]


# ---------------------------------------------------------------- text and geometry

def anls(pred: str, ref: str) -> float:
    """Normalised Levenshtein similarity 1 − lev(a, b) / max(|a|, |b|) of normalised texts (1 if both empty)."""
    a, b = normalize(pred), normalize(ref)
    if not a and not b:
        return 1.0
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return 1.0 - previous[-1] / max(len(a), len(b))


def op_f1(pred: ActionRecord, ref: ActionRecord) -> float:
    """Mind2Web Op-F1: token F1 of ``"OP value"`` (e.g. ``"TYPE new york"``, ``"CLICK"``, ``"SCROLL down"``)."""
    return token_f1(_op_string(pred), _op_string(ref))


def _op_string(record: ActionRecord) -> str:
    return f"{record.action_type.upper()} {record.text or record.direction}".strip()


def point_in_box(point: UnitPoint, box: UnitBox) -> bool:
    """Whether a point lies inside a box, edges included."""
    x, y = point
    left, top, width, height = box
    return left <= x <= left + width and top <= y <= top + height


def box_center(box: UnitBox) -> UnitPoint:
    return (box[0] + box[2] / 2, box[1] + box[3] / 2)


# ---------------------------------------------------------------- protocols

@dataclass(frozen=True)
class EvalProtocol:
    """How one benchmark judges a step. ``None`` switches a criterion off."""

    name: str
    click_in_box: bool            # a click point inside the reference box is correct
    max_distance: float | None    # threshold on the normalised distance to the reference point
    distance_inclusive: bool      # ``≤`` (True) or ``<`` (False) at the threshold
    grid: int | None              # points are rounded to this integer grid first (GUI-Odyssey: 1000)
    text_f1: float | None         # a text argument is correct at token-F1 ≥ this
    text_substring: bool          # … or when one normalised text contains the other (both non-empty)
    text_anls: float | None       # … or at ANLS ≥ this
    element_for_all_ops: bool     # Mind2Web: type/select must also hit the reference element
    op_f1_step: bool              # Mind2Web: step success = element correct and Op-F1 = 1

    def describe(self) -> str:
        """The thresholds in words (printed in reports)."""
        parts = [f"protocol {self.name}: action type exact"]
        click = []
        if self.click_in_box:
            click.append("point inside the reference box (edges included)")
        if self.max_distance is not None:
            unit = f"L2 on a 0-{self.grid} grid / {self.grid}" if self.grid else "normalised L2 distance"
            click.append(f"{unit} {'<=' if self.distance_inclusive else '<'} {self.max_distance:g}")
        parts.append("click correct if " + " or ".join(click))
        if self.element_for_all_ops:
            parts.append("type/select also need the element (element accuracy)")
        text = []
        if self.text_f1 is not None:
            text.append(f"token-F1 >= {self.text_f1:g}")
        if self.text_substring:
            text.append("substring either way")
        if self.text_anls is not None:
            text.append(f"ANLS >= {self.text_anls:g}")
        if text:
            parts.append("text correct if " + " or ".join(text))
        parts.append("scroll direction exact; key and done status exact")
        if self.op_f1_step:
            parts.append("Op-F1 = token F1 of 'OP value'; step SR = element correct and Op-F1 = 1")
        else:
            parts.append("step SR = type and argument correct")
        parts.append("episode SR = every step correct")
        return "; ".join(parts)


PROTOCOLS: dict[str, EvalProtocol] = {
    "default": EvalProtocol("default", click_in_box=True, max_distance=0.14, distance_inclusive=False, grid=None,
                        text_f1=0.5, text_substring=False, text_anls=None, element_for_all_ops=False,
                        op_f1_step=False),
    "androidcontrol": EvalProtocol("androidcontrol", click_in_box=False, max_distance=0.14, distance_inclusive=False,
                               grid=None, text_f1=0.5, text_substring=False, text_anls=None,
                               element_for_all_ops=False, op_f1_step=False),
    "guiodyssey": EvalProtocol("guiodyssey", click_in_box=False, max_distance=0.14, distance_inclusive=True, grid=1000,
                           text_f1=None, text_substring=True, text_anls=0.5, element_for_all_ops=False,
                           op_f1_step=False),
    "mind2web": EvalProtocol("mind2web", click_in_box=True, max_distance=None, distance_inclusive=False, grid=None,
                         text_f1=1.0, text_substring=False, text_anls=None, element_for_all_ops=True,
                         op_f1_step=True),
}


def get_protocol(name: str | EvalProtocol) -> EvalProtocol:
    """The protocol called ``name`` (one of ``PROTOCOLS``); an :class:`EvalProtocol` passes through."""
    if isinstance(name, EvalProtocol):
        return name
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown eval.protocol {name!r} (allowed: {', '.join(PROTOCOLS)})") from None


# ---------------------------------------------------------------- judging one step

@dataclass(frozen=True, slots=True)
class StepJudgement:
    """The verdicts on one step; ``None`` where the reference has no such argument."""

    type_ok: bool
    grounding_ok: bool | None
    text_ok: bool | None
    op_f1: float
    success: bool


def grounding_correct(pred: ActionRecord, ref: ActionRecord, protocol: EvalProtocol) -> bool:
    """Whether the predicted point hits the reference under the protocol (target words without geometry)."""
    if ref.point is None and ref.box is None:
        return bool(ref.target) and text_match(pred.target, ref.target) == 1.0
    point = pred.point if pred.point is not None else (box_center(pred.box) if pred.box is not None else None)
    if point is None:
        return False
    if protocol.click_in_box and ref.box is not None and point_in_box(point, ref.box):
        return True
    if protocol.max_distance is None:
        return False
    ref_point = ref.point if ref.point is not None else box_center(ref.box)  # type: ignore[arg-type]
    distance = round(_distance(point, ref_point, protocol.grid), 9)
    return distance <= protocol.max_distance if protocol.distance_inclusive else distance < protocol.max_distance


def _distance(a: UnitPoint, b: UnitPoint, grid: int | None) -> float:
    if grid:
        a = (round(a[0] * grid), round(a[1] * grid))
        b = (round(b[0] * grid), round(b[1] * grid))
        return math.dist(a, b) / grid
    return math.dist(a, b)


def text_correct(pred: str, ref: str, protocol: EvalProtocol) -> bool:
    """Whether a text argument is correct under the protocol's text rules."""
    if protocol.text_f1 is not None and token_f1(pred, ref) >= protocol.text_f1:
        return True
    a, b = normalize(pred), normalize(ref)
    if protocol.text_substring and a and b and (a in b or b in a):
        return True
    return protocol.text_anls is not None and anls(pred, ref) >= protocol.text_anls


def judge_step(pred: ActionRecord, ref: ActionRecord, protocol: EvalProtocol | str = "default",
               same: bool | None = None) -> StepJudgement:
    """Judge one predicted action against its reference (see the module docstring). An action the protocols have
    no rule for (a grid step) is grounded correctly when ``same``: its domain's judgement that the two steps act on
    the same thing (the frozen tool agent's ``same_effect``); without one, such a step is judged by type alone."""
    protocol = get_protocol(protocol)
    kind = ref.action_type
    type_ok = pred.action_type == kind
    grounded = kind in GROUNDED_TYPES or (protocol.element_for_all_ops and kind in ("type", "select"))
    grounding_ok = grounding_correct(pred, ref, protocol) if grounded else None
    if kind not in PROTOCOL_TYPES and same is not None:
        grounding_ok = type_ok and same
    text_ok: bool | None = None
    if kind in TEXT_TYPES:
        text_ok = text_correct(pred.text, ref.text, protocol)
    elif kind in EXACT_TYPES:
        text_ok = normalize(pred.text) == normalize(ref.text)
    elif kind == "scroll":
        text_ok = normalize(pred.direction) == normalize(ref.direction)
    elif kind == "call":
        text_ok = (normalize(pred.target) == normalize(ref.target)
                   and text_correct(pred.text, ref.text, protocol))
    op = op_f1(pred, ref)
    if protocol.op_f1_step:
        success = grounding_ok is not False and op == 1.0
    else:
        success = type_ok and grounding_ok is not False and text_ok is not False
    return StepJudgement(type_ok, grounding_ok, text_ok, op, success)


# ---------------------------------------------------------------- aggregates

Pairs = Sequence[tuple[ActionRecord, ActionRecord]]


def evaluate_steps(pairs: Iterable[tuple[ActionRecord, ActionRecord]], protocol: EvalProtocol | str = "default") -> dict[str, Any]:
    """Step metrics over (predicted, reference) pairs: type accuracy, grounding (element) accuracy over
    grounded reference steps, text accuracy over steps with a text argument, mean Op-F1, step SR.
    Rates over an empty set are ``None``."""
    protocol = get_protocol(protocol)
    return _summary([judge_step(p, r, protocol) for p, r in pairs], protocol)


def evaluate_episodes(episodes: Iterable[Episode | Pairs], protocol: EvalProtocol | str = "default") -> dict[str, Any]:
    """:func:`evaluate_steps` over all steps plus episode SR (every step correct; an episode without steps
    fails). Each item is a stored :class:`Episode` (pairs via :func:`episode_pairs`) or a sequence of
    (predicted, reference) pairs."""
    protocol = get_protocol(protocol)
    per_episode = [[judge_step(p, r, protocol) for p, r in (episode_pairs(e) if isinstance(e, Episode) else e)]
                   for e in episodes]
    out = _summary([j for judged in per_episode for j in judged], protocol)
    out["episodes"] = len(per_episode)
    out["episode_success_rate"] = _rate([bool(judged) and all(j.success for j in judged) for judged in per_episode])
    return out


def _summary(judged: Sequence[StepJudgement], protocol: EvalProtocol) -> dict[str, Any]:
    grounding = [j.grounding_ok for j in judged if j.grounding_ok is not None]
    text = [j.text_ok for j in judged if j.text_ok is not None]
    return {
        "protocol": protocol.name,
        "protocol_description": protocol.describe(),
        "steps": len(judged),
        "type_accuracy": _rate([j.type_ok for j in judged]),
        "grounding_accuracy": _rate(grounding),
        "text_accuracy": _rate(text),
        "op_f1": _mean([j.op_f1 for j in judged]),
        "step_success_rate": _rate([j.success for j in judged]),
    }


def _rate(values: Sequence[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


# ---------------------------------------------------------------- forecast metrics

def steps_agree(pred: Step, ref: Step) -> bool:
    """Same action type and agreeing target, value and tool arguments (see the module docstring)."""
    if pred.action is not ref.action:
        return False
    if ref.action is ActionType.SCROLL:
        return normalize(pred.value) == normalize(ref.value)
    if ref.target and text_match(pred.target, ref.target) < 1.0:
        return False
    if ref.value and text_match(pred.value, ref.value) < 1.0:
        return False
    pred_args = pred.args_dict
    return all(text_match(pred_args.get(k, ""), v) == 1.0 for k, v in ref.args)


def position_agreement(pred: Plan | None, ref: Plan, positions: int | None = None) -> list[bool]:
    """Per reference position (the first ``positions``, e.g. the real steps before ``done`` padding; default all):
    whether the forecast's step at that position agrees with the reference's (a missing or unparsed step disagrees)."""
    count = len(ref.steps) if positions is None else min(positions, len(ref.steps))
    predicted = pred.steps if pred is not None else ()
    return [k < len(predicted) and steps_agree(predicted[k], ref.steps[k]) for k in range(count)]


def consistent_prefix_length(pred: Plan | None, ref: Plan, positions: int | None = None) -> int:
    """How many leading forecast steps agree with the reference's first ``positions`` (0 for an unparsed plan)."""
    agreement = position_agreement(pred, ref, positions)
    return next((k for k, ok in enumerate(agreement) if not ok), len(agreement))
