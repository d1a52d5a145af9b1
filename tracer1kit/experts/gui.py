"""Scripted MiniWoB++ experts: the reference trajectories planners are trained and rewarded against.

An expert reads an :class:`Observation` (instruction + visible elements) and returns its best-known
remaining steps in the kit's action format (see :mod:`tracer1kit.experts.page`). Experts are stateless:
what was already done is read from the page (field values, open menus) or from the observation's history.
``last_targets`` keeps the element ref each returned step means, so grounder accuracy can be measured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

from ..actions import ActionType, Step
from ..episodes import Element, Observation
from .lookahead import LOOKAHEAD_SOLVERS
from .page import (ExpertError, Planned, Solver, by_id, by_text, click, done_before, fill, find, find_all, has_class,
                   match, press, quoted, segment, type_into, visible, wait, waited_last, waits_in_a_row)


class Expert(Protocol):
    last_targets: list[int | None]

    def next_steps(self, observation: Observation) -> list[Step]: ...


# ---------------------------------------------------------------- per-task solvers

def solve_click_test(obs: Observation) -> list[Planned]:
    return [click(obs, find(obs, "button", lambda e: e.tag == "button"), "the button", done=True)]


def solve_click_button(obs: Observation) -> list[Planned]:
    name = quoted(obs.instruction)[0]
    return [click(obs, by_text(obs, name, "button"), f"the {name} button", done=True)]


def solve_click_link(obs: Observation) -> list[Planned]:
    name = quoted(obs.instruction)[0]
    link = find(obs, f"link {name!r}", lambda e: e.text.strip() == name and has_class(e, "alink"))
    return [click(obs, link, f"the link '{name}'", done=True)]


def solve_focus_text(obs: Observation) -> list[Planned]:
    box = find(obs, "text box", lambda e: e.tag.startswith("input") or e.tag == "textarea")
    return [click(obs, box, "the text box", done=True)]


def solve_enter_text(obs: Observation) -> list[Planned]:
    text = quoted(obs.instruction)[0]
    box = find(obs, "text field", lambda e: e.tag == "input_text")
    return fill(obs, box, text, "the text field") + [
        click(obs, by_text(obs, "Submit", "button"), "the Submit button", done=True)]


def solve_enter_password(obs: Observation) -> list[Planned]:
    text = quoted(obs.instruction)[0]
    return (fill(obs, by_id(obs, "password"), text, "the Password field")
            + fill(obs, by_id(obs, "verify"), text, "the Verify password field")
            + [click(obs, by_text(obs, "Submit", "button"), "the Submit button", done=True)])


def solve_login_user(obs: Observation) -> list[Planned]:
    user, password = quoted(obs.instruction, 2)[:2]
    return (fill(obs, by_id(obs, "username"), user, "the Username field")
            + fill(obs, by_id(obs, "password"), password, "the Password field")
            + [click(obs, by_text(obs, "Login", "button"), "the Login button", done=True)])


def _checkbox_label(obs: Observation, box: Element) -> str:
    after = segment(obs, box, lambda e: e.tag == "input_checkbox")[1:]
    return next((e.text.strip() for e in after if e.text.strip()), "")


def _is_checked(el: Element) -> bool:
    return el.value.strip().lower() in ("true", "checked", "on", "1")


def solve_click_checkboxes(obs: Observation) -> list[Planned]:
    wanted_text = match(obs.instruction, r"Select (.*) and click Submit").group(1)
    wanted = set() if wanted_text.strip() == "nothing" else {w.strip() for w in wanted_text.split(",") if w.strip()}
    steps = []
    for box in find_all(obs, lambda e: e.tag == "input_checkbox"):
        label = _checkbox_label(obs, box)
        if (label in wanted) != _is_checked(box):
            steps.append(click(obs, box, f"the {label} checkbox"))
    return steps + [click(obs, by_text(obs, "Submit", "button"), "the Submit button", done=True)]


def solve_click_tab_2(obs: Observation) -> list[Planned]:
    name = quoted(obs.instruction)[0]
    links = [e for e in obs.elements if has_class(e, "alink") and e.text.strip() == name and visible(e)]
    if links:
        return [click(obs, links[0], f"the link '{name}'", done=True)]
    tabs = find_all(obs, lambda e: e.tag == "a" and e.text.startswith("Tab #"))
    for tab in tabs[1:]:
        planned = click(obs, tab, f"the {tab.text.strip()} tab")
        if not done_before(obs, planned[0]):
            return [planned]
    raise ExpertError(f"click-tab-2: link {name!r} is on no tab")


def solve_social_media(obs: Observation) -> list[Planned]:
    user, button = match(obs.instruction, r"For the user (@\S+?), click on the \"([^\"]+)\" button").groups()
    is_user = lambda e: has_class(e, "username")  # noqa: E731
    anchor = find(obs, f"user {user}", lambda e: is_user(e) and e.text.strip() == user)
    tweet = segment(obs, anchor, is_user)
    icon = {"Reply": "reply", "Retweet": "retweet", "Like": "like"}.get(button)
    if icon is not None:
        target = find(obs, f"{button} icon of {user}", lambda e: has_class(e, icon), tweet)
        return [click(obs, target, f"the {button} icon of {user}'s post", done=True)]
    items = [e for e in tweet if e.text.strip() in (button, f"{button} {user}") and visible(e)]
    if items:
        return [click(obs, items[0], f"'{button}' in the menu", done=True)]
    more = find(obs, f"menu of {user}", lambda e: has_class(e, "more"), tweet)
    return [click(obs, more, f"the More menu of {user}'s post")]


# email-inbox-forward-nl phrases its task with these templates (NAME: the sender, DEST: the recipient).
FORWARD_TEMPLATES = (
    "Find the email by NAME and forward that email to DEST.", "Locate the email by NAME. Forward that email to DEST.",
    "Look for the email from NAME and forward to DEST.", "Forward to DEST the email from NAME.",
    "Send DEST the email you got from NAME.", "Go to the email by NAME. Send it to DEST.",
    "Send to DEST the email you got from NAME.", "Forward the email from NAME to DEST.",
    "Send DEST the email from NAME.", "Please find the message by NAME, then send it to DEST.",
    "Please forward the information from NAME to DEST.", "DEST wants the email you got from NAME.",
    "DEST wants the email NAME sent to you.", "The mail by NAME should be forwarded to DEST.",
    "Please forward to DEST the email by NAME.", "Give DEST the message you received from NAME,",
    "Forward the mail by NAME to DEST.", "Go to the message from NAME and send it to DEST.",
    "DEST is waiting for the email by NAME.", "NAME wants his or her message to be sent to DEST.",
    "I want the mail by NAME to be sent to DEST.", "Forward to DEST the email you got from NAME.",
    "Please forward the message from NAME to DEST.", "Please find the mail by NAME. Forward it to DEST.",
    "Navigate to the message from NAME and send it to DEST.", "Forward DEST the email from NAME.",
    "Forward DEST the message NAME sent you.", "Send DEST the information NAME sent to you.",
    "Search for the mail NAME sent you and send it to DEST.", "Get NAME email and then forward it to DEST please.",
)
_FORWARD_PATTERNS = tuple(
    re.compile("^" + re.escape(t).replace("NAME", "(?P<by>.+?)").replace("DEST", "(?P<to>.+?)") + "$")
    for t in FORWARD_TEMPLATES)
_EMAIL_PATTERNS = (
    (re.compile(r"^Find the email by (?P<by>.+?) and reply to them with the text \"(?P<message>.*)\"\.?$"), "reply"),
    (re.compile(r"^Find the email by (?P<by>.+?) and click the trash icon"), "delete"),
    (re.compile(r"^Find the email by (?P<by>.+?) and click the star icon"), "star"),
) + tuple((p, "forward") for p in _FORWARD_PATTERNS)


def _email_task(instruction: str) -> dict[str, str]:
    """The fields of an email-inbox instruction: by, task, and to/message."""
    for pattern, task in _EMAIL_PATTERNS:
        found = pattern.search(instruction.strip())
        if found:
            return {"task": task, **found.groupdict()}
    raise ExpertError(f"email-inbox: cannot read the task from {instruction!r}")


def solve_email_inbox(obs: Observation) -> list[Planned]:
    fields = _email_task(obs.instruction)
    by, task = fields["by"], fields["task"]
    if task == "reply":
        return _compose(obs, by, "reply", "reply-text", "send-reply", fields["message"], "the reply box")
    if task == "forward":
        return _compose(obs, by, "forward", "forward-sender", "send-forward", fields["to"], "the To field")
    is_sender = lambda e: has_class(e, "email-sender")  # noqa: E731
    anchor = find(obs, f"email by {by}", lambda e: is_sender(e) and e.text.strip() == by)
    icon = "trash" if task == "delete" else "star"
    target = find(obs, f"{icon} icon", lambda e: has_class(e, icon), segment(obs, anchor, is_sender))
    return [click(obs, target, f"the {icon} icon of the email from {by}", done=True)]


def _compose(obs: Observation, by: str, button: str, box_id: str, send_id: str, text: str, what: str) -> list[Planned]:
    """Open the email from ``by``, press reply/forward, fill the box, send."""
    named = lambda name: lambda e: (e.id == name or has_class(e, name)) and visible(e)  # noqa: E731
    box = next((e for e in obs.elements if named(box_id)(e)), None)
    if box is not None:
        send = find(obs, "Send button", named(send_id))
        return fill(obs, box, text, what) + [click(obs, send, "the Send button", done=True)]
    opened = next((e for e in obs.elements if has_class(e, f"email-{button}") and visible(e)), None)
    if opened is not None:
        return [click(obs, opened, f"the {button.capitalize()} button")]
    sender = find(obs, f"email by {by}", lambda e: has_class(e, "email-sender") and e.text.strip() == by)
    return [click(obs, sender, f"the email from {by}")]


def _menu_items(obs: Observation) -> list[Element]:
    return [e for e in obs.elements if has_class(e, "ui-menu-item") or has_class(e, "ui-menu-item-wrapper")]


def solve_use_autocomplete(obs: Observation) -> list[Planned]:
    words = quoted(obs.instruction)
    start, end = words[0], (words[1] if "ends with" in obs.instruction and len(words) > 1 else "")
    box = find(obs, "tags field", lambda e: e.tag == "input_text")
    submit = click(obs, by_text(obs, "Submit", "button"), "the Submit button", done=True)
    if box.value.startswith(start) and box.value.endswith(end) and len(box.value) > len(start):
        return [submit]
    options = [e for e in _menu_items(obs) if e.text.strip() and visible(e)
               and e.text.strip().startswith(start) and e.text.strip().endswith(end)]
    if options:
        return [click(obs, options[0], f"the suggestion '{options[0].text.strip()}'"), submit]
    if box.value == start and not waited_last(obs):
        return [wait("the suggestions")]
    return [type_into(obs, box, start, "the Tags field"), wait("the suggestions")]


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def solve_choose_date(obs: Observation) -> list[Planned]:
    month, day, year = (int(x) for x in match(obs.instruction, r"Select (\d\d)/(\d\d)/(\d{4})").groups())
    box = by_id(obs, "datepicker")
    submit = click(obs, by_text(obs, "Submit", "button"), "the Submit button", done=True)
    if box.value == f"{month:02d}/{day:02d}/{year}":
        return [submit]
    return _pick_date(obs, box, month, day, year, "the Date field") + [submit]


def _pick_date(obs: Observation, box: Element, month: int, day: int, year: int, what: str) -> list[Planned]:
    """Open the jQuery UI calendar, page to the month, click the day."""
    shown_month = next((e for e in obs.elements if has_class(e, "ui-datepicker-month") and visible(e)), None)
    shown_year = next((e for e in obs.elements if has_class(e, "ui-datepicker-year") and visible(e)), None)
    if shown_month is None or shown_year is None:
        return [click(obs, box, what)]
    offset = (year * 12 + month - 1) - (int(shown_year.text) * 12 + MONTHS.index(shown_month.text.strip()))
    if offset:
        name = "ui-datepicker-prev" if offset < 0 else "ui-datepicker-next"
        arrow = find(obs, "calendar arrow", lambda e: has_class(e, name))
        label = "Prev" if offset < 0 else "Next"
        return [click(obs, arrow, f"the {label} arrow to go to {MONTHS[month - 1]}")] * abs(offset)
    cell = find(obs, f"day {day}", lambda e: e.tag == "a" and e.text.strip() == str(day)
                and has_class(e, "ui-state-default") and visible(e))
    return [click(obs, cell, f"day {day} of {MONTHS[month - 1]} {year}")]


def _inside(inner: Element, outer: Element) -> bool:
    return (outer.left <= inner.left and outer.top <= inner.top and inner.left + inner.width <= outer.left + outer.width
            and inner.top + inner.height <= outer.top + outer.height)


def solve_search_engine(obs: Observation) -> list[Planned]:
    query = quoted(obs.instruction)[0]
    rank = int(match(obs.instruction, r"click the (\d+)(?:st|nd|rd|th) search result").group(1))
    results = [e for e in obs.elements if has_class(e, "search-title") and visible(e)]
    if not results:
        box = find(obs, "search box", lambda e: e.id == "search-text")
        return fill(obs, box, query, "the search box") + [click(obs, by_text(obs, "Search", "button"), "the Search button")]
    page, index = divmod(rank - 1, 3)
    active = find(obs, "active page", lambda e: has_class(e, "active") and has_class(e, "page-item"))
    links = [e for e in obs.elements if has_class(e, "page-link")]
    current = next((e.text.strip() for e in links if _inside(e, active)), "1")
    if current != str(page + 1):
        target = find(obs, f"page {page + 1} link", lambda e: e in links and e.text.strip() == str(page + 1))
        return [click(obs, target, f"page {page + 1} of the results")]
    result = results[index]
    return [click(obs, result, f"the search result '{result.text.strip()}'", done=True)]


def _airport_chosen(value: str, wanted: str) -> bool:
    """Whether a From/To field holds an airport picked from its menu ("Minot, ND (MOT)") naming ``wanted``."""
    return wanted in value and value != wanted and re.search(r"\([A-Z]{3}\)$", value) is not None


def _airport_rank(text: str, wanted: str) -> int:
    """How exactly a menu entry names ``wanted``: 0 its code or city, 1 only contains it."""
    return 0 if text.endswith(f"({wanted})") or text.startswith(f"{wanted} (") else 1


def _book_flight_fields(obs: Observation, fields: Sequence[tuple[Element, str, str]]) -> tuple[list[Planned], bool]:
    """Steps filling the From/To autocomplete fields; whether all of them end up filled."""
    steps: list[Planned] = []
    for box, wanted, what in fields:
        if _airport_chosen(box.value, wanted):
            continue
        options = [e for e in _menu_items(obs) if visible(e) and wanted in e.text.strip()] if box.value == wanted else []
        if options:
            option = min(options, key=lambda e: _airport_rank(e.text.strip(), wanted))
            steps.append(click(obs, option, f"the suggestion '{option.text.strip()}'"))
            continue
        if box.value == wanted and not steps:  # typed, its menu not shown yet: give it up to 3 waits
            waits = waits_in_a_row(obs)
            if waits >= 3:
                raise ExpertError(f"book-flight: no suggestions for {wanted!r} after {waits} waits")
            return [wait("the suggestions")], False
        return steps + [type_into(obs, box, wanted, what), wait("the suggestions")], False
    return steps, True


def _minutes(duration: str) -> int:
    """Minutes of a flight duration written like ``5h 3m``."""
    hours, minutes = match(duration, r"(\d+)h (\d+)m").groups()
    return int(hours) * 60 + int(minutes)


def solve_book_flight(obs: Observation) -> list[Planned]:
    found = match(obs.instruction, r"Book the (cheapest|shortest) one-way flight from: (.+) to: (.+) on "
                                    r"(\d\d)/(\d\d)/(\d{4})")
    criterion, origin, destination = found.group(1, 2, 3)
    month, day, year = (int(x) for x in found.group(4, 5, 6))
    is_flight = lambda e: has_class(e, "flight")  # noqa: E731
    flights = [e for e in obs.elements if is_flight(e) and visible(e)]
    if flights:
        offers = []
        for flight in flights:
            parts = segment(obs, flight, is_flight)
            book = find(obs, "Book flight button", lambda e: has_class(e, "flight-price"), parts)
            duration = find(obs, "flight duration", lambda e: has_class(e, "time-duration"), parts).text.strip()
            price = int(match(book.text, r"\$(\d+)").group(1))
            offers.append((price if criterion == "cheapest" else _minutes(duration), book, duration))
        _, book, duration = min(offers, key=lambda offer: offer[0])
        label = " ".join(book.text.split())
        return [click(obs, book, f"the '{label}' button of the {criterion} flight ({duration})", done=True)]
    steps, filled = _book_flight_fields(obs, ((by_id(obs, "flight-from"), origin, "the From field"),
                                              (by_id(obs, "flight-to"), destination, "the To field")))
    if not filled:
        return steps
    box = by_id(obs, "datepicker")
    search = click(obs, by_text(obs, "Search", "button"), "the Search button")
    if box.value == f"{month:02d}/{day:02d}/{year}":
        return steps + [search]
    picked = _pick_date(obs, box, month, day, year, "the Departure Date field")
    day_cell = next((e for e in obs.elements if e.ref == picked[-1][1]), None)
    return steps + picked + ([search] if day_cell is not None and has_class(day_cell, "ui-state-default") else [])


# jQuery UI slider keys: the arrows move it by its step (1), PageUp/PageDown by a fifth of its range.
SLIDER_KEYS = (("PageUp", 4), ("PageDown", -4), ("ArrowRight", 1), ("ArrowLeft", -1))


def _slider_keys(value: int, target: int, low: int = -10, high: int = 10) -> list[tuple[str, int]]:
    """The fewest key presses taking a slider from ``value`` to ``target`` (values clamp to [low, high]),
    as (key, value after the press)."""
    came: dict[int, tuple[int, str] | None] = {value: None}
    frontier = [value]
    while target not in came and frontier:
        nxt = []
        for v in frontier:
            for key, delta in SLIDER_KEYS:
                w = min(high, max(low, v + delta))
                if w not in came:
                    came[w] = (v, key)
                    nxt.append(w)
        frontier = nxt
    if target not in came:
        raise ExpertError(f"slider value {target} is outside [{low}, {high}]")
    path, v = [], target
    while came[v] is not None:
        prev, key = came[v]
        path.append((key, v))
        v = prev
    return path[::-1]


def solve_form_sequence(obs: Observation) -> list[Planned]:
    found = match(obs.instruction, r"Select (-?\d+) with the slider, click the ((\d)(?:st|nd|rd|th)) checkbox")
    target, ordinal, rank = int(found.group(1)), found.group(2), found.group(3)
    handle = find(obs, "slider handle", lambda e: has_class(e, "ui-slider-handle"))
    value = int(by_id(obs, "val").text.strip())
    steps: list[Planned] = []
    if value != target:
        grab = click(obs, handle, "the slider handle")
        last = obs.history[-1].step if obs.history else None
        if last is None or not (last.action is ActionType.PRESS or last.key == grab[0].key):
            steps.append(grab)
        steps += [press(key, f"to move the slider to {after}") for key, after in _slider_keys(value, target)]
    for box in find_all(obs, lambda e: e.tag == "input_checkbox"):
        if (box.id == f"checkbox-{rank}") != _is_checked(box):
            which = f"the {ordinal} checkbox" if box.id == f"checkbox-{rank}" else f"checkbox {box.id[-1]} to uncheck it"
            steps.append(click(obs, box, which))
    return steps + [click(obs, by_text(obs, "Submit", "button"), "the Submit button", done=True)]


SOLVERS: dict[str, Solver] = {
    "click-test": solve_click_test,
    "click-button": solve_click_button,
    "click-link": solve_click_link,
    "focus-text": solve_focus_text,
    "enter-text": solve_enter_text,
    "enter-password": solve_enter_password,
    "login-user": solve_login_user,
    "click-checkboxes": solve_click_checkboxes,
    "click-tab-2": solve_click_tab_2,
    "social-media": solve_social_media,
    "email-inbox": solve_email_inbox,
    "email-inbox-delete": solve_email_inbox,
    "email-inbox-reply": solve_email_inbox,
    "email-inbox-star-reply": solve_email_inbox,
    "email-inbox-forward-nl": solve_email_inbox,
    "email-inbox-noscroll": solve_email_inbox,
    "use-autocomplete": solve_use_autocomplete,
    "choose-date": solve_choose_date,
    "search-engine": solve_search_engine,
    "book-flight": solve_book_flight,
    "form-sequence": solve_form_sequence,
}
SOLVERS.update(LOOKAHEAD_SOLVERS)


# ---------------------------------------------------------------- experts and registry

@dataclass
class ScriptedExpert:
    """An :class:`Expert` from a solver; ``last_targets[i]`` is the element ref step ``i`` means."""

    task: str
    solver: Solver
    last_targets: list[int | None] = field(default_factory=list)

    def next_steps(self, observation: Observation) -> list[Step]:
        planned = self.solver(observation)
        if not planned:
            raise ExpertError(f"{self.task}: the expert has no step for this page")
        self.last_targets = [ref for _, ref in planned]
        return [step for step, _ in planned]


EXPERTS: dict[str, Callable[[], Expert]] = {
    task: (lambda task=task, solver=solver: ScriptedExpert(task, solver)) for task, solver in SOLVERS.items()}


def expert_for(task: str) -> Expert:
    """The scripted expert of a MiniWoB++ task; ``ValueError`` lists the supported tasks."""
    if task not in EXPERTS:
        raise ValueError(f"no scripted expert for task {task!r}; supported tasks: {', '.join(sorted(EXPERTS))}")
    return EXPERTS[task]()
