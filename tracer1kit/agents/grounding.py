"""The frozen GUI tool agent: a step in words ("click the Login button") → a concrete browser action.

``DomGrounder`` is a deterministic matcher over the page's element text, frozen by construction. By default
(``dom``) it is forgiving: an element's exact text, its id, ``text (k)`` / ``tag #n``, the best fuzzy match
(token F1 ≥ 0.5), or the target recovered from the step's instruction. ``strict=True`` accepts only an
element's exact visible text or label (a field's label for typing and selecting) and the canonical
``text (k)`` / ``tag #n`` forms for elements without unique text. ``noise=p`` sends a grounded click or type
to another visible element that fits the action with probability ``p``, drawn from a hash of the seed, the
page and the element the step resolved to: the same step on the same page always grounds the same way.

``target_words(obs, el)`` gives the canonical words naming an element, chosen so that both modes map them
back to that same element (experts name their targets with it). ``make_grounder(params)`` builds the
grounder a :class:`~tracer1kit.params.GrounderParams` section describes.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING


from ..actions import SCROLL_DIRECTIONS, ActionType, Step
from ..episodes import Element, Observation
from ..envs.base import BrowserAction
from ..text import normalize, token_f1
from .base import Grounding, check_noise

if TYPE_CHECKING:
    from ..params import GrounderParams

INPUT_TAGS = frozenset({"input_text", "input_password", "input_number", "input_email", "input_search", "input_tel",
                        "input_url", "input_date", "textarea"})
CLICK_TAGS = frozenset({"button", "a", "input_checkbox", "input_radio", "input_submit", "input_button", "span", "label"})
FUZZY_MIN = 0.5
_ORDINAL = re.compile(r"^(.*?)\s*\((\d+)\)$")
_NTH_TAG = re.compile(r"^([a-z_]+) #(\d+)$")
_QUOTED = re.compile(r"""['"“‘](.+?)['"”’]""")
_CLICK_WORDS = re.compile(r"^(?:click|press|tap|select|choose)(?: on)?(?: the)?\s+(.*?)(?:\s+(?:button|link|tab|checkbox|item|option|entry))?$")
_TYPE_WORDS = re.compile(r"into(?: the)?\s+(.*?)(?:\s+(?:field|box|input|textbox))?$")


def _fits(element: Element, action: ActionType | None) -> bool:
    if action in (ActionType.TYPE,):
        return element.tag in INPUT_TAGS
    if action is ActionType.SELECT:
        return element.tag == "select"
    if action is ActionType.CLICK:
        return element.tag in CLICK_TAGS or element.tag.startswith("input")
    return True


def _following_input(obs: Observation, label: Element, action: ActionType | None) -> Element | None:
    """The first element after ``label`` in page order that the action can use (a label's field)."""
    seen = False
    for element in obs.elements:
        if seen and element.visible and _fits(element, action):
            return element
        seen = seen or element.ref == label.ref
    return None


def resolve(obs: Observation, words: str, action: ActionType | None = None, *, strict: bool = False) -> Element | None:
    """The element that ``words`` name on this page, or None (see the module docstring for the forms);
    ``strict`` turns off the id and fuzzy matches."""
    words = words.strip()
    nth = _NTH_TAG.match(words)
    if nth:
        same_tag = [e for e in obs.elements if e.tag == nth.group(1) and e.visible]
        index = int(nth.group(2)) - 1
        return same_tag[index] if 0 <= index < len(same_tag) else None
    ordinal = _ORDINAL.match(words)
    base, index = (ordinal.group(1), int(ordinal.group(2)) - 1) if ordinal else (words, None)
    key = normalize(base)
    if not key:
        return None
    visible = [e for e in obs.elements if e.visible]
    by_text = [e for e in visible if normalize(e.text) == key]
    if index is not None:
        return by_text[index] if index < len(by_text) else None
    by_id = [] if strict else [e for e in visible if e.id and e.id.lower() == key and e not in by_text]
    matches = by_text + by_id
    if matches:
        fitting = [e for e in matches if _fits(e, action)]
        if fitting:
            return fitting[0]
        if action in (ActionType.TYPE, ActionType.SELECT):
            return _following_input(obs, matches[0], action) or matches[0]
        return matches[0]
    if strict:
        return None
    scored = [(max(token_f1(base, e.text), token_f1(base, e.id.replace("-", " ").replace("_", " "))), e)
              for e in visible if e.text or e.id]
    best = max((s for s, _ in scored), default=0.0)
    if best < FUZZY_MIN:
        return None
    tied = [e for s, e in scored if s == best]
    return next((e for e in tied if _fits(e, action)), tied[0])


