"""Stage 1: trajectory-level GRPO, rewarding the whole forecast against the reference trajectory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..params import Params
from ..rewards import score_text, stage1_reward_funcs
from ..runs import RunDir
from .grpo import record_samples, run_grpo_stage
from .stage import StageResult


def stage1_rewards(params: Params, run: RunDir) -> tuple[list, list[float]]:
    """The Stage-1 reward terms as TRL reward functions (each logged separately), sampling completions to the run."""
    funcs, weights = stage1_reward_funcs(params.reward)

    def describe(text: str, i: int, reference: list[str], **_: Any) -> dict[str, float]:
        breakdown = score_text(text, reference[i], params.reward)
        return {**breakdown.terms, "total": breakdown.total}

    funcs[0] = record_samples(funcs[0], run, "stage1", params.train.stage1.sample_every, describe)
    return funcs, weights


def train_stage1(params: Params, run: RunDir, dataset: Any, init_from: str | Path, *,
                 resume: bool = False) -> StageResult:
    funcs, weights = stage1_rewards(params, run)
    return run_grpo_stage("stage1", params, run, dataset, funcs, weights, init_from, resume=resume)
