"""The checks on training input that need no data, model or browser, so that a bad params file fails in seconds.

``tracer1kit check`` runs :func:`preflight` (for every training the evaluation plans as well) and ``train`` runs
:func:`check_training_input` before it generates any expert data; both call the same checks, so they cannot
drift. Each domain checks its own part of the params and knows its tasks' measured longest expert episodes
(``Domain.problems``, ``Domain.lengths``); once the expert data exists, ``check_horizon`` runs again on the real
episodes.
This module imports nothing heavy (no torch, no transformers): ``check`` stays fast.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable, Sequence

from ..domains.registry import active
from ..params import STAGES, GrpoParams, Params, Stage, TrainParams


class TrainingInputError(ValueError):
    """Bad training input, found before any training step runs."""


def check_group_size(stage: str, cfg: GrpoParams) -> None:
    batch = cfg.per_device_batch_size * cfg.gradient_accumulation_steps
    if batch % cfg.num_generations:
        raise TrainingInputError(
            f"train.{stage}: per_device_batch_size × gradient_accumulation_steps = {batch} is not divisible by "
            f"num_generations = {cfg.num_generations}; set per_device_batch_size to a multiple of {cfg.num_generations}")


def check_trackers(train: TrainParams) -> None:
    from .tracking import missing_trackers

    missing = missing_trackers(train)
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


def check_horizon(horizon: int, longest_episode: int, which: str = "") -> None:
    """The planner's ``horizon`` against the longest training episode (``which``: what it is, for the message)."""
    if horizon > longest_episode:
        raise TrainingInputError(
            f"planner.horizon = {horizon} is larger than the longest training episode "
            f"({longest_episode} steps{': ' + which if which else ''}); lower planner.horizon to at most "
            f"{longest_episode} or train on longer tasks")


def plan_token_caps(params: Params, stages: Sequence[str] = STAGES) -> dict[str, int]:
    """Every token cap that cuts a generated plan: evaluation's and each enabled GRPO stage's sampling."""
    caps = {"planner.max_new_tokens": params.planner.max_new_tokens}
    caps.update({f"train.{s}.max_completion_length": params.train.grpo(s).max_completion_length
                 for s in stages if s != "sft" and params.train.stage(s).enabled})
    return caps


def check_plan_tokens(lengths: Sequence[int], caps: dict[str, int], horizon: int) -> None:
    """The reference plans' token ``lengths`` against every cap: a plan cut at its cap cannot be parsed, so a cap
    below the references trains and evaluates a planner that cannot write its own plans."""
    if not lengths:
        return
    longest = max(lengths)
    short = {name: cap for name, cap in caps.items() if cap < longest}
    if short:
        over = sum(length > min(short.values()) for length in lengths)
        raise TrainingInputError(
            f"{', '.join(f'{name} = {cap}' for name, cap in short.items())}: {over} of {len(lengths)} reference "
            f"plans at planner.horizon = {horizon} are longer (the longest {longest} tokens, mean "
            f"{sum(lengths) / len(lengths):.0f}), so those plans would be cut and unparsable; raise "
            f"{' and '.join(short)} to at least {longest}, or lower planner.horizon")


def check_some_training(params: Params) -> None:
    if not any(domain.jobs(params, "train") for domain in active(params)):
        raise TrainingInputError("no training episodes: list training tasks and train seeds for a domain "
                                 "(env.tasks and env.train_seeds; tooluse.enabled with tooluse.train_seeds; "
                                 "grid.levels with grid.train_seeds)")


def training_lengths(params: Params) -> dict[str, int]:
    """The longest expert episode, in steps, of each training task of every active domain (the task names must
    be known: no :meth:`Domain.problems`)."""
    return {task: steps for domain in active(params) for task, steps in domain.lengths(params).items()}


def check_known_horizon(params: Params) -> None:
    """``planner.horizon`` against the longest expert episode the training tasks are known to have."""
    lengths = training_lengths(params)
    if lengths:
        task, longest = max(lengths.items(), key=lambda item: item[1])
        check_horizon(params.planner.horizon, longest,
                      f"{task}, the longest expert episode known for the training tasks")


def preflight(params: Params, stages: Sequence[str] = STAGES) -> list[str]:
    """Every problem with the training input that the params alone decide (empty: none), for ``stages``."""
    names = [problem for domain in active(params) for problem in domain.problems(params)]
    enabled = [s for s in STAGES if s in stages and params.train.stage(s).enabled]
    checks: list[Callable[[], None]] = [partial(check_init_from, s, params.train.stage(s).init_from) for s in enabled]
    checks += [partial(check_group_size, s, params.train.grpo(s)) for s in enabled if s != "sft"]
    checks += [partial(check_vllm_device, s, params) for s in enabled if s != "sft"]
    checks.append(partial(check_trackers, params.train))
    checks.append(partial(check_some_training, params))
    problems = names + [problem for check in checks for problem in _fails(check)]
    if names:  # lengths are known for known tasks only
        return problems
    budgets = [problem for domain in active(params) for problem in domain.budget_problems(params)]
    return problems + budgets + _fails(partial(check_known_horizon, params))


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
