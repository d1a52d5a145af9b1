"""The trajectory inspector: recorded episodes step by step, in JupyterLab or as static HTML.

Per step a panel shows the screenshot with the executed action drawn on it (a box around the element, a marker
just outside it pointing at the click) beside the predicted K-step plan against the reference trajectory, agreement per field (action,
target, value, done: ✓/✗, the reward's similarity kept beside them) with rows coloured by category, what the tool
agent executed or why nothing ran, and the step's rewards grouped by stage, each term as weight × value so the
bars add up to the total. A target the grounder names by position (``input_text #1``) shows the element's visible
label ("Username"), the grounder's words on hover; an observation's text (domains without page elements) shows
above the plan. ``compare=("reactive-s0", "tracer1-s0")`` puts two variants of the same task and seed side by
side (stacked only where the page is narrow) under one step control, marks what differs between them and says
when they wrote the same plans (:func:`default_compare` builds that pair from the params). The picker lists the
run's main variant first (``main=``); filters by task, variant, training seed and outcome narrow it; steps are
numbered from 1, as in the header's "step i/n".

:class:`StepView` is the pure, headless state of one panel; :class:`Inspector` wires it to ipywidgets. Figures
reach the page as plotly mime-bundle outputs of ``ipywidgets.Output`` (a plotly ``FigureWidget`` would store its
own ~5 MB copy of plotly.js in the notebook and in every export of it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import escape
from typing import Any, Callable, Sequence

import ipywidgets as widgets
import plotly.graph_objects as go
from PIL import Image

from ..actions import Step
from ..agents.grounding import resolve
from ..episodes import Box, Element, Episode, Observation, Point, StepRecord, split_variant_label, variant_label
from ..params import EvalParams, GroundedRewardParams, RewardParams
from ..rewards import grounded_weights, step_similarity
from ..text import text_match
from .figures import (REWARD_WIDTH, SCREENSHOT_SCALE, display_size, figure_html, figure_output, page_has_plotlyjs,
                      reward_bar,
                      screenshot_figure)

STATUS_COLORS = {"matched": "#2ca02c", "mismatched": "#ff7f0e", "not executable": "#d62728",
                 "executed": "#1f77b4", "none": "#7f7f7f"}
#: Plan-row backgrounds by how the predicted step agrees with the reference step at its position.
CATEGORY_COLORS = {"exact": "#d8f0d2", "partial": "#fde7c4", "wrong action": "#f7cfcf", "missing": "#e3e3e3",
                   "no reference": "#f6f6f6"}
CATEGORY_NOTES = {"exact": "exact", "partial": "right action, wrong target, value or done",
                  "wrong action": "wrong action", "missing": "no prediction", "no reference": "beyond the reference"}
FIGURE_CONFIG = {"displayModeBar": False}
CELL = "style='text-align:left;padding:3px 6px'"  # inline: notebook CSS right-aligns table cells
TEXT = "style='line-height:1.4'"  # ipywidgets' HTML widget would space lines as tall as a button
AGREEMENT_CELL = "style='text-align:left;padding:3px 6px;min-width:7em'"  # wraps between fields, never in one
COMPARE_SCALE, COMPARE_REWARD_WIDTH = 1.25, 320  # a compare pair's screenshot enlargement, reward-bar width
DIFFERS = "outline:2px solid #9467bd;outline-offset:-2px"  # a field that differs from the other compared variant
MAIN_VARIANT = "tracer1"
#: Keeps the step control in view while the panels below it scroll (JupyterLab scrolls the notebook, not the page).
STICKY_CSS = ("<style>.tracer1kit-controls{position:sticky;top:0;z-index:10;background:var(--jp-layout-color0,white);"
              "padding:2px 0}</style>")


def main_label(eval_params: EvalParams) -> str:
    """The run's main variant as ``evaluation.run`` stores it: ``tracer1`` at the first training seed."""
    if not eval_params.training_seeds:
        raise ValueError("eval.training_seeds is empty: list at least one training seed (e.g. [0])")
    return variant_label(MAIN_VARIANT, eval_params.training_seeds[0])


