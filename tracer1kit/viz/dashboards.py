"""Training dashboards from ``RUN/metrics.jsonl`` rows (SFT and GRPO stages; any key may be missing).

GRPO rows carry ``reward``/``reward_std``, per-term ``rewards/<term>/mean`` and ``/std``, ``kl``,
``completions/mean_length``, ``frac_reward_zero_std`` (the fraction of groups whose rewards are all
equal, so they teach nothing) and ``parse_failure_rate``; SFT rows carry ``loss``. With the group-signal
options (``train.<stage>.dynamic_sampling`` / ``prepass``) they also carry ``groups/equal_frac_trained`` (the
all-equal share of the groups trained on), ``groups/dropped``, ``groups/resampled``, ``groups/extra_groups``, and
one ``prepass/*`` row per stage (states scored, hard, kept).
"""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .figures import LAYOUT, color_for, rgba

Row = dict[str, Any]
TERM_KEY = re.compile(r"^rewards/(.+)/mean$")
# (title, key) of every single-series panel after the reward terms.
PANELS = (("equal-reward-group fraction", "frac_reward_zero_std"), ("parse-failure rate", "parse_failure_rate"),
          ("KL", "kl"), ("completion length", "completions/mean_length"), ("loss", "loss"))
# Group-signal counts per step (dynamic sampling) and the pre-pass's state counts (one row per stage).
GROUP_COUNTS = (("dropped", "groups/dropped"), ("resampled", "groups/resampled"), ("extra", "groups/extra_groups"))
PREPASS_COUNTS = (("scored", "prepass/states"), ("hard", "prepass/hard"), ("kept", "prepass/kept"))
TRAINED_EQUAL = "groups/equal_frac_trained"


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _stages(rows: Sequence[Row], stage: str | None) -> dict[str, list[Row]]:
    """Rows per stage (in first-seen order), optionally only ``stage``."""
    out: dict[str, list[Row]] = {}
    for row in rows:
        name = str(row.get("stage", "train"))
        if stage is None or name == stage:
            out.setdefault(name, []).append(row)
    return out


def _series(rows: Sequence[Row], key: str, std_key: str | None = None) -> tuple[list, list, list]:
    """(steps, values, stds) of the rows holding a finite ``key``; the row index stands in for a missing step."""
    xs, ys, sds = [], [], []
    for index, row in enumerate(rows):
        value = _number(row.get(key))
        if value is None:
            continue
        xs.append(row.get("step", index))
        ys.append(value)
        sds.append((_number(row.get(std_key)) or 0.0) if std_key else 0.0)
    return xs, ys, sds


def reward_terms(rows: Sequence[Row]) -> list[tuple[str, str, str]]:
    """(name, mean key, std key) of the total reward and every reward term present in ``rows``."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(k for k in row if TERM_KEY.match(k)))
    terms = [(TERM_KEY.match(k).group(1), k, k[: -len("mean")] + "std") for k in keys]  # type: ignore[union-attr]
    if any("reward" in row for row in rows):
        terms.insert(0, ("reward", "reward", "reward_std"))
    return terms


def _band_traces(name: str, xs: list, ys: list, sds: list, color: str) -> list[go.Scatter]:
    """A mean line and a translucent mean ± std band."""
    traces = []
    if any(sds):
        upper = [y + s for y, s in zip(ys, sds)]
        lower = [y - s for y, s in zip(ys, sds)]
        traces.append(go.Scatter(x=xs + xs[::-1], y=upper + lower[::-1], mode="lines", fill="toself",
                                 fillcolor=rgba(color, 0.2), line=dict(width=0), hoverinfo="skip",
                                 showlegend=False, legendgroup=name, name=f"{name} ± std"))
    traces.append(go.Scatter(x=xs, y=ys, mode="lines+markers", name=name, line_color=color, legendgroup=name))
    return traces


def _reward_traces(by_stage: dict[str, list[Row]]) -> list[go.Scatter]:
    traces = []
    multi = len(by_stage) > 1
    for stage, rows in by_stage.items():
        for index, (term, mean_key, std_key) in enumerate(reward_terms(rows)):
            name = f"{stage} {term}" if multi else term
            xs, ys, sds = _series(rows, mean_key, std_key)
            traces += _band_traces(name, xs, ys, sds, color_for(index))
    return traces


def reward_terms_figure(rows: Sequence[Row], stage: str | None = None) -> go.Figure:
    """Every reward term's mean over training steps with a ± std band (total reward first)."""
    fig = go.Figure(_reward_traces(_stages(rows, stage)))
    fig.update_layout(**LAYOUT, title="reward terms (mean ± std)", xaxis_title="step", yaxis_title="reward")
    fig.update_xaxes(**step_ticks(rows))
    return fig


