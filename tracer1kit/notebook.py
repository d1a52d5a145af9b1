"""What the notebooks call beyond the library's own functions: the first cell's setup and the planners they show.

Every notebook starts with::

    from tracer1kit.notebook import setup
    params, run = setup(params_path, run_dir)

Importing this module loads neither torch nor transformers (the functions that train or load a model import
them when called), so a notebook that only shows a run's results starts in about a second.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .evaluation.variants import main_training_dir, plan_evaluations, training_dir
from .params import Params, load_params
from .progress import show_progress
from .runlock import acquire
from .runs import RunDir
from .training.preflight import STAGES
from .viz.figures import use_notebook_renderer


def setup(params_path: str | os.PathLike[str], run_dir: str | os.PathLike[str], *,
          write: bool = True) -> tuple[Params, RunDir]:
    """The validated params and the run directory (created if missing); never touches a model hub; the kit's
    progress lines (training steps, evaluation rows) show under the cells; figures also carry HTML so exported
    notebooks show them. ``write``: hold the run's write lock while the kernel runs (refused while another
    process writes there); a notebook that only reads the run passes False."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(name, "1")
    show_progress()
    use_notebook_renderer()
    params = load_params(params_path)
    run = RunDir.create(run_dir)
    if write:
        acquire(run.root, f"notebook setup with {params_path}")
    print(f"params: {params_path}  run: {run.root}")
    return params, run


def train_main(params: Params, run: RunDir, stages: Sequence[str] = STAGES) -> RunDir:
    """Train the run's main configuration (the evaluation's full TraceR1 row) into its training folder on the
    run's own expert data, which evaluation reuses (generated once per run directory); a finished stage is
    skipped. Prints one line per stage and returns the training folder."""
    from .domains.data import ensure_expert_data
    from .training.pipeline import train

    main = RunDir(main_training_dir(params, run.root))
    for line in train(params, main.root, stages=stages, episodes_root=ensure_expert_data(params, run)):
        print(line)
    return main


def main_checkpoint(params: Params, run: RunDir, stage: str = "stage2") -> Path | None:
    """The final model of ``stage`` in the run's main training (the unmodified params), if it was trained."""
    from .training.common import final_dir

    path = final_dir(RunDir(main_training_dir(params, run.root)), stage)
    return path if path.exists() else None


def main_planner(params: Params, run: RunDir, stage: str = "stage2", *, horizon: int | None = None) -> Any:
    """A frozen planner over the main training's ``stage`` model, or over the untrained ``params.model`` when that
    stage was not trained here; ``horizon`` overrides the params' K."""
    from .evaluation.run import frozen_planner

    checkpoint = main_checkpoint(params, run, stage)
    if horizon is not None:
        params = params.model_copy(update={"planner": params.planner.model_copy(update={"horizon": horizon})})
    return frozen_planner(str(checkpoint) if checkpoint is not None else params.model.spec, params)


def trainings(params: Params, run: RunDir) -> dict[str, RunDir]:
    """The evaluation's training sub-runs that exist in ``run``, each named by the variants it serves
    (``sft, stage1, tracer1 (seed 0)``): what the study's training curves are read from."""
    served: dict[Any, list[str]] = {}
    for ev in plan_evaluations(params):
        if ev.training is not None:
            served.setdefault(ev.training, []).append(ev.variant if not ev.grid else f"{ev.grid} {ev.grid_value:g}")
    found = {}
    for training, names in served.items():
        folder = training_dir(run.root, training)
        if folder.exists():
            found[f"{', '.join(dict.fromkeys(names))} (seed {training.seed})"] = RunDir(folder)
    return found
