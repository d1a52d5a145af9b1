"""Observations, executed steps and episodes, stored as JSONL plus PNG screenshots.

An :class:`Episode` is the full record of one plan → execute → re-plan run: per step the observation,
the whole predicted plan, the reference future trajectory, what the tool agent executed, and rewards.
The same records hold expert demonstrations (the plan is then the expert's reference) and the
episodes converted from public datasets.
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Iterator

from PIL import Image

from .actions import Plan, Step, format_plan, parse_plan
from .runs import append_jsonl, atomic_write_bytes, read_jsonl, unreadable

HISTORY_OUTCOME_CHARS = 400  # enough for a receipt's OCR text in the planner's history
Box = tuple[float, float, float, float]  # left, top, width, height in page pixels (metrics.UnitBox: fractions)
Point = tuple[float, float]  # x, y in page pixels (metrics.UnitPoint: fractions)


@dataclass(frozen=True, slots=True)
class Element:
    """A visible page element as the planner and grounder see it."""

    ref: int
    tag: str
    text: str = ""
    value: str = ""
    left: float = 0.0
    top: float = 0.0
    width: float = 0.0
    height: float = 0.0
    classes: str = ""
    id: str = ""

    @property
    def box(self) -> Box:
        return (self.left, self.top, self.width, self.height)

    @property
    def visible(self) -> bool:
        return self.width > 0 and self.height > 0

    @property
    def informative(self) -> bool:
        """Worth showing a planner: visible, and with text or something to act on (fields, buttons, links)."""
        return self.visible and (bool(self.text.strip()) or self.tag.startswith("input")
                                 or self.tag in ("textarea", "select", "button", "a"))

    @property
    def center(self) -> Point:
        return (self.left + self.width / 2, self.top + self.height / 2)

    def compact(self, box: bool = True) -> str:
        """One line: ``[12] button "Login" value="x" @(10,20,50,18)``; planner prompts leave the box out
        (the planner names elements by their words, the grounder places them)."""
        text = self.text.replace("\n", " ")[:80]
        value = f' value="{self.value[:40]}"' if self.value else ""
        where = f" @({self.left:.0f},{self.top:.0f},{self.width:.0f},{self.height:.0f})" if box else ""
        return f'[{self.ref}] {self.tag} "{text}"{value}{where}'


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """An abstracted past step: the action taken and a short description of what it did."""

    step: Step
    outcome: str = ""

    def compact(self) -> str:
        return f"{self.step.describe()} -> {self.outcome}" if self.outcome else self.step.describe()


@dataclass(frozen=True)
class Observation:
    """What the planner sees at one step."""

    instruction: str
    screenshot: Image.Image | None = None
    elements: tuple[Element, ...] = ()
    history: tuple[HistoryItem, ...] = ()
    step_index: int = 0
    task: str = ""
    seed: int = 0
    screenshot_path: str | None = None
    size: tuple[int, int] = (160, 210)  # width, height of the page or image in pixels
    text: str = ""                      # a domain's rendering of the state in words (grid: what is in view)
    # A domain's full state as plain JSON data, for its frozen tool agent (grid: the whole level); never shown to
    # the planner. Stored with the observation so recorded states can be grounded offline.
    state: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def image(self) -> Image.Image | None:
        """The screenshot, loaded from disk on first use for stored observations."""
        if self.screenshot is None and self.screenshot_path:
            try:
                with Image.open(self.screenshot_path) as img:
                    object.__setattr__(self, "screenshot", img.convert("RGB"))
            except (OSError, ValueError) as exc:  # missing, truncated or not an image
                raise unreadable(self.screenshot_path, str(exc) or type(exc).__name__) from None
        return self.screenshot

    def element(self, ref: int) -> Element | None:
        return next((e for e in self.elements if e.ref == ref), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "instruction": self.instruction,
            "elements": [_element_dict(e) for e in self.elements],
            "history": [{"step": h.step.to_dict(), "outcome": h.outcome} for h in self.history],
            "step_index": self.step_index,
            "task": self.task,
            "seed": self.seed,
            "screenshot_path": self.screenshot_path,
            "size": list(self.size),
            **({"text": self.text} if self.text else {}),
            **({"state": self.state} if self.state is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: Path | None = None) -> "Observation":
        path = data.get("screenshot_path")
        if path and base is not None and not os.path.isabs(path):
            path = str(base / path)
        return cls(
            instruction=data["instruction"],
            elements=tuple(Element(**e) for e in data.get("elements", ())),
            history=tuple(HistoryItem(Step.from_dict(h["step"]), h.get("outcome", ""))
                          for h in data.get("history", ())),
            step_index=data.get("step_index", 0),
            task=data.get("task", ""),
            seed=data.get("seed", 0),
            screenshot_path=path,
            size=tuple(data.get("size", (160, 210))),
            text=data.get("text", ""),
            state=data.get("state"),
        )


def observation_json(observation: Observation) -> str:
    """The one codec for an observation kept in a dataset column (Stage 2 grounds on it): JSON text."""
    return json.dumps(observation.to_dict(), ensure_ascii=False)


def observation_from_json(text: str) -> Observation:
    """The observation :func:`observation_json` wrote."""
    return Observation.from_dict(json.loads(text))


def _element_dict(e: Element) -> dict[str, Any]:
    return {k: getattr(e, k) for k in Element.__slots__}


@dataclass(frozen=True, slots=True)
class Feedback:
    """What the frozen tool agent did with one step: the record Stage 2 rewards."""

    executable: bool
    executed: str = ""                 # what was executed, in words ("click [12] button 'Login'")
    element_ref: int | None = None     # GUI: the element acted on
    point: Point | None = None         # GUI: the click point in page pixels
    output: str = ""                   # tools: the tool's output; GUI: a short state description
    error: str = ""                    # why the step was not executable
    matched_reference: bool | None = None
    advanced: bool | None = None       # did the environment state move towards the goal

    def outcome(self) -> str:
        """What the abstracted history says of this step: the tool output or what was executed, or why not."""
        text = (self.output or self.executed) if self.executable else f"not executable: {self.error}"
        return text[:HISTORY_OUTCOME_CHARS]

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in Feedback.__slots__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Feedback":
        data = dict(data)
        if data.get("point") is not None:
            data["point"] = tuple(data["point"])
        return cls(**data)


@dataclass(frozen=True)
class StepRecord:
    """One loop step: observation, the predicted plan, the reference, what was executed, rewards."""

    observation: Observation
    plan: Plan | None = None              # the planner's forecast (None if unparseable)
    raw_text: str = ""                    # what the planner wrote
    parse_error: str | None = None
    reference: Plan | None = None         # the reference future trajectory from this state
    feedback: Feedback | None = None
    env_reward: float = 0.0
    rewards: dict[str, float] = field(default_factory=dict)  # reward breakdown, term → value

    def to_dict(self) -> dict[str, Any]:
        return {
            "observation": self.observation.to_dict(),
            "plan": format_plan(self.plan) if self.plan is not None else None,
            "raw_text": self.raw_text,
            "parse_error": self.parse_error,
            "reference": format_plan(self.reference) if self.reference is not None else None,
            "feedback": self.feedback.to_dict() if self.feedback is not None else None,
            "env_reward": self.env_reward,
            "rewards": self.rewards,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: Path | None = None) -> "StepRecord":
        return cls(
            observation=Observation.from_dict(data["observation"], base),
            plan=parse_plan(data["plan"]) if data.get("plan") else None,
            raw_text=data.get("raw_text", ""),
            parse_error=data.get("parse_error"),
            reference=parse_plan(data["reference"]) if data.get("reference") else None,
            feedback=Feedback.from_dict(data["feedback"]) if data.get("feedback") else None,
            env_reward=data.get("env_reward", 0.0),
            rewards=dict(data.get("rewards", {})),
        )


_LABEL = re.compile(r"^(?P<variant>.+)-s(?P<seed>\d+)$")


def variant_label(variant: str, seed: int, grid: str = "", grid_value: float | None = None) -> str:
    """The ``Episode.variant`` label of an evaluated planner: ``tracer1-s0``, ``tracer1-gamma0.6-s0``."""
    return variant + (f"-{grid}{grid_value:g}" if grid else "") + f"-s{seed}"


def split_variant_label(label: str) -> tuple[str, int | None]:
    """A label → (name, training seed): ``tracer1-horizon1-s0`` → ``("tracer1-horizon1", 0)``; a label without
    ``-s<seed>`` (``expert``) → ``(label, None)``."""
    match = _LABEL.match(label)
    return (match["variant"], int(match["seed"])) if match else (label, None)


@dataclass(frozen=True)
class Episode:
    """One episode of one task and seed under one planner variant."""

    episode_id: str
    task: str
    seed: int
    instruction: str
    steps: tuple[StepRecord, ...] = ()
    success: bool = False
    reward: float = 0.0
    variant: str = "expert"
    horizon: int = 1
    interrupted: bool = False
    split: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "episode_id": self.episode_id, "task": self.task, "seed": self.seed,
            "instruction": self.instruction, "success": self.success, "reward": self.reward,
            "variant": self.variant, "horizon": self.horizon, "interrupted": self.interrupted,
            "split": self.split, "meta": self.meta,
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: Path | None = None) -> "Episode":
        return cls(
            episode_id=data["episode_id"], task=data["task"], seed=data["seed"],
            instruction=data["instruction"], success=data.get("success", False),
            reward=data.get("reward", 0.0), variant=data.get("variant", "expert"),
            horizon=data.get("horizon", 1), interrupted=data.get("interrupted", False),
            split=data.get("split", ""), meta=dict(data.get("meta", {})),
            steps=tuple(StepRecord.from_dict(s, base) for s in data.get("steps", ())),
        )


class EpisodeStore:
    """Episodes of one folder: ``episodes.jsonl`` plus ``images/<episode_id>/<step>.png``.

    Screenshots are written (atomically) before the episode's line is appended, so a stored line
    never points at a missing image. Reading is lazy: records stream from the file and screenshots
    load on first use.
    """

    def __init__(self, directory: str | os.PathLike[str], name: str = "episodes.jsonl") -> None:
        self.directory = Path(directory)
        self.path = self.directory / name

    def write(self, episode: Episode) -> Episode:
        steps = []
        for index, record in enumerate(episode.steps):
            obs = record.observation
            if obs.screenshot is not None:
                rel = Path("images") / _safe(episode.episode_id) / f"{index:03d}.png"
                buffer = io.BytesIO()
                obs.screenshot.save(buffer, format="PNG")
                atomic_write_bytes(self.directory / rel, buffer.getvalue())
                obs = replace(obs, screenshot_path=str(rel))
            steps.append(replace(record, observation=obs))
        stored = replace(episode, steps=tuple(steps))
        append_jsonl(self.path, stored.to_dict())
        return stored

    def write_all(self, episodes: Iterable[Episode]) -> int:
        count = 0
        for episode in episodes:
            self.write(episode)
            count += 1
        return count

    def __iter__(self) -> Iterator[Episode]:
        for number, row in enumerate(read_jsonl(self.path), start=1):
            try:
                episode = Episode.from_dict(row, self.directory)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                split = row.get("split") if isinstance(row.get("split"), str) else None
                raise unreadable(self.path, f"episode {number} is not a valid record: "
                                            f"{type(exc).__name__}: {exc}", split) from None
            yield episode

    def read(self, **filters: Any) -> list[Episode]:
        """All stored episodes whose attributes equal the given filters (e.g. ``split="test"``)."""
        return [e for e in self if all(getattr(e, k) == v for k, v in filters.items())]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:120]
