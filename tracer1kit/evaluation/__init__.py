"""Evaluation: variants (random floor, expert ceiling, reactive K=1, SFT, Stage 1, Stage 2, full TraceR1),
ablation grids (K, γ, λ_rep) × training seeds; online success, offline step metrics, tool-use accuracy.
The orchestration is :mod:`tracer1kit.evaluation.run`; this package only hands its names on, importing it when
one is first used (so ``evaluation.variants`` and ``evaluation.stats`` load without torch)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["build_planner", "evaluate", "evaluation_key", "frozen_planner", "reuse_stages", "row_params"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module(".run", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