def reward_weights(reward: RewardParams, grounded: GroundedRewardParams) -> dict[str, float]:
    """Each stored reward term's weight in its stage's total (``stage1/alignment`` → 0.7), as the rewards sum them."""
    weights = {f"stage1/{term}": weight for term, weight in reward.weights.model_dump().items()}
    return weights | {f"grounded/{term}": weight for term, weight in grounded_weights(grounded).items()}


def element_label(obs: Observation, element: Element) -> str:
    """What a reader sees for ``element``: its own text, else the text just before it on the page (a field's label)."""
    own = " ".join(element.text.split())
    if own:
        return own
    before = [e for e in obs.elements[:obs.elements.index(element)] if e.visible and e.text.strip()]
    return " ".join(before[-1].text.split()) if before else ""


def target_label(obs: Observation | None, step: Step | None) -> str:
    """The visible label of the element ``step``'s target names on this page when it differs from the target's words
    (``input_text #1`` → ``Username``), else ``""`` (no page elements, no such element, or the same words)."""
    if obs is None or step is None or not step.target or not obs.elements:
        return ""
    element = resolve(obs, step.target, step.action)
    label = element_label(obs, element) if element is not None else ""
    return label if label and label != step.target else ""


def default_compare(eval_params: EvalParams) -> tuple[str, str]:
    """The pair compare mode opens with: reactive and the run's main variant ``tracer1``, both at the first
    training seed, labelled as ``evaluation.run`` stores them (``reactive-s0``, ``tracer1-s0``)."""
    missing = [v for v in ("reactive", MAIN_VARIANT) if v not in eval_params.variants]
    if missing:
        raise ValueError(f"eval.variants {eval_params.variants} lacks {missing}: add them to compare the main variant "
                         "with reactive, or pass compare=(left, right) with two stored variant labels")
    main = main_label(eval_params)  # first: it names the fix for an empty training_seeds
    return variant_label("reactive", eval_params.training_seeds[0]), main


def same_plans(a: Episode, b: Episode) -> bool:
    """Whether two episodes wrote the same plans at every step (the steps; the raw text where a plan did not
    parse; the reasoning is ignored)."""
    def written(record: StepRecord) -> Any:
        return record.plan.steps if record.plan is not None else record.raw_text

    return len(a.steps) == len(b.steps) and all(written(x) == written(y) for x, y in zip(a.steps, b.steps))


def step_text(step: Step | None) -> str:
    """A step in one line: ``click "Login" — click the Login button [done]``."""
    if step is None:
        return ""
    text = step.describe()
    if step.instruction:
        text += f" — {step.instruction}"
    return text + (" [done]" if step.done else "")


@dataclass(frozen=True)
class Agreement:
    """A predicted step against its reference, field by field (``None``: the field is empty on both sides), and
    the Stage-1 reward's similarity of the two."""

    action: bool
    target: bool | None
    value: bool | None
    done: bool
    similarity: float

    @property
    def category(self) -> str:
        """``exact``, ``partial`` (right action, another field wrong) or ``wrong action``."""
        if not self.action:
            return "wrong action"
        return "partial" if False in (self.target, self.value, self.done) else "exact"


def _texts_agree(pairs: Sequence[tuple[str, str]]) -> bool | None:
    """Whether every (predicted, reference) text pair matches fully under :func:`text_match`; None if no pair."""
    return all(text_match(p, r) == 1.0 for p, r in pairs) if pairs else None


def agreement(pred: Step, ref: Step, current: bool, params: RewardParams) -> Agreement:
    """Per-field agreement of ``pred`` with ``ref`` (the text fields by the kit's :func:`text_match`, a field
    agreeing when it scores 1) and their :func:`step_similarity`; ``current``: position 1 of the plan."""
    target = [(pred.target, ref.target)] if pred.target or ref.target else []
    value = [(pred.value, ref.value)] if pred.value or ref.value else []
    args = pred.args_dict
    value += [(args.get(key, ""), text) for key, text in ref.args]
    return Agreement(pred.action is ref.action, _texts_agree(target), _texts_agree(value), pred.done == ref.done,
                     step_similarity(pred, ref, current, params))


