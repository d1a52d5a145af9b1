"""Which trainings the variants and ablation grids need, deduplicated, each in its own sub-run.

A training configuration is a set of dotted-key overrides of the run's params (e.g. ``planner.horizon=1``
for the reactive baseline, ``train.stage1.enabled=false`` for Stage-2-only, ``reward.gamma=1.0`` for a γ
grid point) plus a training seed. Identical configurations share one sub-run, so the K-grid's K = 1 is the
reactive variant's training and the default grid points are the main run's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..params import EvalParams, Params, with_overrides
from ..training.preflight import STAGES

TRAINED_VARIANTS: dict[str, tuple[dict[str, Any], str]] = {
    "sft": ({}, "sft"),
    "stage1": ({}, "stage1"),
    "tracer1": ({}, "stage2"),
    "stage2": ({"train.stage1.enabled": False}, "stage2"),
    "reactive": ({"planner.horizon": 1}, "stage2"),
    # Stage 2 against the strict executor of every domain (the GUI grounder and the grid executor)
    "strict": ({"grounded.grounder.kind": "strict", "grid.executor.kind": "strict"}, "stage2"),
    "think": ({"planner.think": "forecast"}, "sft"),              # SFT targets reason about the coming steps first
}
SCRIPTED_VARIANTS = ("random", "expert", "base")  # base: the untrained model of params.model
GRIDS = {"horizon": "planner.horizon", "gamma": "reward.gamma", "repetition": "reward.weights.repetition"}


@dataclass(frozen=True)
class Training:
    """One training configuration: overrides of the base params and a seed."""

    overrides: tuple[tuple[str, Any], ...]
    seed: int

    @property
    def name(self) -> str:
        digest = hashlib.sha256(json.dumps(self.overrides).encode()).hexdigest()[:8] if self.overrides else "base"
        return f"{digest}-s{self.seed}"

    def params(self, base: Params) -> Params:
        return with_overrides(base, {**dict(self.overrides), "run.seed": self.seed})


@dataclass(frozen=True)
class Evaluation:
    """One row of the results: a variant (or grid point) evaluated from a training's checkpoint."""

    variant: str
    training: Training | None
    checkpoint: str | None       # "sft" / "stage1" / "stage2"
    grid: str = ""               # "" for the variants table, else "horizon" / "gamma" / "repetition"
    grid_value: float | None = None
    seed: int = 0


def _value(params: Params, dotted: str) -> Any:
    node: Any = params
    for key in dotted.split("."):
        node = getattr(node, key)
    return node


def grid_bases(params: Params) -> dict[str, float]:
    """Each grid's base point: the params' own value of the key it varies (``horizon`` → ``planner.horizon``)."""
    return {grid: float(_value(params, key)) for grid, key in GRIDS.items()}


def _training(base: Params, overrides: dict[str, Any], seed: int) -> Training:
    """Drop overrides equal to the base value so equal configurations coincide."""
    kept = tuple(sorted((k, v) for k, v in overrides.items() if _value(base, k) != v))
    return Training(kept, seed)


def check_variant_names(eval_params: EvalParams) -> None:
    """``ValueError`` naming the key when ``eval.variants`` or ``eval.contrasts`` names an unknown variant."""
    known = SCRIPTED_VARIANTS + tuple(TRAINED_VARIANTS)
    named = [("eval.variants", v) for v in eval_params.variants] + [
        ("eval.contrasts", v) for pair in eval_params.contrasts for v in pair]
    for key, variant in named:
        if variant not in known:
            raise ValueError(f"{key}: unknown variant '{variant}' (allowed: {', '.join(known)})")


def plan_evaluations(base: Params) -> list[Evaluation]:
    """Every evaluation the params ask for: the variants × training seeds, then each grid × seeds."""
    check_variant_names(base.eval)
    evals: list[Evaluation] = []
    for seed in base.eval.training_seeds:
        for variant in base.eval.variants:
            if variant in SCRIPTED_VARIANTS:
                if seed == base.eval.training_seeds[0]:
                    evals.append(Evaluation(variant, None, None, seed=seed))
                continue
            overrides, checkpoint = TRAINED_VARIANTS[variant]
            evals.append(Evaluation(variant, _training(base, overrides, seed), checkpoint, seed=seed))
        for grid, values in (("horizon", base.eval.horizons), ("gamma", base.eval.gammas),
                             ("repetition", base.eval.repetition_weights)):
            if len(values) < 2:
                continue
            for value in values:
                training = _training(base, {GRIDS[grid]: value}, seed)
                evals.append(Evaluation("tracer1", training, "stage2", grid, float(value), seed))
    return evals


def trainings_needed(evals: list[Evaluation]) -> dict[Training, set[str]]:
    """Each distinct training and the stages it must run (Stage-2-only skips Stage 1 by its overrides)."""
    needed: dict[Training, set[str]] = {}
    for ev in evals:
        if ev.training is None:
            continue
        stages = needed.setdefault(ev.training, set())
        stages.update(_stages_up_to(ev.checkpoint))
    return needed


def training_names(evals: list[Evaluation]) -> dict[Training, str]:
    """Each training named by the rows it serves, as the report names them: ``sft, stage1, tracer1 (seed 0)``,
    ``horizon 1 (seed 0)`` (a training's folder name is only a digest of its overrides)."""
    served: dict[Training, list[str]] = {}
    for ev in evals:
        if ev.training is not None:
            served.setdefault(ev.training, []).append(ev.variant if not ev.grid else f"{ev.grid} {ev.grid_value:g}")
    return {training: f"{', '.join(dict.fromkeys(names))} (seed {training.seed})" for training, names in served.items()}


def _stages_up_to(checkpoint: str | None) -> set[str]:
    return set(STAGES[: STAGES.index(checkpoint) + 1]) if checkpoint else set()


# Params a stage (and the stages before it) does not read: trainings that differ only in these share its model.
NOT_READ_UP_TO = {"sft": ("train.stage1.", "train.stage2.", "reward.", "grounded.", "grid.executor."),
                  "stage1": ("train.stage2.", "grounded.", "grid.executor.")}  # the grid executor: Stage 2's judge


def same_until(a: Training, b: Training, stage: str) -> bool:
    """Whether two trainings compute the same model up to ``stage`` (``sft`` or ``stage1``): same seed, overrides
    equal beyond the keys those stages do not read."""
    ignored = NOT_READ_UP_TO[stage]

    def part(t: Training) -> tuple:
        return tuple((k, v) for k, v in t.overrides if not k.startswith(ignored))

    return a.seed == b.seed and part(a) == part(b)


def training_dir(root: Path, training: Training) -> Path:
    return root / "trainings" / training.name


def main_training_dir(eval_params: EvalParams, root: Path) -> Path:
    """The sub-run of the unmodified params (the full TraceR1 training the notebooks show): the first training seed's."""
    return training_dir(root, Training((), eval_params.training_seeds[0]))
