"""The evaluation cache, ``RUN/reports/evaluations.jsonl``: one line per evaluation, its key and its records.
Reading it needs neither torch nor a browser, so a notebook that only shows results imports this module alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..episodes import variant_label
from ..params import Params
from ..runs import RunDir, read_jsonl
from .variants import Evaluation, plan_evaluations

KEY_EXCLUDES = {"run": {"name", "notebooks"},
                "eval": {"variants", "horizons", "gammas", "repetition_weights", "training_seeds", "workers",
                         "contrasts"}}
CACHE = "evaluations.jsonl"  # one line per evaluation: its key and its records


def row_params(ev: Evaluation, params: Params) -> Params:
    """A row's training params (its horizon, model) with the evaluation's reward, so the γ and λ_rep grid
    points, trained under different rewards, are scored by the same one."""
    trained = ev.training.params(params) if ev.training is not None else params
    return trained.model_copy(update={"reward": params.reward})


def evaluation_key(ev: Evaluation, params: Params) -> str:
    """Identifies what an evaluation computes: the planner (a scripted variant, or a training's checkpoint) and
    every param it is evaluated with — not its row's name, so a grid point that is a variant of the table (K = 1
    and the reactive variant, the default γ and the full TraceR1) is evaluated once and shown in both places."""
    planner = ev.variant if ev.training is None else [list(map(list, ev.training.overrides)), ev.checkpoint]
    return json.dumps([planner, ev.seed, row_params(ev, params).model_dump(mode="json", exclude=KEY_EXCLUDES)],
                      sort_keys=True)


def identity(ev: Evaluation) -> dict[str, Any]:
    """The row an evaluation's records belong to."""
    return {"variant": ev.variant, "grid": ev.grid, "grid_value": ev.grid_value, "seed": ev.seed,
            "label": variant_label(ev.variant, ev.seed, ev.grid, ev.grid_value)}


def read_cache(path: Path) -> dict[str, dict[str, Any]]:
    """Every cached evaluation's records by its key (empty when the file does not exist yet)."""
    return {r["key"]: r["evaluation"] for r in read_jsonl(path) if "evaluation" in r}


def stored_evaluations(params: Params, run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of every evaluation ``params`` asks for, read from the run's cache without computing or
    writing anything; ``FileNotFoundError`` says which are missing and how to compute them."""
    cache = read_cache(RunDir(Path(run_dir)).reports_dir / CACHE)
    evals = plan_evaluations(params)
    keys = [evaluation_key(ev, params) for ev in evals]
    missing = [ev for ev, key in zip(evals, keys) if key not in cache]
    if missing:
        names = ", ".join(sorted({f"{ev.variant}-s{ev.seed}" for ev in missing}))
        raise FileNotFoundError(f"{len(missing)} of {len(evals)} evaluations of these params are not in {run_dir} "
                                f"({names}): run `tracer1kit evaluate PARAMS --run-dir {run_dir}` (or notebook 00) first")
    return [{**cache[key], **identity(ev)} for ev, key in zip(evals, keys)]
