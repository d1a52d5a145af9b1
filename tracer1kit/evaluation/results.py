"""From per-episode and per-state records to the results table and the named contrasts. Pure functions.

An evaluation (one variant or grid point under one training seed) is stored as a dict with its identity
(``variant``, ``grid``, ``grid_value``, ``seed``, ``horizon``, ``checkpoint``), its online ``episodes`` (one
record per episode: task, seed, split ``test`` / ``heldout`` / ``tool``, success, steps, …) and its offline
``states`` (one record per recorded expert state). Every variant runs on the same (task, seed) list, so two
rows can be compared unit by unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

from .stats import NONE, Contrast, Estimate, mdd_unpaired, mean_interval, pair_up, paired_contrast, rate_interval

Record = dict[str, Any]
KEY = ("variant", "grid", "grid_value")

VARIANT_LABELS = {
    "random": "random (floor)", "expert": "expert (ceiling)", "base": "untrained model",
    "reactive": "reactive (K = 1)", "sft": "SFT only", "stage1": "Stage 1 only (without Stage 2)",
    "stage2": "Stage 2 only", "tracer1": "full TraceR1", "strict": "full TraceR1, Stage 2 vs the strict executor",
    "think": "SFT, forecast in <think> first",
}
GRID_LABELS = {"horizon": "K", "gamma": "γ", "repetition": "λ_rep"}


@dataclass(frozen=True)
class Metric:
    """One column: which records it reads, the unit values each record contributes, rate or mean."""

    key: str
    label: str
    source: str                                   # "episodes" or "states"
    units: Callable[[Record], list[float]]        # a record's values (0/1 for rates)
    rate: bool
    select: Callable[[Record], bool] = lambda r: True
    first_step: bool = True                       # comparable across horizons (not a forecast-position metric)
    per_record: bool = True                       # one value per record (an episode or a state)

    @property
    def binary(self) -> bool:
        """One 0/1 outcome per unit: paired contrasts then also get McNemar's exact test."""
        return self.rate and self.per_record


def _split(name: str) -> Callable[[Record], bool]:
    return lambda r: r.get("split") == name


def _one(key: str) -> Callable[[Record], list[float]]:
    return lambda r: [] if r.get(key) is None else [float(r[key])]


METRICS: dict[str, Metric] = {m.key: m for m in (
    Metric("gui_success", "GUI success (held-out seeds)", "episodes", _one("success"), True, _split("test")),
    Metric("heldout_success", "held-out tasks", "episodes", _one("success"), True, _split("heldout")),
    Metric("tool_answer_acc", "tool-use answers", "episodes", _one("success"), True, _split("tool")),
    Metric("grid_success", "grid success (held-out seeds)", "episodes", _one("success"), True, _split("grid")),
    Metric("grid_heldout_success", "held-out grid levels", "episodes", _one("success"), True,
           _split("grid_heldout")),
    Metric("gui_steps", "steps per GUI episode", "episodes", _one("steps"), False, _split("test")),
    Metric("non_executable_rate", "non-executable steps", "episodes",
           lambda r: [1.0] * r["non_executable"] + [0.0] * (r["steps"] - r["non_executable"]), True,
           per_record=False),
    Metric("stage1_reward", "online Stage-1 reward (real steps)", "episodes", _one("stage1_reward"), False,
           first_step=False),
    Metric("offline_step_sr", "offline step success", "states", _one("step_success"), True),
    Metric("offline_grounding_acc", "offline first-step grounding", "states", _one("grounding_ok"), True),
    Metric("offline_stage1_reward", "offline Stage-1 reward (real steps)", "states", _one("stage1_reward"), False,
           first_step=False),
    Metric("forecast_agreement", "forecast agreement (real steps)", "states",
           lambda r: [float(a) for a in r["agreement"]], True, first_step=False, per_record=False),
    Metric("forecast_pos1", "forecast agreement, step 1", "states", lambda r: [float(r["agreement"][0])], True),
    Metric("forecast_future", "forecast agreement, steps 2..K", "states",
           lambda r: [float(a) for a in r["agreement"][1:]], True, first_step=False, per_record=False),
)}
TABLE_METRICS = ("gui_success", "heldout_success", "tool_answer_acc", "grid_success", "grid_heldout_success",
                 "offline_step_sr", "offline_grounding_acc",
                 "offline_stage1_reward", "forecast_pos1", "forecast_future", "stage1_reward", "non_executable_rate")
