"""Shared pieces of the public-dataset adapters: schema errors, file readers, images, and episode building.

Every adapter turns one demonstration into an :class:`Episode` with :func:`build_episode`: per step the
observation (history = the earlier reference steps), the reference plan (the remaining steps from that
step), the same plan as the demonstrated ``plan``, a :class:`Feedback` saying what was executed (the click
point in pixels when there is one), and the step's reference :class:`~tracer1kit.metrics.ActionRecord`
(normalised geometry) in ``Episode.meta["reference_actions"]`` for the offline metrics.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from PIL import Image

from ...actions import MAX_STEPS, Plan, Step
from ...episodes import Element, Episode, Feedback, HistoryItem, Observation, StepRecord
from ...metrics import REFERENCE_ACTIONS_KEY, ActionRecord


class PublicDataError(ValueError):
    """A public-dataset file that cannot be read: names the dataset, the file, the field and the fix."""


def schema_error(dataset: str, file: str | os.PathLike[str], field: str, problem: str) -> PublicDataError:
    return PublicDataError(f"{dataset}: {file}: field '{field}': {problem} "
                           f"(see docs/datasets.md for the {dataset} layout)")


@dataclass(frozen=True)
class Source:
    """Where a record came from, for error messages."""

    dataset: str
    file: str

    def error(self, field: str, problem: str) -> PublicDataError:
        return schema_error(self.dataset, self.file, field, problem)

    def read_json(self, file: Path, missing_field: str, missing_problem: str) -> Any:
        """The parsed JSON of ``file``, or a schema error naming the field (missing file, invalid JSON)."""
        if not file.is_file():
            raise self.error(missing_field, missing_problem)
        try:
            return json.loads(file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise self.error("(top level)", f"not valid JSON ({exc})") from None

    def get(self, record: Mapping[str, Any], field: str, kinds: type | tuple[type, ...]) -> Any:
        """``record[field]``, checked to be of ``kinds``."""
        if not isinstance(record, Mapping):
            raise self.error(field, f"expected an object holding '{field}', got {type(record).__name__}")
        if field not in record:
            raise self.error(field, f"missing (present: {', '.join(sorted(map(str, record))) or 'none'})")
        value = record[field]
        if not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in (kinds if isinstance(kinds, tuple) else (kinds,)))
            raise self.error(field, f"expected {names}, got {type(value).__name__}")
        return value

    def json_value(self, value: Any, field: str) -> Any:
        """A field that may hold JSON text (as several datasets store dicts) or the decoded value."""
        if isinstance(value, (str, bytes)):
            try:
                return json.loads(value)
            except ValueError:
                raise self.error(field, f"not valid JSON: {str(value)[:60]!r}") from None
        return value


def read_split(dataset: str, file: Path, split: str) -> list[Any]:
    """The ids a split file (a JSON object of split name → ids) lists under ``split``, or an error naming
    the file and ``data.split``."""
    source = Source(dataset, str(file))
    data = source.read_json(file, "(file)", "split file not found")
    if not isinstance(data, Mapping):
        raise source.error("(top level)", f"expected an object of split name → ids, got {type(data).__name__}")
    if split not in data:
        raise source.error("data.split", f"no split '{split}' (available: {', '.join(map(str, data))})")
    return source.get(data, split, list)


def require_path(dataset: str, path: str | os.PathLike[str] | None) -> Path:
    """The dataset's local path, or an error naming ``data.path``."""
    if path is None:
        raise PublicDataError(f"{dataset}: data.path is not set: point it at the local copy (docs/datasets.md)")
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise PublicDataError(f"{dataset}: {resolved}: no such file or directory (set data.path to the local "
                              f"copy laid out as in docs/datasets.md; nothing is downloaded)")
    return resolved


# ---------------------------------------------------------------- readers

TABLE_SUFFIXES = (".json", ".jsonl", ".parquet")


def table_files(dataset: str, path: Path, split: str) -> list[Path]:
    """JSON/JSONL/parquet files of ``split``: the file itself, else files under the folder whose name
    contains the split (``train-00000.parquet``, ``test.jsonl``), else every table file under it.
    Files named ``*splits*.json`` are split lists, not rows, and are skipped."""
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*")
                   if p.suffix in TABLE_SUFFIXES and p.is_file() and "splits" not in p.name)
    chosen = [p for p in files if split and split in p.name] or files
    if not chosen:
        raise PublicDataError(f"{dataset}: {path}: no .json, .jsonl or .parquet files and no saved "
                              f"`datasets` folder (see docs/datasets.md)")
    return chosen