@dataclass(frozen=True)
class PlanRow:
    """One position of the forecast: predicted and reference step, their agreement (None when one is missing),
    its category and whether this step was executed."""

    position: int
    predicted: str
    reference: str
    agreement: Agreement | None
    category: str
    executed: bool = False
    steps: tuple[Step | None, Step | None] = (None, None)  # (predicted, reference)

    @property
    def similarity(self) -> float | None:
        """The reward's similarity; 0 for a missing prediction, None beyond the reference."""
        if self.agreement is not None:
            return self.agreement.similarity
        return 0.0 if self.category == "missing" else None

    @property
    def color(self) -> str:
        return CATEGORY_COLORS[self.category]


@dataclass(frozen=True)
class Highlight:
    """What was executed at a step and where: the element box and/or click point, or a tool's output."""

    box: Box | None
    point: Point | None
    executed: str
    output: str
    error: str
    status: str
    color: str


def plan_rows(record: StepRecord, params: RewardParams) -> tuple[PlanRow, ...]:
    """Predicted vs reference steps by position; position 1 is marked executed when the tool agent ran it."""
    pred = record.plan.steps if record.plan is not None else ()
    ref = record.reference.steps if record.reference is not None else ()
    ran = record.feedback is not None and record.feedback.executable
    rows = []
    for i in range(max(len(pred), len(ref))):
        p = pred[i] if i < len(pred) else None
        r = ref[i] if i < len(ref) else None
        agrees = agreement(p, r, i == 0, params) if p is not None and r is not None else None
        category = agrees.category if agrees is not None else "missing" if r is not None else "no reference"
        rows.append(PlanRow(i + 1, step_text(p), step_text(r), agrees, category, ran and i == 0 and p is not None,
                            (p, r)))
    return tuple(rows)


NO_HIGHLIGHT = Highlight(None, None, "", "", "no feedback recorded", "none", STATUS_COLORS["none"])


def highlight(record: StepRecord) -> Highlight:
    """The executed action of a step (the element box from its ref, the click point, the tool output)."""
    fb = record.feedback
    if fb is None:
        return NO_HIGHLIGHT
    element = record.observation.element(fb.element_ref) if fb.element_ref is not None else None
    status = ("not executable" if not fb.executable else "executed" if fb.matched_reference is None
              else "matched" if fb.matched_reference else "mismatched")
    return Highlight(element.box if element is not None else None, fb.point, fb.executed, fb.output, fb.error,
                     status, STATUS_COLORS[status])


def _mark(ok: bool | None) -> str:
    return "–" if ok is None else "✓" if ok else "✗"


def agreement_html(row: PlanRow) -> str:
    """The agreement cell: ``action ✓ target ✗ value ✗ done ✓ · similarity 0.72`` (or why there is none)."""
    a = row.agreement
    if a is None:
        return "missing · similarity 0.00" if row.category == "missing" else "no reference"
    fields = " ".join(f"{name} {_mark(ok)}" for name, ok in
                      (("action", a.action), ("target", a.target), ("value", a.value), ("done", a.done)))
    return f"{fields} · similarity {a.similarity:.2f}"


def _unbroken(text: str) -> str:
    """HTML of an agreement cell that may wrap between its fields but never inside one (``target ✗``)."""
    return re.sub(r" (?=[✓✗–]|\d)", "&nbsp;", escape(text))


def step_cell(text: str, step: Step | None, obs: Observation | None) -> str:
    """A step's table cell: the target's words replaced by the element's visible label (:func:`target_label`; the
    grounder's words on hover), or the step as written."""
    html, label = escape(text), target_label(obs, step)
    if not label or step is None:
        return html
    shown = (f"<span title='grounder: {escape(step.target)}' style='border-bottom:1px dotted'>"
             f"{escape(label)}</span>")
    quoted = escape(json.dumps(step.target, ensure_ascii=False))
    return html.replace(quoted, f'"{shown}"', 1)


LEGEND_HTML = ("<div style='font-size:12px;margin:4px 0'>" + " ".join(
    f"<span style='background:{color};padding:1px 6px;margin:0 4px 2px 0;display:inline-block;white-space:nowrap'>"
    f"{escape(CATEGORY_NOTES[name])}</span>"
    for name, color in CATEGORY_COLORS.items()) + "</div>")


