"""The kit's model cache: checkpoints built locally once (tiny, SmolLM2), then loaded like any other.

Root: ``ModelParams.cache_dir``, else ``$TRACER1KIT_CACHE``, else ``~/.cache/tracer1kit``. Each
checkpoint is built in a temporary folder beside its final place and renamed into place, so concurrent
builds never leave a half-written checkpoint: the first rename wins, later builders discard theirs. Under a
several-process launch only the main process builds (transformers' ``save_pretrained`` writes nothing on the
other ranks); the others wait for its checkpoint.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable

from ..runs import is_main_process

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
    if (target / MARKER).exists():
        return target
    if not is_main_process():
        return _wait_for(target, wait_s)
    target.parent.mkdir(parents=True, exist_ok=True)
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


def _wait_for(target: Path, wait_s: float) -> Path:
    deadline = time.monotonic() + wait_s
    while not (target / MARKER).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"model cache: waited {wait_s:.0f} s for the main process to build {target}; on a launch over "
                "several machines build it on each first, in one process: python -c \"from tracer1kit.models "
                "import resolve_checkpoint as r; r('tiny'); r('smollm2-135m')\"")
        time.sleep(0.5)
    return target