CONTRAST_METRICS = ("gui_success", "grid_success", "offline_step_sr", "offline_stage1_reward", "forecast_future")
ONLINE_SUCCESS = ("gui_success", "grid_success", "tool_answer_acc")  # the headline metric: the first one measured


def _block(record: Record) -> Hashable:
    """What stays together in a bootstrap: one (split, task, seed), whichever training seed evaluated it."""
    return (record.get("split", "offline"), record["task"], record["seed"])


def _unit(record: Record) -> Hashable:
    return (record.get("split", "offline"), record["task"], record["seed"], record.get("t"))


def units(evaluations: Sequence[Record], metric: Metric) -> tuple[list[float], list[Hashable]]:
    """Every unit value of ``metric`` over the evaluations' records, with its bootstrap block."""
    values, blocks = [], []
    for ev in evaluations:
        for record in ev[metric.source]:
            if metric.select(record):
                for value in metric.units(record):
                    values.append(value)
                    blocks.append(_block(record))
    return values, blocks


def estimate(evaluations: Sequence[Record], metric: Metric) -> Estimate:
    """The metric pooled over the evaluations (training seeds) with its 95% interval: Wilson for a rate over
    independent episodes of one training seed, else a bootstrap over (task, seed) blocks."""
    values, blocks = units(evaluations, metric)
    if not values:
        return NONE
    if metric.rate:
        independent = metric.source == "episodes" and len(evaluations) == 1 and len(set(blocks)) == len(blocks)
        return rate_interval([v > 0.5 for v in values], blocks, independent=independent)
    return mean_interval(values, blocks)


def seed_spread(evaluations: Sequence[Record], metric: Metric) -> float | None:
    """The sample standard deviation of the metric over training seeds (``None`` with one seed)."""
    means = [sum(v) / len(v) for v in (units([ev], metric)[0] for ev in evaluations) if v]
    if len(means) < 2:
        return None
    mean = sum(means) / len(means)
    return math.sqrt(sum((m - mean) ** 2 for m in means) / (len(means) - 1))


def label(row: Record) -> str:
    """A row's name for people: ``full TraceR1`` or ``full TraceR1, γ = 0.6``."""
    name = VARIANT_LABELS.get(row["variant"], row["variant"])
    if row.get("grid"):
        name += ", " + point_label(row["grid"], row["grid_value"])
    return name


def table(evaluations: Sequence[Record], metrics: Sequence[str] = TABLE_METRICS) -> list[Record]:
    """One row per (variant, grid, grid value) in first-seen order: its label, training seeds, horizon, and per
    metric an :class:`Estimate` (``row[metric]``) and the std over training seeds (``row[metric + '_std']``)."""
    groups: dict[tuple, list[Record]] = {}
    for ev in evaluations:
        groups.setdefault(tuple(ev.get(k) for k in KEY), []).append(ev)
    rows = []
    for key, members in groups.items():
        row: Record = dict(zip(KEY, key))
        row.update(label=label(row), seeds=len(members), horizon=members[0].get("horizon"),
                   trained=members[0].get("checkpoint") not in (None, "scripted", "untrained"))
        for name in metrics:
            row[name] = estimate(members, METRICS[name])
            row[name + "_std"] = seed_spread(members, METRICS[name])
        rows.append(row)
    return rows


def per_task(evaluations: Sequence[Record], metric: str = "gui_success") -> list[Record]:
    """The variants table split by task: one row per (variant row, task) with the metric's estimate over that
    task's episodes (or states) alone, in first-seen order of the tasks."""
    tasks = list(dict.fromkeys(r["task"] for ev in evaluations for r in ev[METRICS[metric].source]))
    rows = []
    for task in tasks:
        only = [{**ev, "episodes": [r for r in ev["episodes"] if r["task"] == task],
                 "states": [r for r in ev["states"] if r["task"] == task]} for ev in evaluations]
        rows += [{**row, "task": task} for row in table(only, [metric])]
    return rows


def best_rows(rows: Sequence[Record], metric: str, lower_is_better: bool = False) -> set[int]:
    """Indices of the trained row whose interval on ``metric`` lies wholly above (or below) every other trained
    row's; empty when the intervals do not separate it."""
    trained = [(i, r[metric]) for i, r in enumerate(rows) if r["trained"] and r[metric].value is not None]
    if len(trained) < 2:
        return set()
    i, best = (min if lower_is_better else max)(trained, key=lambda item: item[1].value)
    return {i} if all(best.separates_from(e) for j, e in trained if j != i) else set()


