"""Shared plotly figure builders: variant bars, K-curves, annotated screenshots, reward breakdowns, and how a
figure reaches a notebook page (a mime-bundle output, or HTML sharing one copy of plotly.js)."""

from __future__ import annotations

import base64
import io
import json
from typing import Any, Iterable, Sequence

import plotly.graph_objects as go
import plotly.io as pio
from PIL import Image

from ..episodes import Box, Point

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
LAYOUT = dict(template="plotly_white", margin=dict(l=40, r=20, t=60, b=40))
PLOTLY_MIME = "application/vnd.plotly.v1+json"
SCREENSHOT_SCALE = 2.25            # small pages (MiniWoB++'s 160×210) are drawn at this scale
MAX_SCREENSHOT = (560, 640)        # larger pages are scaled down to fit these pixels
SCREENSHOT_MARGIN = 2
CLICK_OFFSET = 5                   # page pixels between an element's box and the click marker outside it
TERM_COLOR, TOTAL_COLOR = "#a9b4c2", "#34495e"   # reward terms: one neutral colour; totals stand out
REWARD_WIDTH, REWARD_BAR_PX, REWARD_GAP_PX, REWARD_TOP_PX, REWARD_BOTTOM_PX = 440, 20, 30, 50, 24
#: A light look for the inspector's figures, ~40× cheaper to apply than ``plotly_white`` (re-drawn every step).
LIGHT = go.layout.Template(layout=dict(plot_bgcolor="white", paper_bgcolor="white", font=dict(color="#2a3f5f")))


def use_notebook_renderer() -> None:
    """Make displayed figures carry HTML too, so the HTML export of an executed notebook shows them; JupyterLab
    still renders them interactively. plotly.js goes on the page once per kernel, with the first figure shown
    (or :func:`page_has_plotlyjs`), and every figure's HTML shares that copy."""
    pio.renderers.default = "plotly_mimetype+notebook"


def color_for(index: int) -> str:
    """The palette colour of the ``index``-th series (cycling)."""
    return PALETTE[index % len(PALETTE)]