def target_words(obs: Observation, element: Element) -> str:
    """Canonical words for ``element``: its text, else ``text (k)``, else ``tag #n``; always words that
    :func:`resolve` maps back to this element, strict or not (so expert steps ground under either mode)."""
    text = " ".join(element.text.split())
    same_text = [e for e in obs.elements if e.visible and normalize(e.text) == normalize(text)] if text else []
    same_tag = [e for e in obs.elements if e.tag == element.tag and e.visible]
    candidates = [text]
    if element in same_text:
        candidates.append(f"{text} ({same_text.index(element) + 1})")
    if element in same_tag:
        candidates.append(f"{element.tag} #{same_tag.index(element) + 1}")
    for words in candidates:
        if words and all(resolve(obs, words, action, strict=strict) == element
                         for action in (ActionType.CLICK,) + ((ActionType.TYPE,) if element.tag in INPUT_TAGS else ())
                         for strict in (False, True)):
            return words
    return f"{element.tag} #{same_tag.index(element) + 1}" if element in same_tag else text or element.tag


def element_names(obs: Observation) -> dict[int, str]:
    """The canonical words (:func:`target_words`) of every visible element, by ref: what compact prompts show, so a
    planner can copy the very words the experts write and the grounder resolves."""
    return {e.ref: target_words(obs, e) for e in obs.elements if e.visible}


def _words_from_instruction(step: Step) -> tuple[str, str]:
    """(target, value) recovered from a step's instruction when the step names no target."""
    sentence = step.instruction.strip().rstrip(".").lower()
    quoted = _QUOTED.findall(step.instruction)
    if step.action is ActionType.TYPE:
        match = _TYPE_WORDS.search(sentence)
        return (match.group(1) if match else ""), (step.value or (quoted[0] if quoted else ""))
    if quoted:
        return quoted[0], step.value
    match = _CLICK_WORDS.match(sentence)
    return (match.group(1) if match else ""), step.value


def page_key(obs: Observation) -> str:
    """What identifies a page for the noise draw: the instruction and every element as the grounder sees it."""
    return repr((obs.instruction, [(e.ref, e.tag, e.text, e.value, e.box) for e in obs.elements]))


