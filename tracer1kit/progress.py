"""Progress lines on the ``tracer1kit`` logger: what a long job is doing now and how long it has left.

Training stages, evaluation rows and the notebook runner report here; ``show_progress()`` (called by the command
line and by ``notebook.setup``) prints them on stderr, in the main process only, so `make demo` and a notebook
show live progress and papermill streams it to the terminal.
"""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("tracer1kit")


def show_progress(main_process: bool = True) -> None:
    """Print the kit's INFO lines (progress, stage starts) on stderr, once, in the main process only."""
    if not main_process or any(getattr(h, "tracer1kit", False) for h in log.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.tracer1kit = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def duration(seconds: float) -> str:
    """``42 s`` / ``3 min 05 s`` / ``1 h 02 min``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """At most one line per ``every_s`` seconds (and one at the end):
    ``sft: step 40/300 (13%), 1.2 s/step, about 5 min 12 s left``."""

    def __init__(self, what: str, every_s: float = 30.0) -> None:
        self.what, self.every_s = what, every_s
        self.start = self.last = time.monotonic()
        self.first: int | None = None

    def update(self, done: int, total: int, unit: str = "step") -> None:
        now = time.monotonic()
        if self.first is None:
            self.first, self.start = done - 1, self.last  # a resumed job counts its pace from where it resumed
        if now - self.last < self.every_s and done < total:
            return
        self.last = now
        pace = (now - self.start) / max(1, done - self.first)
        left = f", about {duration(pace * (total - done))} left" if done < total else ""
        log.info(f"{self.what}: {unit} {done}/{total} ({done / max(1, total):.0%}), {pace:.1f} s/{unit}{left}")
