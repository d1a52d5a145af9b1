"""A run's expert episodes as a Hub-ready dataset folder, and back (``tracer1kit export-data``, ``data.source:
parquet``).

The folder holds one parquet file per split (``data/<split>-00000-of-00001.parquet``) with one row per episode
step, the training example the kit builds from it (:func:`~tracer1kit.data.examples.examples_from_episodes`:
``prompt`` and ``completion`` in TRL's conversational format, ``images`` as the ``datasets`` Image feature,
``reference`` the reference plan of the next K steps, and the step's recorded ``observation``, ``task``,
``seed``, ``step``, ``episode_id``, ``prefix``), and a dataset card (``README.md``) whose YAML header names the
tasks, seeds, expert, counts and the source benchmarks' licences; ``datasets.load_dataset("parquet",
data_dir=DIR + "/data")`` reads it. Its ``tracer1kit`` header records what the prompts were built with (horizon,
images, prompt form): training from the folder checks them against the params.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..data.examples import examples_from_episodes, to_dataset
from ..params import Params, PlannerParams
from .base import SPLITS
from .data import expert_episodes
from .registry import domain_of, prompt_contexts

EXPERT = ("tracer1kit's scripted experts (DOM experts for MiniWoB++, the tool-use solver, BabyAI's bot for the grid), "
          "one plan step executed per step")


class ExportedDataError(ValueError):
    """An exported dataset folder that cannot be used with these params; the message says what to change."""


def split_file(folder: Path, split: str) -> Path:
    return folder / "data" / f"{split}-00000-of-00001.parquet"


def export_dataset(params: Params, episodes_root: Path, target: Path, *, use_image: bool) -> dict[str, int]:
    """Write the expert episodes under ``episodes_root`` as parquet splits and a dataset card into ``target``;
    returns the rows per split (splits without a successful episode are left out)."""
    if target.exists() and any(target.iterdir()):
        raise ExportedDataError(f"--to {target}: the folder is not empty; name a new or empty folder")
    counts: dict[str, int] = {}
    summary: dict[str, Any] = {}
    for split in SPLITS:
        episodes = [e for e in expert_episodes(params, episodes_root, split) if e.success]
        if not episodes:
            continue
        rows = examples_from_episodes(episodes, params.planner, use_image=use_image, contexts=prompt_contexts(params))
        path = split_file(target, split)
        path.parent.mkdir(parents=True, exist_ok=True)
        to_dataset(rows).to_parquet(str(path))
        counts[split] = len(rows)
        summary[split] = {"episodes": len(episodes), "steps": len(rows),
                          "tasks": sorted({e.task for e in episodes}), "seeds": sorted({e.seed for e in episodes})}
    if not counts:
        raise ExportedDataError(f"no successful expert episodes in {episodes_root}: generate them first "
                                "(tracer1kit generate PARAMS --run-dir RUN, or tracer1kit train)")
    (target / "README.md").write_text(dataset_card(params.planner, summary, use_image), encoding="utf-8")
    return counts


def dataset_card(planner: PlannerParams, summary: dict[str, dict[str, Any]], use_image: bool) -> str:
    """The dataset card: YAML header (Hub metadata and the ``tracer1kit`` record of how it was built), then prose."""
    from huggingface_hub import DatasetCard, DatasetCardData

    domains = {d.name: d for d in (domain_of(t) for s in summary.values() for t in s["tasks"])}
    sources = {name: domains[name].source for name in sorted(domains)}  # (what it is, licence) per domain
    licences = sorted({licence for _, licence in sources.values()})
    rows = sum(s["steps"] for s in summary.values())
    data = DatasetCardData(
        license=licences[0] if len(licences) == 1 else licences, pretty_name="tracer1kit expert trajectories",
        task_categories=["image-text-to-text" if use_image else "text-generation"],
        tags=["tracer1kit", "gui-agents", "trajectory-forecasting", "trl"], size_categories=[size_category(rows)],
        configs=[{"config_name": "default",
                  "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in summary]}],
        tracer1kit={"horizon": planner.horizon, "images": use_image, "prompt": planner.prompt,
                    "think": planner.think, "instructions": planner.instructions, "expert": EXPERT,
                    "splits": summary, "sources": {name: what for name, (what, _) in sources.items()}})
    table = "\n".join(f"| {split} | {s['episodes']} | {s['steps']} | {', '.join(s['tasks'])} | "
                      f"{seed_ranges(s['seeds'])} |" for split, s in summary.items())
    text = f"""# tracer1kit expert trajectories

