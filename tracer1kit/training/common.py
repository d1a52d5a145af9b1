"""What every training stage shares: TRL configs from params, checkpoints and resume, metrics logging,
and the checks that fail before training starts with a message saying what to change."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from ..params import Params, TrainStageParams
from ..runs import RunDir, atomic_write_text, read_jsonl

log = logging.getLogger("tracer1kit.training")

STAGES = ("sft", "stage1", "stage2")


class TrainingInputError(ValueError):
    """Bad training input, found before any training step runs."""


def stage_dir(run: RunDir, stage: str) -> Path:
    return run.checkpoints_dir / stage


def final_dir(run: RunDir, stage: str) -> Path:
    """Where a finished stage's model (merged, with its processor) is saved."""
    return stage_dir(run, stage) / "final"


def last_checkpoint(run: RunDir, stage: str) -> Path | None:
    """The newest ``checkpoint-N`` folder of a stage, or None."""
    folder = stage_dir(run, stage)
    found = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()] if folder.exists() else []
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


def checkpoint_step(path: Path) -> int:
    return int(path.name.split("-")[-1])


def check_group_size(stage: str, cfg: TrainStageParams) -> None:
    batch = cfg.per_device_batch_size * cfg.gradient_accumulation_steps
    if batch % cfg.num_generations:
        raise TrainingInputError(
            f"train.{stage}: per_device_batch_size × gradient_accumulation_steps = {batch} is not divisible by "
            f"num_generations = {cfg.num_generations}; set per_device_batch_size to a multiple of {cfg.num_generations}")


def check_init_from(stage: str, path: str | None) -> None:
    if path is not None and not Path(path).exists():
        raise TrainingInputError(
            f"train.{stage}.init_from: checkpoint {path} does not exist; train the earlier stage first "
            f"or point init_from at a saved model folder")


def check_horizon(params: Params, longest_episode: int) -> None:
    if params.planner.horizon > longest_episode:
        raise TrainingInputError(
            f"planner.horizon = {params.planner.horizon} is larger than the longest training episode "
            f"({longest_episode} steps); lower planner.horizon or train on longer tasks")


def truncate_metrics_after(run: RunDir, stage: str, step: int) -> int:
    """Drop a stage's metrics lines logged after ``step`` (they are re-logged on resume). Returns lines dropped."""
    rows = list(read_jsonl(run.metrics_path))
    kept = [r for r in rows if not (r.get("stage") == stage and r.get("step", 0) > step)]
    if len(kept) != len(rows):
        atomic_write_text(run.metrics_path, "".join(json.dumps(r) + "\n" for r in kept))
    return len(rows) - len(kept)


def start_point(run: RunDir, stage: str, resume: bool) -> Path | None:
    """The checkpoint a stage resumes from (None: from scratch). Metrics lines logged after that point, by an
    interrupted earlier attempt, are dropped because the trainer logs those steps again."""
    resume_from = last_checkpoint(run, stage) if resume else None
    truncate_metrics_after(run, stage, checkpoint_step(resume_from) if resume_from is not None else 0)
    return resume_from


class MetricsCallback(TrainerCallback):
    """Appends every trainer log to ``RUN/metrics.jsonl`` tagged with the stage; warns when GRPO stalls.

    ``frac_reward_zero_std`` is the fraction of groups whose rewards are all equal: GRPO's advantages are
    zero there, so it learns nothing from them. A warning is logged when it stays above ``warn_at``.
    """

    def __init__(self, run: RunDir, stage: str, warn_at: float = 0.8, patience: int = 3) -> None:
        self.run, self.stage, self.warn_at, self.patience = run, stage, warn_at, patience
        self.high_streak = 0
        self.warnings: list[str] = []

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any) -> None:
        if not logs or "train_runtime" in logs:
            return
        row = {"stage": self.stage, "step": state.global_step}
        row.update({k: float(v) for k, v in logs.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)})
        if "rewards/parsed/mean" in row:
            row["parse_failure_rate"] = 1.0 - row["rewards/parsed/mean"]
        self.run.log_metrics(row)
        frac = row.get("frac_reward_zero_std")
        self.high_streak = self.high_streak + 1 if frac is not None and frac >= self.warn_at else 0
        if self.high_streak == self.patience:
            message = (f"{self.stage}: {frac:.0%} of groups have equal rewards for {self.patience} logs in a row — "
                       "GRPO learns nothing from those; raise temperature or num_generations, or make the reward finer")
            self.warnings.append(message)
            log.warning(message)


def trainer_kwargs(cfg: TrainStageParams, output_dir: Path, params: Params) -> dict[str, Any]:
    """Arguments common to TRL's ``SFTConfig`` and ``GRPOConfig``."""
    import torch

    return dict(
        output_dir=str(output_dir), max_steps=cfg.max_steps, learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay, max_grad_norm=cfg.max_grad_norm,
        per_device_train_batch_size=cfg.per_device_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        save_strategy="steps", save_steps=cfg.save_steps, logging_steps=cfg.logging_steps,
        report_to="none", seed=params.run.seed, bf16=cfg.bf16,
        use_cpu=params.model.device == "cpu" or not torch.cuda.is_available(),
        remove_unused_columns=False, dataloader_num_workers=0, save_only_model=False,
        lr_scheduler_type=cfg.lr_scheduler, warmup_steps=round(cfg.warmup_ratio * cfg.max_steps), disable_tqdm=False,
    )


def save_final(trainer: Any, processor: Any, target: Path) -> Path:
    """Save the trained model (LoRA merged) and its processor where the next stage loads it from."""
    model = trainer.model
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    processor.save_pretrained(target)
    if hasattr(processor, "image_processor"):  # a standalone preprocessor_config.json, as hub checkpoints have
        processor.image_processor.save_pretrained(target)
    return target


def weights_fingerprint(model: Any) -> float:
    """A cheap scalar summary of the weights (sum of absolute values) to check that training changed them."""
    return float(sum(p.detach().abs().sum().item() for p in model.parameters()))
