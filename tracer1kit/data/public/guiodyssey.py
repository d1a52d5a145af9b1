"""GUI-Odyssey → kit episodes.

Layout of the release: ``annotations/<episode_id>.json`` (``episode_id``, ``device_info {w, h}``,
``task_info {instruction, …}``, ``steps [{step, screenshot, action, info, ps}]``), ``screenshots/*.png``
and optionally ``splits/*.json`` (``{"train": [...], "test": [...]}``). ``split`` is ``train``/``test``
of ``splits/random_split.json``, or ``<split file stem>:<train|test>`` (e.g. ``app_split:test``); without
a ``splits`` folder every annotation is read. ``data.path`` may also be one annotation file.

Action mapping (``info`` points are on the 0–1000 grid; normalised = value / 1000):

- ``CLICK [[x, y]]``        → ``click`` (no element words in the dataset: target empty), point kept
- ``LONG_PRESS [[x, y]]``   → ``click`` with ``args={"press": "long"}`` (metrics type ``long_press``)
- ``SCROLL [[x1, y1], [x2, y2]]`` → ``scroll`` in the direction of the finger's dominant movement
  (the official converter's rule: up if y decreases, left if x decreases)
- ``TEXT``/``TYPE`` info    → ``type`` value=info
- ``KEY_HOME``/``KEY_BACK``/``KEY_APPSELECT`` (as the action or as a CLICK's info; also ``HOME``/``BACK``/
  ``KEY_APPSWITCH``)        → ``press`` "Home"/"Back"/"AppSwitch"
- ``COMPLETE`` → ``done``;  ``INCOMPLETE``/``IMPOSSIBLE`` → ``done`` value "impossible"
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ...actions import ActionType, Step
from ...episodes import Episode
from ...metrics import LONG_PRESS_ARG, ActionRecord
from .common import (DemoStep, PublicDataError, Source, build_episode, image_size, open_image, read_split,
                     require_path, take)

DATASET = "guiodyssey"
GRID = 1000
KEYS = {"KEY_HOME": "Home", "HOME": "Home", "KEY_BACK": "Back", "BACK": "Back",
        "KEY_APPSELECT": "AppSwitch", "KEY_APPSWITCH": "AppSwitch"}


def load(path: str | Path | None, split: str = "train", max_episodes: int | None = None) -> list[Episode]:
    """GUI-Odyssey episodes of ``split`` (see the module docstring)."""
    root = require_path(DATASET, path)
    files = _annotation_files(root, split)
    return take((_load_file(file, root, split) for file in files), max_episodes)


def _annotation_files(root: Path, split: str) -> list[Path]:
    if root.is_file():
        return [root]
    folder = root / "annotations" if (root / "annotations").is_dir() else root
    splits = root / "splits"
    if not splits.is_dir():
        return sorted(folder.glob("*.json"))
    stem, _, part = split.rpartition(":")
    split_file = splits / f"{stem or 'random_split'}.json"
    if not split_file.is_file():
        raise PublicDataError(f"{DATASET}: {split_file}: no such split file (data.split is "
                              f"'[<split file stem>:]train|test'; found: {', '.join(p.stem for p in splits.glob('*.json'))})")
    names = read_split(DATASET, split_file, part)
    return [folder / (n if n.endswith(".json") else f"{n}.json") for n in map(str, names)]


def _load_file(file: Path, root: Path, split: str) -> Episode:
    source = Source(DATASET, str(file))
    data = source.read_json(file, "episode_id", "listed in the split file but the annotation file does not exist")
    base = root if root.is_dir() else file.parent
    shots = base / "screenshots" if (base / "screenshots").is_dir() else base.parent / "screenshots"
    return convert(data, source, shots, split)


def convert(data: dict[str, Any], source: Source, screenshots: Path, split: str = "") -> Episode:
    """One GUI-Odyssey annotation as a kit :class:`Episode`."""
    task_info = source.get(data, "task_info", dict)
    instruction = Source(DATASET, f"{source.file}: task_info").get(task_info, "instruction", str)
    steps = []
    for index, raw in enumerate(source.get(data, "steps", list)):
        field = f"steps[{index}]"
        image, image_path = open_image(source, Source(DATASET, f"{source.file}: {field}").get(raw, "screenshot", str),
                                       f"{field}.screenshot", screenshots)
        size = image_size(image, image_path)
        demo = convert_action(raw, source, field, size)
        steps.append(replace(demo, image=image, image_path=image_path, size=size))
    episode_id = str(data.get("episode_id", Path(source.file).stem))
    meta = {"episode_id": episode_id, "category": task_info.get("category", ""), "apps": task_info.get("app", []),
            "task": task_info.get("task", ""), "device": data.get("device_info", {})}
    return build_episode(DATASET, episode_id, instruction, steps, split=split, meta=meta)


def convert_action(raw: dict[str, Any], source: Source, field: str, size: tuple[int, int]) -> DemoStep:
    """One GUI-Odyssey step as a :class:`DemoStep` (screen fields left for the caller)."""
    action = Source(DATASET, f"{source.file}: {field}").get(raw, "action", str).upper()
    info = raw.get("info", "")
    key = KEYS.get(action) or (KEYS.get(info) if isinstance(info, str) and action in ("CLICK", "LONG_PRESS") else None)
    if key is not None:
        return DemoStep(Step(ActionType.PRESS, value=key, instruction=f"press {key}"), ActionRecord("press", text=key))
    if action in ("CLICK", "LONG_PRESS"):
        x, y = _grid_points(info, source, f"{field}.info", 1)[0]
        args = (LONG_PRESS_ARG,) if action == "LONG_PRESS" else ()
        verb = "long-press" if args else "click"
        step = Step(ActionType.CLICK, instruction=f"{verb} at ({x:g}, {y:g}) on the 0-{GRID} grid", args=args)
        point = (x / GRID, y / GRID)
        return DemoStep(step, ActionRecord(action.lower(), point=point),
                        point_px=(point[0] * size[0], point[1] * size[1]))
    if action == "SCROLL":
        (x1, y1), (x2, y2) = _grid_points(info, source, f"{field}.info", 2)[:2]
        direction = scroll_direction((x1, y1), (x2, y2))
        return DemoStep(Step(ActionType.SCROLL, value=direction, instruction=f"scroll {direction}"),
                        ActionRecord("scroll", direction=direction))
    if action in ("TEXT", "TYPE"):
        if not isinstance(info, str):
            raise source.error(f"{field}.info", f"a {action} needs the typed text, got {type(info).__name__}")
        return DemoStep(Step(ActionType.TYPE, value=info, instruction=f"type '{info}'"), ActionRecord("type", text=info))
    if action == "COMPLETE":
        return DemoStep(Step(ActionType.DONE, instruction="the task is complete"), ActionRecord("done"))
    if action in ("INCOMPLETE", "IMPOSSIBLE"):
        return DemoStep(Step(ActionType.DONE, value="impossible", instruction="the task cannot be completed"),
                        ActionRecord("done", text="impossible"))
    raise source.error(f"{field}.action", f"unknown action {action!r} (known: CLICK, LONG_PRESS, SCROLL, TEXT, "
                                          f"{', '.join(KEYS)}, COMPLETE, INCOMPLETE)")


def scroll_direction(start: tuple[float, float], end: tuple[float, float]) -> str:
    """The finger's dominant movement: left/right when |dx| > |dy|, else up/down."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    if abs(dx) > abs(dy):
        return "left" if dx < 0 else "right"
    return "up" if dy < 0 else "down"


def _grid_points(info: Any, source: Source, field: str, count: int) -> list[tuple[float, float]]:
    points = [info] if count == 1 and _is_point(info) else info
    if not isinstance(points, list) or len(points) < count or not all(_is_point(p) for p in points[:count]):
        raise source.error(field, f"expected {count} point(s) [x, y] on the 0-{GRID} grid, got {info!r}"[:200])
    return [(float(p[0]), float(p[1])) for p in points]


def _is_point(value: Any) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))
