"""Run directories and crash-safe file writes.

One directory per run::

    RUN/params.yaml        resolved parameters
    RUN/metrics.jsonl      one JSON object per logged step (append-only)
    RUN/episodes/          episodes.jsonl + screenshots (see tracer1kit.episodes)
    RUN/checkpoints/       trainer checkpoints per stage
    RUN/notebooks/         executed notebooks
    RUN/reports/           tables, figures, report.html

Whole files are written atomically (temporary file in the same folder, fsync, rename), so a killed
process leaves the old file or the new one, never half of one. JSONL files are appended one complete
line per ``write`` call; a reader ignores a torn final line and the next append repairs it. A file that still
cannot be read (truncated by a full disk, corrupted, edited by hand) raises :class:`UnreadableFile`: one message
naming the file, what in the run it belongs to and how to make it again.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see either the old or the new file, whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def append_jsonl(path: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Append one JSON line with a single ``write``; first drop a torn tail left by a killed writer. Appenders
    take turns (``flock``), so one never mistakes another's line in progress for a torn tail."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, default=_json_default) + "\n").encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # dropped when the descriptor closes
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            os.ftruncate(fd, _last_complete_line_end(fd, size))
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def _last_complete_line_end(fd: int, size: int) -> int:
    chunk = 1 << 16
    end = size
    while end > 0:
        start = max(0, end - chunk)
        data = os.pread(fd, end - start, start)
        cut = data.rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        end = start
    return 0


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Yield the complete records of a JSONL file, skipping a torn final line; a complete line that is not a JSON
    object raises :class:`UnreadableFile`."""
    path = Path(path)
    if not path.exists():
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                return
            if raw.strip():
                try:
                    record = json.loads(raw)
                except ValueError as exc:
                    raise unreadable(path, f"line {number} is not JSON: {exc}") from None
                if not isinstance(record, dict):
                    raise unreadable(path, f"line {number} is not a JSON object")
                yield record


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in JSON")


