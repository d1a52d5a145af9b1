"""Scripted experts for MiniWoB++ tasks where looking ahead matters.

On these tasks the element a later step needs is not on the current page (it sits in a collapsed section,
another tab, a closed folder, another page of results), an early choice decides later success (a popup
must be dismissed with Cancel, not OK; a section must be expanded before Submit counts), or episodes are
long (a spinner moved one step per key press). Like every solver (see :mod:`tracer1kit.experts.gui`) they
are stateless: they read what is open from the page's classes and what was tried from the history.
"""

from __future__ import annotations

from typing import Callable

from ..actions import ActionType
from ..episodes import Element, Observation
from .page import (ExpertError, Planned, Solver, by_id, by_text, click, fill, find, has_class, match, press,
                   quoted, visible, wait, waits_in_a_row)

MAX_WAITS = 3  # waits in a row for an animation before the expert moves on

#: Each task and why a planner has to look ahead on it.
LOOKAHEAD_TASKS: dict[str, str] = {
    "click-collapsible": "Submit is on the page from the start but only counts once the section is expanded, "
                         "so the first click is made for the Submit that follows.",
    "click-collapsible-2": "the target link is hidden in one of three collapsed sections, so sections are "
                           "opened in turn until a later step can click it.",
    "click-tab-2-hard": "the target link is on one of up to six tabs, so tabs are visited in turn before the "
                        "link can be clicked.",
    "navigate-tree": "the named file can be inside a collapsed folder, so folders are expanded first to reach "
                     "it, and clicking a wrong file ends the episode.",
    "phone-book": "the contact is on one of five pages shown one at a time, so the planner pages through "
                  "before clicking the asked-for detail.",
    "login-user-popup": "focusing a field can open a session popup whose OK fails the episode, so the planner "
                        "must pick Cancel there and then finish the login it had started.",
    "form-sequence-3": "the heights are hidden in a closed dropdown, so the planner opens it to reach the "
                       "option it needs, then clicks the button the instruction names.",
    "use-spinner": "the value is reached one arrow-key press at a time (up to ten), so episodes are long and "
                   "every step follows from the target value read at the start.",
}


# ---------------------------------------------------------------- instruction reading (pure)

def spinner_target(instruction: str) -> int:
    """The value a use-spinner instruction asks for: ``Select -3 with the spinner and hit Submit.`` → -3."""
    return int(match(instruction, r"Select (-?\d+) with the spinner").group(1))


def dropdown_task(instruction: str) -> tuple[str, str]:
    """(option, button) of a form-sequence-3 instruction: ``Choose 6 ft from the dropdown, then click the button
    labeled "No".`` → ("6 ft", "No")."""
    option, button = match(instruction, r'Choose (.+?) from the dropdown, then click the button labeled "([^"]+)"'
                           ).groups()
    return option, button


def phone_book_task(instruction: str) -> tuple[str, str]:
    """(person, detail class) of a phone-book instruction: ``Find Ann in the contact book and click on their
    phone number.`` → ("Ann", "phone")."""
    person, detail = match(instruction, r"Find (.+?) in the contact book and click on their (phone|email|address)"
                           ).groups()
    return person, detail


# ---------------------------------------------------------------- page reading (pure)

def _visible_text(obs: Observation, text: str, pred: Callable[[Element], bool]) -> Element | None:
    """The first visible element whose text is exactly ``text`` and that satisfies ``pred``."""
    return next((e for e in obs.elements if visible(e) and e.text.strip() == text and pred(e)), None)


def _next_after_active(obs: Observation, items: list[Element], is_active: Callable[[Element], bool],
                       what: str) -> Element:
    """The item after the active one (the first when none is active), so items are visited in page order;
    ``what`` names the sought element and the items in the error raised after the last one."""
    active = [i for i, e in enumerate(items) if is_active(e)]
    index = active[0] + 1 if active else 0
    if index >= len(items):
        raise ExpertError(f"{obs.task}: {what} ({len(items)} tried)")
    return items[index]


# ---------------------------------------------------------------- solvers

def solve_click_collapsible(obs: Observation) -> list[Planned]:
    header = find(obs, "section header", lambda e: e.tag == "h3" and has_class(e, "ui-accordion-header"))
    submit = click(obs, by_text(obs, "Submit", "button"), "the Submit button", done=True)
    if has_class(header, "ui-accordion-header-active"):
        return [submit]
    return [click(obs, header, f"the {header.text.strip()} header to expand it"), submit]


def solve_click_collapsible_2(obs: Observation) -> list[Planned]:
    name = quoted(obs.instruction)[0]
    link = _visible_text(obs, name, lambda e: has_class(e, "alink"))
    if link is not None:
        return [click(obs, link, f"the link '{name}'", done=True)]
    headers = [e for e in obs.elements if e.tag == "h3" and has_class(e, "ui-accordion-header")]
    opening = [h for h in headers if has_class(h, "ui-accordion-header-active") and not _panel_shown(obs, h)]
    if opening and waits_in_a_row(obs) < MAX_WAITS:
        return [wait(f"the {opening[0].text.strip()} section to open")]
    header = _next_after_active(obs, headers, lambda e: has_class(e, "ui-accordion-header-active"),
                                f"link {name!r} is in none of the sections")
    return [click(obs, header, f"the {header.text.strip()} header to look for '{name}'")]


