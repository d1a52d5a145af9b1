"""The planner's prompt: a short system message with the exact plan format, then the observation.

Pure functions of an :class:`~tracer1kit.episodes.Observation`. Messages use the conversational format
of TRL and transformers chat templates; the user turn starts with an ``{"type": "image"}`` placeholder
when the screenshot is shown (the image itself travels separately, see :func:`prompt_images`).

Two forms (``planner.prompt``): ``full``, and ``compact`` for small text-only models: a shorter system prompt
(the same canonical plan format and a shorter example), one short line per informative element — its tag and
the words that name it (given by the caller: the grounder's canonical words, ``agents.grounding.element_names``,
which the experts write too and its strict mode accepts) and its value, text capped at
:data:`COMPACT_TEXT_CHARS` — and a history that keeps an outcome only where it adds something (a failure, a
tool's output) rather than echo the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

from PIL import Image

from .actions import GUI_ACTIONS, TOOL_ACTIONS, ActionType, Plan, Step, format_plan
from .episodes import Element, HistoryItem, Observation

EXAMPLE_PLAN = Plan(
    steps=(
        Step(ActionType.TYPE, target="Username", value="alice", instruction="type alice into Username"),
        Step(ActionType.CLICK, target="Login", instruction="click the Login button", done=True),
    ),
    think="fill the form, then submit",
)


def system_prompt(actions: "list[ActionType] | frozenset[ActionType]", fields: str, example: Plan) -> str:
    """The full system prompt of a vocabulary: the plan format, the actions (in :class:`ActionType` order), what
    each key holds (``fields``) and an example plan."""
    names = "|".join(a.value for a in ActionType if a in actions)
    return ("You plan the next steps of a task on a screen or with tools. "
            "Reply with <think>short reasoning</think> then <answer> with one JSON object per step, one per line. "
            f"Keys in order: action ({names}), {fields}, "
            'status ("done" on the step that completes the task). Example:\n' + format_plan(example))


SYSTEM_PROMPT = system_prompt(GUI_ACTIONS | TOOL_ACTIONS, "target (element text or tool name), value (text, option, "
                              "key, direction or answer), args (tool arguments), instruction", EXAMPLE_PLAN)


PromptForm = Literal["full", "compact"]
COMPACT_TEXT_CHARS = 48
COMPACT_VALUE_CHARS = 40
COMPACT_EXAMPLE_PLAN = Plan(
    steps=(
        Step(ActionType.TYPE, target="Username", value="alice", instruction="type alice"),
        Step(ActionType.CLICK, target="Login", instruction="click Login", done=True),
    ),
    think="fill, submit",
)


def compact_system_prompt(actions: "list[ActionType] | frozenset[ActionType]", keys: str = "target, value, instruction",
                          example: Plan = COMPACT_EXAMPLE_PLAN) -> str:
    """The compact system prompt of a vocabulary: the plan format's keys and actions and a short example."""
    names = "|".join(a.value for a in ActionType if a in actions)
    return (f"Plan the next steps. Write one JSON step per line; keys in order: action ({names}), "
            f'{keys}, status ("done" ends the task). Example:\n' + format_plan(example))


@dataclass(frozen=True)
class PromptContext:
    """What a domain puts in its planner prompt: the system message of each form (its action vocabulary and an
    example) and fixed text the user turn ends with (tool use: the tool list under ``Tools:``)."""

    system: str
    compact_system: str
    tools_text: str | None = None


GUI_CONTEXT = PromptContext(SYSTEM_PROMPT, compact_system_prompt(GUI_ACTIONS))


def gui_context(task: str) -> PromptContext:
    """Every task's context is the GUI one (the default where no domain registry is asked)."""
    return GUI_CONTEXT


def prompt_form(setting: str, supports_images: bool) -> PromptForm:
    """The form a ``planner.prompt`` setting gives a model: ``auto`` is compact for text-only models."""
    if setting not in ("full", "compact", "auto"):
        raise ValueError(f"planner.prompt must be full, compact or auto (got {setting!r})")
    if setting == "auto":
        return "full" if supports_images else "compact"
    return setting  # type: ignore[return-value]


