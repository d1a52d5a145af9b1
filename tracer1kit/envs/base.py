"""What every environment offers the agent loop, and the executable actions tool agents produce.

Which environment family a task belongs to is its domain's business (``tracer1kit.domains``), not a test here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from ..episodes import Observation, Point

@dataclass(frozen=True, slots=True)
class BrowserAction:
    """A concrete action on the live page, produced by the GUI grounder from a step instruction."""

    kind: Literal["click", "type", "select", "press", "scroll", "wait"]
    ref: int | None = None          # the element acted on (MiniWoB ref)
    text: str = ""                  # text to type, option to select, key to press, scroll direction
    point: Point | None = None      # page pixels, for coordinate-based grounders


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool call that the tool executor has already run, for the tool-use environment to record."""

    tool: str
    args: tuple[tuple[str, str], ...]
    output: str
    ok: bool


@dataclass(frozen=True, slots=True)
class Answer:
    """A final answer submitted to the tool-use environment."""

    value: str


@dataclass(frozen=True)
class Transition:
    """The result of one environment step."""

    observation: Observation
    reward: float = 0.0
    terminated: bool = False        # task ended (success or failure)
    truncated: bool = False         # cut off (time, budget) or interrupted (crashed browser)
    success: bool = False
    info: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Environment(Protocol):
    """One task instance at a time: ``reset(seed)`` then ``step(action)`` until terminated."""

    task: str

    def reset(self, seed: int) -> Observation: ...

    def step(self, action: Any) -> Transition: ...

    def close(self) -> None: ...


class BatchEnv(Protocol):
    """Several environment slots stepped together (``EnvPool`` or ``SerialEnvs``): ``reset`` starts job i
    (task, seed) in slot i; ``step`` steps the slots whose action is not ``None``."""

    def __len__(self) -> int: ...

    def reset(self, jobs: list[tuple[str, int]]) -> list[Observation]: ...

    def step(self, actions: list[Any]) -> list[Transition | None]: ...

    def close(self) -> None: ...
