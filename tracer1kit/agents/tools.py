"""The frozen tool executor: a planner's ``call`` step → the real tool run on the observation's image.

It implements :class:`~tracer1kit.agents.base.ToolAgent` for the tool-use environment: ``ground`` runs the
tool (``ocr``, ``zoom``, ``calculator``, ``convert``; see :data:`TOOLS`) and returns its output with a
:class:`ToolResult` for the environment to record; an ``answer`` step becomes an :class:`Answer`.
Arguments come from model output and are untrusted: the tools validate them and never evaluate them.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from PIL import Image

from ..actions import ActionType, Step
from ..envs.base import Answer, ToolResult
from ..episodes import Observation
from ..tools import TOOLS, ToolOutput, find_tool, run_tool, tool_descriptions
from ..text import check_answer, decimals, normalize, single_number
from .base import Grounding

__all__ = ["TOOLS", "ToolExecutor", "tool_descriptions", "same_output"]

_IMAGE_TOOLS = frozenset({"ocr", "zoom"})


class ToolExecutor:
    """Runs tool calls for real; image tools' outputs are cached per (image content, tool, arguments),
    so grounding the reference step on the same observation costs nothing more."""

    def __init__(self, cache_size: int = 256) -> None:
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str, tuple[tuple[str, str], ...]], ToolOutput] = OrderedDict()

    def ground(self, step: Step, observation: Observation) -> Grounding:
        if step.action is ActionType.ANSWER:
            if not step.value.strip():
                return Grounding(False, error="an answer step needs a value (the answer)")
            return Grounding(True, action=Answer(step.value), description=f"answer {step.value!r}")
        if step.action is not ActionType.CALL:
            return Grounding(False, error=f"the tool executor runs 'call' and 'answer' steps, not {step.action.value!r}")
        spec = find_tool(step.target)
        if spec is None:
            known = ", ".join(TOOLS)
            return Grounding(False, error=f"unknown tool {step.target!r:.40}: set target to one of {known}")
        args = dict(step.args)
        result = self._run(spec.name, args, observation.image())
        description = f"{spec.name}({', '.join(f'{k}={v!r}' for k, v in step.args)})"
        return Grounding(result.ok, action=ToolResult(spec.name, step.args, result.text, result.ok),
                         description=description, output=result.text, error="" if result.ok else result.text)

    def same_effect(self, step: Step, grounding: Grounding, reference: Step, reference_grounding: Grounding) -> bool:
        """Both answers agree (:func:`check_answer`), or the same tool ran and gave the same output."""
        if not grounding.executable or step.action is not reference.action:
            return False
        if step.action is ActionType.ANSWER:
            return check_answer(step.value, reference.value)
        if step.action is not ActionType.CALL or not reference_grounding.executable:
            return False
        same_tool = isinstance(grounding.action, ToolResult) and isinstance(reference_grounding.action, ToolResult) \
            and grounding.action.tool == reference_grounding.action.tool
        return same_tool and same_output(grounding.output, reference_grounding.output)

    def _run(self, tool: str, args: dict[str, str], image: Image.Image | None) -> ToolOutput:
        if tool not in _IMAGE_TOOLS or image is None:
            return run_tool(tool, args, image)
        key = (_fingerprint(image), tool, tuple(sorted(args.items())))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        result = self._cache[key] = run_tool(tool, args, image)
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return result


def same_output(output: str, reference: str) -> bool:
    """Tool outputs agree: the same single number within tolerance, or the same normalised text."""
    value, expected = single_number(output), single_number(reference)
    if value is not None and expected is not None:
        return abs(value - expected) <= max(10.0 ** -decimals(reference), 1e-3 * abs(expected)) + 1e-9
    return normalize(output) == normalize(reference)


def _fingerprint(image: Image.Image) -> str:
    digest = hashlib.blake2b(image.tobytes(), digest_size=16)
    digest.update(f"{image.mode}{image.size}".encode())
    return digest.hexdigest()
