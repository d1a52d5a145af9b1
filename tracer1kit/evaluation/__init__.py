"""Evaluation: variants (random floor, expert ceiling, reactive K=1, SFT, Stage 1, Stage 2, full TraceR1),
ablation grids (K, γ, λ_rep) × training seeds; online success, offline step metrics, tool-use accuracy.
The orchestration is :mod:`tracer1kit.evaluation.run`, the evaluation cache :mod:`tracer1kit.evaluation.store`;
this package only hands their names on, importing a module when one of its names is first used (so
``evaluation.variants``, ``evaluation.stats`` and the cache load without torch)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["build_planner", "evaluate", "evaluation_key", "frozen_planner", "reuse_stages", "row_params",
           "stored_evaluations"]
_IN_STORE = {"evaluation_key", "row_params", "stored_evaluations"}  # the rest live in .run


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module(".store" if name in _IN_STORE else ".run", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