def rgba(hex_color: str, alpha: float) -> str:
    """``#rrggbb`` → ``rgba(r,g,b,alpha)`` (for translucent bands)."""
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _unique(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def bar_with_errors(rows: Sequence[dict[str, Any]], x: str, y: str, err: str | None,
                    color: str | None = None, title: str = "") -> go.Figure:
    """Bars of ``row[y]`` by ``row[x]`` with ``row[err]`` error bars; one bar group per ``row[color]``.

    Rows without a numeric ``y`` are skipped; a missing error counts as 0.
    """
    rows = [r for r in rows if _number(r.get(y)) is not None]
    groups = _unique(r.get(color) for r in rows) if color else [None]
    fig = go.Figure()
    for index, group in enumerate(groups):
        members = [r for r in rows if color is None or r.get(color) == group]
        fig.add_bar(
            x=[str(r.get(x)) for r in members], y=[float(r[y]) for r in members],
            error_y=dict(type="data", array=[_number(r.get(err)) or 0.0 for r in members] if err else None,
                         visible=bool(err)),
            name=str(group) if group is not None else y, marker_color=color_for(index),
        )
    fig.update_layout(**LAYOUT, title=title, barmode="group", xaxis_title=x, yaxis_title=y,
                      showlegend=color is not None)
    return fig


def line_curve(rows: Sequence[dict[str, Any]], x: str, y: str, group: str, err: str | None = None,
               title: str = "", x_title: str = "", y_title: str = "") -> go.Figure:
    """One line of ``row[y]`` against ``row[x]`` per ``row[group]`` (e.g. success against horizon K); the axes are
    titled ``x_title`` / ``y_title`` (default: the keys)."""
    rows = [r for r in rows if _number(r.get(y)) is not None and r.get(x) is not None]
    fig = go.Figure()
    for index, name in enumerate(_unique(r.get(group) for r in rows)):
        members = sorted((r for r in rows if r.get(group) == name), key=lambda r: r[x])
        fig.add_scatter(
            x=[r[x] for r in members], y=[float(r[y]) for r in members], mode="lines+markers", name=str(name),
            line_color=color_for(index),
            error_y=dict(type="data", array=[_number(r.get(err)) or 0.0 for r in members], visible=True)
            if err else None,
        )
    fig.update_layout(**LAYOUT, title=title or f"{y_title or y} by {x_title or x}", xaxis_title=x_title or x,
                      yaxis_title=y_title or y)
    return fig


def figure_menu(figs: dict[str, go.Figure], title: str = "") -> go.Figure:
    """Several figures as one, with a drop-down choosing which is shown (the first at first): a reader scans a
    group instead of a column of figures, and the HTML export keeps every choice. Each choice brings its own
    traces, title and axis titles; the figures should share an axis kind (all bars, or all curves)."""
    names = list(figs)
    spans, traces = [], []
    for name in names:
        spans.append((len(traces), len(traces) + len(figs[name].data)))
        traces += list(figs[name].data)
    fig = go.Figure(traces)
    buttons = []
    for name, (start, stop) in zip(names, spans):
        layout = figs[name].layout
        visible = [start <= i < stop for i in range(len(traces))]
        buttons.append(dict(label=name, method="update", args=[{"visible": visible}, {
            "title.text": layout.title.text, "xaxis.title.text": layout.xaxis.title.text,
            "yaxis.title.text": layout.yaxis.title.text, "showlegend": layout.showlegend}]))
    first = figs[names[0]].layout if names else go.Layout()
    fig.update_layout(**{**LAYOUT, "margin": dict(l=60, r=20, t=110, b=40)}, height=(first.height or 420) + 50,
                      title=dict(text=first.title.text, y=0.98, yref="container", yanchor="top"),
                      xaxis_title=first.xaxis.title.text, yaxis_title=first.yaxis.title.text,
                      showlegend=first.showlegend, barmode="group", updatemenus=[dict(
                          buttons=buttons, direction="down", x=1, xanchor="right", y=1.03, yanchor="bottom",
                          showactive=True)],
                      annotations=[dict(text=title or f"{len(names)} figures: choose one in the menu", x=0, y=1.03,
                                        xref="paper", yref="paper", xanchor="left", yanchor="bottom",
                                        showarrow=False, font=dict(size=12, color="#555"))])
    for trace, shown in zip(fig.data, buttons[0]["args"][0]["visible"] if buttons else []):
        trace.visible = shown
    return fig


def image_uri(image: Image.Image) -> str:
    """A PNG ``data:`` URI of an image (keeps exported HTML self-contained)."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def add_screenshot(fig: go.Figure, image: Image.Image | None, size: tuple[int, int], box: Box | None = None,
                   point: Point | None = None, color: str = "#d62728") -> go.Figure:
    """Draw the screenshot stretched over page coordinates ``size`` (width, height) into ``fig``, with the
    executed element's box and the click (:func:`click_marker`: never over the element's label)."""
    width, height = size
    if image is not None:
        fig.add_layout_image(source=image_uri(image), x=0, y=0, sizex=width, sizey=height, sizing="stretch",
                             layer="below", xref="x", yref="y")
    else:
        fig.add_annotation(x=width / 2, y=height / 2, text="no screenshot", showarrow=False)
    if box is not None:
        left, top, w, h = box
        fig.add_shape(type="rect", x0=left, y0=top, x1=left + w, y1=top + h, line=dict(color=color, width=2))
    if point is not None:
        x, y, symbol = click_marker(point, box, height)
        fig.add_trace(go.Scatter(x=[x], y=[y], mode="markers", name="click", showlegend=False,
                                 customdata=[list(point)], hovertemplate="click (%{customdata[0]:.0f}, "
                                 "%{customdata[1]:.0f})<extra></extra>",
                                 marker=dict(symbol=symbol, size=13, color=color, line=dict(width=2))))
    fig.update_xaxes(range=[0, width], visible=False, constrain="domain", fixedrange=True)
    fig.update_yaxes(range=[height, 0], visible=False, scaleanchor="x", constrain="domain", fixedrange=True)
    return fig


def click_marker(point: Point, box: Box | None, height: float) -> tuple[float, float, str]:
    """Where and how to mark a click so the element's label stays readable: a triangle just outside the element's
    box pointing at the click's x (below the box, else above it); a hollow ring on the point where no box is known
    or the box leaves no room on the page."""
    if box is not None:
        _, top, _, h = box
        if top + h + 2 * CLICK_OFFSET <= height:
            return point[0], top + h + CLICK_OFFSET, "triangle-up"
        if top >= 2 * CLICK_OFFSET:
            return point[0], top - CLICK_OFFSET, "triangle-down"
    return point[0], point[1], "circle-open"


def screenshot_figure(image: Image.Image | None, size: tuple[int, int], box: Box | None = None,
                      point: Point | None = None, color: str = "#d62728", scale: float = SCREENSHOT_SCALE) -> go.Figure:
    """A figure of one annotated screenshot (see :func:`add_screenshot`), exactly the size of the drawn page
    (enlarged at most ``scale`` times)."""
    width, height = display_size(size, scale)
    margin = dict(l=SCREENSHOT_MARGIN, r=SCREENSHOT_MARGIN, t=SCREENSHOT_MARGIN, b=SCREENSHOT_MARGIN, pad=0)
    fig = go.Figure(layout=dict(template=LIGHT, showlegend=False, width=width, height=height, margin=margin))
    return add_screenshot(fig, image, size, box, point, color)


def display_scale(size: tuple[int, int], scale: float = SCREENSHOT_SCALE) -> float:
    """How much a page of ``size`` is enlarged: ``scale`` (2.25×), less for pages that would exceed
    ``MAX_SCREENSHOT`` pixels."""
    width, height = size
    return min(scale, MAX_SCREENSHOT[0] / width, MAX_SCREENSHOT[1] / height)


def display_size(size: tuple[int, int], scale: float = SCREENSHOT_SCALE) -> tuple[int, int]:
    """The figure size (pixels) that holds a page of ``size`` at :func:`display_scale`, no blank band."""
    scale = display_scale(size, scale)
    return (round(size[0] * scale) + 2 * SCREENSHOT_MARGIN, round(size[1] * scale) + 2 * SCREENSHOT_MARGIN)


def reward_groups(rewards: dict[str, float]) -> dict[str, list[tuple[str, float]]]:
    """Reward terms by stage: ``stage1/alignment`` → ``{"stage1": [("alignment", …)]}``; unprefixed terms under
    ``"reward"``; each stage's ``total`` last."""
    groups: dict[str, list[tuple[str, float]]] = {}
    for key, value in rewards.items():
        stage, _, term = key.rpartition("/")
        groups.setdefault(stage or "reward", []).append((term, float(value)))
    return {stage: sorted(terms, key=lambda t: t[0] == "total") for stage, terms in groups.items()}