@dataclass(frozen=True)
class StepView:
    """The headless state of one panel: an episode at step ``step`` (1-based, clamped to the episode's length)."""

    episode: Episode
    step: int
    params: RewardParams
    weights: dict[str, float] = field(default_factory=dict)  # reward term → weight (see reward_weights)
    compact: bool = False  # one of a compare pair: a smaller screenshot, the reward bars under both

    @property
    def shown(self) -> int:
        """The step number drawn (the last one once the episode has ended); 0 for an episode with no steps."""
        return min(self.step, len(self.episode.steps))

    @property
    def record(self) -> StepRecord | None:
        return self.episode.steps[self.shown - 1] if self.shown else None

    @property
    def plan_rows(self) -> tuple[PlanRow, ...]:
        return plan_rows(self.record, self.params) if self.record is not None else ()

    @property
    def highlight(self) -> Highlight:
        return highlight(self.record) if self.record is not None else NO_HIGHLIGHT

    @property
    def rewards(self) -> dict[str, float]:
        return dict(self.record.rewards) if self.record is not None else {}

    @property
    def reward_title(self) -> str:
        record = self.record
        return f"rewards (env reward {record.env_reward:g})" if record is not None else "no rewards"

    @property
    def size(self) -> tuple[int, int]:
        return self.record.observation.size if self.record is not None else (160, 210)

    def screenshot_figure(self) -> go.Figure:
        mark = self.highlight
        image: Image.Image | None = self.record.observation.image() if self.record is not None else None
        return screenshot_figure(image, self.size, mark.box, mark.point, mark.color, self.scale)

    @property
    def scale(self) -> float:
        """How much the screenshot is enlarged (less in a compare pair, so two panels fit one screen's width)."""
        return COMPARE_SCALE if self.compact else SCREENSHOT_SCALE

    def reward_figure(self) -> go.Figure:
        return reward_bar(self.rewards, title=self.reward_title, weights=self.weights,
                          width=COMPARE_REWARD_WIDTH if self.compact else REWARD_WIDTH)

    def header_fields(self) -> dict[str, str]:
        """The header's labelled fields after the variant's name: task, seed, K, step, outcome, episode reward."""
        ep, n = self.episode, len(self.episode.steps)
        ended = f" (the episode ended after {n}; step {self.step} shows its last)" if self.step > n > 0 else ""
        return {"task": escape(ep.task), "seed": f"seed {ep.seed}", "K": f"K={ep.horizon}",
                "step": f"<b>step {self.shown}/{n}</b>{ended}",
                "outcome": "✓ success" if ep.success else "✗ failure",
                "reward": f"episode reward {ep.reward:g}"}

    def header_html(self, differs: frozenset[str] = frozenset()) -> str:
        """The header; the fields named in ``differs`` outlined (they differ from the compared variant)."""
        ep = self.episode
        fields = " · ".join(f"<span style='{DIFFERS}' title='differs from the other variant'>{text}</span>"
                            if name in differs else text for name, text in self.header_fields().items())
        return f"<div {TEXT}><b>{escape(ep.variant)}</b> · {fields}<br><i>{escape(ep.instruction)}</i></div>"

    def plan_html(self, differs: frozenset[int] = frozenset()) -> str:
        """The plan table (the predicted steps at the positions in ``differs`` outlined: the compared variant
        predicted otherwise), the legend, the observation's text where the domain renders one, what ran."""
        record = self.record
        if record is None:
            return "<p>no steps recorded</p>"
        parts = []
        if record.observation.text:
            parts.append(f"<details open><summary>observation</summary><pre style='white-space:pre-wrap;margin:2px 0'>"
                         f"{escape(record.observation.text)}</pre></details>")
        if record.plan is None:
            parts.append(f"<p style='color:#d62728'><b>unparseable plan</b>: {escape(record.parse_error or '')}"
                         f"</p><pre style='white-space:pre-wrap'>{escape(record.raw_text)}</pre>")
        elif record.plan.think:
            parts.append(f"<details><summary>reasoning</summary><pre style='white-space:pre-wrap'>"
                         f"{escape(record.plan.think)}</pre></details>")
        body = "".join(self._row_html(row, row.position in differs) for row in self.plan_rows)
        head = "".join(f"<th {CELL}>{name}</th>" for name in ("#", "predicted plan", "reference", "agreement"))
        parts.append(f"<table style='border-collapse:collapse;font-size:13px' border='1'><tr>{head}</tr>{body}</table>"
                     f"{LEGEND_HTML}")
        return f"<div {TEXT}>{''.join(parts)}{self._executed_html()}</div>"

    def _row_html(self, row: PlanRow, differs: bool = False) -> str:
        mark, obs = self.highlight, self.record.observation if self.record is not None else None
        number = (f"<b style='color:{mark.color}' title='executed by the tool agent'>▶{row.position}</b>"
                  if row.executed else str(row.position))
        predicted = (f"<td style='text-align:left;padding:3px 6px;{DIFFERS}' title='the other variant predicted "
                     f"otherwise here'>" if differs else f"<td {CELL}>") + step_cell(row.predicted, row.steps[0], obs)
        return (f"<tr style='background:{row.color}' title='{escape(CATEGORY_NOTES[row.category])}'>"
                f"<td {CELL}>{number}</td>{predicted}</td><td {CELL}>{step_cell(row.reference, row.steps[1], obs)}</td>"
                f"<td {AGREEMENT_CELL}>{_unbroken(agreement_html(row))}</td></tr>")

    def _executed_html(self) -> str:
        mark = self.highlight
        if mark.status in ("none", "not executable"):
            return f"<p><b style='color:{mark.color}'>not executed</b>: {escape(mark.error or 'not executable')}</p>"
        lines = [f"<b style='color:{mark.color}'>▶ executed ({mark.status})</b>: {escape(mark.executed)}"]
        if mark.error:
            lines.append(f"<b>error</b>: {escape(mark.error)}")
        if mark.output:
            label = "state" if self.record is not None and self.record.observation.elements else "tool output"
            lines.append(f"<b>{label}</b>:<pre style='white-space:pre-wrap;margin:2px 0'>{escape(mark.output)}</pre>")
        return "<p>" + "<br>".join(lines) + "</p>"


