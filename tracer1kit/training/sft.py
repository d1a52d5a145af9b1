"""SFT warm start: teacher-forced training on the reference plans, loss on the plan tokens only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..params import Params
from ..runs import RunDir
from .common import MetricsCallback, stage_dir, start_point, trainer_kwargs
from .processes import use_cpu
from .stage import StageResult, load_for_training, peft_config, train_and_save
from .tracking import attach, tracker_kwargs


def train_sft(params: Params, run: RunDir, dataset: Any, init_from: str | Path, *, resume: bool = False) -> StageResult:
    """Train on prompt → reference-plan pairs with TRL's ``SFTTrainer`` (``completion_only_loss``)."""
    from trl import SFTConfig, SFTTrainer

    policy = load_for_training(params.model, init_from)
    resume_from = start_point(run, "sft", resume)
    config = SFTConfig(**trainer_kwargs(params.train.sft, stage_dir(run, "sft"), seed=params.run.seed,
                                        cpu=use_cpu(params.model)),
                       **tracker_kwargs(params, run, "sft"), completion_only_loss=True, max_length=None, packing=False)
    callback = MetricsCallback(run, "sft")
    trainer = SFTTrainer(model=policy.model, args=config, train_dataset=dataset, processing_class=policy.processor,
                         peft_config=peft_config(params.model.lora), callbacks=[callback])
    attach(trainer, run, "sft", callback)
    return train_and_save(trainer, policy.processor, run, "sft", resume_from, callback)
