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
line per ``write`` call; a reader ignores a torn final line and the next append repairs it.
"""

from __future__ import annotations

import json
import os
import tempfile
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
    """Append one JSON line with a single ``write``; first drop a torn tail left by a killed writer."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, default=_json_default) + "\n").encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
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
    """Yield the complete records of a JSONL file, skipping a torn final line."""
    path = Path(path)
    if not path.exists():
        return
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                return
            if raw.strip():
                yield json.loads(raw)


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

    def log_metrics(self, record: dict[str, Any]) -> None:
        append_jsonl(self.metrics_path, record)

    def metrics(self, stage: str | None = None) -> list[dict[str, Any]]:
        rows = list(read_jsonl(self.metrics_path))
        return [r for r in rows if stage is None or r.get("stage") == stage]


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