def contrasts(evaluations: Sequence[Record], named: Sequence[Sequence[str]],
              metrics: Sequence[str] = CONTRAST_METRICS) -> list[Contrast]:
    """Every named contrast (A, B) of the variants table on every contrast metric both sides can be paired on:
    units matched by (split, task, seed, state) and training seed (or by unit alone when one side is scripted).
    A metric no unit of either side measures (grid success in a MiniWoB++ run) gives no contrast."""
    variants = [ev for ev in evaluations if not ev.get("grid")]
    out = []
    for a_name, b_name in named:
        out += _paired(a_name, b_name, [ev for ev in variants if ev["variant"] == a_name],
                       [ev for ev in variants if ev["variant"] == b_name], metrics)
    return out


def grid_contrasts(evaluations: Sequence[Record], bases: dict[str, float],
                   metrics: Sequence[str] = CONTRAST_METRICS) -> dict[str, list[Contrast]]:
    """Per grid, each point against the grid's base point (the params' own value, ``bases[grid]``), paired as
    :func:`contrasts` pairs variants: ``γ = 1 − γ = 0.8``; no contrast for a grid without its base point."""
    out: dict[str, list[Contrast]] = {}
    for grid in dict.fromkeys(ev["grid"] for ev in evaluations if ev.get("grid")):
        points = [ev for ev in evaluations if ev.get("grid") == grid]
        base = [ev for ev in points if ev["grid_value"] == bases.get(grid)]
        out[grid] = [c for value in dict.fromkeys(ev["grid_value"] for ev in points if ev not in base)
                     for c in _paired(point_label(grid, value), point_label(grid, bases.get(grid, 0.0)),
                                      [ev for ev in points if ev["grid_value"] == value], base, metrics)]
    return out


def point_label(grid: str, value: float) -> str:
    """A grid point for people: ``γ = 0.6``, ``K = 4``."""
    return f"{GRID_LABELS.get(grid, grid)} = {value:g}"


def _paired(a_name: str, b_name: str, a: Sequence[Record], b: Sequence[Record],
            metrics: Sequence[str]) -> list[Contrast]:
    """A − B on every contrast metric both sides can be paired on (see :func:`contrasts`)."""
    if not a or not b:
        return []
    same_horizon = a[0].get("horizon") == b[0].get("horizon")
    out = []
    for name in metrics:
        metric = METRICS[name]
        if not (metric.first_step or same_horizon):
            continue  # forecast positions beyond step 1 mean different things under different K
        pairs = []
        for ev in a:
            others = [o for o in b if o["seed"] == ev["seed"]] or b[:1]
            pairs += pair_up([r for r in ev[metric.source] if metric.select(r)],
                             [r for r in others[0][metric.source] if metric.select(r)],
                             _unit, lambda r: _mean(metric.units(r)), _block)
        if pairs:
            out.append(paired_contrast(f"{a_name} − {b_name}", metric.label, a_name, b_name, pairs, metric.binary))
    return out


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def resolution(rows: Sequence[Record], metric: str | None = None) -> str:
    """What the table can resolve on ``metric`` (default: the first of :data:`ONLINE_SUCCESS` the rows measure):
    the minimum detectable difference at 80% power, α = 0.05."""
    metric = metric or next((m for m in ONLINE_SUCCESS if any(getattr(r.get(m), "value", None) is not None
                                                               for r in rows)), ONLINE_SUCCESS[0])
    sizes = [r[metric].n // max(1, r["seeds"]) for r in rows if r[metric].value is not None]
    if not sizes:
        return "no episodes"
    n = min(sizes)
    if mdd_unpaired(n) >= 1:
        return f"with {n} episodes per variant and training seed, no difference in {METRICS[metric].label} can be detected"
    return (f"with {n} episodes per variant and training seed, two variants' {METRICS[metric].label} must differ by "
            f"about {mdd_unpaired(n):.2f} (unpaired, worst case p = 0.5; {mdd_unpaired(n, 0.2):.2f} near p = 0.2) "
            "to be detected with 80% power at α = 0.05; the paired contrasts above detect smaller differences the "
            "more episodes two variants agree on (their own detectable difference is printed with each)")
