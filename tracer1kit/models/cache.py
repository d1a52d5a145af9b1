"""The kit's model cache: checkpoints built locally once (tiny, SmolLM2), then loaded like any other.

Root: ``ModelParams.cache_dir``, else ``$TRACER1KIT_CACHE``, else ``~/.cache/tracer1kit``. Each
checkpoint is built in a temporary folder beside its final place and renamed into place, so concurrent
builds never leave a half-written checkpoint: the first rename wins, later builders discard theirs. Under a
several-process launch only the main process builds (transformers' ``save_pretrained`` writes nothing on the
other ranks); the others wait for its checkpoint. An entry whose files were cut short or corrupted since is
built again, with a warning.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

from ..progress import log
from ..runs import UnreadableFile, check_files, is_main_process

MARKER = "tracer1kit-complete"


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder in use (not created)."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    env = os.environ.get("TRACER1KIT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tracer1kit"


def build_once(target: Path, build: Callable[[Path], None], wait_s: float = 1800.0) -> Path:
    """Return ``target``, first running ``build(tmp_dir)`` and renaming the result there if it is missing (on a
    replica of a several-process launch: waiting up to ``wait_s`` for the main process to do so)."""
    if _ready(target):
        return target
    if not is_main_process():
        return _wait_for(target, wait_s)
    target.parent.mkdir(parents=True, exist_ok=True)
    if (target / MARKER).exists():  # complete once, damaged since: moved out of the way at once, then rebuilt
        log.warning(f"warning: model cache: {_problem(target)}; building it again")
        bad = Path(tempfile.mkdtemp(prefix=f".{target.name}-damaged-", dir=target.parent))
        os.rename(target, bad / target.name)
        shutil.rmtree(bad, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(tmp)
        (tmp / MARKER).write_text("ok\n", encoding="utf-8")
        if target.exists() and not (target / MARKER).exists():
            shutil.rmtree(target, ignore_errors=True)  # left over from an interrupted older layout
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / MARKER).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _ready(target: Path) -> bool:
    """Whether ``target`` is a complete entry whose files can still be read."""
    return (target / MARKER).exists() and _problem(target) is None


def _problem(target: Path) -> str | None:
    try:
        check_files(target)
    except UnreadableFile as exc:
        return f"{exc.path} ({exc.problem})"
    return None


def _wait_for(target: Path, wait_s: float) -> Path:
    deadline = time.monotonic() + wait_s
    while not _ready(target):
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"model cache: waited {wait_s:.0f} s for the main process to build {target}; on a launch over "
                "several machines build it on each first, in one process: python -c \"from tracer1kit.models "
                "import resolve_checkpoint as r; r('tiny'); r('smollm2-135m')\"")
        time.sleep(0.5)
    return target