def read_rows(dataset: str, path: Path, split: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file, row) pairs from a saved ``datasets`` folder (``load_from_disk``), JSON (a list, or a dict of
    rows keyed by id), JSONL or parquet."""
    if path.is_dir() and ((path / "dataset_dict.json").exists() or (path / "dataset_info.json").exists()):
        yield from _saved_dataset_rows(dataset, path, split)
        return
    for file in table_files(dataset, path, split):
        if file.suffix == ".parquet":
            import pyarrow.parquet as pq

            for row in pq.read_table(file).to_pylist():
                yield str(file), row
        elif file.suffix == ".jsonl":
            with file.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        yield str(file), _json_row(dataset, f"{file}:{number}", line)
        else:
            data = _json_row(dataset, str(file), file.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                data = list(data.values())
            if not isinstance(data, list):
                raise schema_error(dataset, file, "(top level)", "expected a list of rows or an object of rows")
            for row in data:
                yield str(file), row


def _json_row(dataset: str, where: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise schema_error(dataset, where, "(top level)", f"not valid JSON ({exc})") from None


def _saved_dataset_rows(dataset: str, path: Path, split: str) -> Iterator[tuple[str, dict[str, Any]]]:
    import datasets

    loaded = datasets.load_from_disk(str(path))
    if isinstance(loaded, datasets.DatasetDict):
        if split not in loaded:
            raise PublicDataError(f"{dataset}: {path}: no split '{split}' (data.split; available: "
                                  f"{', '.join(loaded)})")
        loaded = loaded[split]
    for row in loaded:
        yield str(path), row


def open_image(source: Source, value: Any, field: str, base: Path | None = None) -> tuple[Image.Image | None, str | None]:
    """(image, path): an in-memory PIL image for bytes/PIL/``{"bytes": …}`` values, or ``(None, path)``
    for a file path (loaded lazily by :class:`Observation`)."""
    if isinstance(value, Image.Image):
        return value.convert("RGB"), None
    if isinstance(value, Mapping):
        if value.get("bytes"):
            value = value["bytes"]
        elif value.get("path"):
            value = value["path"]
        else:
            raise source.error(field, "an image object needs 'bytes' or 'path'")
    if isinstance(value, (bytes, bytearray)):
        try:
            with Image.open(io.BytesIO(value)) as img:
                return img.convert("RGB"), None
        except OSError as exc:
            raise source.error(field, f"not a readable image ({exc})") from None
    if isinstance(value, str):
        file = Path(value) if base is None or os.path.isabs(value) else base / value
        if not file.is_file():
            raise source.error(field, f"image file {file} does not exist")
        return None, str(file)
    raise source.error(field, f"expected image bytes or a file path, got {type(value).__name__}")


def image_size(image: Image.Image | None, path: str | None) -> tuple[int, int]:
    if image is not None:
        return image.size
    with Image.open(path) as img:  # type: ignore[arg-type]
        return img.size


# ---------------------------------------------------------------- episodes

@dataclass(frozen=True)
class DemoStep:
    """One converted demonstration step: its screen, the kit step, the reference record, what ran."""

    step: Step
    reference: ActionRecord
    image: Image.Image | None = None
    image_path: str | None = None
    size: tuple[int, int] | None = None          # pixels; None: no image (the Observation default)
    elements: tuple[Element, ...] = ()
    point_px: tuple[float, float] | None = None  # the executed point in screenshot pixels
    outcome: str = ""                            # what the step produced (tool output), for the history


def remaining_plans(steps: Sequence[Step]) -> list[Plan]:
    """The reference plan at each step: the remaining steps from that step on (at most ``MAX_STEPS``, what a
    plan can hold)."""
    return [Plan(tuple(steps[i:i + MAX_STEPS])) for i in range(len(steps))]


def mark_last_done(steps: Sequence[DemoStep]) -> list[DemoStep]:
    """The demonstration ends the task: its final step carries the done status."""
    out = list(steps)
    if out:
        out[-1] = replace(out[-1], step=replace(out[-1].step, done=True))
    return out


def build_episode(dataset: str, episode_id: str, instruction: str, steps: Sequence[DemoStep], *,
                  split: str, seed: int = 0, meta: Mapping[str, Any] | None = None) -> Episode:
    """An episode of a demonstration (see the module docstring); the last step is marked done."""
    steps = mark_last_done(steps)
    kit_steps = [d.step for d in steps]
    plans = remaining_plans(kit_steps)
    records = []
    for index, (demo, plan) in enumerate(zip(steps, plans)):
        history = tuple(HistoryItem(s.step, s.outcome) for s in steps[:index])
        observation = Observation(instruction=instruction, screenshot=demo.image, elements=demo.elements,
                                  history=history, step_index=index, task=dataset, seed=seed,
                                  screenshot_path=demo.image_path, **({"size": demo.size} if demo.size else {}))
        feedback = Feedback(executable=True, executed=demo.step.describe(), point=demo.point_px,
                            output=demo.outcome, matched_reference=True)
        records.append(StepRecord(observation, plan=plan, reference=plan, feedback=feedback))
    return Episode(episode_id=f"{dataset}/{episode_id}", task=dataset, seed=seed, instruction=instruction,
                   steps=tuple(records), success=True, reward=1.0, variant="reference", horizon=len(kit_steps),
                   split=split, meta={**(meta or {}), "source": dataset,
                                      REFERENCE_ACTIONS_KEY: [d.reference.to_dict() for d in steps]})


def take(episodes: Iterator[Episode], max_episodes: int | None) -> list[Episode]:
    """The first ``max_episodes`` episodes (all when ``None``), reading no further than needed."""
    out = []
    for episode in episodes:
        if max_episodes is not None and len(out) >= max_episodes:
            break
        out.append(episode)
    return out
