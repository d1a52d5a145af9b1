"""What every training stage shares: TRL configs from params, checkpoints and resume, metrics logging.
The checks that fail before training starts, with a message saying what to change, live in preflight.py."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from ..params import ModelParams, StageParams
from ..progress import Progress
from ..runs import RunDir, atomic_write_text, check_files, read_jsonl
from .preflight import STAGES, TrainingInputError, check_group_size, check_horizon, check_init_from  # noqa: F401
from .processes import is_main_process

log = logging.getLogger("tracer1kit.training")


def stage_dir(run: RunDir, stage: str) -> Path:
    return run.checkpoints_dir / stage


def final_dir(run: RunDir, stage: str) -> Path:
    """Where a finished stage's model (merged, with its processor) is saved."""
    return stage_dir(run, stage) / "final"


def last_checkpoint(run: RunDir, stage: str) -> Path | None:
    """The newest complete ``checkpoint-N`` folder of a stage, or None. The trainer writes ``trainer_state.json``
    last: a folder without it was cut short by a kill while saving."""
    folder = stage_dir(run, stage)
    found = [p for p in folder.glob("checkpoint-*")
             if p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").exists()] if folder.exists() else []
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


def checkpoint_step(path: Path) -> int:
    return int(path.name.split("-")[-1])


def truncate_metrics_after(run: RunDir, stage: str, step: int) -> int:
    """Drop a stage's metrics lines logged after ``step`` (they are re-logged on resume). Returns lines dropped."""
    rows = list(read_jsonl(run.metrics_path))
    kept = [r for r in rows if not (r.get("stage") == stage and r.get("step", 0) > step)]
    if len(kept) != len(rows):
        atomic_write_text(run.metrics_path, "".join(json.dumps(r) + "\n" for r in kept))
    return len(rows) - len(kept)


def start_point(run: RunDir, stage: str, resume: bool) -> Path | None:
    """The checkpoint a stage resumes from (None: from scratch). Metrics lines logged after that point, by an
    interrupted earlier attempt, are dropped (by the main process) because the trainer logs those steps again. A
checkpoint with a damaged file is refused, naming the file."""
    resume_from = last_checkpoint(run, stage) if resume else None
    if resume_from is not None:
        check_files(resume_from)
    if is_main_process():
        truncate_metrics_after(run, stage, checkpoint_step(resume_from) if resume_from is not None else 0)
    return resume_from


class MetricsCallback(TrainerCallback):
    """Appends every trainer log to ``RUN/metrics.jsonl`` tagged with the stage (from the main process: its logs
    already average over all processes), logs progress with an ETA, and says once per stage when GRPO stalled.

    ``frac_reward_zero_std`` is the fraction of groups whose rewards are all equal: GRPO's advantages are
    zero there, so it learns nothing from them. Steps where it reaches ``warn_at`` are counted, and one warning
    with the count closes the stage (``warnings``, printed by the stage's summary).
    """

    def __init__(self, run: RunDir, stage: str, warn_at: float = 0.8, every_s: float = 30.0) -> None:
        self.run, self.stage, self.warn_at = run, stage, warn_at
        self.progress = Progress(f"{stage}", every_s)
        self.stalled: list[float] = []
        self.logged = 0
        self.warnings: list[str] = []

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any) -> None:
        if not logs or "train_runtime" in logs or not state.is_world_process_zero:
            return
        if isinstance(logs.get("rewards/parsed/mean"), (int, float)):  # added to the log the trackers see next
            logs["parse_failure_rate"] = 1.0 - logs["rewards/parsed/mean"]
        row = {"stage": self.stage, "step": state.global_step}
        row.update({k: float(v) for k, v in logs.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)})
        self.run.log_metrics(row)
        self.logged += 1
        frac = row.get("frac_reward_zero_std")
        if frac is not None and frac >= self.warn_at:
            self.stalled.append(frac)
        self.progress.update(state.global_step, state.max_steps)

    def on_train_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        if self.stalled and state.is_world_process_zero:
            self.warnings.append(
                f"{self.stage}: in {len(self.stalled)} of {self.logged} logged steps at least {self.warn_at:.0%} of the "
                f"groups had equal rewards (mean {sum(self.stalled) / len(self.stalled):.0%}): GRPO learns nothing from "
                f"those; try train.{self.stage}.prepass or dynamic_sampling, a higher temperature or num_generations")