@dataclass(frozen=True)
class RunDir:
    """The folder of one run and the fixed places inside it."""

    root: Path

    @classmethod
    def create(cls, root: str | os.PathLike[str]) -> "RunDir":
        run = cls(Path(root).resolve())
        for sub in ("episodes", "checkpoints", "notebooks", "reports"):
            (run.root / sub).mkdir(parents=True, exist_ok=True)
        return run

    @property
    def params_path(self) -> Path:
        return self.root / "params.yaml"

    @property
    def metrics_path(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def episodes_dir(self) -> Path:
        return self.root / "episodes"

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    def save_params(self, params: Any) -> Path:
        """Store the resolved parameters (a pydantic model or a plain dict) as YAML."""
        data = params.model_dump(mode="json") if hasattr(params, "model_dump") else params
        return atomic_write_text(self.params_path, yaml.safe_dump(data, sort_keys=False))

    def saved_params(self) -> dict[str, Any]:
        """The params stored by :meth:`save_params` as plain data ({} when none were stored)."""
        if not self.params_path.exists():
            return {}
        try:
            data = yaml.safe_load(self.params_path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise unreadable(self.params_path, f"not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise unreadable(self.params_path, "not a mapping of params")
        return data

    def log_metrics(self, record: dict[str, Any]) -> None:
        append_jsonl(self.metrics_path, record)

    def metrics(self, stage: str | None = None) -> list[dict[str, Any]]:
        rows = list(read_jsonl(self.metrics_path))
        return [r for r in rows if stage is None or r.get("stage") == stage]


class UnreadableFile(RuntimeError):
    """A file the kit wrote cannot be read; the message names it, what it belongs to and how to make it again."""

    def __init__(self, message: str, path: Path, problem: str) -> None:
        super().__init__(message)
        self.path, self.problem = path, problem


def unreadable(path: str | os.PathLike[str], problem: str, split: str | None = None) -> UnreadableFile:
    """The error for a file that cannot be read, with what it is in its run (by the run layout above) and the fix.
    ``split``: the episode split it belongs to, where the caller knows it."""
    path = Path(path)
    parts = path.parts
    if "checkpoints" in parts[:-1]:
        at = len(parts) - 1 - parts[::-1].index("checkpoints")
        run, stage = Path(*parts[:at]), (parts[at + 1:at + 2] or ("?",))[0]
        folder = Path(*parts[:at + 3])
        if folder.name.startswith("checkpoint-"):
            what = f"the {stage} checkpoint {folder.name} of {run}"
            fix = f"delete {folder}; train --resume then continues from the checkpoint before it"
        else:
            what = f"the {stage} model of {run}"
            fix = (f"retrain it: delete {run / 'checkpoints' / stage} and the later stages' folders (trained from "
                   f"it), then run `tracer1kit train PARAMS --run-dir {run} --stage {stage} [later stages]`")
    elif "episodes" in parts[:-1]:
        at = len(parts) - 1 - parts[::-1].index("episodes")
        run, source = Path(*parts[:at]), (parts[at + 1:at + 2] or ("?",))[0]
        kind = f"{split} split" if split else "episodes"
        what = f"the {source} {kind} of {run}" + (f" (episode {path.parent.name})" if path.suffix == ".png" else "")
        command = "evaluate" if source == "eval" else "generate"
        fix = (f"delete {Path(*parts[:at + 2])} and make it again: `tracer1kit {command} PARAMS --run-dir {run}`")
    elif path.name == "params.yaml":
        what, fix = f"the params copy of {path.parent}", "delete it: the next train or run writes it again"
    elif path.name == "metrics.jsonl":
        what, fix = f"the training log of {path.parent}", "delete the line named (or the file)"
    elif path.parent.name == "reports":
        what, fix = (f"the evaluation results of {path.parent.parent}",
                     f"delete it and run `tracer1kit evaluate PARAMS --run-dir {path.parent.parent}` again")
    else:
        what, fix = "a file the kit wrote", "delete it and run the command that wrote it again"
    return UnreadableFile(f"cannot read {path} ({problem}); it is {what}: {fix}", path, problem)


def check_files(folder: str | os.PathLike[str]) -> None:
    """Raise :class:`UnreadableFile` for the first file of ``folder`` (a model or trainer checkpoint) that is cut
    short or corrupt: JSON that does not parse, a safetensors file whose header or data is incomplete, a torch
    archive without its end (all checked without loading any weights)."""
    for path in sorted(Path(folder).iterdir()):
        problem = _file_problem(path) if path.is_file() else None
        if problem:
            raise unreadable(path, problem)


def _file_problem(path: Path) -> str | None:
    if path.suffix == ".json":
        try:
            json.loads(path.read_bytes())
        except ValueError as exc:
            return f"not valid JSON: {exc}"
    elif path.suffix == ".safetensors":
        return _safetensors_problem(path)
    elif path.suffix in (".pt", ".pth", ".bin") and not zipfile.is_zipfile(path):
        return "not a complete torch archive"
    return None


def _safetensors_problem(path: Path) -> str | None:
    """The format: an 8-byte little-endian header length, a JSON header of tensors with data offsets, the data."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        length = struct.unpack("<Q", head)[0] if len(head) == 8 else None
        if length is None or 8 + length > size:
            return f"truncated safetensors header ({size} bytes)"
        try:
            header = json.loads(handle.read(length))
        except ValueError:
            return "corrupt safetensors header"
    ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__" and isinstance(t, dict)
            and isinstance(t.get("data_offsets"), list) and len(t["data_offsets"]) == 2]
    if len(ends) != len([k for k in header if k != "__metadata__"]):
        return "corrupt safetensors header"
    if 8 + length + max(ends, default=0) > size:
        return f"truncated safetensors data ({size} of {8 + length + max(ends)} bytes)"
    return None


def changed_keys(before: Any, after: Any, prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two nested mappings (missing on one side counts)."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [k for key in sorted(set(before) | set(after), key=str)
                for k in changed_keys(before.get(key), after.get(key), f"{prefix}{key}.")]
    return [] if before == after else [prefix.rstrip(".")]


def is_main_process() -> bool:
    """True in the process that writes shared files and prints (rank 0 of a launch, or the only process)."""
    from accelerate.utils import get_int_from_env

    return get_int_from_env(["RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "MV2_COMM_WORLD_RANK"], 0) == 0
