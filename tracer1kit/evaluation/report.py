"""Results → CSV, a markdown table, plotly figures and a self-contained ``report.html``."""

from __future__ import annotations

import csv
import io
import math
from html import escape
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

from ..runs import atomic_write_text

KEY = ("variant", "grid", "grid_value")


def aggregate(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and sample std over training seeds of every numeric metric, per (variant, grid, grid value)."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(row.get(k) for k in KEY)].append(row)
    out = []
    for key, members in groups.items():
        agg: dict[str, Any] = dict(zip(KEY, key))
        agg["seeds"] = len(members)
        metrics = [k for k, v in members[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                   and k not in ("seed", "grid_value")]
        for metric in metrics:
            values = [m[metric] for m in members if isinstance(m.get(metric), (int, float))]
            mean = sum(values) / len(values)
            std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
            agg[metric], agg[f"{metric}_std"] = mean, std
        out.append(agg)
    return out


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def grid_names(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The grids the rows hold (e.g. ``gamma``, ``horizon``), sorted."""
    return sorted({r["grid"] for r in rows if r.get("grid")})


def grid_points(rows: Sequence[dict[str, Any]], grid: str = "") -> list[dict[str, Any]]:
    """One grid's rows by grid value, or with ``grid=""`` the variants' rows in their order."""
    selected = [r for r in rows if (r.get("grid") or "") == grid]
    return sorted(selected, key=lambda r: r["grid_value"]) if grid else selected


def markdown_table(rows: Sequence[dict[str, Any]], metrics: Sequence[str], grid: str = "") -> str:
    """``variant | seeds | metric (mean ± std) | …``: the variants table, or one grid's points by value."""
    head = f"| {'variant' if not grid else 'variant, ' + grid} | seeds | " + " | ".join(metrics) + " |"
    lines = [head, "|" + "---|" * (len(metrics) + 2)]
    for row in grid_points(rows, grid):
        cells = []
        for m in metrics:
            value = row.get(m)
            cells.append("–" if value is None else f"{value:.3f} ± {row.get(m + '_std', 0.0):.3f}")
        label = row["variant"] if not grid else f"{row['variant']}, {grid} = {row['grid_value']:g}"
        lines.append(f"| {label} | {row.get('seeds', 1)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def html_table(rows: Sequence[dict[str, Any]], metrics: Sequence[str], grid: str = "") -> str:
    """A table as HTML (the same cells as :func:`markdown_table`)."""
    lines = [line.strip("|").split("|") for line in markdown_table(rows, metrics, grid).splitlines()]
    head = "".join(f"<th>{escape(c.strip())}</th>" for c in lines[0])
    body = "".join("<tr>" + "".join(f"<td>{escape(c.strip())}</td>" for c in row) + "</tr>" for row in lines[2:])
    return f"<table><tr>{head}</tr>{body}</table>"


def figures(aggregated: Sequence[dict[str, Any]], metrics: Sequence[str]) -> dict[str, Any]:
    """Bar charts with error bars per variant, and a curve per grid (e.g. the K-curve)."""
    from ..viz.figures import bar_with_errors, line_curve

    table = grid_points(aggregated)
    figs = {f"variants_{m}": bar_with_errors(table, "variant", m, f"{m}_std", title=m) for m in metrics
            if any(m in r for r in table)}
    for grid in grid_names(aggregated):
        points = grid_points(aggregated, grid)
        for m in metrics:
            if any(m in r for r in points):
                figs[f"{grid}_{m}"] = line_curve(points, "grid_value", m, "variant", err=f"{m}_std")
    return figs


def write_report(rows: Sequence[dict[str, Any]], protocol: dict[str, Any], out_dir: Path,
                 metrics: Sequence[str]) -> Path:
    """Write results.csv, results_by_seed.csv, results.md, one HTML per figure, and report.html; return the latter."""
    out_dir.mkdir(parents=True, exist_ok=True)
    aggregated = aggregate(rows)
    atomic_write_text(out_dir / "results_by_seed.csv", to_csv(rows))
    atomic_write_text(out_dir / "results.csv", to_csv(aggregated))
    grids = grid_names(aggregated)
    tables = [markdown_table(aggregated, metrics)] + [
        f"## Grid: {g}\n\n{markdown_table(aggregated, metrics, g)}" for g in grids]
    protocol_lines = "\n".join(f"- **{k}**: {v}" for k, v in protocol.items())
    atomic_write_text(out_dir / "results.md", "# Results\n\n" + "\n\n".join(tables)
                      + f"\n\n## Protocol\n\n{protocol_lines}\n")
    figs = figures(aggregated, metrics)
    parts = []
    for i, (name, fig) in enumerate(figs.items()):
        html = fig.to_html(full_html=False, include_plotlyjs="inline" if i == 0 else False)
        parts.append(f"<h3>{name}</h3>{html}")
    body = html_table(aggregated, metrics) + "".join(
        f"<h2>Grid: {escape(g)}</h2>{html_table(aggregated, metrics, g)}" for g in grids) + "<h2>Protocol</h2><ul>" + "".join(
        f"<li><b>{escape(str(k))}</b>: {escape(str(v))}</li>" for k, v in protocol.items()) + "</ul>"
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>tracer1kit report</title>"
            f"<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}} table{{border-collapse:collapse}}"
            f" td,th{{border:1px solid #ccc;padding:4px 8px}}</style></head><body><h1>tracer1kit report</h1>"
            f"{body}{''.join(parts)}</body></html>")
    return atomic_write_text(out_dir / "report.html", page)
