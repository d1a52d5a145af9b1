"""Experiment trackers (``train.report_to``): TRL's own integrations, set up per stage so that each stage is one
run in the tracker (``<run_name>-<stage>``) and the kit's metrics reach the tracker beside TRL's.

What reaches a tracker: every trainer log (TRL's losses, KL, ``rewards/<term>/mean`` per reward term,
``frac_reward_zero_std``), what the kit adds to those logs (``parse_failure_rate``, ``groups/*`` of dynamic
sampling, via :class:`~tracer1kit.training.common.MetricsCallback`, which runs first so the trackers see its
additions), and the pre-pass's ``prepass/*`` counts at step 0 (``trainer.log``). TensorBoard writes
``RUN/tensorboard/<stage>``; Trackio a local project named after ``run.name`` (in ``TRACKIO_DIR``, default
``~/.cache/huggingface/trackio``; ``trackio show`` opens it).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from ..params import Params, TrainParams
from ..runs import RunDir

# The package each tracker needs (TRL's integration imports it when the trainer starts).
TRACKER_PACKAGES = {"tensorboard": "tensorboard", "trackio": "trackio", "wandb": "wandb", "mlflow": "mlflow"}


def missing_trackers(train: TrainParams) -> list[str]:
    """The trackers of ``train.report_to`` whose package is not installed here."""
    return [t for t in train.report_to if importlib.util.find_spec(TRACKER_PACKAGES[t]) is None]


def tracker_run_name(train: TrainParams, run: RunDir, stage: str) -> str:
    """A stage's run name in the trackers: ``train.run_name`` (default: the run folder's name) and the stage."""
    return f"{train.run_name or run.root.name}-{stage}"


def tracker_kwargs(params: Params, run: RunDir, stage: str) -> dict[str, Any]:
    """TRL config arguments for the trackers: ``report_to``, ``run_name`` and Trackio's ``project`` (``run.name``)."""
    return dict(report_to=list(params.train.report_to) or "none", run_name=tracker_run_name(params.train, run, stage),
                project=params.run.name)


def tensorboard_dir(run: RunDir, stage: str) -> Path:
    return run.root / "tensorboard" / stage


def attach(trainer: Any, run: RunDir, stage: str, metrics_callback: Any) -> None:
    """Put the kit's metrics callback first (its additions to a log reach the trackers, which run after it) and
    point TensorBoard at ``RUN/tensorboard/<stage>`` (unless ``TENSORBOARD_LOGGING_DIR`` chose a folder)."""
    from transformers.integrations import TensorBoardCallback

    callbacks = trainer.callback_handler.callbacks
    if metrics_callback in callbacks:
        callbacks.remove(metrics_callback)
    callbacks.insert(0, metrics_callback)
    for callback in callbacks:
        if isinstance(callback, TensorBoardCallback) and callback.logging_dir is None:
            callback.logging_dir = str(tensorboard_dir(run, stage))