def reward_bar(rewards: dict[str, float], title: str = "reward breakdown",
               weights: dict[str, float] | None = None, width: int = REWARD_WIDTH) -> go.Figure:
    """A step's rewards as horizontal bars on a fixed 0–1 axis, one panel per stage (:func:`reward_groups`): terms
    in one neutral colour, each ``total`` highlighted. A term with a weight in ``weights`` (keyed like ``rewards``)
    is drawn as its contribution, weight × value, written ``0.70 × 0.80 = 0.56``, so a stage's total is visibly
    the sum of the bars above it; other terms show their value. Every value is written beside its bar (zeros too)."""
    groups = reward_groups(rewards)
    weights = weights or {}
    layout: dict[str, Any] = dict(template=LIGHT, title=dict(text=title, font=dict(size=13), x=0.02),
                                  width=width, showlegend=False, bargap=0.25,
                                  margin=dict(l=80, r=110, t=REWARD_TOP_PX, b=REWARD_BOTTOM_PX))
    if not groups:
        layout.update(height=110, xaxis=dict(visible=False), yaxis=dict(visible=False), annotations=[dict(
            text="no rewards recorded", x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)])
        return go.Figure(layout=layout)
    values = [value for terms in groups.values() for _, value in terms]
    span = [min(0.0, *values), max(1.0, *values)]
    plot = REWARD_BAR_PX * len(values) + REWARD_GAP_PX * (len(groups) - 1)
    layout.update(height=plot + REWARD_TOP_PX + REWARD_BOTTOM_PX, annotations=[])
    traces, top = [], 1.0
    for k, (stage, terms) in enumerate(groups.items(), start=1):
        axis = "" if k == 1 else str(k)
        bottom = top - REWARD_BAR_PX * len(terms) / plot
        layout[f"yaxis{axis}"] = dict(domain=[max(0.0, bottom), top], anchor=f"x{axis}", autorange="reversed",
                                      fixedrange=True)
        layout[f"xaxis{axis}"] = dict(domain=[0, 1], anchor=f"y{axis}", range=span, dtick=0.25, fixedrange=True,
                                      showticklabels=k == len(groups), gridcolor="#e5e8ec", zeroline=False)
        weighted = any(f"{stage}/{term}" in weights for term, _ in terms)
        note = ": weight × value, total = their sum" if weighted else ""
        layout["annotations"].append(dict(text=stage + note, x=0, y=top, xref="paper", yref="paper", xshift=-70,
                                          xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=12)))
        names, heights, texts = [], [], []
        for term, value in terms:
            weight = weights.get(f"{stage}/{term}")
            names.append(term)
            heights.append(value if weight is None else weight * value)
            texts.append(f"{value:.2f}" if weight is None else f"{weight:.2f} × {value:.2f} = {weight * value:.2f}")
        traces.append(go.Bar(x=heights, y=names, orientation="h", xaxis=f"x{axis}", yaxis=f"y{axis}",
                             cliponaxis=False, text=texts, textposition="outside",
                             marker_color=[TOTAL_COLOR if n == "total" else TERM_COLOR for n in names],
                             hovertemplate="%{y}: %{text}<extra></extra>"))
        top = bottom - REWARD_GAP_PX / plot
    return go.Figure(data=traces, layout=layout)