Expert episodes recorded by [tracer1kit](https://arxiv.org/abs/2603.16777) (a research kit reproducing TraceR1,
"Anticipatory Planning for Multimodal AI Agents"), one row per episode step: the planner's prompt at that step
({'with the screenshot in `images`' if use_image else 'text only'}) and the reference plan of the next
{planner.horizon} step(s) the expert executed (padded with `done`).

Expert: {EXPERT}. Sources: {'; '.join(f'{what}, licence {licence}' for what, licence in sources.values())}.

| split | episodes | rows | tasks | seeds |
|---|---|---|---|---|
{table}

## Columns

- `prompt`, `completion`: chat messages in TRL's conversational prompt-completion format (SFT trains on them as they are)
- `images`: the screenshot of the step (`datasets.Image`), empty for text-only prompts
- `reference`: the reference plan as text; `observation`: the recorded state (JSON); `prefix`: the steps before
- `task`, `seed`, `step`, `episode_id`

## Use

```python
import datasets
ds = datasets.load_dataset("parquet", data_dir="<this folder>/data")
```

Train from it with tracer1kit: `data: {{source: parquet, path: <this folder>}}` in a params file whose
`planner.horizon` is {planner.horizon}.
"""
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{text}"))


def size_category(rows: int) -> str:
    return "n<1K" if rows < 1_000 else "1K<n<10K" if rows < 10_000 else "10K<n<100K"


def seed_ranges(seeds: list[int]) -> str:
    """``0–19, 25`` for sorted seeds."""
    parts, start = [], None
    for i, seed in enumerate(seeds):
        start = seed if start is None else start
        if i + 1 == len(seeds) or seeds[i + 1] != seed + 1:
            parts.append(str(seed) if seed == start else f"{start}–{seed}")
            start = None
    return ", ".join(parts)


def card_record(folder: Path) -> dict[str, Any]:
    """The ``tracer1kit`` record of an exported folder's card."""
    from huggingface_hub import DatasetCard

    card = folder / "README.md"
    if not card.exists():
        raise ExportedDataError(f"data.path: {folder} has no README.md (dataset card): export it with "
                                "`tracer1kit export-data RUN --to DIR`")
    record = DatasetCard.load(card).data.to_dict().get("tracer1kit")
    if not isinstance(record, dict):
        raise ExportedDataError(f"data.path: {card} has no tracer1kit record in its YAML header: export the data "
                                "with `tracer1kit export-data RUN --to DIR`")
    return record


def load_exported(planner: PlannerParams, folder: Path, split: str = "train", *, use_image: bool):
    """The ``split`` of an exported folder as a ``datasets.Dataset`` for training with these ``planner`` settings,
    after checking that its prompts were built as these settings and this model (``use_image``) would build them."""
    import datasets

    record = card_record(folder)
    wanted = {"horizon": planner.horizon, "images": use_image, "prompt": planner.prompt,
              "think": planner.think, "instructions": planner.instructions}
    differ = [f"{k}: {record.get(k)!r} there, {v!r} here" for k, v in wanted.items() if record.get(k) != v]
    if differ:
        raise ExportedDataError(f"data.path: {folder} was exported with other prompt settings ({'; '.join(differ)}): "
                                "set them as there (planner.<name>; images: a model.spec that sees or not), or "
                                "export again with these params")
    path = split_file(folder, split)
    if not path.exists():
        raise ExportedDataError(f"data.path: {folder} has no {split} split ({path} is missing)")
    return datasets.load_dataset("parquet", data_files={split: str(path)}, split=split)
