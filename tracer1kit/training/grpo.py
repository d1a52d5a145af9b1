"""One GRPO stage on TRL's ``GRPOTrainer``: Stage 1 and Stage 2 differ only in their reward functions."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..actions import completion_text
from ..params import LoraParams, Params
from ..runs import RunDir, append_jsonl
from .common import (MetricsCallback, check_group_size, final_dir, restore_weights, save_final, stage_dir,
                     start_point, trainer_kwargs, training_dtype, weights_fingerprint)
from .processes import launched_processes, process_state


@dataclass
class StageResult:
    stage: str
    steps: int
    seconds: float
    final: Path
    weights_changed: bool
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.stage}: {self.steps} steps in {self.seconds:.0f}s → {self.final}"
                + ("" if self.weights_changed else " (weights unchanged!)")
                + "".join(f"\n  {n}" for n in self.notes)
                + "".join(f"\n  warning: {w}" for w in self.warnings))


def load_for_training(params: Params, source: str | Path):
    """The policy to train: ``source`` is a model spec or the previous stage's final folder (LoRA is TRL's job),
    loaded onto this process's device (each process its own GPU under accelerate launch) in the
    :func:`~tracer1kit.training.common.training_dtype`."""
    from ..models import load_policy

    device = params.model.device if launched_processes() == 1 else str(process_state(params).device)
    spec = params.model.model_copy(update={"spec": str(source), "lora": LoraParams(enabled=False), "device": device,
                                           "dtype": training_dtype(params)})
    return load_policy(spec)


def peft_config(params: Params):
    if not params.model.lora.enabled:
        return None
    from ..models import lora_config

    return lora_config(params.model.lora)


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


def grpo_trainer(params: Params, stage: str, **kwargs: Any):
    """TRL's ``GRPOTrainer``, or :class:`~tracer1kit.training.signal_trainer.GroupSignalTrainer` when the stage's
    ``dynamic_sampling`` or ``prepass`` is on."""
    cfg = getattr(params.train, stage)
    if cfg.dynamic_sampling.mode == "off" and not cfg.prepass.enabled:
        from trl import GRPOTrainer

        return GRPOTrainer(**kwargs)
    from .signal_trainer import GroupSignalTrainer

    return GroupSignalTrainer(**kwargs, dynamic_sampling=cfg.dynamic_sampling, sampling_seed=params.run.seed)


def run_grpo_stage(stage: str, params: Params, run: RunDir, dataset: Any, reward_funcs: list[Callable],
                   reward_weights: list[float], init_from: str | Path, *, resume: bool = False) -> StageResult:
    """Train one GRPO stage from ``init_from`` and save its final model to ``RUN/checkpoints/<stage>/final``
    (on the states its pre-pass keeps, when that is on)."""
    from trl import GRPOConfig

    cfg = getattr(params.train, stage)
    check_group_size(stage, cfg)
    policy = load_for_training(params, init_from)
    resume_from = start_point(run, stage, resume)
    config = GRPOConfig(
        **trainer_kwargs(cfg, stage_dir(run, stage), params),
        num_generations=cfg.num_generations, beta=cfg.beta, max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature, top_p=cfg.top_p, use_vllm=cfg.use_vllm, reward_weights=reward_weights,
        scale_rewards=cfg.scale_rewards, loss_type=cfg.loss_type, log_completions=False,
    )
    callback = MetricsCallback(run, stage, warn_at=params.train.equal_group_warn)
    trainer = grpo_trainer(params, stage, model=policy.model, reward_funcs=reward_funcs, args=config,
                           train_dataset=dataset, processing_class=policy.processor, peft_config=peft_config(params),
                           callbacks=[callback])
    notes = []
    if cfg.prepass.enabled:
        from .groups import run_prepass

        trainer.train_dataset, line = run_prepass(trainer, dataset, cfg, run, stage, params.run.seed,
                                                  resume=resume_from is not None)
        notes.append(line)
    restore_weights(trainer, resume_from)
    before = weights_fingerprint(trainer.model)
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    seconds = time.perf_counter() - start
    changed = weights_fingerprint(trainer.model) != before
    final = save_final(trainer, policy.processor, final_dir(run, stage))
    result = StageResult(stage, trainer.state.global_step, seconds, final, changed, callback.warnings, notes)
    return result
