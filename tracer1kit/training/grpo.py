"""One GRPO stage on TRL's ``GRPOTrainer``: Stage 1 and Stage 2 differ only in their reward functions."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..actions import completion_text
from ..params import Params, Stage
from ..runs import RunDir, append_jsonl
from .common import MetricsCallback, TrainingInputError, check_group_size, stage_dir, start_point, trainer_kwargs
from .processes import use_cpu
from .stage import StageResult, load_for_training, peft_config, train_and_save
from .tracking import attach, tracker_kwargs

# TRL's GRPO options that train.<stage> sets under TRL's own names (GRPOConfig's help text says what each does).
TRL_OPTIONS = ("use_vllm", "mask_truncated_completions", "epsilon", "epsilon_high", "top_entropy_quantile",
               "log_completions", "vllm_mode", "vllm_importance_sampling_correction", "vllm_importance_sampling_mode",
               "vllm_importance_sampling_clip_max")


def record_samples(func: Callable[..., list[float]], run: RunDir, stage: str, every: int,
                   describe: Callable[..., dict[str, Any]], limit: int = 4) -> Callable[..., list[float]]:
    """Wrap a reward function so that every ``every`` steps a few completions and their reward breakdown are
    appended to ``RUN/samples.jsonl`` (the notebooks show them)."""

    def wrapped(completions: list[Any], **kwargs: Any) -> list[float]:
        state = kwargs.get("trainer_state")
        step = getattr(state, "global_step", 0)
        if step % every == 0 and getattr(state, "is_world_process_zero", True):  # one process writes samples
            for i in range(min(limit, len(completions))):
                row = {k: v[i] for k, v in kwargs.items() if isinstance(v, list) and len(v) == len(completions)
                       and k in ("reference", "task", "seed", "step")}
                text = completion_text(completions[i])
                append_jsonl(run.root / "samples.jsonl", {"stage": stage, "train_step": step, "completion": text,
                                                          **row, "rewards": describe(text, i, **kwargs)})
        return func(completions=completions, **kwargs)

    wrapped.__name__ = func.__name__
    wrapped.__wrapped__ = func  # type: ignore[attr-defined]  # the pre-pass scores with the unwrapped function
    return wrapped


def grpo_trainer(params: Params, stage: Stage, **kwargs: Any):
    """TRL's ``GRPOTrainer``, or :class:`~tracer1kit.training.signal_trainer.GroupSignalTrainer` when the stage's
    ``dynamic_sampling`` or ``prepass`` is on."""
    cfg = params.train.grpo(stage)
    if cfg.dynamic_sampling.mode == "off" and not cfg.prepass.enabled:
        from trl import GRPOTrainer

        return GRPOTrainer(**kwargs)
    from .signal_trainer import GroupSignalTrainer

    return GroupSignalTrainer(**kwargs, dynamic_sampling=cfg.dynamic_sampling, sampling_seed=params.run.seed)


def grpo_config(params: Params, run: RunDir, stage: Stage, reward_weights: list[float]):
    """TRL's ``GRPOConfig`` of a GRPO stage: the shared trainer arguments, the trackers and every GRPO option of
    ``train.<stage>`` under TRL's name. vLLM generation needs a GPU: refused here on the CPU."""
    from trl import GRPOConfig

    cfg = params.train.grpo(stage)
    cpu = use_cpu(params.model)
    if cfg.use_vllm and cpu:
        raise TrainingInputError(f"train.{stage}.use_vllm: vLLM generation needs a CUDA GPU and this run trains on "
                                 "the CPU (model.device: cpu, or no GPU found); set use_vllm: false")
    return GRPOConfig(
        **trainer_kwargs(cfg, stage_dir(run, stage), seed=params.run.seed, cpu=cpu),
        **tracker_kwargs(params, run, stage),
        num_generations=cfg.num_generations, beta=cfg.beta, max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature, top_p=cfg.top_p, reward_weights=reward_weights,
        scale_rewards=cfg.scale_rewards, loss_type=cfg.loss_type, **{name: getattr(cfg, name) for name in TRL_OPTIONS},
    )


def run_grpo_stage(stage: Stage, params: Params, run: RunDir, dataset: Any, reward_funcs: list[Callable],
                   reward_weights: list[float], init_from: str | Path, *, resume: bool = False) -> StageResult:
    """Train one GRPO stage from ``init_from`` and save its final model to ``RUN/checkpoints/<stage>/final``
    (on the states its pre-pass keeps, when that is on)."""
    cfg = params.train.grpo(stage)
    check_group_size(stage, cfg)
    config = grpo_config(params, run, stage, reward_weights)
    policy = load_for_training(params.model, init_from)
    resume_from = start_point(run, stage, resume)
    callback = MetricsCallback(run, stage, warn_at=params.train.equal_group_warn)
    trainer = grpo_trainer(params, stage, model=policy.model, reward_funcs=reward_funcs, args=config,
                           train_dataset=dataset, processing_class=policy.processor,
                           peft_config=peft_config(params.model.lora), callbacks=[callback])
    attach(trainer, run, stage, callback)
    notes = []
    if cfg.prepass.enabled:
        from .groups import run_prepass

        trainer.train_dataset, line = run_prepass(trainer, dataset, cfg, run, stage, params.run.seed,
                                                  resume=resume_from is not None)
        notes.append(line)
    return train_and_save(trainer, policy.processor, run, stage, resume_from, callback, notes)
