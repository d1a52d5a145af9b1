"""The checks on training input that need no data, model or browser, so that a bad params file fails in seconds.

``tracer1kit check`` runs :func:`preflight` (for every training the evaluation plans as well) and ``train`` runs
:func:`check_training_input` before it generates any expert data; both call the same checks, so they cannot
drift. Episode lengths come from the measured ``LONGEST_EPISODE`` of each MiniWoB++ task and the tool-use
expert's longest path; once the expert data exists, ``check_horizon`` runs again on the real episodes.
This module imports nothing heavy (no torch, no transformers): ``check`` stays fast.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable, Sequence

from ..envs.tooluse import KINDS
from ..experts.lengths import LONGEST_EPISODE
from ..params import STAGES, GrpoParams, Params, Stage


# The longest successful tool-use expert episode (experts/tooluse.py): OCR, a zoom when the first reading
# fails, the computing tool, the answer; without the zoom 3 steps. Measured over seeds 0-49 of the three kinds
# (2-core VM): 5 of 50 episodes took 4 steps (receipt_tip seeds 12, 27, 42, 48; sign_convert seed 17).
TOOL_USE_LONGEST_EPISODE = 4


class TrainingInputError(ValueError):
    """Bad training input, found before any training step runs."""


def check_group_size(stage: str, cfg: GrpoParams) -> None:
    batch = cfg.per_device_batch_size * cfg.gradient_accumulation_steps
    if batch % cfg.num_generations:
        raise TrainingInputError(
            f"train.{stage}: per_device_batch_size × gradient_accumulation_steps = {batch} is not divisible by "
            f"num_generations = {cfg.num_generations}; set per_device_batch_size to a multiple of {cfg.num_generations}")


def check_trackers(params: Params) -> None:
    from .tracking import missing_trackers

    missing = missing_trackers(params)
    if missing:
        raise TrainingInputError(
            f"train.report_to: {', '.join(missing)} not installed here; pip install {' '.join(missing)} "
            "(tensorboard and trackio come with pip install 'tracer1kit[track]'), or remove them from train.report_to")


def check_vllm_device(stage: Stage, params: Params) -> None:
    """vLLM generation runs on CUDA GPUs only (TRL's ``use_vllm``, ``vllm_mode`` and importance-sampling options)."""
    if params.train.grpo(stage).use_vllm and params.model.device == "cpu":
        raise TrainingInputError(f"train.{stage}.use_vllm: vLLM generation needs a CUDA GPU and model.device is cpu; "
                                 "set model.device: cuda on a GPU machine, or use_vllm: false")


def check_init_from(stage: str, path: str | None) -> None:
    if path is not None and not Path(path).exists():
        raise TrainingInputError(
            f"train.{stage}.init_from: checkpoint {path} does not exist; train the earlier stage first "
            f"or point init_from at a saved model folder")


def check_horizon(params: Params, longest_episode: int, which: str = "") -> None:
    """``planner.horizon`` against the longest training episode (``which``: what it is, for the message)."""
    if params.planner.horizon > longest_episode:
        raise TrainingInputError(
            f"planner.horizon = {params.planner.horizon} is larger than the longest training episode "
            f"({longest_episode} steps{': ' + which if which else ''}); lower planner.horizon to at most "
            f"{longest_episode} or train on longer tasks")


def check_task_names(params: Params) -> None:
    unknown = [t for t in (*params.env.tasks, *params.env.heldout_tasks) if t not in LONGEST_EPISODE]
    if unknown:
        raise TrainingInputError(
            f"env.tasks / env.heldout_tasks: no scripted expert for {', '.join(map(repr, unknown))}; "
            f"supported tasks: {', '.join(sorted(LONGEST_EPISODE))}")


def check_tool_kinds(params: Params) -> None:
    if not params.tooluse.enabled:
        return
    unknown = [k for k in params.tooluse.kinds if k not in KINDS]
    if unknown or not params.tooluse.kinds:
        problem = f"unknown kind {', '.join(map(repr, unknown))}" if unknown else "no kinds listed"
        raise TrainingInputError(f"tooluse.kinds: {problem}; list some of {', '.join(KINDS)} "
                                 "or set tooluse.enabled: false")


def check_some_training(params: Params) -> None:
    gui = bool(params.env.tasks and params.env.train_seeds)
    tool = bool(params.tooluse.enabled and params.tooluse.train_seeds)
    if not gui and not tool:
        raise TrainingInputError("no training episodes: set env.tasks and env.train_seeds, or enable tooluse "
                                 "with tooluse.train_seeds")


def training_lengths(params: Params) -> dict[str, int]:
    """The longest expert episode, in steps, of each training task (``env.tasks``, tool use when enabled);
    the task names must be known (:func:`check_task_names`, :func:`check_tool_kinds`)."""
    lengths = {task: LONGEST_EPISODE[task] for task in params.env.tasks}
    if params.tooluse.enabled:
        lengths.update({f"tool use ({kind})": TOOL_USE_LONGEST_EPISODE for kind in params.tooluse.kinds})
    return lengths


def check_env_max_steps(params: Params) -> None:
    """Room in ``env.max_steps`` for each MiniWoB++ task's longest expert episode."""
    short = [f"{task} ({LONGEST_EPISODE[task]} steps)" for task in (*params.env.tasks, *params.env.heldout_tasks)
             if LONGEST_EPISODE[task] > params.env.max_steps]
    if short:
        raise TrainingInputError(f"env.max_steps = {params.env.max_steps} is less than the longest expert episode of "
                                 f"{', '.join(short)}: those episodes would end unfinished; raise env.max_steps")


def check_tool_max_steps(params: Params) -> None:
    """Room in ``tooluse.max_steps`` for the longest tool-use expert episode."""
    if params.tooluse.enabled and params.tooluse.max_steps < TOOL_USE_LONGEST_EPISODE:
        raise TrainingInputError(f"tooluse.max_steps = {params.tooluse.max_steps} is less than the longest tool-use "
                                 f"expert episode ({TOOL_USE_LONGEST_EPISODE} steps); raise tooluse.max_steps")


def check_known_horizon(params: Params) -> None:
    """``planner.horizon`` against the longest expert episode the training tasks are known to have."""
    lengths = training_lengths(params)
    if lengths:
        task, longest = max(lengths.items(), key=lambda item: item[1])
        check_horizon(params, longest, f"{task}, the longest expert episode known for the training tasks")


def preflight(params: Params, stages: Sequence[str] = STAGES) -> list[str]:
    """Every problem with the training input that the params alone decide (empty: none), for ``stages``."""
    names = [partial(check_task_names, params), partial(check_tool_kinds, params)]
    problems = [problem for check in names for problem in _fails(check)]
    enabled = [s for s in STAGES if s in stages and params.train.stage(s).enabled]
    checks: list[Callable[[], None]] = [partial(check_init_from, s, params.train.stage(s).init_from) for s in enabled]
    checks += [partial(check_group_size, s, params.train.grpo(s)) for s in enabled if s != "sft"]
    checks += [partial(check_vllm_device, s, params) for s in enabled if s != "sft"]
    checks.append(partial(check_trackers, params))
    checks.append(partial(check_some_training, params))
    if not problems:  # lengths are known for known tasks only
        checks += [partial(check, params) for check in (check_env_max_steps, check_tool_max_steps, check_known_horizon)]
    return problems + [problem for check in checks for problem in _fails(check)]


def check_training_input(params: Params, stages: Sequence[str] = STAGES) -> None:
    """Raise one :class:`TrainingInputError` listing every :func:`preflight` problem."""
    problems = preflight(params, stages)
    if problems:
        raise TrainingInputError("\n".join(problems))


def _fails(check: Callable[[], None]) -> list[str]:
    try:
        check()
    except TrainingInputError as exc:
        return [str(exc)]
    return []