Entry = tuple[Episode, ...]


def _css(layout: dict[str, str]) -> str:
    """A panel layout (:data:`SIDE`, :data:`PANEL`) as inline CSS."""
    return ";".join(f"{key.replace('_', '-')}:{value}" for key, value in layout.items())


@dataclass(frozen=True)
class Differences:
    """What differs between the two panels of a compare entry at the shown step: header fields by name and the
    plan positions whose predicted steps differ."""

    header: frozenset[str] = frozenset()
    positions: frozenset[int] = frozenset()


def differences(a: StepView, b: StepView) -> Differences:
    """The header fields and predicted plan positions on which two panels differ (a missing step differs)."""
    fa, fb = a.header_fields(), b.header_fields()
    header = frozenset(name for name in fa if name != "task" and fa[name] != fb.get(name))
    pa = [r.steps[0] for r in a.plan_rows]
    pb = [r.steps[0] for r in b.plan_rows]
    size = max(len(pa), len(pb))
    pa, pb = pa + [None] * (size - len(pa)), pb + [None] * (size - len(pb))
    return Differences(header, frozenset(i + 1 for i, (x, y) in enumerate(zip(pa, pb)) if x != y))


def outcome(entry: Entry) -> str:
    """``success`` / ``failure`` for one episode; for a pair ``both succeed``, ``both fail`` or
    ``only <variant> succeeds``."""
    if len(entry) == 1:
        return "success" if entry[0].success else "failure"
    won = [ep.variant for ep in entry if ep.success]
    return "both succeed" if len(won) == len(entry) else "both fail" if not won else f"only {won[0]} succeeds"


#: What each filter reads from a picker entry (its first episode; a compare entry's variant and seed are fixed).
FILTERS: dict[str, Callable[[Entry], Any]] = {
    "task": lambda entry: entry[0].task,
    "variant": lambda entry: split_variant_label(entry[0].variant)[0],
    "training seed": lambda entry: split_variant_label(entry[0].variant)[1],
    "outcome": outcome,
}


ALL = "all"  # a filter's value that lets every entry through


def matching(entries: Sequence[Entry], chosen: dict[str, Any]) -> list[int]:
    """Indices of the entries every chosen filter value (:data:`ALL`: any) agrees with."""
    return [i for i, entry in enumerate(entries)
            if all(value == ALL or FILTERS[name](entry) == value for name, value in chosen.items())]


