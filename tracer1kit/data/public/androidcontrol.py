"""AndroidControl → kit episodes.

Reads the official release (GZIP TFRecord files of ``tf.train.Example``, decoded here without
TensorFlow) or the same fields exported to JSON/JSONL/parquet/a saved ``datasets`` folder, one row per
episode: ``episode_id``, ``goal``, ``screenshots`` (PNG bytes, image objects or paths),
``screenshot_widths``, ``screenshot_heights``, ``actions`` (JSON text or objects, one fewer than the
screenshots), ``step_instructions``; ``accessibility_trees`` is accepted and not used. A
``*splits*.json`` file (``{"train": [ids], "test": [ids], …}``) beside the data selects ``split``.

Action mapping (coordinates are screenshot pixels, normalised by that step's width/height):

- ``click {x, y}``          → ``click`` (target = the step instruction), point kept
- ``long_press {x, y}``     → ``click`` with ``args={"press": "long"}`` (metrics type ``long_press``)
- ``type``/``input_text``   → ``type`` value=text (a point kept when ``type`` has x, y)
- ``scroll {direction}``    → ``scroll`` value=direction
- ``open_app {app_name}``   → ``click`` target=app name (judged by the app name)
- ``navigate_back``/``navigate_home`` → ``press`` "Back"/"Home";  ``wait`` → ``wait``
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

from ...actions import ActionType, Step
from ...episodes import Episode
from ...metrics import LONG_PRESS_ARG, ActionRecord, normalise_point
from .common import (TABLE_SUFFIXES, DemoStep, PublicDataError, Source, build_episode, image_size, open_image,
                     read_rows, read_split, require_path, take)

DATASET = "androidcontrol"
FIELDS = ("episode_id", "goal", "screenshots", "screenshot_widths", "screenshot_heights", "actions",
          "step_instructions")


def load(path: str | Path | None, split: str = "train", max_episodes: int | None = None) -> list[Episode]:
    """AndroidControl episodes of ``split`` from ``path`` (a file or folder; see the module docstring)."""
    root = require_path(DATASET, path)
    wanted = _split_ids(root, split)
    rows = (r for r in _rows(root, split) if wanted is None or _episode_id(r[1]) in wanted)
    base = root if root.is_dir() else root.parent
    return take((convert(row, Source(DATASET, file), split, base) for file, row in rows), max_episodes)


def convert(row: dict[str, Any], source: Source, split: str = "", base: Path | None = None) -> Episode:
    """One AndroidControl episode row as a kit :class:`Episode` (screenshot paths relative to ``base``)."""
    lists = {name: source.get(row, name, list) for name in FIELDS[2:]}
    goal = source.get(row, "goal", str)
    actions, shots = lists["actions"], lists["screenshots"]
    if len(shots) < len(actions):
        raise source.error("screenshots", f"{len(shots)} screenshots for {len(actions)} actions "
                                          "(expected one more screenshot than actions)")
    for name in ("screenshot_widths", "screenshot_heights", "step_instructions"):
        if len(lists[name]) < len(actions):
            raise source.error(name, f"{len(lists[name])} entries for {len(actions)} actions")
    steps = []
    for index, raw in enumerate(actions):
        image, image_path = open_image(source, shots[index], f"screenshots[{index}]", base)
        size = (int(lists["screenshot_widths"][index]), int(lists["screenshot_heights"][index]))
        if size[0] <= 0 or size[1] <= 0:
            size = image_size(image, image_path)
        action = source.json_value(raw, f"actions[{index}]")
        demo = convert_action(action, str(lists["step_instructions"][index]), size, source, index)
        steps.append(replace(demo, image=image, image_path=image_path, size=size))
    return build_episode(DATASET, str(_episode_id(row)), goal, steps, split=split,
                         meta={"episode_id": _episode_id(row)})


def convert_action(action: Any, instruction: str, size: tuple[int, int], source: Source, index: int) -> DemoStep:
    """One AndroidControl action dict as a :class:`DemoStep` (screen fields left for the caller)."""
    field = f"actions[{index}]"
    kind = source.get(action, "action_type", str) if isinstance(action, dict) else None
    if kind is None:
        raise source.error(field, f"expected an action object with 'action_type', got {type(action).__name__}")
    point_px = _point(action, source, field) if kind in ("click", "long_press") or "x" in action else None
    point = normalise_point(point_px, size) if point_px is not None else None
    if kind in ("click", "long_press"):
        args = (LONG_PRESS_ARG,) if kind == "long_press" else ()
        step = Step(ActionType.CLICK, target=instruction, instruction=instruction, args=args)
        return DemoStep(step, ActionRecord(kind, point=point, target=instruction), point_px=point_px)
    if kind in ("type", "input_text"):
        text = str(source.get(action, "text", (str, int, float)))
        step = Step(ActionType.TYPE, target=instruction, value=text, instruction=instruction)
        return DemoStep(step, ActionRecord("type", point=point, text=text, target=instruction), point_px=point_px)
    if kind == "scroll":
        direction = source.get(action, "direction", str).lower()
        step = Step(ActionType.SCROLL, value=direction, instruction=instruction)
        return DemoStep(step, ActionRecord("scroll", direction=direction))
    if kind == "open_app":
        app = source.get(action, "app_name", str)
        step = Step(ActionType.CLICK, target=app, instruction=instruction or f"open the {app} app")
        return DemoStep(step, ActionRecord("click", target=app))
    if kind in ("navigate_back", "navigate_home"):
        key = "Back" if kind == "navigate_back" else "Home"
        return DemoStep(Step(ActionType.PRESS, value=key, instruction=instruction), ActionRecord("press", text=key))
    if kind == "wait":
        return DemoStep(Step(ActionType.WAIT, instruction=instruction), ActionRecord("wait"))
    raise source.error(f"{field}.action_type", f"unknown action {kind!r} (known: click, long_press, scroll, "
                                                "type, input_text, open_app, navigate_back, navigate_home, wait)")


def _point(action: dict[str, Any], source: Source, field: str) -> tuple[float, float]:
    x, y = action.get("x"), action.get("y")
    if not isinstance(x, (int, float)) or not isinstance(y, (int, float)):
        raise source.error(f"{field}.x", f"a {action.get('action_type')} needs numeric 'x' and 'y' (got {x!r}, {y!r})")
    return (float(x), float(y))


def _episode_id(row: dict[str, Any]) -> Any:
    return row.get("episode_id")


def _split_ids(root: Path, split: str) -> set[Any] | None:
    folder = root if root.is_dir() else root.parent
    files = sorted(folder.glob("*splits*.json"))
    if not files:
        return None
    ids = read_split(DATASET, files[0], split)
    return set(ids) | {str(i) for i in ids}


# ---------------------------------------------------------------- TFRecord (official release)

def _rows(root: Path, split: str) -> Iterator[tuple[str, dict[str, Any]]]:
    records = _tfrecord_files(root)
    if not records:
        yield from read_rows(DATASET, root, split)
        return
    for file in records:
        for number, data in enumerate(read_tfrecord(file)):
            try:
                yield f"{file}#{number}", example_row(parse_example(data))
            except (ValueError, IndexError, struct.error) as exc:
                raise PublicDataError(f"{DATASET}: {file}: record {number}: not a tf.train.Example ({exc})") from None


def _tfrecord_files(root: Path) -> list[Path]:
    candidates = [root] if root.is_file() else sorted(p for p in root.iterdir() if p.is_file())
    return [p for p in candidates if p.suffix not in TABLE_SUFFIXES and
            ("android_control" in p.name or ".tfrecord" in p.name)]


def read_tfrecord(file: Path) -> Iterator[bytes]:
    """The records of a TFRecord file (GZIP or plain); CRCs are not checked."""
    with file.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    with (gzip.open(file, "rb") if gzipped else file.open("rb")) as handle:
        while header := handle.read(12):
            if len(header) < 12:
                raise PublicDataError(f"{DATASET}: {file}: truncated TFRecord header")
            (length,) = struct.unpack("<Q", header[:8])
            data = handle.read(length)
            if len(data) < length or len(handle.read(4)) < 4:
                raise PublicDataError(f"{DATASET}: {file}: truncated TFRecord record")
            yield data


def example_row(features: dict[str, list[Any]]) -> dict[str, Any]:
    """A decoded Example as an AndroidControl row (text fields decoded, scalars unwrapped)."""
    row: dict[str, Any] = dict(features)
    for name in ("episode_id", "goal"):
        if features.get(name):
            value = features[name][0]
            row[name] = value.decode("utf-8") if isinstance(value, bytes) else value
    for name in ("actions", "step_instructions"):
        if name in features:
            row[name] = [v.decode("utf-8") for v in features[name]]
    return row


def parse_example(data: bytes) -> dict[str, list[Any]]:
    """A serialized ``tf.train.Example`` as ``{name: [values]}`` (bytes, floats or ints)."""
    out: dict[str, list[Any]] = {}
    for number, _, features in _fields(data):
        if number != 1:
            continue
        for _, _, entry in _fields(features):
            key, values = "", []
            for part_number, _, part in _fields(entry):
                if part_number == 1:
                    key = bytes(part).decode("utf-8")
                elif part_number == 2:
                    values = _feature_values(part)
            out[key] = values
    return out


def _feature_values(feature: bytes) -> list[Any]:
    for kind, _, payload in _fields(feature):  # 1 bytes_list, 2 float_list, 3 int64_list
        values: list[Any] = []
        for _, wire, item in _fields(payload):
            if kind == 1:
                values.append(bytes(item))
            elif kind == 2:
                values.extend(struct.unpack(f"<{len(item) // 4}f", item))
            elif wire == 0:
                values.append(_signed(item))
            else:
                pos = 0
                while pos < len(item):
                    value, pos = _varint(item, pos)
                    values.append(_signed(value))
        return values
    return []


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value
