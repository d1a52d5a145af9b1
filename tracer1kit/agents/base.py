"""The frozen tool agent interface: a planner's step in words → an executable action, or a reason why not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..actions import Step
from ..episodes import Observation, Point


@dataclass(frozen=True, slots=True)
class Grounding:
    """What a tool agent made of one step on one observation (no environment was changed yet)."""

    executable: bool
    action: Any = None               # BrowserAction / ToolResult / Answer for the environment's step()
    description: str = ""            # what will be executed, in words
    error: str = ""                  # why it is not executable
    element_ref: int | None = None   # GUI: the element chosen
    point: Point | None = None       # GUI: the click point in page pixels
    output: str = ""                 # tools: the tool's output (the tool already ran)


@runtime_checkable
class ToolAgent(Protocol):
    """Frozen by construction: it never trains. Implementations: GUI grounder, tool executor."""

    def ground(self, step: Step, observation: Observation) -> Grounding: ...

    def same_effect(self, step: Step, grounding: Grounding, reference: Step, reference_grounding: Grounding) -> bool:
        """Whether a predicted step does what the reference step does (Stage 2's 'right step')."""
        ...


def check_noise(noise: float) -> float:
    """A noisy agent's chance of acting on another fitting target: refused outside [0, 1)."""
    if not 0.0 <= noise < 1.0:
        raise ValueError(f"noise must be in [0, 1) (got {noise})")
    return noise
