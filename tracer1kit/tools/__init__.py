"""The real tools of the tool-use tasks, behind one registry: validated arguments in, text out, never raising.

``run_tool(name, args, image)`` returns a :class:`ToolOutput`; a bad tool name, a missing or unknown argument
or a failing tool gives ``ok=False`` and a message saying what to fix. Tool names match case-insensitively
(``"OCR"`` and ``"Calculator"`` as public GTA traces write them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from PIL import Image

from .calculator import CalculatorError, calculate
from .convert import ConversionError, convert
from ..text import format_number, single_number
from .vision import VisionError, ocr, parse_region, zoom

INPUT_IMAGE = "input"


@dataclass(frozen=True, slots=True)
class ToolOutput:
    ok: bool
    text: str


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool: its description for the planner, its required and optional arguments, and the function."""

    name: str
    description: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    run: Callable[[Mapping[str, str], Image.Image | None], str]

    def signature(self) -> str:
        return ", ".join(list(self.required) + [f"{a}?" for a in self.optional])


class ToolError(ValueError):
    """A call that cannot run; the message is what the caller sees as the tool's output."""


def _image(args: Mapping[str, str], image: Image.Image | None) -> Image.Image:
    name = args.get("image", INPUT_IMAGE).strip().lower()
    if name != INPUT_IMAGE:
        raise ToolError(f"argument 'image' must be '{INPUT_IMAGE}' (the task image), got {name!r:.40}")
    if image is None:
        raise ToolError("this observation has no image to read")
    return image


def _region(args: Mapping[str, str], image: Image.Image) -> tuple[int, int, int, int] | None:
    return parse_region(args["region"], image.size) if args.get("region", "").strip() else None


def _number(args: Mapping[str, str], name: str) -> float:
    value = single_number(args[name])
    if value is None:
        raise ToolError(f"argument '{name}' must be one number, got {args[name]!r:.40}")
    return value


def _run_ocr(args: Mapping[str, str], image: Image.Image | None) -> str:
    img = _image(args, image)
    return ocr(img, _region(args, img))


def _run_zoom(args: Mapping[str, str], image: Image.Image | None) -> str:
    img = _image(args, image)
    factor = _number(args, "factor") if args.get("factor", "").strip() else 3
    if factor not in (2, 3, 4):
        raise ToolError(f"argument 'factor' must be 2, 3 or 4, got {args['factor']!r:.20}")
    return zoom(img, _region(args, img), int(factor))


def _run_calculator(args: Mapping[str, str], image: Image.Image | None) -> str:
    return format_number(calculate(args["expression"]))


def _run_convert(args: Mapping[str, str], image: Image.Image | None) -> str:
    result = convert(_number(args, "value"), args["from"], args["to"])
    return f"{format_number(float(f'{result:.6g}'))} {args['to'].strip()}"


TOOLS: dict[str, ToolSpec] = {spec.name: spec for spec in (
    ToolSpec("ocr", "read the text in the image (optional region 'x0,y0,x1,y1' in pixels)",
             (), ("image", "region"), _run_ocr),
    ToolSpec("zoom", "crop, enlarge (factor 2-4), clean and read small or noisy text",
             (), ("image", "region", "factor"), _run_zoom),
    ToolSpec("calculator", "arithmetic: + - * / // % ** ( ), max min round abs sqrt",
             ("expression",), (), _run_calculator),
    ToolSpec("convert", "convert a value between units (length, mass, volume, speed, temperature)",
             ("value", "from", "to"), (), _run_convert),
)}


def tool_descriptions() -> str:
    """One short line per tool for the planner prompt: ``name(args): what it does``."""
    return "\n".join(f"{s.name}({s.signature()}): {s.description}" for s in TOOLS.values())


def find_tool(name: str) -> ToolSpec | None:
    return TOOLS.get(name.strip().lower())


def run_tool(name: str, args: Mapping[str, str], image: Image.Image | None = None) -> ToolOutput:
    """Validate and run one call; every failure becomes ``ToolOutput(False, "error: …")``."""
    spec = find_tool(name)
    if spec is None:
        return ToolOutput(False, f"error: unknown tool {name!r:.40} (tools: {', '.join(TOOLS)})")
    unknown = sorted(set(args) - set(spec.required) - set(spec.optional))
    if unknown:
        return ToolOutput(False, f"error: {spec.name} has no argument {unknown[0]!r:.40} (arguments: {spec.signature()})")
    missing = [a for a in spec.required if not str(args.get(a, "")).strip()]
    if missing:
        return ToolOutput(False, f"error: {spec.name} needs argument {missing[0]!r} (arguments: {spec.signature()})")
    try:
        return ToolOutput(True, spec.run(args, image))
    except (ToolError, CalculatorError, ConversionError, VisionError) as exc:
        return ToolOutput(False, f"error: {spec.name}: {exc}")
    except Exception as exc:  # a tool must never raise to the caller: report the unexpected failure
        return ToolOutput(False, f"error: {spec.name} failed unexpectedly ({type(exc).__name__}: {str(exc)[:200]})")


__all__ = ["TOOLS", "ToolOutput", "ToolSpec", "find_tool", "run_tool", "tool_descriptions", "INPUT_IMAGE"]