def figure_output(fig: go.Figure, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """A figure as one notebook ``display_data`` output in plotly's mime type, for an ``ipywidgets.Output``:
    JupyterLab's plotly extension draws it, and no plotly.js is stored with it."""
    data = json.loads(fig.to_json())
    if config:
        data["config"] = config
    return {"output_type": "display_data", "metadata": {},
            "data": {PLOTLY_MIME: data, "text/plain": f"<plotly figure: {fig.layout.title.text or 'untitled'}>"}}


def figure_html(fig: go.Figure, include_plotlyjs: bool, config: dict[str, Any] | None = None) -> str:
    """A figure as an HTML fragment, with plotly.js inlined or (``False``) expected on the page."""
    return fig.to_html(full_html=False, include_plotlyjs=include_plotlyjs, config=config)


def in_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (a notebook page shows what it displays)."""
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


def page_has_plotlyjs() -> bool:
    """Whether figure HTML may leave plotly.js out because the page holds it once: true in a kernel under
    :func:`use_notebook_renderer`, whose notebook renderer displays its single copy now if no figure has yet
    (plotly activates it lazily, on the first figure shown); false elsewhere, where HTML must inline it."""
    if not in_kernel() or "notebook" not in pio.renderers.default.split("+"):
        return False
    pio.renderers._activate_pending_renderers()  # plotly's own once-per-kernel activation; no public hook
    return True


def plotlyjs_once(html: str) -> str:
    """An HTML page with its first inlined copy of plotly.js kept and any later copy dropped (each ~5 MB: a
    figure or HTML output that inlined its own); the page's later figures use the first."""
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    first = html.find(js)
    if first < 0:
        return html
    cut = first + len(js)
    return html[:cut] + html[cut:].replace(js, "")