def _panel_shown(obs: Observation, header: Element) -> bool:
    """Whether the content panel after an accordion header is on the page (it appears a moment after the click)."""
    elements = list(obs.elements)
    index = elements.index(header)
    return index + 1 < len(elements) and has_class(elements[index + 1], "ui-accordion-content") \
        and visible(elements[index + 1])


def solve_click_tab_2_hard(obs: Observation) -> list[Planned]:
    name = quoted(obs.instruction)[0]
    link = _visible_text(obs, name, lambda e: has_class(e, "alink"))
    if link is not None:
        return [click(obs, link, f"the link '{name}'", done=True)]
    tabs = [e for e in obs.elements if has_class(e, "ui-tabs-anchor")]
    active_tabs = {e.ref for e in obs.elements if has_class(e, "ui-tabs-active")}
    tab = _next_after_active(obs, tabs, lambda tab: _tab_of(obs, tab) in active_tabs,
                             f"link {name!r} is on none of the tabs")
    return [click(obs, tab, f"tab {tab.text.strip()} to look for '{name}'")]


def _tab_of(obs: Observation, anchor: Element) -> int | None:
    """The ref of the ``li`` holding a tab's anchor (the element just before it in page order)."""
    elements = list(obs.elements)
    index = elements.index(anchor)
    return elements[index - 1].ref if index > 0 and elements[index - 1].tag == "li" else None


def solve_navigate_tree(obs: Observation) -> list[Planned]:
    name = quoted(obs.instruction)[0]
    is_node = lambda e: has_class(e, "file") or has_class(e, "folder")  # noqa: E731
    node = _visible_text(obs, name, is_node)
    if node is not None:
        return [click(obs, node, f"'{name}' in the file tree", done=True)]
    elements = list(obs.elements)
    for i, el in enumerate(elements):
        if el.tag == "li" and has_class(el, "expandable") and visible(el):
            folder = find(obs, "folder name", lambda e: has_class(e, "folder"), elements[i + 1:])
            return [click(obs, folder, f"the folder {folder.text.strip()} to open it")]
    raise ExpertError(f"navigate-tree: {name!r} is in no folder")


def solve_phone_book(obs: Observation) -> list[Planned]:
    person, detail = phone_book_task(obs.instruction)
    shown = find(obs, "contact name", lambda e: has_class(e, "name") and visible(e))
    if shown.text.strip() == person:
        link = find(obs, f"{detail} of {person}", lambda e: has_class(e, detail) and visible(e))
        return [click(obs, link, f"the {detail} of {person}", done=True)]
    following = next((e for e in obs.elements if e.tag == "a" and e.text.strip() == ">" and visible(e)), None)
    if following is None:
        raise ExpertError(f"phone-book: {person} is on no page")
    return [click(obs, following, f"> for the next contact, to look for {person}")]


def solve_login_user_popup(obs: Observation) -> list[Planned]:
    cancel = next((e for e in obs.elements if e.id == "popup-cancel" and visible(e)), None)
    if cancel is not None:
        return [click(obs, cancel, "Cancel to close the popup")]
    user, password = quoted(obs.instruction, 2)[:2]
    return (fill(obs, by_id(obs, "username"), user, "the Username field")
            + fill(obs, by_id(obs, "password"), password, "the Password field")
            + [click(obs, by_id(obs, "subbtn"), "the OK button to log in", done=True)])


def solve_form_sequence_3(obs: Observation) -> list[Planned]:
    option, button = dropdown_task(obs.instruction)
    finish = click(obs, by_text(obs, button, "button"), f"the {button} button", done=True)
    chosen = find(obs, "dropdown label", lambda e: has_class(e, "label") and e.tag == "span")
    if chosen.text.strip() == option:
        return [finish]
    item = _visible_text(obs, option, lambda e: e.tag == "li")
    if item is not None:
        return [click(obs, item, f"the option {option}"), finish]
    opener = find(obs, "dropdown arrow", lambda e: e.tag == "b" and has_class(e, "button") and visible(e))
    return [click(obs, opener, "the dropdown arrow to open it")]


def solve_use_spinner(obs: Observation) -> list[Planned]:
    target = spinner_target(obs.instruction)
    box = by_id(obs, "spinner")
    value = int(box.value or 0)
    submit = click(obs, by_text(obs, "Submit", "button"), "the Submit button", done=True)
    if value == target:
        return [submit]
    key = "ArrowUp" if target > value else "ArrowDown"
    presses = [press(key, f"to set the spinner to {v}") for v in _between(value, target)]
    focus = click(obs, box, "the spinner field")
    last = obs.history[-1].step if obs.history else None
    focused = last is not None and (last.action is ActionType.PRESS or last.key == focus[0].key)
    return ([] if focused else [focus]) + presses + [submit]


def _between(value: int, target: int) -> list[int]:
    """The values a one-step spinner shows on its way from ``value`` to ``target``."""
    step = 1 if target > value else -1
    return list(range(value + step, target + step, step))


LOOKAHEAD_SOLVERS: dict[str, Solver] = {
    "click-collapsible": solve_click_collapsible,
    "click-collapsible-2": solve_click_collapsible_2,
    "click-tab-2-hard": solve_click_tab_2_hard,
    "navigate-tree": solve_navigate_tree,
    "phone-book": solve_phone_book,
    "login-user-popup": solve_login_user_popup,
    "form-sequence-3": solve_form_sequence_3,
    "use-spinner": solve_use_spinner,
}
