"""Progress lines on the ``tracer1kit`` logger: what a long job is doing now and how long it has left.

Training stages, evaluation rows and the notebook runner report here; ``show_progress()`` (called by the command
line and by ``notebook.setup``) prints them on stderr, in the main process only, so `make demo` and a notebook
show live progress and papermill streams it to the terminal.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
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
    """Progress over items of unequal cost (training stages of so many steps, evaluation rows that run a model
    against scripted ones): an item's expected time is its units times the mean time per unit of the finished
    items of its kind, and a kind not yet timed is said, not guessed:
    ``evaluate: part 2/4 (50%) in 3 s, about 1 s left + 2 model rows not yet timed``. A kind names its
    items (``model row``, ``SFT training``); an item is a kind or (kind, units), e.g. an SFT training of 300 steps."""

    def __init__(self, what: str, kinds: Sequence[str | tuple[str, int]], unit: str = "part") -> None:
        self.what, self.unit = what, unit
        self.items = [(k, 1) if isinstance(k, str) else (k[0], k[1]) for k in kinds]
        self.seconds: dict[str, float] = {}
        self.units: dict[str, int] = {}
        self.done = 0

    def finished(self, kind: str, seconds: float) -> None:
        """Count the next item (of ``kind``) as finished in ``seconds`` and log where the whole job stands."""
        units = self.items[self.done][1] if self.done < len(self.items) else 1
        self.seconds[kind] = self.seconds.get(kind, 0.0) + seconds
        self.units[kind] = self.units.get(kind, 0) + units
        self.done += 1
        left = self.items[self.done:]
        known = sum(n * self.seconds[k] / max(1, self.units[k]) for k, n in left if k in self.units)
        untimed = Counter(k for k, _ in left if k not in self.units)
        parts = [f"about {duration(known)} left"] if len(left) > sum(untimed.values()) else []
        parts += [f"{n} {k}{'s' if n > 1 else ''} not yet timed" for k, n in untimed.items()]
        eta = ", " + " + ".join(parts) if parts else ""
        total = len(self.items)
        log.info(f"{self.what}: {self.unit} {self.done}/{total} ({self.done / max(1, total):.0%}) "
                 f"in {duration(seconds)}{eta}")