def compact_element(element: Element, name: str) -> str:
    """One short line: ``button Login``, ``Reply (2)``, ``input_text #1 = alice`` (text cut at
    :data:`COMPACT_TEXT_CHARS`, value at :data:`COMPACT_VALUE_CHARS`); text nodes (tag ``t``) and ``tag #n`` names
    show no separate tag; text the name does not hold (punctuation only) follows it in quotes."""
    text = " ".join(element.text.split())
    short = text if len(text) <= COMPACT_TEXT_CHARS else text[:COMPACT_TEXT_CHARS] + "…"
    words = name.replace(text, short, 1) if text in name else f'{name} "{short}"'
    value = " ".join(element.value.split())[:COMPACT_VALUE_CHARS]
    line = words if element.tag == "t" or name.startswith(f"{element.tag} #") else f"{element.tag} {words}"
    return f"{line} = {value}" if value else line


def compact_history(item: HistoryItem) -> str:
    """A past step in words; its outcome only when it is not an echo of the step (a failure, a tool's output)."""
    echo = item.step.action in GUI_ACTIONS and not item.outcome.startswith("not executable")
    return item.step.describe() if echo or not item.outcome else item.compact()


def compact_user_text(observation: Observation, *, horizon: int, history_len: int, max_elements: int,
                      tools_text: str | None = None, names: Mapping[int, str] | None = None) -> str:
    """The compact user turn: task, element lines, history (sections left out when empty), tools, horizon.
    ``names`` gives the words naming each element (the grounder's ``element_names``; its text when missing)."""
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1 (got {horizon})")
    lines = [f"Task: {observation.instruction}"]
    names = names or {}
    shown = [e for e in observation.elements if e.informative][:max_elements]
    if shown:
        lines.append("Elements:")
        lines.extend(compact_element(e, names.get(e.ref) or " ".join(e.text.split()) or e.tag) for e in shown)
    if observation.text:
        lines.append(observation.text)
    recent = observation.history[-history_len:] if history_len > 0 else ()
    if recent:
        lines.append("History:")
        lines.extend(compact_history(h) for h in recent)
    if tools_text:
        lines.append("Tools:")
        lines.append(tools_text.strip())
    lines.append(f"Plan {horizon} steps.")
    return "\n".join(lines)


def user_text(observation: Observation, *, horizon: int, history_len: int, max_elements: int,
              tools_text: str | None = None, names: Mapping[int, str] | None = None) -> str:
    """The text of the user turn: task, elements, abstracted history, tools (for tool-use observations,
    which have no page elements), and the horizon (``names`` is unused: the full form lists every element whole)."""
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1 (got {horizon})")
    lines = [f"Task: {observation.instruction}"]
    shown = [e for e in observation.elements if e.informative][:max_elements]
    if shown:
        lines.append("Elements:")
        lines.extend(e.compact(box=False) for e in shown)
    if observation.text:  # a domain's words for the state (grid: what is in view, what is carried)
        lines.append(observation.text)
    recent = observation.history[-history_len:] if history_len > 0 else ()
    lines.append("History:" if recent else "History: none")
    lines.extend(h.compact() for h in recent)
    if tools_text:
        lines.append("Tools:")
        lines.append(tools_text.strip())
    lines.append(f"Forecast the next {horizon} step(s).")
    return "\n".join(lines)


def build_messages(observation: Observation, *, horizon: int, use_image: bool, history_len: int,
                   max_elements: int, context: PromptContext = GUI_CONTEXT, form: PromptForm = "full",
                   names: Mapping[int, str] | None = None) -> list[dict[str, Any]]:
    """System + user chat messages for one planning call (``K = 1`` is the reactive baseline) in ``form``, with
    the observation's domain's ``context``; the compact form names elements with ``names``
    (``agents.grounding.element_names``)."""
    if form not in ("full", "compact"):
        raise ValueError(f"prompt form must be full or compact (got {form!r})")
    compose = user_text if form == "full" else compact_user_text
    text = compose(observation, horizon=horizon, history_len=history_len, max_elements=max_elements,
                   tools_text=context.tools_text, names=names)
    system = context.system if form == "full" else context.compact_system
    if not use_image:
        return [{"role": "system", "content": system}, {"role": "user", "content": text}]
    # With an image every content is a list of blocks (one shape per column, as datasets/Arrow require).
    return [{"role": "system", "content": [{"type": "text", "text": system}]},
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]


def prompt_images(observation: Observation, use_image: bool) -> list[Image.Image]:
    """The images that go with :func:`build_messages`: the current screenshot only, never past ones."""
    if not use_image:
        return []
    image = observation.image()
    return [image] if image is not None else []