def trainer_kwargs(cfg: StageParams, output_dir: Path, *, seed: int, cpu: bool) -> dict[str, Any]:
    """Arguments common to TRL's ``SFTConfig`` and ``GRPOConfig``, with the run's ``seed``, on the CPU when ``cpu``
    (:func:`~tracer1kit.training.processes.use_cpu`; the trackers' come from
    :func:`~tracer1kit.training.tracking.tracker_kwargs`). Checkpoints every ``save_steps``; none when
    ``save_steps`` > ``max_steps`` (the trainer's checkpoint at the last step, model and optimizer, would only
    duplicate the final model: three times a large model's size on disk, never resumed from)."""
    return dict(
        output_dir=str(output_dir), max_steps=cfg.max_steps, learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay, max_grad_norm=cfg.max_grad_norm,
        per_device_train_batch_size=cfg.per_device_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        save_strategy="steps" if cfg.save_steps <= cfg.max_steps else "no", save_steps=cfg.save_steps,
        logging_steps=cfg.logging_steps, seed=seed, bf16=cfg.bf16, use_cpu=cpu,
        remove_unused_columns=False, dataloader_num_workers=0, save_only_model=False,
        lr_scheduler_type=cfg.lr_scheduler, warmup_steps=round(cfg.warmup_ratio * cfg.max_steps), disable_tqdm=False,
        activation_checkpointing=cfg.gradient_checkpointing,  # TRL turns it on by default; off is faster on CPU
        ddp_find_unused_parameters=False,  # every trainable weight takes part in each forward (LoRA freezes the rest)
    )


def training_dtype(model: ModelParams) -> str:
    """The dtype the trained weights are held in: the ``model``'s dtype, except float32 for full fine-tuning of a
    bfloat16/float16 model. Adam moves a weight by about the learning rate per step, below half a bfloat16 step for
    most weights: one SFT step of the tiny model changed 15% of its bfloat16 weights at lr 1e-5 and 2% at 1e-6
    (99–100% in float32). ``train.*.bf16`` still computes in bfloat16 (autocast); LoRA trains float32 adapters
    over the frozen base, which keeps ``model.dtype``."""
    half = model.dtype in ("bfloat16", "float16")
    return "float32" if half and not model.lora.enabled else model.dtype


def restore_weights(trainer: Any, checkpoint: Path | None) -> None:
    """Before resuming, load a full model's weights from ``checkpoint`` through ``from_pretrained``. The trainer's
    own reload reads the file's key names as they are, and where transformers renames keys on load (Qwen2.5-VL:
    ``visual.*`` → ``model.visual.*``) none match: it warns and goes on from the stage's initial weights
    (transformers issue 43701). LoRA adapters, DeepSpeed and FSDP checkpoints reload correctly: left to it."""
    from peft import PeftModel

    left_to_trainer = isinstance(trainer.model, PeftModel) or trainer.is_deepspeed_enabled or trainer.is_fsdp_enabled
    if checkpoint is None or left_to_trainer:
        return
    saved = type(trainer.model).from_pretrained(checkpoint, dtype=trainer.model.dtype)
    trainer.model.load_state_dict(saved.state_dict())
    trainer._issue_warnings_after_load = lambda *_: None  # its reload of the same file has nothing left to say


def save_final(trainer: Any, processor: Any, target: Path) -> Path:
    """Save the trained model (LoRA merged) and its processor where the next stage loads it from. Under several
    processes the main process writes it, once, and every process waits until it is there."""
    accelerator = trainer.accelerator
    if accelerator.is_main_process:
        model = trainer.model
        if hasattr(model, "merge_and_unload"):
            model = model.merge_and_unload()
        target.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(target)
        processor.save_pretrained(target)
        if hasattr(processor, "image_processor"):  # a standalone preprocessor_config.json, as hub checkpoints have
            processor.image_processor.save_pretrained(target)
    accelerator.wait_for_everyone()
    return target


def weights_fingerprint(model: Any) -> float:
    """A cheap scalar summary of the weights (sum of absolute values) to check that training changed them, summed in
    float64: a bfloat16 sum rounds away the small updates of a whole step."""
    import torch

    return float(sum(p.detach().abs().sum(dtype=torch.float64).item() for p in model.parameters()))