def _entry_label(entry: Entry) -> str:
    first = entry[0]
    if len(entry) == 1:
        return (f"{first.task} · seed {first.seed} · {first.variant} · K={first.horizon} · "
                f"{'✓' if first.success else '✗'}")
    sides = " vs ".join(f"{ep.variant} {'✓' if ep.success else '✗'}" for ep in entry)
    return f"{first.task} · seed {first.seed} · {sides}" + (" · same plans" if same_plans(*entry) else "")


def _compare_entries(episodes: Sequence[Episode], variants: tuple[str, str]) -> list[Entry]:
    """Per (task, seed) holding both variants, in first-seen order: the first episode of each variant."""
    found: dict[tuple[str, int], dict[str, Episode]] = {}
    for ep in episodes:
        if ep.variant in variants:
            found.setdefault((ep.task, ep.seed), {}).setdefault(ep.variant, ep)
    return [tuple(by[v] for v in variants) for by in found.values() if len(by) == len(variants)]


def same_plans_note(entry: Entry) -> str:
    """A warning when the panels of a compare entry wrote the same plans at every step, else ``""``."""
    if len(entry) < 2 or not same_plans(*entry):
        return ""
    names = " and ".join(escape(ep.variant) for ep in entry)
    return (f"<p style='background:#fff4d6;padding:4px 8px'>⚠ {names} wrote <b>the same plans at every step</b> of "
            "this episode: the two trajectories are identical.</p>")


#: Panel layout (CSS flex): one panel uses the width, the plan and reward bars beside the screenshot; a compare
#: pair shares it, side by side wherever the notebook is ~1,100 px wide (1600 px screen, file browser open) and
#: stacked only on narrower pages, each with its plan across the panel and the screenshot and rewards below.
SIDE = dict(flex="1 1 420px", min_width="380px", max_width="720px")
PANEL = {1: dict(flex="1 1 auto"), 2: dict(flex="1 1 520px", min_width="0", max_width="900px",
                                           margin="0 12px 12px 0")}


class _Panel:
    """The widgets of one panel (of ``count``: 1, or 2 side by side): header above the screenshot, beside it the
    plan and the reward bars."""

    def __init__(self, count: int = 1) -> None:
        self.header = widgets.HTML()
        self.screenshot = widgets.Output()
        self.plan = widgets.HTML(layout=widgets.Layout(width="auto"))
        self.rewards = widgets.Output()
        self.screenshot.layout.margin = "0 12px 0 0"
        row = widgets.Layout(align_items="flex-start")
        if count == 2:  # the plan across the panel, so the pair's plans read side by side; below it the rest
            parts = [self.header, self.plan, widgets.HBox([self.screenshot, self.rewards], layout=row)]
        else:
            side = widgets.VBox([self.plan, self.rewards], layout=widgets.Layout(**SIDE))
            parts = [self.header, widgets.HBox([self.screenshot, side], layout=row)]
        self.widget = widgets.VBox(parts, layout=widgets.Layout(**PANEL[count]))
        self.widget.add_class("tracer1kit-panel")

    def show(self, view: StepView, differs: Differences = Differences()) -> None:
        width, height = display_size(view.size, view.scale)
        self.screenshot.layout.width, self.screenshot.layout.min_height = f"{width + 8}px", f"{height}px"
        self.header.value = view.header_html(differs.header)
        self.plan.value = view.plan_html(differs.positions)
        self.screenshot.outputs = (figure_output(view.screenshot_figure(), FIGURE_CONFIG),)
        self.rewards.outputs = (figure_output(view.reward_figure(), FIGURE_CONFIG),)


