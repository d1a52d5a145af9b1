"""The inspector, dashboards and shared figures, headless on hand-built episodes and metric rows."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

import plotly.io as pio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tracer1kit.actions import ActionType, Plan, Step
from tracer1kit.episodes import Element, Episode, EpisodeStore, Feedback, Observation, StepRecord
from tracer1kit.params import EvalParams, RewardParams
from tracer1kit.rewards import step_similarity
from tracer1kit.viz import Inspector, bar_with_errors, default_compare, line_curve, reward_terms_figure, \
    same_plans, summary_table, training_dashboard, use_notebook_renderer
from tracer1kit.viz.figures import PLOTLY_MIME, SCREENSHOT_SCALE, TERM_COLOR, TOTAL_COLOR, click_marker, \
    display_size, reward_bar
from tracer1kit.episodes import split_variant_label as split_label, variant_label
from tracer1kit.viz.inspector import ALL, CATEGORY_COLORS, agreement, agreement_html, step_text

PLOTLYJS_BANNER = "* plotly.js v"
ELEMENTS = (Element(1, "input", "Username", left=10, top=20, width=80, height=16),
            Element(2, "input", "Password", left=10, top=50, width=80, height=16),
            Element(3, "button", "Login", left=10, top=80, width=40, height=20))
REFERENCE = (Step(ActionType.TYPE, "Username", "alice"), Step(ActionType.TYPE, "Password", "pw"),
             Step(ActionType.CLICK, "Login", done=True))


def record(index: int, predicted: tuple[Step, ...] | None, ref: int, rewards: dict[str, float]) -> StepRecord:
    """Step ``index`` of the login task: the rest of the reference from there, the executed element ``ref``."""
    obs = Observation("log in as alice", Image.new("RGB", (160, 210), (200, 200, 255)), ELEMENTS, step_index=index,
                      task="login-user", seed=7)
    element = obs.element(ref)
    fb = Feedback(True, f"act on [{ref}] {element.text}", element_ref=ref, point=element.center,
                  matched_reference=ref == index + 1)
    plan = Plan(predicted, think=f"thinking at {index}") if predicted is not None else None
    return StepRecord(obs, plan, raw_text="<answer>oops" if plan is None else "", reference=Plan(REFERENCE[index:]),
                      parse_error=None if plan else "no closing tag", feedback=fb, rewards=rewards)


def tracer1(variant: str = "tracer1-s0") -> Episode:
    steps = tuple(record(i, REFERENCE[i:], i + 1, {"stage1/alignment": 1.0 - 0.1 * i, "stage1/total": 0.9,
                                                    "grounded/executable": 1.0, "grounded/total": 1.0})
                  for i in range(3))
    return Episode("t1", "login-user", 7, "log in as alice", steps, success=True, reward=1.0, variant=variant)


def reactive(variant: str = "reactive-s0") -> Episode:
    wrong = (Step(ActionType.CLICK, "Login"), Step(ActionType.CLICK, "Login"))
    steps = (record(0, REFERENCE[:1], 1, {"stage1/alignment": 0.4, "grounded/executable": 1.0}),
             record(1, wrong, 3, {"stage1/alignment": 0.1, "grounded/executable": 0.5}),
             record(2, None, 3, {"stage1/alignment": 0.0, "grounded/executable": 0.0}))
    return Episode("r1", "login-user", 7, "log in as alice", steps, success=False, variant=variant, horizon=1)


def tool_episode() -> Episode:
    obs = Observation("what is the tip?", Image.new("RGB", (64, 48), "white"), task="receipt_tip", seed=7)
    step = Step(ActionType.CALL, "ocr", args=(("image", "receipt"),))
    rec = StepRecord(obs, Plan((step,)), reference=Plan((step,)),
                     feedback=Feedback(True, "ocr(image=receipt)", output="TOTAL 42.00", matched_reference=True),
                     rewards={"executable": 1.0})
    return Episode("u1", "receipt_tip", 7, "what is the tip?", (rec,), variant="tracer1-horizon1-s1")


@pytest.fixture(scope="module")
def episodes() -> list[Episode]:
    return [reactive(), tracer1(), tool_episode()]


def shown(output) -> dict:
    """The plotly figure an ``ipywidgets.Output`` of the inspector displays (its mime bundle)."""
    (only,) = output.outputs
    return only["data"][PLOTLY_MIME]


def text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def test_step_control_moves_plan_highlight_and_rewards(episodes: list[Episode]) -> None:
    inspector = Inspector(episodes)
    inspector.select(1)  # tracer1: a perfect forecast at every step
    first = inspector.current_plan_rows
    assert [r.predicted for r in first] == [step_text(s) for s in REFERENCE] == [r.reference for r in first]
    assert [(r.similarity, r.category) for r in first] == [(1.0, "exact")] * 3
    assert [r.executed for r in first] == [True, False, False]
    assert inspector.current_highlight.box == ELEMENTS[0].box and inspector.current_highlight.status == "matched"

    inspector.set_step(3)
    assert inspector.step == 3 and inspector.slider.value == 3
    assert len(inspector.current_plan_rows) == 1 and '"Login"' in inspector.current_plan_rows[0].reference
    assert inspector.current_highlight.box == ELEMENTS[2].box
    assert inspector.current_highlight.point == ELEMENTS[2].center
    bars = {t.name or "": list(t.x) for t in inspector.current_reward_chart.data}
    weighted = [pytest.approx([0.7 * 0.8, 0.9]), pytest.approx([0.25, 1.0])]  # each term's bar: weight × value
    assert [list(t.x) for t in inspector.current_reward_chart.data] == weighted
    assert bars  # one trace per stage
    figure = shown(inspector.panels[0].screenshot)  # the displayed screenshot follows the control
    assert figure["layout"]["shapes"][0]["x0"] == ELEMENTS[2].left
    (click,) = [t for t in figure["data"] if t.get("name") == "click"]
    login = ELEMENTS[2]
    assert click["x"] == [login.center[0]] and click["marker"]["symbol"] == "triangle-up"  # points at the click
    assert click["y"][0] > login.top + login.height  # from outside the box: the label stays readable
    assert click["customdata"] == [list(login.center)]  # the hover says where the click was
    assert [t["x"] for t in shown(inspector.panels[0].rewards)["data"]] == weighted
    for bad in (0, 4):
        with pytest.raises(IndexError, match="outside 1..3"):
            inspector.set_step(bad)


def test_step_control_is_one_based_with_previous_next_and_play(episodes: list[Episode]) -> None:
    inspector = Inspector(episodes)
    assert (inspector.step, inspector.slider.min, inspector.slider.max, inspector.play.min) == (1, 1, 3, 1)
    assert "step 1/3" in inspector.panels[0].header.value and "step 1/3" in inspector.count.value
    assert inspector.previous.disabled and not inspector.next.disabled
    inspector.next.click()
    assert (inspector.step, inspector.slider.value, inspector.play.value) == (2, 2, 2)
    assert "step 2/3" in inspector.panels[0].header.value and "step 2/3" in inspector.count.value
    inspector.play.value = 3  # what the play button does, one tick
    assert inspector.step == 3 and inspector.slider.value == 3 and inspector.next.disabled
    inspector.next.click()  # at the end: stays
    assert inspector.step == 3
    inspector.previous.click()
    assert inspector.step == 2 and "step 2/3" in inspector.panels[0].header.value
    inspector.slider.value = 1
    assert inspector.step == 1 and inspector.play.value == 1 and inspector.previous.disabled
    inspector.select(2)  # a one-step episode: the controls shrink to it
    assert (inspector.step, inspector.slider.max, inspector.play.max) == (1, 1, 1) and inspector.next.disabled


def test_per_field_agreement_colours_by_category_not_by_similarity() -> None:
    params = RewardParams()
    typed_wrong = agreement(Step(ActionType.TYPE, "Password", "6"), Step(ActionType.TYPE, "Username", "thaddeus"),
                            True, params)  # the case: right action, wrong field and text
    assert (typed_wrong.action, typed_wrong.target, typed_wrong.value, typed_wrong.done) == (True, False, False, True)
    assert typed_wrong.similarity == pytest.approx(0.7 * 0.6 + 0.3)  # the reward's number, kept beside it
    assert typed_wrong.category == "partial"
    clicked = agreement(Step(ActionType.CLICK, "Login"), Step(ActionType.TYPE, "Username", "thaddeus"), True, params)
    assert (clicked.action, clicked.category, clicked.similarity) == (False, "wrong action", 0.0)
    contained = agreement(Step(ActionType.CLICK, "login"), Step(ActionType.CLICK, "Login button"), True, params)
    assert (contained.target, contained.value, contained.category, contained.similarity) == (True, None, "exact", 1.0)
    status = agreement(Step(ActionType.CLICK, "Login"), Step(ActionType.CLICK, "Login", done=True), False, params)
    assert (status.done, status.category) == (False, "partial")
    tool = agreement(Step(ActionType.CALL, "ocr", args=(("image", "bill"),)),
                     Step(ActionType.CALL, "ocr", args=(("image", "receipt"),)), True, params)
    assert (tool.target, tool.value, tool.category) == (True, False, "partial")

    ep = Episode("m", "login-user", 7, "log in", (record(0, (Step(ActionType.TYPE, "Password", "6"),), 2, {}),),
                 variant="tracer1-s0")
    rows = Inspector([ep]).current_plan_rows
    assert [r.category for r in rows] == ["partial", "missing", "missing"]
    assert [agreement_html(r) for r in rows] == ["action ✓ target ✗ value ✗ done ✓ · similarity 0.72",
                                                  "missing · similarity 0.00", "missing · similarity 0.00"]
    assert rows[0].color == CATEGORY_COLORS["partial"] != CATEGORY_COLORS["exact"]
    assert len(set(CATEGORY_COLORS.values())) == len(CATEGORY_COLORS)


WORDS = st.sampled_from(["", "Login", "Username", "alice", "6", "up", "down"])
STEPS = st.builds(Step, action=st.sampled_from(list(ActionType)), target=WORDS, value=WORDS, done=st.booleans(),
                  args=st.sampled_from([(), (("image", "receipt"),), (("image", "bill"),)]))


@given(pred=STEPS, ref=STEPS, current=st.booleans())
def test_agreement_categories_agree_with_the_reward(pred: Step, ref: Step, current: bool) -> None:
    found = agreement(pred, ref, current, RewardParams())
    assert found.similarity == step_similarity(pred, ref, current, RewardParams())
    assert (found.category == "wrong action") == (pred.action is not ref.action)
    if found.category == "wrong action":
        assert found.similarity == 0.0
    if found.category == "exact":  # every field agrees: the reward's similarity is perfect too
        assert found.similarity == pytest.approx(1.0)
    assert agreement(ref, ref, current, RewardParams()).category == "exact"


def test_unparseable_plan_shows_raw_text_and_scores_zero(episodes: list[Episode]) -> None:
    inspector = Inspector(episodes)
    inspector.set_step(3)
    rows = inspector.current_plan_rows
    assert [(r.predicted, r.similarity, r.category, r.executed) for r in rows] == [("", 0.0, "missing", False)]
    html = inspector.panels[0].plan.value
    assert "unparseable plan" in html and "no closing tag" in html and "&lt;answer&gt;oops" in html


def test_not_executed_steps_say_why() -> None:
    base = record(0, REFERENCE, 1, {})
    refused = replace(base, feedback=Feedback(False, error="no element matches 'Submit'", matched_reference=False))
    silent = replace(base, feedback=None)
    ep = Episode("n", "login-user", 7, "log in", (refused, silent, base), variant="tracer1-s0")
    inspector = Inspector([ep])
    assert "not executed: no element matches 'Submit'" in text_of(inspector.panels[0].plan.value)
    assert not any(r.executed for r in inspector.current_plan_rows)
    inspector.set_step(2)
    assert "not executed: no feedback recorded" in text_of(inspector.panels[0].plan.value)
    inspector.set_step(3)
    assert "▶ executed (matched): act on [1] Username" in text_of(inspector.panels[0].plan.value)
    assert "▶1" in text_of(inspector.panels[0].plan.value)  # the executed step marked in the plan table


def test_extra_predicted_steps_have_no_reference() -> None:
    extra = REFERENCE[2:] + (Step(ActionType.WAIT),)
    ep = Episode("x", "login-user", 7, "log in", (record(2, extra, 3, {}),), variant="tracer1-s0")
    rows = Inspector([ep]).current_plan_rows
    assert [(r.similarity, r.category) for r in rows] == [(1.0, "exact"), (None, "no reference")]
    assert rows[1].color == CATEGORY_COLORS["no reference"]


def test_tool_use_shows_output_instead_of_a_box(episodes: list[Episode]) -> None:
    inspector = Inspector(episodes)
    inspector.select(2)
    mark = inspector.current_highlight
    assert mark.box is None and mark.point is None and mark.output == "TOTAL 42.00"
    assert "tool output" in inspector.panels[0].plan.value and "TOTAL 42.00" in inspector.panels[0].plan.value
    figure = shown(inspector.panels[0].screenshot)
    assert not figure["layout"].get("shapes") and figure["layout"]["images"]


def test_filters_narrow_the_picker_by_task_variant_seed_and_outcome() -> None:
    eps = [reactive(), tracer1(), tool_episode(), tracer1("tracer1-s1"), reactive("reactive-s1")]
    inspector = Inspector(eps)
    f = inspector.filters
    assert list(f) == ["task", "variant", "training seed", "outcome"]
    assert [v for _, v in f["task"].options] == [ALL, "login-user", "receipt_tip"]
    assert [v for _, v in f["variant"].options] == [ALL, "reactive", "tracer1", "tracer1-horizon1"]
    assert [v for _, v in f["training seed"].options] == [ALL, 0, 1]
    assert all(d.value == ALL and d.label == "all" for d in f.values())
    assert inspector.shown_entries == [0, 1, 2, 3, 4]

    f["task"].value = "receipt_tip"
    assert inspector.shown_entries == [2] and inspector.episode_index == 2  # the picker follows
    assert inspector.views[0].episode.task == "receipt_tip"
    f["task"].value = ALL
    f["variant"].value = "tracer1"
    assert inspector.shown_entries == [1, 3]
    f["training seed"].value = 1
    assert inspector.shown_entries == [3] and inspector.views[0].episode.variant == "tracer1-s1"
    f["variant"].value, f["outcome"].value = ALL, "failure"
    assert inspector.shown_entries == [2, 4] and inspector.views[0].episode.variant == "tracer1-horizon1-s1"
    f["outcome"].value = "success"
    assert inspector.shown_entries == [3]
    f["task"].value = "receipt_tip"  # its one episode (seed 1) failed
    assert inspector.shown_entries == [] and "no episode matches" in inspector.note.value
    for dropdown in f.values():
        dropdown.value = ALL
    assert inspector.shown_entries == [0, 1, 2, 3, 4] and inspector.note.value == ""


def test_filter_keeps_the_shown_episode_and_step_when_it_still_matches(episodes: list[Episode]) -> None:
    inspector = Inspector(episodes)
    inspector.select(1)
    inspector.set_step(2)
    inspector.filters["task"].value = "login-user"
    assert (inspector.episode_index, inspector.step) == (1, 2)


@given(variant=st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1), seed=st.integers(0, 10**6))
def test_split_label_reads_the_training_seed(variant: str, seed: int) -> None:
    assert split_label(f"{variant}-s{seed}") == (variant, seed)


def test_split_label_without_a_seed() -> None:
    assert split_label("expert") == ("expert", None) and split_label("tracer1-s") == ("tracer1-s", None)


def test_labels_are_written_and_read_by_one_pair_of_functions() -> None:
    assert variant_label("tracer1", 2) == "tracer1-s2" and variant_label("tracer1", 0, "gamma", 0.6) == "tracer1-gamma0.6-s0"
    assert split_label(variant_label("tracer1", 0, "horizon", 1.0)) == ("tracer1-horizon1", 0)


def test_compare_defaults_to_the_main_variant_against_reactive() -> None:
    assert default_compare(EvalParams(variants=["random", "reactive", "tracer1"], training_seeds=[3, 4])) == \
        ("reactive-s3", "tracer1-s3")
    with pytest.raises(ValueError, match=r"eval.variants .* lacks \['reactive'\]"):
        default_compare(EvalParams(variants=["tracer1", "expert"]))
    with pytest.raises(ValueError, match="eval.training_seeds is empty"):
        default_compare(EvalParams(training_seeds=[]))
    # tracer1-horizon1 sorts first among the tracer1 labels and writes what reactive writes: not the default
    twin = replace(reactive(), variant="tracer1-horizon1-s0", episode_id="h1")
    eps = [twin, tracer1("tracer1-s1"), reactive(), tracer1()]
    inspector = Inspector(eps, compare=default_compare(EvalParams(variants=["reactive", "tracer1"])))
    assert [v.episode.variant for v in inspector.views] == ["reactive-s0", "tracer1-s0"]
    assert inspector.note.value == "" and "same plans" not in inspector.picker.label
    assert list(inspector.filters) == ["task", "outcome"]
    assert [v for _, v in inspector.filters["outcome"].options] == [ALL, "only tracer1-s0 succeeds"]


def test_compare_says_when_two_trajectories_are_identical() -> None:
    twin = replace(reactive(), variant="tracer1-horizon1-s0", episode_id="h1",
                   steps=tuple(replace(r, plan=replace(r.plan, think="other words")) if r.plan else r
                               for r in reactive().steps))
    assert same_plans(reactive(), twin) and not same_plans(reactive(), tracer1())
    garbled = replace(twin, steps=twin.steps[:2] + (replace(twin.steps[2], raw_text="<answer>other"),))
    assert not same_plans(reactive(), garbled)  # unparseable plans compare by their text
    inspector = Inspector([reactive(), twin], compare=("reactive-s0", "tracer1-horizon1-s0"))
    assert "same plans at every step" in inspector.note.value and inspector.picker.label.endswith("same plans")
    assert "same plans at every step" in inspector.static_html(include_plotlyjs=False)


def test_compare_mode_pairs_variants_on_task_and_seed(episodes: list[Episode]) -> None:
    inspector = Inspector(episodes, compare=("reactive-s0", "tracer1-s0"))
    assert len(inspector.entries) == 1 and len(inspector.panels) == 2
    left, right = inspector.views
    assert (left.episode.variant, right.episode.variant) == ("reactive-s0", "tracer1-s0")
    assert (left.episode.task, left.episode.seed) == (right.episode.task, right.episode.seed)
    inspector.set_step(2)
    assert [r.similarity for r in inspector.views[0].plan_rows] == pytest.approx([0.0, 0.7])
    assert [r.category for r in inspector.views[0].plan_rows] == ["wrong action", "partial"]
    assert [r.similarity for r in inspector.views[1].plan_rows] == [1.0, 1.0]
    assert [shown(p.screenshot)["layout"]["shapes"][0]["x0"] for p in inspector.panels] == [10, 10]
    assert "reactive" in inspector.panels[0].header.value and "tracer1" in inspector.panels[1].header.value
    html = inspector.static_html(include_plotlyjs=True)
    assert html.index("reactive-s0") < html.index("tracer1-s0") and html.count(PLOTLYJS_BANNER) == 1
    with pytest.raises(ValueError, match=r"both variants .*stored: \['reactive-s0'"):
        Inspector(episodes, compare=("reactive-s0", "expert-s0"))


def test_unequal_lengths_in_compare_keep_the_header_and_control_in_step(episodes: list[Episode]) -> None:
    short = replace(tracer1(), steps=tracer1().steps[:2])
    inspector = Inspector([reactive(), short], compare=("reactive-s0", "tracer1-s0"))
    inspector.set_step(3)
    left, right = (p.header.value for p in inspector.panels)
    assert "step 3/3" in left and "step 3/3" in inspector.count.value
    assert "step 2/2" in right and "ended after 2" in right


def test_static_html_holds_plan_text_and_plotly(episodes: list[Episode]) -> None:
    inspector = Inspector(episodes)
    html = inspector.static_html(episode_index=1, step=1, include_plotlyjs=True)
    assert "plotly-graph-div" in html and "Plotly.newPlot" in html and html.count(PLOTLYJS_BANNER) == 1
    assert "Username" in html and "alice" in html and "data:image/png;base64," in html
    assert "action ✓ target ✓ value ✓ done ✓ · similarity 1.00" in text_of(html).replace("\xa0", " ")
    assert inspector.episode_index == 0  # rendering another state leaves the widget alone
    assert "application/vnd.jupyter.widget-view+json" in inspector._repr_mimebundle_()


def test_static_html_shares_the_notebook_pages_plotlyjs(episodes: list[Episode], monkeypatch) -> None:
    from plotly.io._base_renderers import NotebookRenderer

    from tracer1kit.viz import figures

    shown_once: list[str] = []
    monkeypatch.setattr(NotebookRenderer, "activate", lambda self: shown_once.append("plotly.js"))
    monkeypatch.setattr(figures, "in_kernel", lambda: True)
    before = pio.renderers.default
    try:
        use_notebook_renderer()
        pages = [Inspector(episodes).static_html(), Inspector(episodes).static_html(step=2)]
    finally:
        pio.renderers.default = before
    assert shown_once == ["plotly.js"]  # the notebook renderer put its one copy on the page, once per kernel
    assert all("Plotly.newPlot" in html and PLOTLYJS_BANNER not in html for html in pages)
    monkeypatch.setattr(figures, "in_kernel", lambda: False)
    assert Inspector(episodes).static_html().count(PLOTLYJS_BANNER) == 1  # outside a notebook: inlined once
    assert PLOTLYJS_BANNER not in Inspector(episodes).static_html(include_plotlyjs=False)


def test_inspector_reads_stored_episodes(tmp_path, episodes: list[Episode]) -> None:
    store = EpisodeStore(tmp_path)
    store.write_all(episodes)
    inspector = Inspector(store.read(), compare=("reactive-s0", "tracer1-s0"))
    inspector.set_step(3)
    assert inspector.current_highlight.box == ELEMENTS[2].box
    assert [shown(p.screenshot)["layout"]["images"][0]["source"][:14] for p in inspector.panels] == \
        ["data:image/png"] * 2


def test_screenshot_is_drawn_at_two_to_two_and_a_half_times_with_no_blank_band() -> None:
    assert 2.0 <= SCREENSHOT_SCALE <= 2.5
    assert display_size((160, 210)) == (364, 476)  # 360 × 472 page pixels plus a 2-pixel margin each side
    width, height = display_size((1280, 720))
    assert width <= 564 and height == pytest.approx(width * 720 / 1280, abs=4)  # large pages fit, same shape
    figure = Inspector([tracer1()]).views[0].screenshot_figure()
    assert (figure.layout.width, figure.layout.height) == display_size((160, 210))
    assert figure.layout.margin.t == figure.layout.margin.b == 2 and not figure.layout.title.text


@given(left=st.integers(0, 150), top=st.integers(0, 200), w=st.integers(1, 60), h=st.integers(1, 60))
def test_click_marker_stays_off_the_element(left: int, top: int, w: int, h: int) -> None:
    box, point = (left, top, w, h), (left + w / 2, top + h / 2)
    x, y, symbol = click_marker(point, box, 210)
    assert x == point[0] and 0 <= y <= 210  # on the page
    assert ((y > top + h and symbol == "triangle-up") or (y < top and symbol == "triangle-down")
            or (symbol == "circle-open" and top < 10 and top + h > 200))  # off the box unless it fills the page
    assert click_marker(point, None, 210) == (point[0], point[1], "circle-open")  # no box: a hollow ring on it


def test_reward_bars_are_horizontal_grouped_by_stage_on_a_fixed_axis() -> None:
    fig = reward_bar({"stage1/alignment": 0.5, "stage1/total": 0.4, "stage1/repetition": 1.0,
                      "grounded/executable": 0.0, "grounded/total": 0.0})
    assert [a.text for a in fig.layout.annotations] == ["stage1", "grounded"]
    stage1, grounded = fig.data
    assert stage1.orientation == grounded.orientation == "h"
    assert list(stage1.y) == ["alignment", "repetition", "total"] and list(grounded.y) == ["executable", "total"]
    assert list(stage1.marker.color) == [TERM_COLOR, TERM_COLOR, TOTAL_COLOR]  # no status colours on terms
    assert list(grounded.text) == ["0.00", "0.00"] and grounded.textposition == "outside"  # zeros labelled
    assert tuple(fig.layout.xaxis.range) == tuple(fig.layout.xaxis2.range) == (0.0, 1.0)
    zeros = reward_bar({"stage1/total": 0.0})
    assert tuple(zeros.layout.xaxis.range) == (0.0, 1.0)  # an all-zero chart keeps the 0–1 axis
    assert [a.text for a in reward_bar({}).layout.annotations] == ["no rewards recorded"]
    assert [list(t.y) for t in reward_bar({"format": 1.0}).data] == [["format"]]


METRICS = [
    {"stage": "sft", "step": 1, "loss": 2.0},
    {"stage": "sft", "step": 2, "loss": 1.5},
    {"stage": "stage1", "step": 1, "loss": 0.1, "reward": 0.4, "reward_std": 0.1, "rewards/alignment/mean": 0.3,
     "rewards/alignment/std": 0.05, "rewards/format/mean": 0.9, "frac_reward_zero_std": 0.9, "kl": 0.0},
    {"stage": "stage1", "step": 2, "reward": 0.5, "rewards/alignment/mean": 0.45, "frac_reward_zero_std": 0.5,
     "kl": 0.01, "completions/mean_length": 80.0},
]


def _traces(fig, axis: str) -> list:
    return [t for t in fig.data if t.xaxis == axis]


def test_training_dashboard_plots_present_keys_only() -> None:
    fig = training_dashboard(METRICS, stage="stage1", equal_group_warn=0.75)
    names = {t.name for t in _traces(fig, "x")}
    assert {"reward", "alignment", "format", "reward ± std", "alignment ± std"} <= names
    assert "format ± std" not in names  # no std logged for format: no band
    alignment = next(t for t in fig.data if t.name == "alignment")
    assert list(alignment.x) == [1, 2] and list(alignment.y) == [0.3, 0.45]
    assert list(_traces(fig, "x2")[0].y) == [0.9, 0.5]
    assert not _traces(fig, "x3")  # parse_failure_rate never logged
    assert list(_traces(fig, "x5")[0].y) == [80.0]
    assert list(_traces(fig, "x6")[0].y) == [0.1]  # the row without loss is skipped
    warn = [s for s in fig.layout.shapes if s.y0 == 0.75 and s.y1 == 0.75]
    assert warn and warn[0].line.dash == "dash"


def test_dashboard_over_all_stages_and_empty_rows() -> None:
    fig = training_dashboard(METRICS)
    assert [list(t.y) for t in _traces(fig, "x6")] == [[2.0, 1.5], [0.1]]
    assert "stage1 alignment" in {t.name for t in reward_terms_figure(METRICS).data}
    assert not training_dashboard([]).data and not reward_terms_figure([{"stage": "sft", "loss": 1.0}]).data


def test_summary_table_per_stage_and_metric() -> None:
    table = {(r["stage"], r["metric"]): r for r in summary_table(METRICS)}
    assert table[("sft", "loss")] == {"stage": "sft", "metric": "loss", "n": 2, "first": 2.0, "last": 1.5,
                                      "min": 1.5, "max": 2.0, "mean": 1.75}
    assert table[("stage1", "kl")]["last"] == 0.01 and ("sft", "kl") not in table
    assert ("stage1", "step") not in table


def test_variant_bars_and_k_curves() -> None:
    rows = [{"variant": "reactive", "success": 0.4, "success_std": 0.1},
            {"variant": "tracer1", "success": 0.7}, {"variant": "expert"}]
    bars = bar_with_errors(rows, "variant", "success", "success_std", title="success")
    assert list(bars.data[0].x) == ["reactive", "tracer1"] and list(bars.data[0].error_y.array) == [0.1, 0.0]
    grouped = bar_with_errors(rows, "variant", "success", None, color="variant")
    assert [t.name for t in grouped.data] == ["reactive", "tracer1"]
    points = [{"variant": v, "K": k, "success": k / 10 + (v == "tracer1")} for v in ("reactive", "tracer1")
              for k in (5, 1, 3)]
    curve = line_curve(points, "K", "success", "variant", err="success_std")
    assert [t.name for t in curve.data] == ["reactive", "tracer1"]
    assert list(curve.data[1].x) == [1, 3, 5] and list(curve.data[1].y) == pytest.approx([1.1, 1.3, 1.5])


def test_notebook_renderer_adds_html_for_static_exports() -> None:
    import plotly.io as pio

    from tracer1kit.viz import use_notebook_renderer

    before = pio.renderers.default
    try:
        use_notebook_renderer()
        assert pio.renderers.default == "plotly_mimetype+notebook"
    finally:
        pio.renderers.default = before
