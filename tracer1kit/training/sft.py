"""SFT warm start: teacher-forced training on the reference plans, loss on the plan tokens only."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..params import Params
from ..runs import RunDir
from .common import (MetricsCallback, final_dir, restore_weights, save_final, stage_dir, start_point,
                     trainer_kwargs, weights_fingerprint)
from .grpo import StageResult, load_for_training, peft_config


def train_sft(params: Params, run: RunDir, dataset: Any, init_from: str | Path, *, resume: bool = False) -> StageResult:
    """Train on prompt → reference-plan pairs with TRL's ``SFTTrainer`` (``completion_only_loss``)."""
    from trl import SFTConfig, SFTTrainer

    cfg = params.train.sft
    policy = load_for_training(params, init_from)
    resume_from = start_point(run, "sft", resume)
    config = SFTConfig(**trainer_kwargs(cfg, stage_dir(run, "sft"), params), completion_only_loss=True,
                       max_length=None, packing=False)
    trainer = SFTTrainer(model=policy.model, args=config, train_dataset=dataset, processing_class=policy.processor,
                         peft_config=peft_config(params), callbacks=[MetricsCallback(run, "sft")])
    restore_weights(trainer, resume_from)
    before = weights_fingerprint(trainer.model)
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    changed = weights_fingerprint(trainer.model) != before
    final = save_final(trainer, policy.processor, final_dir(run, "sft"))
    return StageResult("sft", trainer.state.global_step, time.perf_counter() - start, final, changed)
