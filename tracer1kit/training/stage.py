"""What SFT and both GRPO stages do alike: load the policy to train, then train it, save the final model and say
what happened (:func:`train_and_save`, the one ending every stage shares)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..params import LoraParams, ModelParams
from ..runs import RunDir
from .common import final_dir, restore_weights, save_final, training_dtype, weights_fingerprint
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


def load_for_training(model: ModelParams, source: str | Path):
    """The policy to train as the ``model`` settings say: ``source`` is a model spec or the previous stage's final
    folder (LoRA is TRL's job), loaded onto this process's device (each process its own GPU under accelerate
    launch) in the :func:`~tracer1kit.training.common.training_dtype`."""
    from ..models import load_policy

    device = model.device if launched_processes() == 1 else str(process_state(model).device)
    spec = model.model_copy(update={"spec": str(source), "lora": LoraParams(enabled=False), "device": device,
                                    "dtype": training_dtype(model)})
    return load_policy(spec)


def peft_config(lora: LoraParams):
    """peft's LoRA config of ``lora`` (None when it is off: full fine-tuning)."""
    if not lora.enabled:
        return None
    from ..models import lora_config

    return lora_config(lora)


def train_and_save(trainer: Any, processor: Any, run: RunDir, stage: str, resume_from: Path | None,
                   metrics_callback: Any, notes: list[str] | None = None) -> StageResult:
    """Train (from ``resume_from`` when given), save the final model (LoRA merged) to
    ``RUN/checkpoints/<stage>/final`` and return what happened, the metrics callback's warnings included."""
    restore_weights(trainer, resume_from)
    before = weights_fingerprint(trainer.model)
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    seconds = time.perf_counter() - start
    changed = weights_fingerprint(trainer.model) != before
    final = save_final(trainer, processor, final_dir(run, stage))
    return StageResult(stage, trainer.state.global_step, seconds, final, changed, metrics_callback.warnings,
                       notes or [])