def step_ticks(rows: Sequence[Row]) -> dict[str, Any]:
    """Tick settings that put a step axis's ticks on whole steps (about ten of them), never at 1.2 or 1.4."""
    last = max((_number(row.get("step")) or 0.0 for row in rows), default=0.0)
    return dict(tick0=0, dtick=max(1, math.ceil(last / 10)), tickformat="d")


def _group_signal_traces(by_stage: dict[str, list[Row]]) -> tuple[list[go.Scatter], list[go.Scatter], list[go.Bar]]:
    """The equal share of groups trained on (dotted, per stage), the dropped/resampled/extra group counts per
    step, and the pre-pass's scored/hard/kept state counts per stage (bars)."""
    trained, counts, prepass = [], [], []
    for index, (name, stage_rows) in enumerate(by_stage.items()):
        xs, ys, _ = _series(stage_rows, TRAINED_EQUAL)
        if xs:
            trained.append(go.Scatter(x=xs, y=ys, mode="lines+markers", name=f"{name}: trained on",
                                      legendgroup=name, line=dict(color=color_for(index), dash="dot")))
        for offset, (label, key) in enumerate(GROUP_COUNTS):
            xs, ys, _ = _series(stage_rows, key)
            if xs:
                counts.append(go.Scatter(x=xs, y=ys, mode="lines+markers", name=f"{name}: groups {label}",
                                         legendgroup=name, line=dict(color=color_for(index + offset))))
    found = {name: next((r for r in stage_rows if "prepass/kept" in r), None) for name, stage_rows in by_stage.items()}
    stages = [(name, row) for name, row in found.items() if row is not None]
    for index, (label, key) in enumerate(PREPASS_COUNTS):
        if stages:
            prepass.append(go.Bar(x=[name for name, _ in stages], y=[_number(row.get(key)) for _, row in stages],
                                  name=f"prepass: {label}", marker_color=color_for(index)))
    return trained, counts, prepass


def training_dashboard(rows: Sequence[Row], stage: str | None = None, equal_group_warn: float = 0.8) -> go.Figure:
    """Reward terms, equal-reward-group fraction (dashed warning line at ``equal_group_warn``; dotted: the share
    trained on, with dynamic sampling), parse-failure rate, KL, completion length and loss, one trace per stage,
    in a 3×2 grid; a fourth row when the group-signal options logged counts (groups dropped/resampled per step,
    pre-pass states scored/hard/kept per stage)."""
    by_stage = _stages(rows, stage)
    trained, counts, prepass = _group_signal_traces(by_stage)
    extra_row = bool(counts or prepass)
    titles = ("reward terms (mean ± std)",) + tuple(title for title, _ in PANELS)
    if extra_row:
        titles += ("groups dropped / resampled per step", "pre-pass: training states")
    fig = make_subplots(rows=4 if extra_row else 3, cols=2, subplot_titles=titles,
                        vertical_spacing=0.08 if extra_row else 0.1)
    for trace in _reward_traces(by_stage):
        fig.add_trace(trace, row=1, col=1)
    shown: set[str] = set()  # stages already in the legend
    for panel, (_, key) in enumerate(PANELS, start=1):
        row, col = divmod(panel, 2)
        for index, (name, stage_rows) in enumerate(by_stage.items()):
            xs, ys, _ = _series(stage_rows, key)
            if xs:
                fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=f"stage: {name}",
                                         legendgroup=name, line_color=color_for(index),
                                         showlegend=name not in shown), row=row + 1, col=col + 1)
                shown.add(name)
    for trace in trained:
        fig.add_trace(trace, row=1, col=2)
    for trace in counts:
        fig.add_trace(trace, row=4, col=1)
    for trace in prepass:
        fig.add_trace(trace, row=4, col=2)
    fig.add_hline(y=equal_group_warn, line_dash="dash", line_color="#d62728", row=1, col=2,
                  annotation_text=f"warn {equal_group_warn:g}", annotation_position="top left")
    title = f"training dashboard ({stage})" if stage else "training dashboard"
    fig.update_layout(**{**LAYOUT, "margin": dict(l=40, r=20, t=80, b=40)}, title=title,
                      height=1150 if extra_row else 900)
    fig.update_xaxes(title_text="step", **step_ticks(rows))
    if extra_row:
        fig.update_xaxes(title_text="stage", dtick=1, tickformat="", row=4, col=2)  # categories: every stage
    return fig


def summary_table(rows: Sequence[Row]) -> list[Row]:
    """Per stage and numeric metric: count, first, last, min, max and mean (long format, one dict a line)."""
    out = []
    for stage, stage_rows in _stages(rows, None).items():
        metrics = list(dict.fromkeys(k for r in stage_rows for k in r if k != "step" and _number(r[k]) is not None))
        for metric in metrics:
            _, values, _ = _series(stage_rows, metric)
            out.append({"stage": stage, "metric": metric, "n": len(values), "first": values[0], "last": values[-1],
                        "min": min(values), "max": max(values), "mean": sum(values) / len(values)})
    return out
