"""Figures of evaluation results with their uncertainty: bars with 95% intervals and a forest plot of contrasts."""

from __future__ import annotations

from typing import Any, Sequence

import plotly.graph_objects as go

from .figures import LAYOUT

NEUTRAL, BETTER, WORSE = "#7f7f7f", "#2ca02c", "#d62728"


def bar_with_interval(rows: Sequence[dict[str, Any]], x: str, y: str, title: str = "",
                      x_title: str = "variant") -> go.Figure:
    """Bars of ``row[y]`` by ``row[x]`` with asymmetric error bars from ``row[y + '_low']`` / ``'_high'``
    (a 95% interval); rows without a value are skipped. ``title`` (the metric's human label) also titles the
    value axis."""
    rows = [r for r in rows if r.get(y) is not None]
    values = [float(r[y]) for r in rows]
    plus = [(r[f"{y}_high"] - r[y]) if r.get(f"{y}_high") is not None else 0.0 for r in rows]
    minus = [(r[y] - r[f"{y}_low"]) if r.get(f"{y}_low") is not None else 0.0 for r in rows]
    fig = go.Figure(go.Bar(x=[str(r[x]) for r in rows], y=values, marker_color="#1f77b4",
                           error_y=dict(type="data", symmetric=False, array=plus, arrayminus=minus),
                           text=[f"{v:.2f}" for v in values], textposition="outside"))
    fig.update_layout(**LAYOUT, title=f"{title or y} (95% interval)", xaxis_title=x_title, yaxis_title=title or y,
                      showlegend=False, height=380)
    return fig


def forest_plot(contrasts: Sequence[dict[str, Any]]) -> go.Figure:
    """One line per contrast (``name``, ``value``, ``low``, ``high``, ``verdict``, optional ``n`` pairs): the paired
    difference and its 95% interval against a zero line, green or red when a side is better, grey when not
    distinguishable; a contrast whose interval has zero width is said so in words under the plot."""
    shown = [c for c in contrasts if c.get("value") is not None][::-1]
    colors = [BETTER if c["value"] > 0 and not c["verdict"].startswith("not") else
              WORSE if c["value"] < 0 and not c["verdict"].startswith("not") else NEUTRAL for c in shown]
    fig = go.Figure(go.Scatter(
        x=[c["value"] for c in shown], y=[c["name"] for c in shown], mode="markers",
        marker=dict(size=10, color=colors),
        error_x=dict(type="data", symmetric=False, array=[c["high"] - c["value"] for c in shown],
                     arrayminus=[c["value"] - c["low"] for c in shown], color=NEUTRAL),
        text=[c["verdict"] for c in shown], hovertemplate="%{y}: %{x:+.3f} (%{text})<extra></extra>"))
    fig.add_vline(x=0, line_dash="dash", line_color="#444")
    notes = [zero_width_note(c) for c in shown[::-1] if c["high"] == c["low"]]
    fig.update_layout(**{**LAYOUT, "margin": dict(l=320, r=20, t=60, b=40 + 18 * len(notes))}, showlegend=False,
                      title="paired contrasts A − B with 95% intervals", xaxis_title="difference (A − B)",
                      height=120 + 34 * len(shown) + 18 * len(notes))
    for k, note in enumerate(notes):
        fig.add_annotation(text=note, x=0, xref="paper", xanchor="left", xshift=-310, y=0, yref="paper",
                           yanchor="top", yshift=-40 - 18 * k, showarrow=False, font=dict(size=11, color="#555"))
    return fig


def zero_width_note(contrast: dict[str, Any]) -> str:
    """Why a contrast's interval is a point: every pair gave the same difference (with one training seed and few
    test seeds, often 0 because both variants failed or succeeded together), so there is no spread to estimate."""
    pairs = f" over {contrast['n']} pairs" if contrast.get("n") is not None else ""
    return (f"{contrast['name']}: interval of zero width{pairs}: every pair gave the same difference "
            f"({contrast['value']:+.2f}), so there is no spread to estimate; more test or training seeds would "
            "give one")