def noise_draws(seed: int, action: ActionType, element: Element, obs: Observation) -> tuple[float, float]:
    """Two uniform numbers in [0, 1) fixed by the seed, the action, the resolved element and the page."""
    digest = hashlib.sha256(f"{seed}|{action.value}|{element.ref}|{page_key(obs)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64, int.from_bytes(digest[8:16], "big") / 2**64


def misgrounded(element: Element, action: ActionType, obs: Observation, noise: float, seed: int) -> Element:
    """``element``, or with probability ``noise`` another visible element that fits ``action`` (the same
    one every time for this seed, page and element; ``element`` itself when nothing else fits)."""
    if noise <= 0.0:
        return element
    others = [e for e in obs.elements if e.visible and e.ref != element.ref and _fits(e, action)]
    wrong, pick = noise_draws(seed, action, element, obs)
    return others[int(pick * len(others))] if others and wrong < noise else element


class DomGrounder:
    """Deterministic: same step and page → same action. Implements :class:`~tracer1kit.agents.base.ToolAgent`.

    ``strict``: only exact text, labels and the canonical forms (see the module docstring); ``noise``: the
    probability, in [0, 1), that a grounded click or type goes to another fitting element; ``seed`` fixes
    which groundings those are."""

    def __init__(self, *, strict: bool = False, noise: float = 0.0, seed: int = 0) -> None:
        self.strict, self.noise, self.seed = strict, check_noise(noise), seed

    def ground(self, step: Step, observation: Observation) -> Grounding:
        action = step.action
        if action is ActionType.DONE:
            return Grounding(True, None, "done")
        if action is ActionType.WAIT:
            return Grounding(True, BrowserAction("wait"), "wait")
        if action is ActionType.PRESS:
            if not step.value.strip():
                return Grounding(False, error="a press step needs the key in 'value' (e.g. \"Enter\")")
            return Grounding(True, BrowserAction("press", text=step.value.strip()), f"press {step.value.strip()}")
        if action in (ActionType.CALL, ActionType.ANSWER):
            return Grounding(False, error=f"'{action.value}' is a tool-use action, not a GUI action")
        target, value = step.target, step.value
        if not target and not self.strict:
            target, value = _words_from_instruction(step)
        if action is ActionType.SCROLL:
            direction = (value or "down").strip().lower()
            if direction not in SCROLL_DIRECTIONS:
                return Grounding(False, error=f"scroll direction must be up or down (got {direction!r})")
            element = resolve(observation, target, action, strict=self.strict) if target else None
            return Grounding(True, BrowserAction("scroll", element.ref if element else None, direction,
                                                 element.center if element else None),
                             f"scroll {direction}", element_ref=element.ref if element else None)
        if not target:
            return Grounding(False, error=f"the {action.value} step names no element (set 'target')")
        element = resolve(observation, target, action, strict=self.strict)
        if element is None:
            how = "no element's exact text or label is" if self.strict else "no element matches"
            return Grounding(False, error=f"{how} {target[:60]!r}")
        if action in (ActionType.CLICK, ActionType.TYPE):
            element = misgrounded(element, action, observation, self.noise, self.seed)
        what = f"[{element.ref}] {element.tag} {element.text[:40]!r}"
        if action is ActionType.CLICK:
            return Grounding(True, BrowserAction("click", element.ref), f"click {what}", element_ref=element.ref,
                             point=element.center)
        if not value:
            return Grounding(False, error=f"the {action.value} step has no 'value' to enter")
        kind = "type" if action is ActionType.TYPE else "select"
        return Grounding(True, BrowserAction(kind, element.ref, value), f"{kind} {value[:40]!r} into {what}",
                         element_ref=element.ref, point=element.center)

    def same_effect(self, step: Step, grounding: Grounding, reference: Step, reference_grounding: Grounding) -> bool:
        return same_gui_effect(step, grounding, reference, reference_grounding)


def make_grounder(params: "GrounderParams") -> DomGrounder:
    """The frozen GUI grounder a params section describes (``grounded.grounder``, ``eval.grounder``)."""
    return DomGrounder(strict=params.kind == "strict", noise=params.noise, seed=params.seed)


def same_gui_effect(step: Step, grounding: Grounding, reference: Step, reference_grounding: Grounding) -> bool:
    """Same action type, same element, and the same text/key/direction where the action carries one."""
    if step.action is not reference.action or not (grounding.executable and reference_grounding.executable):
        return False
    if step.action in (ActionType.CLICK, ActionType.TYPE, ActionType.SELECT):
        if grounding.element_ref != reference_grounding.element_ref:
            return False
    if step.action in (ActionType.TYPE, ActionType.SELECT, ActionType.PRESS, ActionType.SCROLL):
        ours = grounding.action.text if grounding.action is not None else ""
        theirs = reference_grounding.action.text if reference_grounding.action is not None else ""
        return normalize(ours) == normalize(theirs)
    return True
