"""A trained planner as a Hub-ready model folder (``tracer1kit export-model``), and pushing folders to the Hub.

The folder is the stage's final model as the kit saved it (merged weights, ``config.json``,
``generation_config.json``, the processor or tokenizer and its chat template), loadable with
``from_pretrained`` and with :func:`~tracer1kit.models.load_policy`, plus a model card (``README.md``): the base
model, the training stages and their steps, the run's params, the evaluation table with its 95% intervals when the
run was evaluated, and the paper's citation.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from .evaluation.variants import TRAINED_VARIANTS, plan_evaluations, training_dir
from .models.loading import hub_offline
from .params import Params, load_params
from .runs import RunDir
from .training.common import final_dir
from .training.preflight import STAGES

CITATION = """@inproceedings{liang2026tracer1,
  title         = {Anticipatory Planning for Multimodal AI Agents},
  author        = {Liang and Zhou and Gu and Tan and Wu and Dernoncourt and Kil and Rossi and Zhang},
  booktitle     = {Findings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year          = {2026},
  eprint        = {2603.16777},
  archivePrefix = {arXiv},
  url           = {https://arxiv.org/abs/2603.16777}
}"""


class ExportError(ValueError):
    """A run, variant or target that cannot be exported or pushed; the message says what to do."""


@dataclass(frozen=True)
class TrainedModel:
    """Where a variant's model lies: its final folder, the (sub-)run that trained it and the last stage."""

    variant: str
    folder: Path
    run: RunDir
    stage: str


def run_params(run: RunDir) -> Params:
    if not run.params_path.exists():
        raise ExportError(f"{run.root} has no params.yaml: name a run directory that `tracer1kit train` or "
                          "`tracer1kit evaluate` wrote")
    return load_params(run.params_path)


def trained_stages(run: RunDir) -> list[str]:
    return [s for s in STAGES if final_dir(run, s).exists()]


def find_model(run: RunDir, params: Params, variant: str | None) -> TrainedModel:
    """A stage trained in ``run`` itself (``sft``, ``stage1``, ``stage2``; default: the last one trained), or an
    evaluated variant of the table (``tracer1``, ``reactive``, …) from the training ``tracer1kit evaluate`` ran."""
    here = trained_stages(run)
    if variant is None and here:
        variant = here[-1]
    if variant in here:
        return TrainedModel(variant, final_dir(run, variant), run, variant)
    variant = variant or "tracer1"
    evaluated = [ev for ev in plan_evaluations(params) if ev.training is not None and not ev.grid]
    found = next((ev for ev in evaluated if ev.variant == variant), None)
    if found is not None:
        sub = RunDir(training_dir(run.root, found.training))
        if final_dir(sub, found.checkpoint).exists():
            return TrainedModel(variant, final_dir(sub, found.checkpoint), sub, found.checkpoint)
    available = here + [ev.variant for ev in evaluated if final_dir(RunDir(training_dir(run.root, ev.training)),
                                                                    ev.checkpoint).exists()]
    known = ", ".join(dict.fromkeys([*STAGES, *TRAINED_VARIANTS]))
    raise ExportError(f"--variant {variant}: no trained model of it in {run.root} (trained there: "
                      f"{', '.join(dict.fromkeys(available)) or 'none'}; variants: {known}); train or evaluate first")


def stage_steps(run: RunDir, last: str) -> list[tuple[str, int]]:
    """The stages up to ``last`` that ran in ``run`` and the last step each logged."""
    out = []
    for stage in STAGES[:STAGES.index(last) + 1]:
        steps = [m.get("step", 0) for m in run.metrics(stage)]
        if steps or final_dir(run, stage).exists():
            out.append((stage, max(steps, default=0)))
    return out


def evaluation_table(params: Params, run: RunDir) -> str | None:
    """The run's variants table (value [95% interval]) and what it can resolve, or None when not evaluated."""
    from .evaluation.report import markdown_table
    from .evaluation.results import TABLE_METRICS, resolution, table
    from .evaluation.store import stored_evaluations

    try:
        rows = table(stored_evaluations(params, run.root), TABLE_METRICS)
    except FileNotFoundError:
        return None
    variants = [r for r in rows if not r.get("grid")]
    return markdown_table(rows, TABLE_METRICS) + f"\n\nWhat this table can resolve: {resolution(variants)}."


def is_hub_id(spec: str) -> bool:
    return re.fullmatch(r"[\w.-]+/[\w.-]+", spec) is not None and not Path(spec).exists()


def model_card(params: Params, model: TrainedModel, vision: bool, evaluation: str | None) -> str:
    """The model card: Hub metadata (base model, pipeline, tags) in the YAML header, then the training and the
    evaluation in prose and tables, and the citation."""
    from huggingface_hub import ModelCard, ModelCardData

    spec = params.model.spec
    data = ModelCardData(
        base_model=spec if is_hub_id(spec) else None, library_name="transformers",
        pipeline_tag="image-text-to-text" if vision else "text-generation",
        tags=["tracer1kit", "tracer1", "trl", "grpo", "gui-agents", "trajectory-forecasting"])
    stages = "\n".join(f"| {stage} | {steps} | {params.train.stage(stage).learning_rate:g} |"
                       for stage, steps in stage_steps(model.run, model.stage))
    lora = params.model.lora
    params_yaml = yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False)
    text = f"""# tracer1kit planner: {model.variant}

A TraceR1 planner ("Anticipatory Planning for Multimodal AI Agents", arXiv 2603.16777) trained with tracer1kit:
given a task, {'a screenshot, ' if vision else ''}the page's elements and the recent history, it forecasts the next
{params.planner.horizon} step(s) as JSON lines inside `<answer>`; an agent executes the first step and plans again.

- variant: `{model.variant}` (the model after stage `{model.stage}`)
- base model: `{spec}`{' (the kit' + "'s embedded tiny model)" if spec == 'tiny' else ''}
- weights: {'LoRA (r = ' + str(lora.r) + ') merged into the base' if lora.enabled else 'fully fine-tuned'}, saved in `{params.model.dtype}`

## Training

| stage | steps | learning rate |
|---|---|---|
{stages}

SFT trains on the expert's reference plans; Stage 1 is GRPO with the trajectory reward (discount γ =
{params.reward.gamma}); Stage 2 is GRPO with the grounded reward of the frozen tool agent (mode
`{params.grounded.mode}`). Training tasks: {', '.join(params.env.tasks) or 'none'}{'; tool use: ' + ', '.join(params.tooluse.kinds) if params.tooluse.enabled else ''}.

<details><summary>The run's params (tracer1kit params YAML)</summary>

```yaml
{params_yaml}```

</details>

## Evaluation

{evaluation or 'This run was not evaluated (`tracer1kit evaluate PARAMS --run-dir RUN` writes the table that goes here).'}

## Use

```python
from tracer1kit.models import load_policy
policy = load_policy("<this folder or repo>")
```

or with transformers alone: `{'AutoModelForImageTextToText' if vision else 'AutoModelForCausalLM'}.from_pretrained(...)`
and the folder's {'processor' if vision else 'tokenizer'} with its chat template.

## Citation

```bibtex
{CITATION}
```
"""
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n{text}"))


def export_model(run_dir: str | Path, target: str | Path, variant: str | None = None) -> TrainedModel:
    """Write the Hub-ready folder of ``variant``'s model from ``run_dir`` into ``target`` (an empty or new folder)."""
    from .models.loading import sees_images

    run = RunDir(Path(run_dir).resolve())
    params = run_params(run)
    model = find_model(run, params, variant)
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise ExportError(f"--to {target}: the folder is not empty; name a new or empty folder")
    shutil.copytree(model.folder, target, dirs_exist_ok=True)
    vision = sees_images(str(model.folder))
    (target / "README.md").write_text(model_card(params, model, vision, evaluation_table(params, run)),
                                      encoding="utf-8")
    return model


def push_folder(folder: Path, repo: str, repo_type: str = "model") -> str:
    """Upload ``folder`` to the Hub repository ``repo`` (created if missing); returns the commit's URL."""
    if hub_offline():
        raise ExportError(f"cannot push to the Hub: HF_HUB_OFFLINE is set (offline). The folder is ready at {folder}; "
                          f"push it later with `hf upload {repo} {folder}{' --repo-type dataset' if repo_type == 'dataset' else ''}`")
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi()
    try:
        api.create_repo(repo, repo_type=repo_type, exist_ok=True)
        return str(api.upload_folder(folder_path=str(folder), repo_id=repo, repo_type=repo_type).commit_url)
    except (HfHubHTTPError, OSError) as exc:
        raise ExportError(f"cannot push {folder} to {repo}: {exc} (log in with `hf auth login` and check the "
                          "repository name)") from None
