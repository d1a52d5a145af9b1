"""Evaluation: variants (random floor, expert ceiling, reactive K=1, SFT, Stage 1, Stage 2, full TraceR1),
ablation grids (K, γ, λ_rep) × training seeds; online success, offline step metrics, tool-use accuracy.
The orchestration is :mod:`tracer1kit.evaluation.run`; this package only hands its names on."""

from .run import build_planner, evaluate, evaluation_key, frozen_planner, reuse_sft, row_params

__all__ = ["build_planner", "evaluate", "evaluation_key", "frozen_planner", "reuse_sft", "row_params"]
