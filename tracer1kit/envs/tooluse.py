"""Generated multimodal tool-use tasks (GTA-style) with a known answer, the environment, and the expert.

Three kinds, each an image rendered with PIL (DejaVu / Liberation fonts, varied sizes, pixel noise and a
small rotation, at most 320 px wide) and a question that needs OCR and then a second tool:

- ``receipt_tip``: a receipt → ``ocr`` → ``calculator`` ("the total with a 15% tip"); answer to the cent.
- ``table_max``: a price table or a labelled bar chart → ``ocr`` → ``calculator`` ``max(…)``; answer an item.
- ``sign_convert``: a road sign or display → ``ocr`` → ``convert`` (mi → km, °F → °C, …); answer to 0.1.

Answers are checked by :func:`check_answer` (numbers within one unit of the gold's last decimal or 0.1 %;
text after case, punctuation and whitespace normalisation). The reference trajectory uses the true values;
:class:`ToolUseExpert` plans from what the tools actually read, so it fails when OCR misreads.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..actions import ActionType, Step
from ..episodes import Observation
from ..tools.convert import convert
from ..text import check_answer, format_number, numbers_in
from ..tools.vision import LINE_SEPARATOR
from .base import Answer, ToolResult, Transition

__all__ = ["KINDS", "ToolUseTask", "make_task", "kind_of", "is_tool_task", "tool_task", "recipe", "ToolUseEnv"]

TASK_PREFIX = "tooluse/"  # a generated tool-use task is named tooluse/<kind>
MAX_WIDTH = 320
Reading = tuple[tuple[str, str], ...]  # what the image states: (label, number as written) pairs

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))
_FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSerif.ttf",
               "DejaVuSansCondensed.ttf", "LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf",
               "LiberationSerif-Regular.ttf", "LiberationMono-Regular.ttf", "LiberationSansNarrow-Regular.ttf")


@dataclass(frozen=True)
class ToolUseTask:
    """One generated task: the question, the image, the gold answer and the reference tool trajectory.

    ``reading`` is what the image truly states and ``params`` what the question asks (tip percent, units,
    destination): the expert uses ``params`` and plans with ``reading`` only until a tool has read it.
    """

    kind: str
    seed: int
    instruction: str
    image: Image.Image
    answer: str
    steps: tuple[Step, ...]
    reading: Reading
    params: dict[str, str]

    @property
    def name(self) -> str:
        return tool_task(self.kind)


# ---------------------------------------------------------------- rendering

@lru_cache(maxsize=None)
def _font_paths() -> tuple[str, ...]:
    found = tuple(str(d / f) for f in _FONT_FILES for d in _FONT_DIRS if (d / f).exists())
    if not found:
        raise RuntimeError("no DejaVu or Liberation fonts under /usr/share/fonts: install Debian "
                           "fonts-dejavu-core and fonts-liberation (scripts/setup.sh does)")
    return found


@lru_cache(maxsize=256)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _pick_font(rng: random.Random, low: int, high: int) -> ImageFont.FreeTypeFont:
    return _font(rng.choice(_font_paths()), rng.randint(low, high))


def _degrade(image: Image.Image, rng: random.Random, background: tuple[int, int, int]) -> Image.Image:
    """A small rotation and pixel noise, so reading the image is real work that can fail."""
    rotated = image.rotate(rng.uniform(-2.0, 2.0), resample=Image.Resampling.BICUBIC, fillcolor=background)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0.0, rng.uniform(0.0, 16.0), (image.height, image.width, 1))
    pixels = np.asarray(rotated, dtype=np.float32) + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _text_width(font: ImageFont.FreeTypeFont, text: str) -> int:
    return int(font.getlength(text)) + 1


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high)) / 100


def _round(value: float | Decimal, places: int) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


_AMOUNT = re.compile(r"(?<!\d)(\d+)(?:\s?[.,:]\s?(\d{2}))?(?!\d)")


def _amounts(line: str) -> list[str]:
    """Money as printed with cents, read leniently from OCR text: ``60,54`` and ``60:54`` are 60.54, and a
    lost point (``1911``) is put back before the last two digits."""
    found = []
    for whole, cents in _AMOUNT.findall(line):
        if cents:
            found.append(f"{int(whole)}.{cents}")
        elif len(whole) >= 3:
            found.append(f"{int(whole[:-2])}.{whole[-2:]}")
    return found


def call_step(tool: str, instruction: str, **args: str) -> Step:
    """A ``call`` step of ``tool`` with named arguments."""
    return Step(ActionType.CALL, target=tool, args=tuple(args.items()), instruction=instruction)


def answer_step(value: str) -> Step:
    """The final ``answer`` step (marked done)."""
    return Step(ActionType.ANSWER, value=value, instruction=f"answer {value}", done=True)


# ---------------------------------------------------------------- the kinds

class Kind(Protocol):
    """How one kind of task is generated, read and solved."""

    read_instruction: str

    def generate(self, rng: random.Random) -> tuple[Image.Image, str, Reading, dict[str, str]]: ...

    def parse(self, text: str, params: dict[str, str]) -> Reading | None: ...

    def solve(self, reading: Reading, params: dict[str, str]) -> tuple[Step, Step]: ...

    def answer_from(self, output: str, reading: Reading, params: dict[str, str]) -> str | None: ...


_FOOD = ("Coffee", "Bagel", "Salad", "Soup", "Tea", "Muffin", "Toast", "Juice", "Pasta", "Cookie", "Wrap", "Pizza")
_SHOPS = ("CAFE LUNA", "GREEN LEAF", "CORNER DELI", "BLUE DOOR", "SUNNY CAFE", "HARBOR GRILL")


class ReceiptTip:
    read_instruction = "read the text on the receipt"

    def generate(self, rng: random.Random) -> tuple[Image.Image, str, Reading, dict[str, str]]:
        items = [(name, _money(rng, 150, 1600)) for name in rng.sample(_FOOD, rng.randint(2, 4))]
        total = sum((p for _, p in items), Decimal(0))
        tip = rng.choice((10, 15, 18, 20))
        font = _pick_font(rng, 13, 17)
        width, line = rng.randint(200, MAX_WIDTH), font.size + rng.randint(6, 10)
        lines = [(rng.choice(_SHOPS), "")] + [(n, f"{p:.2f}") for n, p in items] + [("TOTAL", f"{total:.2f}")]
        image = Image.new("RGB", (width, line * (len(lines) + 1) + 16), (250, 250, 245))
        draw = ImageDraw.Draw(image)
        for row, (left, right) in enumerate(lines):
            y = 12 + row * line + (line // 2 if left == "TOTAL" else 0)
            draw.text((12, y), left, font=font, fill=(20, 20, 20))
            if right:
                draw.text((width - 12 - _text_width(font, right), y), right, font=font, fill=(20, 20, 20))
        rule_y = 12 + (len(lines) - 1) * line + line // 4
        draw.line((12, rule_y, width - 12, rule_y), fill=(90, 90, 90), width=1)
        question = f"What is the total on this receipt with a {tip}% tip added? Answer in dollars, to the cent."
        return _degrade(image, rng, (250, 250, 245)), question, (("total", f"{total:.2f}"),), {"tip": str(tip)}

    def parse(self, text: str, params: dict[str, str]) -> Reading | None:
        for line in text.split(LINE_SEPARATOR):
            if re.search(r"t[o0]ta[l1i]", line, re.IGNORECASE) and not re.search(r"sub", line, re.IGNORECASE):
                values = _amounts(line)
                if values:
                    return (("total", values[-1]),)
        return None

    def solve(self, reading: Reading, params: dict[str, str]) -> tuple[Step, Step]:
        total, tip = dict(reading)["total"], int(params["tip"])
        factor = format_number((100 + tip) / 100)
        compute = call_step("calculator", f"add a {tip}% tip to the total {total}", expression=f"{total}*{factor}")
        return compute, answer_step(f"{_round(Decimal(total) * (100 + tip) / 100, 2):.2f}")

    def answer_from(self, output: str, reading: Reading, params: dict[str, str]) -> str | None:
        values = numbers_in(output)
        return f"{_round(values[0], 2):.2f}" if len(values) == 1 else None


_GOODS = ("Lamp", "Chair", "Mug", "Pen", "Book", "Clock", "Kettle", "Radio", "Fan", "Vase", "Bag", "Desk")


class TableMax:
    read_instruction = "read the item names and prices"

    def generate(self, rng: random.Random) -> tuple[Image.Image, str, Reading, dict[str, str]]:
        names = rng.sample(_GOODS, rng.randint(3, 5))
        prices = rng.sample(range(150, 9900), len(names))
        rows = [(n, f"{Decimal(p) / 100:.2f}") for n, p in zip(names, prices)]
        font = _pick_font(rng, 13, 17)
        image = self._bars(rows, font, rng) if rng.random() < 0.4 else self._table(rows, font, rng)
        question = rng.choice(("Which item in the image is the most expensive?", "Which item costs the most?",
                               "Which item has the highest price?"))
        return _degrade(image, rng, (255, 255, 255)), question, tuple(rows), {}

    @staticmethod
    def _table(rows: list[tuple[str, str]], font: ImageFont.FreeTypeFont, rng: random.Random) -> Image.Image:
        width, line = rng.randint(180, 280), font.size + rng.randint(7, 11)
        image = Image.new("RGB", (width, line * (len(rows) + 1) + 20), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        for row, (left, right) in enumerate([("Item", "Price")] + rows):
            y = 10 + row * line
            draw.text((14, y), left, font=font, fill=(10, 10, 10))
            draw.text((width - 14 - _text_width(font, right), y), right, font=font, fill=(10, 10, 10))
        draw.line((10, 10 + line - 3, width - 10, 10 + line - 3), fill=(120, 120, 120), width=1)
        return image

    @staticmethod
    def _bars(rows: list[tuple[str, str]], font: ImageFont.FreeTypeFont, rng: random.Random) -> Image.Image:
        width, line = MAX_WIDTH, font.size + rng.randint(10, 14)
        label_w = max(_text_width(font, n) for n, _ in rows) + 20
        value_w = max(_text_width(font, v) for _, v in rows) + 16
        top = max(float(v) for _, v in rows)
        image = Image.new("RGB", (width, line * (len(rows) + 1) + 16), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        draw.text((10, 6), "Price ($)", font=font, fill=(10, 10, 10))
        colour = rng.choice(((170, 200, 240), (245, 200, 160), (180, 225, 185)))  # light: text stays darkest
        for row, (name, value) in enumerate(rows, start=1):
            y = 8 + row * line
            bar = int((width - label_w - value_w - 10) * float(value) / top)
            draw.text((10, y), name, font=font, fill=(10, 10, 10))
            draw.text((label_w, y), value, font=font, fill=(10, 10, 10))
            draw.rectangle((label_w + value_w, y + 2, label_w + value_w + max(bar, 2), y + font.size), fill=colour)
        return image

    def parse(self, text: str, params: dict[str, str]) -> Reading | None:
        rows = []
        for line in text.split(LINE_SEPARATOR):
            name, values = re.match(r"\W*([A-Za-z]*)", line).group(1), _amounts(line)
            if len(name) >= 2 and values and name.lower() not in ("item", "price"):
                rows.append((name, values[0]))
        return tuple(rows) if len(rows) >= 2 else None

    def solve(self, reading: Reading, params: dict[str, str]) -> tuple[Step, Step]:
        compute = call_step("calculator", "find the highest price", expression=f"max({', '.join(v for _, v in reading)})")
        return compute, answer_step(max(reading, key=lambda r: float(r[1]))[0])

    def answer_from(self, output: str, reading: Reading, params: dict[str, str]) -> str | None:
        values = numbers_in(output)
        named = [n for n, v in reading if len(values) == 1 and abs(float(v) - values[0]) < 0.005]
        return named[0] if named else None


_PLACES = ("Springfield", "Riverton", "Oakdale", "Fairview", "Milton", "Ashford", "Bristol", "Dover")
# (unit written on the sign, unit asked for, its name in the question, value range, the sign's words)
_SIGNS = (
    ("mi", "km", "kilometres", (3, 240), "distance"),
    ("km", "mi", "miles", (5, 380), "distance"),
    ("mph", "km/h", "km/h", (15, 75), "SPEED LIMIT"),
    ("ft", "m", "metres", (9, 16), "CLEARANCE"),
    ("F", "C", "degrees Celsius", (20, 104), "TEMP"),
    ("lb", "kg", "kilograms", (500, 9000), "MAX LOAD"),
)
_UNIT_TEXT = {"F": "°F", "lb": "lb", "ft": "ft", "mph": "MPH", "mi": "mi", "km": "km"}


class SignConvert:
    read_instruction = "read the sign"

    def generate(self, rng: random.Random) -> tuple[Image.Image, str, Reading, dict[str, str]]:
        unit, target, target_words, (low, high), words = rng.choice(_SIGNS)
        value = rng.randint(low, high)
        params = {"from": unit, "to": target, "place": ""}
        if words == "distance":
            places = rng.sample(_PLACES, rng.randint(1, 2))
            values = [value] + [rng.randint(low, high) for _ in places[1:]]
            lines = [f"{p}  {v} {unit}" for p, v in zip(places, values)]
            params["place"] = places[0]
            question = (f"The sign gives the distance to {places[0]} in {'miles' if unit == 'mi' else 'kilometres'}. "
                        f"How many {target_words} is that? Round to one decimal.")
            background, ink = (20, 110, 60), (255, 255, 255)
        else:
            lines = [words, f"{value} {_UNIT_TEXT[unit]}"]
            question = f"What is the value on the sign in {target_words}? Round to one decimal."
            background, ink = rng.choice((((255, 255, 255), (10, 10, 10)), ((250, 205, 40), (10, 10, 10)),
                                          ((30, 30, 30), (255, 170, 40))))
        font = _pick_font(rng, 15, 20)
        width = min(MAX_WIDTH, max(_text_width(font, t) for t in lines) + rng.randint(40, 70))
        line = font.size + rng.randint(8, 12)
        image = Image.new("RGB", (width, line * len(lines) + 36), background)
        draw = ImageDraw.Draw(image)
        draw.rectangle((3, 3, width - 4, image.height - 4), outline=ink, width=2)
        for row, text in enumerate(lines):
            draw.text(((width - _text_width(font, text)) // 2, 18 + row * line), text, font=font, fill=ink)
        return _degrade(image, rng, background), question, (("value", str(value)),), params

    def parse(self, text: str, params: dict[str, str]) -> Reading | None:
        lines = text.split(LINE_SEPARATOR)
        if params["place"]:
            lines = [ln for ln in lines if params["place"].lower()[:5] in ln.lower()]
        values = [v for ln in lines for v in numbers_in(ln) if v > 0]
        return (("value", format_number(values[0])),) if values else None

    def solve(self, reading: Reading, params: dict[str, str]) -> tuple[Step, Step]:
        value = dict(reading)["value"]
        compute = call_step("convert", f"convert {value} {params['from']} to {params['to']}",
                        value=value, **{"from": params["from"], "to": params["to"]})
        return compute, answer_step(f"{_round(convert(float(value), params['from'], params['to']), 1):.1f}")

    def answer_from(self, output: str, reading: Reading, params: dict[str, str]) -> str | None:
        values = numbers_in(output)
        return f"{_round(values[0], 1):.1f}" if values else None


KINDS: dict[str, Kind] = {"receipt_tip": ReceiptTip(), "table_max": TableMax(), "sign_convert": SignConvert()}


def recipe(kind: str) -> Kind:
    """How tasks of ``kind`` are generated, read and solved; ``ValueError`` names the known kinds."""
    if kind not in KINDS:
        raise ValueError(f"unknown tool-use kind {kind!r} (kinds: {', '.join(KINDS)})")
    return KINDS[kind]


def is_tool_task(task: str) -> bool:
    """Whether ``task`` is named like a generated tool-use task (``tooluse/<kind>``)."""
    return task.startswith(TASK_PREFIX)


def tool_task(kind: str) -> str:
    """The task name of a tool-use kind (``receipt_tip`` → ``tooluse/receipt_tip``)."""
    return TASK_PREFIX + kind


def kind_of(task: str) -> str:
    """The kind of a tool-use task name (``tooluse/receipt_tip`` → ``receipt_tip``); ``ValueError`` otherwise."""
    if not is_tool_task(task) or task.removeprefix(TASK_PREFIX) not in KINDS:
        raise ValueError(f"not a generated tool-use task: {task!r} (tasks: {', '.join(TASK_PREFIX + k for k in KINDS)})")
    return task.removeprefix(TASK_PREFIX)


def reference_steps(kind: str, reading: Reading, params: dict[str, str]) -> tuple[Step, ...]:
    """OCR, then the computing tool, then the answer, all from ``reading``."""
    how = recipe(kind)
    return (call_step("ocr", how.read_instruction, image="input"), *how.solve(reading, params))


@lru_cache(maxsize=128)
def make_task(kind: str, seed: int) -> ToolUseTask:
    """The task of ``kind`` for ``seed`` (deterministic: the same seed gives the same image and answer)."""
    how = recipe(kind)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}")
    image, question, reading, params = how.generate(random.Random(f"{TASK_PREFIX}{kind}/{seed}"))
    steps = reference_steps(kind, reading, params)
    return ToolUseTask(kind, seed, question, image, steps[-1].value, steps, reading, params)


# ---------------------------------------------------------------- the environment

class ToolUseEnv:
    """Generated tool-use tasks as an :class:`~tracer1kit.envs.base.Environment`.

    ``step`` takes a :class:`ToolResult` (a call the executor already ran: recorded, the episode goes on)
    or an :class:`Answer` (ends the episode: reward 1.0 if :func:`check_answer`, else 0.0). Anything else
    is refused with ``info["error"]`` and still uses a step; after ``max_steps`` the episode is truncated.
    """

    def __init__(self, kinds: Sequence[str], max_steps: int = 6) -> None:
        if not kinds:
            raise ValueError(f"kinds must name at least one kind ({', '.join(KINDS)})")
        for kind in kinds:
            recipe(kind)
        if max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        self.kinds, self.max_steps = list(kinds), max_steps
        self.task = tool_task(self.kinds[0])
        self.current: ToolUseTask | None = None
        self.calls: list[ToolResult] = []
        self._observation: Observation | None = None
        self._over = False

    def reset(self, seed: int) -> Observation:
        self.current = make_task(self.kinds[seed % len(self.kinds)], seed)
        self.task = self.current.name
        self.calls, self._over = [], False
        image = self.current.image
        self._observation = Observation(instruction=self.current.instruction, screenshot=image, elements=(),
                                        task=self.task, seed=seed, size=image.size)
        return self._observation

    def reference_steps(self) -> tuple[Step, ...]:
        """The reference trajectory of the current task (true values)."""
        return self._require().steps

    def step(self, action: Any) -> Transition:
        task, observation = self._require(), self._observation
        assert observation is not None
        if self._over:
            return Transition(observation, terminated=True,
                              info={"error": "the episode is over: call reset(seed) to start another"})
        observation = self._observation = replace(observation, step_index=observation.step_index + 1)
        truncated = observation.step_index >= self.max_steps
        if isinstance(action, Answer):
            self._over = True
            correct = check_answer(str(action.value), task.answer)
            return Transition(observation, reward=float(correct), terminated=True, success=correct,
                              info={"answer": action.value, "gold": task.answer, "correct": correct})
        self._over = truncated
        if isinstance(action, ToolResult):
            self.calls.append(action)
            return Transition(observation, truncated=truncated, info={"tool": action.tool, "output": action.output})
        return Transition(observation, truncated=truncated, info={
            "error": f"expected a ToolResult (an executed tool call) or an Answer, got {type(action).__name__}"})

    def close(self) -> None:
        self.current, self._observation = None, None

    def _require(self) -> ToolUseTask:
        if self.current is None:
            raise RuntimeError("no task yet: call reset(seed) first")
        return self.current
