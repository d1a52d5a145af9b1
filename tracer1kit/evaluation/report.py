"""Results → CSV files, ``results.md`` and a self-contained ``report.html`` that lead with the named contrasts.

Files written to ``RUN/reports``: ``results.md`` / ``report.html`` (contrasts, the variants table with 95%
intervals, grids, what the table can resolve, the protocol), ``results.csv`` (one row per variant / grid point:
value, interval bounds, std over training seeds per metric), ``results_by_seed.csv`` (the same per training seed),
``contrasts.csv``, ``episodes.csv`` and ``states.csv`` (every online episode's and offline state's record).
"""

from __future__ import annotations

import csv
import io
import json
from html import escape
from pathlib import Path
from typing import Any, Sequence

from ..params import EvalParams
from ..runs import atomic_write_text
from .results import METRICS, TABLE_METRICS, best_rows, contrasts, grid_contrasts, resolution, table
from .stats import Contrast

Record = dict[str, Any]
LOWER_IS_BETTER = {"non_executable_rate", "gui_steps"}


def to_csv(rows: Sequence[Record]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def grid_names(rows: Sequence[Record]) -> list[str]:
    """The grids the rows hold (e.g. ``gamma``, ``horizon``), sorted."""
    return sorted({r["grid"] for r in rows if r.get("grid")})


def grid_points(rows: Sequence[Record], grid: str = "") -> list[Record]:
    """One grid's rows by grid value, or with ``grid=""`` the variants' rows in their order."""
    selected = [r for r in rows if (r.get("grid") or "") == grid]
    return sorted(selected, key=lambda r: r["grid_value"]) if grid else selected


def flat(rows: Sequence[Record], metrics: Sequence[str]) -> list[Record]:
    """Table rows with every estimate spread into value / low / high / std columns (for CSV and plots)."""
    out = []
    for row in rows:
        line = {k: row[k] for k in ("label", "variant", "grid", "grid_value", "seeds", "horizon")}
        for m in metrics:
            est = row[m]
            line.update({m: est.value, f"{m}_low": est.low, f"{m}_high": est.high, f"{m}_n": est.n,
                         f"{m}_std": row.get(m + "_std")})
        out.append(line)
    return out


def cell(row: Record, metric: str) -> str:
    """``0.178 [0.078, 0.337]``, with ``± 0.019`` (std over training seeds) when there are several."""
    est, std = row[metric], row.get(metric + "_std")
    return est.text() + (f" ± {std:.3f}" if std is not None else "")


def markdown_table(rows: Sequence[Record], metrics: Sequence[str], grid: str = "") -> str:
    """The variants table (or one grid by value): human labels, value [95% interval] (± std over seeds), the
    best trained variant in bold only where its interval separates it from every other trained variant; a metric
    no row measures (tool use when it is off) has no column."""
    points = grid_points(rows, grid)
    metrics = [m for m in metrics if any(row[m].value is not None for row in points)] or list(metrics[:1])
    best = {m: best_rows(points, m, m in LOWER_IS_BETTER) for m in metrics}
    head = "| variant | training seeds | " + " | ".join(METRICS[m].label for m in metrics) + " |"
    lines = [head, "|" + "---|" * (len(metrics) + 2)]
    for i, row in enumerate(points):
        cells = [f"**{cell(row, m)}**" if i in best[m] else cell(row, m) for m in metrics]
        seeds = "1 seed" if row["seeds"] == 1 else f"{row['seeds']} seeds"
        lines.append(f"| {row['label']} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def contrast_lines(found: Sequence[Contrast]) -> list[str]:
    return [f"- {c.sentence()}" for c in found]


def html_table(markdown: str) -> str:
    """A markdown table as HTML (bold cells kept)."""
    lines = [line.strip().strip("|").split("|") for line in markdown.splitlines()]

    def td(text: str, tag: str) -> str:
        text = text.strip()
        bold = text.startswith("**") and text.endswith("**")
        inner = escape(text.strip("*"))
        return f"<{tag}>{'<b>' + inner + '</b>' if bold else inner}</{tag}>"

    head = "".join(td(c, "th") for c in lines[0])
    body = "".join("<tr>" + "".join(td(c, "td") for c in row) + "</tr>" for row in lines[2:])
    return f"<div class='wrap'><table><tr>{head}</tr>{body}</table></div>"


def figures(rows: Sequence[Record], found: Sequence[Contrast], metrics: Sequence[str] = TABLE_METRICS
            ) -> dict[str, Any]:
    """A forest plot of the contrasts, bars with 95% intervals per variant, and a curve per grid."""
    from ..viz.figures import line_curve
    from ..viz.results import bar_with_interval, forest_plot

    figs: dict[str, Any] = {}
    if found:
        figs["contrasts"] = forest_plot([{"name": f"{c.name}: {c.metric}", "value": c.difference.value,
                                          "low": c.difference.low, "high": c.difference.high, "verdict": c.verdict,
                                          "n": c.difference.n}
                                         for c in found])
    table_rows = flat(grid_points(rows), metrics)
    for m in metrics:
        if any(r[m] is not None for r in table_rows):
            figs[f"variants_{m}"] = bar_with_interval(table_rows, "label", m, title=METRICS[m].label)
    for grid in grid_names(rows):
        points = flat(grid_points(rows, grid), metrics)
        for m in metrics:
            if any(r[m] is not None for r in points):
                figs[f"{grid}_{m}"] = line_curve(points, "grid_value", m, "variant", err=f"{m}_std",
                                                 title=f"{METRICS[m].label} by {grid}", x_title=grid,
                                                 y_title=METRICS[m].label)
    return figs


def figure_groups(figs: dict[str, Any]) -> dict[str, Any]:
    """:func:`figures` grouped for a reader: the contrasts' forest plot, then one figure with a drop-down over the
    variants' metrics and one over every grid's curves (each name in the drop-down is the figure's title)."""
    from ..viz.figures import figure_menu

    groups: dict[str, Any] = {"contrasts": figs["contrasts"]} if "contrasts" in figs else {}
    bars = {f.layout.title.text: f for key, f in figs.items() if key.startswith("variants_")}
    curves = {f.layout.title.text: f for key, f in figs.items()
              if key != "contrasts" and not key.startswith("variants_")}
    for name, members, what in (("variants", bars, "metric"), ("grids", curves, "grid and metric")):
        if members:
            groups[name] = figure_menu(members, f"{len(members)} figures: choose the {what} in the menu on the right")
    return groups


def results_markdown(rows: Sequence[Record], found: Sequence[Contrast], eval_params: EvalParams,
                     protocol: dict[str, Any] | None = None, metrics: Sequence[str] = TABLE_METRICS,
                     grid_found: dict[str, list[Contrast]] | None = None) -> str:
    """The report as markdown: contrasts first, then the variants table and what it can resolve, the grids (each
    with its points' contrasts against the base point, ``grid_found``), and the protocol when given."""
    variants = grid_points(rows)
    evaluated = {r["variant"] for r in variants}
    missing = [f"{a} − {b}" for a, b in eval_params.contrasts if not {a, b} <= evaluated]
    lines = contrast_lines(found) + ([f"- not evaluated here (a variant is not in eval.variants): {', '.join(missing)}"]
                                     if missing else [])
    sections = [("Contrasts", "\n".join(lines) or "no named contrast was evaluated"),
                ("Variants", markdown_table(rows, metrics)
                 + (f"\n\nWhat this table can resolve: {resolution(variants)}." if variants else ""))]
    for g in grid_names(rows):
        mine = (grid_found or {}).get(g, [])
        lead = "\n".join(contrast_lines(mine)) + "\n\n" if mine else ""
        sections.append((f"Grid: {g}", lead + markdown_table(rows, metrics, g)))
    if protocol:
        sections.append(("Protocol", "\n".join(f"- **{k}**: {v}" for k, v in protocol.items())))
    return "\n\n".join(f"## {title}\n\n{body}" for title, body in sections)


def markdown_html(markdown: str) -> str:
    """The report's markdown (headings, bullet lists, tables, bold) as HTML."""
    out, block = [], []

    def flush() -> None:
        if block:
            out.append(html_table("\n".join(block)))
            block.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            block.append(line)
            continue
        flush()
        if line.startswith("## "):
            out.append(f"<h2>{escape(line[3:])}</h2>")
        elif line.startswith("- "):
            out.append(f"<li>{_bold(escape(line[2:]))}</li>")
        elif line.strip():
            out.append(f"<p>{_bold(escape(line))}</p>")
    flush()
    return "".join(out)


def _bold(text: str) -> str:
    parts = text.split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def write_report(evaluations: Sequence[Record], eval_params: EvalParams, protocol: dict[str, Any], out_dir: Path,
                 metrics: Sequence[str] = TABLE_METRICS, grid_bases: dict[str, float] | None = None) -> Path:
    """Write every results file (see the module docstring); return report.html."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = table(evaluations, metrics)
    found = contrasts(evaluations, eval_params.contrasts)
    grid_found = grid_contrasts(evaluations, grid_bases or {})
    ident = ("label", "variant", "grid", "grid_value", "seed")
    atomic_write_text(out_dir / "results.csv", to_csv(flat(rows, metrics)))
    atomic_write_text(out_dir / "results_by_seed.csv", to_csv([
        {"seed": ev["seed"], **line} for ev in evaluations for line in flat(table([ev], metrics), metrics)]))
    atomic_write_text(out_dir / "contrasts.csv", to_csv([
        {"contrast": c.name, "metric": c.metric, "difference": c.difference.value, "low": c.difference.low,
         "high": c.difference.high, "pairs": c.difference.n, "p_value": c.p_value, "a_only": c.a_only,
         "b_only": c.b_only, "mdd": c.mdd, "verdict": c.verdict}
        for c in [*found, *(c for points in grid_found.values() for c in points)]]))
    for kind in ("episodes", "states"):
        atomic_write_text(out_dir / f"{kind}.csv", to_csv([
            {**{k: ev[k] for k in ident}, **{k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()}}
            for ev in evaluations for r in ev[kind]]))
    markdown = results_markdown(rows, found, eval_params, protocol, metrics, grid_found)
    atomic_write_text(out_dir / "results.md", f"# Results\n\n{markdown}\n")
    plots = "".join(f"<h3>{escape(name)}</h3>" + fig.to_html(full_html=False,
                                                            include_plotlyjs="inline" if i == 0 else False)
                    for i, (name, fig) in enumerate(figures(rows, found, metrics).items()))
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>tracer1kit report</title><style>"
            "body{font-family:sans-serif;max-width:1200px;margin:auto;padding:0 12px}"
            ".wrap{overflow-x:auto} table{border-collapse:collapse;font-size:13px}"
            "td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top} th{background:#f4f4f4}"
            "li{margin:4px 0}</style></head><body><h1>tracer1kit report</h1>"
            f"{markdown_html(markdown)}<h2>Figures</h2>{plots}</body></html>")
    return atomic_write_text(out_dir / "report.html", page)