class Inspector:
    """Filters, an episode picker and a 1-based step control (previous / next / play) over recorded episodes;
    ``compare=(left, right)`` pairs two variant labels by task and seed (see :func:`default_compare`).

    ``.widget`` is the ipywidgets container (the inspector also displays itself); ``select``, ``set_step``,
    the ``filters`` and the ``current_*`` properties drive and read it headlessly; ``static_html`` renders one
    state for exported notebooks.
    """

    def __init__(self, episodes: Sequence[Episode], compare: tuple[str, str] | None = None,
                 params: RewardParams | None = None, grounded: GroundedRewardParams | None = None,
                 main: str | None = None) -> None:
        self.params = params or RewardParams()
        self.weights = reward_weights(self.params, grounded or GroundedRewardParams())
        self.compare = compare
        first = [ep for ep in episodes if ep.variant == main] + [ep for ep in episodes if ep.variant != main]
        self.entries: list[Entry] = ([(ep,) for ep in first] if compare is None
                                     else _compare_entries(episodes, compare))
        if not self.entries:
            stored = sorted({ep.variant for ep in episodes})
            wanted = f" with both variants {compare} (stored: {stored})" if compare else ""
            raise ValueError(f"no episodes to inspect{wanted}")
        self.labels = [_entry_label(entry) for entry in self.entries]
        self._index, self._step, self._filtering = 0, 1, False
        names = ("task", "outcome") if compare else tuple(FILTERS)
        self.filters = {name: widgets.Dropdown(options=self._filter_options(name), value=ALL, description=name,
                                               style={"description_width": "initial"},
                                               layout=widgets.Layout(width="auto", margin="0 12px 0 0"))
                        for name in names}
        self.picker = widgets.Dropdown(options=self._picker_options(range(len(self.entries))), value=0,
                                       description="episode", layout=widgets.Layout(width="720px"))
        self.previous = widgets.Button(description="◀ previous", layout=widgets.Layout(width="100px"))
        self.next = widgets.Button(description="next ▶", layout=widgets.Layout(width="100px"))
        self.play = widgets.Play(value=1, min=1, max=1, interval=1200, description="play")
        self.slider = widgets.IntSlider(value=1, min=1, max=1, description="step")
        self.count = widgets.HTML()
        self.note = widgets.HTML()
        self.panels = [_Panel(len(self.entries[0])) for _ in self.entries[0]]
        controls = widgets.VBox([widgets.HTML(STICKY_CSS), widgets.HBox(list(self.filters.values())), self.picker,
                                 widgets.HBox([self.previous, self.play, self.next, self.slider, self.count])])
        controls.add_class("tracer1kit-controls")
        panels = widgets.HBox([panel.widget for panel in self.panels],
                              layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"))
        self.widget = widgets.VBox([controls, self.note, panels])
        widgets.link((self.play, "value"), (self.slider, "value"))
        for dropdown in self.filters.values():
            dropdown.observe(lambda _: self._refilter(), names="value")
        self.picker.observe(self._picked, names="value")
        self.slider.observe(lambda change: self.set_step(change["new"]), names="value")
        self.previous.on_click(lambda _: self.set_step(max(1, self._step - 1)))
        self.next.on_click(lambda _: self.set_step(min(self.last_step, self._step + 1)))
        self._sync_controls()
        self._render()

    def _filter_options(self, name: str) -> list[tuple[str, Any]]:
        values = sorted({FILTERS[name](entry) for entry in self.entries} - {None}, key=str)
        return [(ALL, ALL)] + [(str(value), value) for value in values]

    def _picker_options(self, indices: Any) -> list[tuple[str, int]]:
        return [(self.labels[i], i) for i in indices]

    def _picked(self, change: dict[str, Any]) -> None:
        if not self._filtering and change["new"] is not None and change["new"] != self._index:
            self.select(change["new"])

    def _refilter(self) -> None:
        """Narrow the picker to the entries the filters allow; keep the shown one (and its step) if it matches."""
        shown = matching(self.entries, {name: d.value for name, d in self.filters.items()})
        keep = self._index if self._index in shown else shown[0] if shown else None
        self._filtering = True  # the picker moves through its first option while its options change
        try:
            self.picker.options = self._picker_options(shown)
            self.picker.value = keep
        finally:
            self._filtering = False
        if keep is None:
            self.note.value = "<p>no episode matches these filters</p>"
        elif keep != self._index:
            self.select(keep)
        else:
            self._render()

    @property
    def shown_entries(self) -> list[int]:
        """The entries the picker offers under the current filters."""
        return [index for _, index in self.picker.options]

    @property
    def last_step(self) -> int:
        """The last step number of the selected entry (the longest episode in compare mode)."""
        return max(1, max(len(ep.steps) for ep in self.entries[self._index]))

    def select(self, episode_index: int) -> None:
        """Show entry ``episode_index`` (an index into ``entries``) from its first step."""
        if not 0 <= episode_index < len(self.entries):
            raise IndexError(f"episode index {episode_index} outside 0..{len(self.entries) - 1}")
        self._index, self._step = episode_index, 1
        if episode_index in self.shown_entries:
            self.picker.value = episode_index
        self._sync_controls()
        self._render()

    def set_step(self, step: int) -> None:
        """Show step ``step`` (1-based, as the header's "step i/n") of the selected episode(s)."""
        if not 1 <= step <= self.last_step:
            raise IndexError(f"step {step} outside 1..{self.last_step}")
        if step != self._step:
            self._step = step
            self._sync_controls()
            self._render()

    def _sync_controls(self) -> None:
        last = self.last_step
        for control in (self.slider, self.play):  # value first: a lower max would clamp the old value
            control.value = self._step
            control.max = last
        self.previous.disabled, self.next.disabled = self._step <= 1, self._step >= last
        self.count.value = f"<b>step {self._step}/{last}</b>"

    def _render(self) -> None:
        views = self.views
        self.note.value = same_plans_note(self.entries[self._index])
        marks = self.differences
        for panel, view in zip(self.panels, views):
            panel.show(view, marks)

    def _views(self, index: int, step: int) -> tuple[StepView, ...]:
        entry = self.entries[index]
        return tuple(StepView(ep, step, self.params, self.weights, len(entry) == 2) for ep in entry)

    @property
    def differences(self) -> Differences:
        """What differs between the two compared panels at the shown step (nothing outside compare mode)."""
        views = self.views
        return differences(*views) if len(views) == 2 else Differences()

    @property
    def views(self) -> tuple[StepView, ...]:
        """The state of every panel (two in compare mode, left first)."""
        return self._views(self._index, self._step)

    @property
    def episode_index(self) -> int:
        return self._index

    @property
    def step(self) -> int:
        """The step shown, 1-based."""
        return self._step

    @property
    def current_plan_rows(self) -> tuple[PlanRow, ...]:
        """The plan table of the (first) panel."""
        return self.views[0].plan_rows

    @property
    def current_highlight(self) -> Highlight:
        """The executed action drawn on the (first) panel's screenshot."""
        return self.views[0].highlight

    @property
    def current_reward_chart(self) -> go.Figure:
        """The (first) panel's reward breakdown figure."""
        return self.views[0].reward_figure()

    def static_html(self, episode_index: int | None = None, step: int | None = None,
                    include_plotlyjs: bool | None = None) -> str:
        """One state as HTML for ``IPython.display.HTML`` (exported notebooks, reports): panels laid out as in
        the widget. ``include_plotlyjs=None`` shares the notebook page's one copy of plotly.js where
        :func:`~tracer1kit.viz.figures.use_notebook_renderer` is on (the notebooks), else inlines it once."""
        index = self._index if episode_index is None else episode_index
        views = self._views(index, self._step if step is None else step)
        js = not page_has_plotlyjs() if include_plotlyjs is None else include_plotlyjs
        marks = differences(*views) if len(views) == 2 else Differences()
        panel = PANEL[len(views)]
        panels = []
        for i, view in enumerate(views):
            width, _ = display_size(view.size, view.scale)
            shot = figure_html(view.screenshot_figure(), js and i == 0, FIGURE_CONFIG)
            bars = figure_html(view.reward_figure(), False, FIGURE_CONFIG)
            plan = view.plan_html(marks.positions)
            shown = f"<div style='flex:0 0 {width}px'>{shot}</div>"
            body = (f"{plan}<div style='display:flex;gap:12px;align-items:flex-start'>{shown}<div>{bars}</div></div>"
                    if view.compact else f"<div style='display:flex;gap:12px;align-items:flex-start'>{shown}<div "
                    f"style='{_css(SIDE)}'>{plan}{bars}</div></div>")
            panels.append(f"<div style='{_css(panel)}'>{view.header_html(marks.header)}{body}</div>")
        return (same_plans_note(self.entries[index]) + "<div style='display:flex;flex-flow:row wrap;"
                "align-items:flex-start'>" + "".join(panels) + "</div>")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
