"""One writer per run directory: ``RUN/.writer.lock``, held with the kernel's ``flock``.

Every command that writes a run (train, generate, evaluate, run, a writing notebook's ``setup``) takes the lock
first; a second writer is refused at once with the holder's PID, command and start time. The kernel drops an
``flock`` when its process ends, however it ends, so a killed writer never blocks the next one: the next writer
finds the dead holder's record still in the file and takes over with a warning. Reading a run never locks.

The processes a writer starts (the notebooks' kernels under ``tracer1kit run``, a shell command in a notebook)
inherit its claim through the environment and may write the same run without the lock.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator

from .progress import log

LOCK_NAME = ".writer.lock"
INHERITED = "TRACER1KIT_RUN_LOCKS"  # JSON {run root: holder PID}, set for the processes a writer starts

_held: dict[Path, tuple[int, int, bool]] = {}  # run root → (descriptor, claims in this process, created the folder)


class RunDirBusy(RuntimeError):
    """Another process is writing this run directory."""


def holder(root: str | os.PathLike[str]) -> dict[str, object] | None:
    """The record of the process that last took the lock of ``root`` (None: never taken, or released)."""
    try:
        record = json.loads((Path(root) / LOCK_NAME).read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def acquire(root: str | os.PathLike[str], command: str | None = None) -> bool:
    """Claim the run directory ``root`` for writing until :func:`release` (or the process ends). Returns whether
    this call took the lock (False: this process, or the writer that started it, already holds it). Raises
    :class:`RunDirBusy` naming the holder when another process writes there."""
    root = Path(root).resolve()
    if root in _held:
        fd, count, created = _held[root]
        _held[root] = (fd, count + 1, created)
        return False
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    try:
        fd = _locked(root / LOCK_NAME)
    except BlockingIOError:
        found = holder(root) or {}
        if str(found.get("pid")) == str(_inherited().get(str(root))):
            return False  # the writer that started this process holds it for both
        raise RunDirBusy(
            f"{root} is being written by PID {found.get('pid', '?')} ({found.get('command', 'unknown command')}, "
            f"started {found.get('started', '?')}): wait for it to finish or stop it (a notebook: shut its kernel "
            "down), or use another --run-dir") from None
    previous = holder(root)
    if previous and previous.get("pid") != os.getpid():
        log.warning(f"warning: {root}: taking over the lock of PID {previous.get('pid')} ({previous.get('command')}, "
                    f"started {previous.get('started')}), which ended without releasing it; what it was writing "
                    "may be incomplete (train --resume continues from its last checkpoint)")
    record = {"pid": os.getpid(), "command": command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
              "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)
    os.fsync(fd)
    _held[root] = (fd, 1, created)
    os.environ[INHERITED] = json.dumps({**_inherited(), str(root): os.getpid()})
    return True


def release(root: str | os.PathLike[str]) -> None:
    """Drop one claim of ``root``; the last one empties the holder record and unlocks."""
    root = Path(root).resolve()
    if root not in _held:
        return
    fd, count, created = _held.pop(root)
    if count > 1:
        _held[root] = (fd, count - 1, created)
        return
    if (holder(root) or {}).get("pid") == os.getpid():  # not in a forked child, which shares the lock
        os.ftruncate(fd, 0)
        if created and os.listdir(root) == [LOCK_NAME]:  # a refused command leaves no folder behind
            (root / LOCK_NAME).unlink()
            with suppress(OSError):  # another writer's file appeared meanwhile
                root.rmdir()
    os.close(fd)  # the last descriptor of the lock closed drops the flock
    claims = {k: v for k, v in _inherited().items() if k != str(root)}
    os.environ[INHERITED] = json.dumps(claims)


@contextmanager
def run_lock(root: str | os.PathLike[str], command: str | None = None) -> Iterator[None]:
    """Hold the write lock of ``root`` for the ``with`` block."""
    acquire(root, command)
    try:
        yield
    finally:
        release(root)


def _locked(path: Path) -> int:
    """An open descriptor of ``path`` holding its exclusive ``flock`` (``BlockingIOError`` while another holds it).
    A lock file removed by its last holder between our open and our lock is opened again."""
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if path.exists() and os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


@atexit.register
def _release_all() -> None:
    """At a normal exit (a notebook's kernel shut down), leave no record behind that would read as a crash."""
    for root in list(_held):
        _held[root] = (_held[root][0], 1, _held[root][2])
        release(root)


def _inherited() -> dict[str, int]:
    try:
        claims = json.loads(os.environ.get(INHERITED, "") or "{}")
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}
