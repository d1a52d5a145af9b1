"""What the notebooks call beyond the library's own functions: the first cell's setup and the planners they show.

Every notebook starts with::

    from tracer1kit.notebook import setup
    params, run = setup(params_path, run_dir)

Relative paths in that cell work from the project root as well as from ``notebooks/`` (:func:`project_path`), and
a params file that is missing or invalid is one line under the cell, not a traceback.

Importing this module loads neither torch nor transformers (the functions that train or load a model import
them when called), so a notebook that only shows a run's results starts in about a second.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .evaluation.variants import Training, main_training_dir, plan_evaluations, training_dir, training_names
from .notebook_runner import NOTEBOOKS_DIR
from .params import Params, ParamsError, load_params
from .progress import show_progress
from .runlock import acquire
from .runs import RunDir
from .training.preflight import STAGES
from .viz.figures import use_notebook_renderer


class SetupError(ValueError):
    """A notebook's parameters cell names a params file that cannot be used: shown as its one-line message."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"\x1b[31m{type(self).__name__}: {self}\x1b[0m"]


def project_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as the user meant it: absolute, or relative to the working directory, except that a relative path
    landing inside ``notebooks/`` where nothing exists is taken from the project root (``notebooks/`` holds only
    notebooks, so ``params/ci.yaml`` typed there means the project's ``params/``)."""
    given = Path(path).expanduser()
    here = (Path.cwd() / given).resolve()
    if given.is_absolute() or here.exists() or not here.is_relative_to(NOTEBOOKS_DIR):
        return here
    return (NOTEBOOKS_DIR.parent / given).resolve()


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
    params_file = project_path(params_path)
    try:
        params = load_params(params_file)
    except ParamsError as exc:
        raise SetupError(f"params_path = {str(params_path)!r}: {exc}") from None
    run = RunDir.create(project_path(run_dir))
    if write:
        acquire(run.root, f"notebook setup with {params_path}")
    print(f"params: {params_file}  run: {run.root}")
    return params, run


def excerpt(text: str, lines: int = 3, width: int = 100) -> str:
    """A model's raw output shortened for a reader: runs of spaces and blank lines collapsed, at most ``lines`` lines
    of at most ``width`` characters (``…`` where cut), then its length in brackets."""
    rows = [" ".join(row.split()) for row in text.splitlines()]
    rows = [row if len(row) <= width else row[:width - 1] + "…" for row in rows if row]
    shown = rows[:lines] + (["…"] if len(rows) > lines else [])
    size = f"{len(rows)} non-blank lines" if rows else "all blank"
    return "\n".join(shown + [f"[{len(text)} characters, {size}]"])


def train_main(params: Params, run: RunDir, stages: Sequence[str] = STAGES) -> RunDir:
    """Train the run's main configuration (the evaluation's full TraceR1 row) into its training folder on the
    run's own expert data, which evaluation reuses (generated once per run directory); a finished stage is
    skipped. Prints one line per stage and returns the training folder."""
    from .domains.data import ensure_expert_data
    from .training.pipeline import train

    main = RunDir(main_training_dir(params.eval, run.root))
    names = training_names(plan_evaluations(params))
    name = names.get(Training((), params.eval.training_seeds[0]), "the params as given")
    print(f"training {name} into {main.root}")
    for line in train(params, main.root, stages=stages, episodes_root=ensure_expert_data(params, run)):
        print(line)
    return main


def main_checkpoint(params: Params, run: RunDir, stage: str = "stage2") -> Path | None:
    """The final model of ``stage`` in the run's main training (the unmodified params), if it was trained."""
    from .training.common import final_dir

    path = final_dir(RunDir(main_training_dir(params.eval, run.root)), stage)
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
    found = {}
    for training, name in training_names(plan_evaluations(params)).items():
        folder = training_dir(run.root, training)
        if folder.exists():
            found[name] = RunDir(folder)
    return found
