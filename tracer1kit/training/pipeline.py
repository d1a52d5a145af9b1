"""SFT → Stage 1 → Stage 2 for one run directory (``tracer1kit train``)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Sequence

from ..data.examples import examples_from_episodes, to_dataset
from ..domains.data import ensure_expert_data, expert_episodes
from ..domains.export import load_exported
from ..domains.registry import prompt_contexts
from ..models.loading import plan_token_lengths, sees_images
from ..params import Params, Stage
from ..runs import RunDir, changed_keys
from .common import STAGES, TrainingInputError, check_horizon, final_dir, log
from .preflight import check_plan_tokens, check_training_input, plan_token_caps
from .processes import is_main_process, process_state, quiet_replicas


def init_source(params: Params, run: RunDir, stage: Stage, stages: Sequence[str]) -> str:
    """Where a stage starts: its ``init_from`` param, else the latest earlier stage trained here, else the base model."""
    explicit = params.train.stage(stage).init_from
    if explicit is not None:
        return explicit
    for earlier in reversed(STAGES[:STAGES.index(stage)]):
        if earlier in stages or final_dir(run, earlier).exists():
            return str(final_dir(run, earlier))
    return params.model.spec


# Keys that do not change what is trained: a run directory may be re-trained with other values of these.
NOT_TRAINING = ("run.name", "run.notebooks", "eval.", "env.val_seeds", "env.test_seeds", "env.heldout_tasks",
                "env.workers", "env.headless", "tooluse.test_seeds", "grid.val_seeds", "grid.test_seeds",
                "grid.heldout_levels", "grid.stop_after", "grid.eval_executor")


def check_same_training(params: Params, run: RunDir) -> None:
    """Refuse to add to a run directory whose finished stages were trained with other params (their final
    models would be silently reused)."""
    if not run.params_path.exists() or not any(final_dir(run, s).exists() for s in STAGES):
        return
    changed = [k for k in changed_keys(run.saved_params(), params.model_dump(mode="json")) if not k.startswith(NOT_TRAINING)]
    if changed:
        raise TrainingInputError(
            f"{run.root} holds stages trained with other params ({', '.join(changed[:5])}"
            f"{', …' if len(changed) > 5 else ''} changed): train into a new --run-dir, or delete "
            f"{run.checkpoints_dir} to retrain there")


def training_dataset(params: Params, run: RunDir, episodes_root: Path | None = None) -> tuple[Any, str]:
    """The training examples and a line saying where they come from: an exported dataset folder (``data.source:
    parquet``) or the run's expert episodes (generated here when missing)."""
    use_image = sees_images(params.model)
    if params.data.source == "parquet":
        dataset = load_exported(params.planner, Path(params.data.path), use_image=use_image)
        return dataset, f"data: {len(dataset)} training examples from {params.data.path} (horizon {params.planner.horizon})"
    root = ensure_expert_data(params, run, episodes_root)
    episodes = expert_episodes(params, root, "train")
    if not episodes or not any(e.success for e in episodes):
        raise TrainingInputError(f"no successful expert episodes in {root} for split 'train': "
                                 "check the training tasks and their train seeds in the params file")
    check_horizon(params.planner.horizon, max(len(e.steps) for e in episodes if e.success))
    dataset = to_dataset(examples_from_episodes(episodes, params.planner, use_image=use_image,
                                                contexts=prompt_contexts(params)))
    return dataset, (f"data: {len(dataset)} training examples from {len(episodes)} expert episodes "
                     f"(horizon {params.planner.horizon})")


def check_reference_plans(params: Params, references: Sequence[str], stages: Sequence[str] = STAGES) -> None:
    """Refuse a token cap below the training's reference plans (:func:`check_plan_tokens`), before any step."""
    check_plan_tokens(plan_token_lengths(params.model, references), plan_token_caps(params, stages),
                      params.planner.horizon)


def train(params: Params, run_dir: str | Path, stages: Sequence[str] = STAGES, *, resume: bool = False,
          episodes_root: Path | None = None) -> list[str]:
    """Train the requested stages in order into ``run_dir``; returns one summary line per stage.

    A stage whose final model exists is skipped; ``resume`` continues a stage from its last checkpoint.
    Under several processes (``accelerate launch``) the main process writes the params and the expert data
    first, then the others read them; the trainers shard the batches.
    """
    from .sft import train_sft
    from .stage1 import train_stage1
    from .stage2 import train_stage2

    stages = [s for s in STAGES if s in stages and params.train.stage(s).enabled]
    check_training_input(params, stages)  # every check the params decide, before any data or training
    run = RunDir.create(run_dir)
    check_same_training(params, run)
    quiet_replicas()
    with process_state(params.model).main_process_first():
        if is_main_process():
            run.save_params(params)
        dataset, line = training_dataset(params, run, episodes_root)
    check_reference_plans(params, dataset["reference"], stages)
    lines = [line]
    trainers = {"sft": train_sft, "stage1": train_stage1, "stage2": train_stage2}
    for stage in stages:
        if final_dir(run, stage).exists():
            lines.append(f"{stage}: already trained ({final_dir(run, stage)}); skipped")
            continue
        if params.train.stage(stage).max_steps == 0:
            continue
        source = init_source(params, run, stage, stages)
        log.info(f"{stage}: {params.train.stage(stage).max_steps} steps from {source}")
        with warnings.catch_warnings():  # peft and TRL 1.16 read transformers' deprecated is_gradient_checkpointing
            warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
            result = trainers[stage](params, run, dataset, source, resume=resume)
        lines.append(result.summary())
    return lines
