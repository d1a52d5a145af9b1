"""Progress lines on the ``tracer1kit`` logger: what a long job is doing now and how long it has left.

Training stages, evaluation rows and the notebook runner report here; ``show_progress()`` (called by the command
line and by ``notebook.setup``) prints them on stderr, in the main process only, so `make demo` and a notebook
show live progress and papermill streams it to the terminal.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence

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


class KindProgress:
    """Progress over items of unequal cost (evaluation rows that run a model against scripted ones): an item's
    expected time is the mean time of the finished items of its kind, and a kind not yet timed is said, not
    guessed: ``evaluations: row 2/4 (50%) in 3 s, about 1 s left + 2 model rows not yet timed``."""

    def __init__(self, what: str, kinds: Sequence[str], unit: str = "row") -> None:
        self.what, self.kinds, self.unit = what, list(kinds), unit
        self.times: dict[str, list[float]] = {}
        self.done = 0

    def finished(self, kind: str, seconds: float) -> None:
        """Count one finished item of ``kind`` that took ``seconds`` and log where the whole job stands."""
        self.times.setdefault(kind, []).append(seconds)
        self.done += 1
        left = self.kinds[self.done:]
        known = sum(sum(self.times[k]) / len(self.times[k]) for k in left if k in self.times)
        untimed = {k: left.count(k) for k in dict.fromkeys(left) if k not in self.times}
        parts = [f"about {duration(known)} left"] if len(left) > sum(untimed.values()) else []
        parts += [f"{n} {k} {self.unit}{'s' if n > 1 else ''} not yet timed" for k, n in untimed.items()]
        eta = ", " + " + ".join(parts) if parts else ""
        total = len(self.kinds)
        log.info(f"{self.what}: {self.unit} {self.done}/{total} ({self.done / max(1, total):.0%}) "
                 f"in {duration(seconds)}{eta}")
