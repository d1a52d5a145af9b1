"""Reading a MiniWoB++ page and writing expert steps: pure helpers shared by every scripted GUI expert.

A solver reads an :class:`Observation` and returns :data:`Planned` steps: each step names its element with
the grounder's canonical words (:func:`target_words`) and carries the element ref it means (``None`` for
wait and press), so every expert step executes through the frozen grounder and its accuracy can be measured.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

from ..actions import ActionType, Step
from ..agents.grounding import target_words
from ..episodes import Element, Observation

Planned = tuple[Step, "int | None"]
Solver = Callable[[Observation], "list[Planned]"]


class ExpertError(RuntimeError):
    """The page does not show what the expert needs (e.g. the named element is missing)."""


# ---------------------------------------------------------------- page helpers (pure)

def quoted(instruction: str, count: int = 1) -> list[str]:
    """The double-quoted strings of an instruction, in order; at least ``count`` of them."""
    found = re.findall(r'"([^"]*)"', instruction)
    if len(found) < count:
        raise ExpertError(f"instruction {instruction!r} quotes {len(found)} strings, the task needs {count}")
    return found


def match(instruction: str, pattern: str) -> re.Match[str]:
    found = re.search(pattern, instruction)
    if found is None:
        raise ExpertError(f"instruction {instruction!r} does not match {pattern!r}")
    return found


def has_class(el: Element, name: str) -> bool:
    return name in el.classes.split()


def find(obs: Observation, what: str, pred: Callable[[Element], bool],
         elements: Iterable[Element] | None = None) -> Element:
    """The first element satisfying ``pred``; ``what`` names it in the error."""
    for el in obs.elements if elements is None else elements:
        if pred(el):
            return el
    raise ExpertError(f"{obs.task or 'page'}: no {what} on the page")


def find_all(obs: Observation, pred: Callable[[Element], bool]) -> list[Element]:
    return [el for el in obs.elements if pred(el)]


def by_id(obs: Observation, element_id: str) -> Element:
    return find(obs, f"element #{element_id}", lambda e: e.id == element_id)


def by_text(obs: Observation, text: str, tag: str | None = None, elements: Iterable[Element] | None = None) -> Element:
    return find(obs, f"{tag or 'element'} {text!r}",
                lambda e: e.text.strip() == text and (tag is None or e.tag == tag), elements)


def segment(obs: Observation, anchor: Element, is_anchor: Callable[[Element], bool]) -> list[Element]:
    """The elements from ``anchor`` up to the next element that is itself an anchor (page order):
    one e-mail thread from its sender, one tweet from its user name."""
    elements = list(obs.elements)
    start = elements.index(anchor)
    out = [anchor]
    for el in elements[start + 1:]:
        if is_anchor(el):
            break
        out.append(el)
    return out


def visible(el: Element) -> bool:
    return el.width > 0 and el.height > 0


def done_before(obs: Observation, step: Step) -> bool:
    """Whether the observation's history already holds this action (same type, target and value)."""
    return any(h.step.key == step.key for h in obs.history)


def waited_last(obs: Observation) -> bool:
    return bool(obs.history) and obs.history[-1].step.action is ActionType.WAIT


def waits_in_a_row(obs: Observation) -> int:
    """How many wait steps end the observation's history."""
    count = 0
    for item in reversed(obs.history):
        if item.step.action is not ActionType.WAIT:
            break
        count += 1
    return count


# ---------------------------------------------------------------- step builders

def click(obs: Observation, el: Element, what: str, done: bool = False) -> Planned:
    return Step(ActionType.CLICK, target=target_words(obs, el), instruction=f"click {what}", done=done), el.ref


def type_into(obs: Observation, el: Element, text: str, what: str, done: bool = False) -> Planned:
    return (Step(ActionType.TYPE, target=target_words(obs, el), value=text,
                 instruction=f"type '{text}' into {what}", done=done), el.ref)


def press(key: str, what: str) -> Planned:
    """Press ``key`` (a key name of the env, e.g. ``ArrowRight``) on whatever has the focus."""
    return Step(ActionType.PRESS, value=key, instruction=f"press {key} {what}"), None


def wait(what: str) -> Planned:
    return Step(ActionType.WAIT, instruction=f"wait for {what}"), None


def fill(obs: Observation, el: Element, text: str, what: str) -> list[Planned]:
    """Type ``text`` unless the field already holds it."""
    return [] if el.value == text else [type_into(obs, el, text, what)]
