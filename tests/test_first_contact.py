"""What a new user meets first: notebook paths from where they stand, short completions, progress with honest
ETAs, plain-text help, figures grouped and labelled, and the inspector's main-variant-first picker, labelled
reward arithmetic, element labels and compare differences."""

from __future__ import annotations

import logging
import re

import plotly.graph_objects as go
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tracer1kit.actions import ActionType, Plan, Step
from tracer1kit.episodes import Element, Episode, Feedback, Observation, StepRecord
from tracer1kit.params import EvalParams, GroundedRewardParams, RewardParams
from tracer1kit.progress import KindProgress
from tracer1kit.rewards import grounded_reward
from tracer1kit.viz.dashboards import reward_terms_figure
from tracer1kit.viz.figures import figure_menu, reward_bar
from tracer1kit.viz.inspector import Inspector, differences, main_label, reward_weights, target_label
from tracer1kit.viz.results import forest_plot

ELEMENTS = (Element(1, "label", "Username", left=10, top=40, width=60, height=14),
            Element(2, "input_text", "", left=10, top=56, width=120, height=18),
            Element(3, "button", "Login", left=10, top=80, width=50, height=20))


def _observation(text: str = "") -> Observation:
    return Observation("log in", Image.new("RGB", (160, 210), "white"), ELEMENTS, task="login-user", seed=1,
                       text=text)


def _episode(variant: str, steps: tuple[Step, ...], success: bool) -> Episode:
    reference = (Step(ActionType.TYPE, "input_text #1", "alice"), Step(ActionType.CLICK, "Login", done=True))
    record = StepRecord(_observation(), Plan(steps), reference=Plan(reference),
                        feedback=Feedback(True, "typed", element_ref=2, matched_reference=True),
                        rewards={"stage1/alignment": 0.5, "stage1/format": 1.0, "stage1/total": 0.45})
    return Episode(f"{variant}-1", "login-user", 1, "log in", (record,), success=success, variant=variant)


# ---- notebooks: paths and the first cell -------------------------------------------------------------------

def test_params_path_resolves_from_the_project_root_and_from_notebooks(monkeypatch):
    from tracer1kit.notebook import project_path
    from tracer1kit.notebook_runner import NOTEBOOKS_DIR

    root = NOTEBOOKS_DIR.parent
    monkeypatch.chdir(NOTEBOOKS_DIR)
    assert project_path("params/ci.yaml") == root / "params" / "ci.yaml"        # typed as from the root
    assert project_path("../params/ci.yaml") == root / "params" / "ci.yaml"     # the notebooks' own default
    assert project_path("runs/new") == root / "runs" / "new"                    # a run directory not made yet
    assert project_path("00_quickstart.ipynb") == NOTEBOOKS_DIR / "00_quickstart.ipynb"  # what is there stays
    monkeypatch.chdir(root)
    assert project_path("params/ci.yaml") == root / "params" / "ci.yaml"


def test_a_missing_params_file_is_one_line_naming_the_cell_value(tmp_path, monkeypatch):
    from tracer1kit.notebook import SetupError, setup

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SetupError) as info:
        setup("params/nope.yaml", tmp_path / "run")
    (line,) = info.value._render_traceback_()  # what IPython shows under the cell instead of a traceback
    assert "params_path = 'params/nope.yaml'" in line and "no such params file" in line and "\n" not in line


@given(st.text(alphabet=st.sampled_from(" \n\tab<>"), max_size=400))
def test_an_excerpt_is_a_few_short_lines_and_states_the_length(text):
    from tracer1kit.notebook import excerpt

    shown = excerpt(text, lines=3, width=20).splitlines()
    assert len(shown) <= 5 and all(len(line) <= 40 for line in shown)
    assert shown[-1].startswith(f"[{len(text)} characters")
    assert not any(line.strip() == "" for line in shown) and not any("  " in line for line in shown[:-1])


# ---- progress ------------------------------------------------------------------------------------------------

def test_eta_counts_each_kind_of_row_at_its_own_pace(caplog):
    pace = KindProgress("evaluations", ["scripted row", "scripted row", "model row", "model row"])
    with caplog.at_level(logging.INFO, logger="tracer1kit"):
        pace.finished("scripted row", 2.0)
        pace.finished("scripted row", 4.0)
        pace.finished("model row", 100.0)
    lines = [r.getMessage() for r in caplog.records]
    assert "2 model rows not yet timed" in lines[1] and "left" not in lines[1]  # not "about 3 s left"
    assert lines[2].endswith("about 1 min 40 s left")


def test_eta_counts_trainings_by_their_steps_before_the_rows(caplog):
    """evaluate's ETA: a stage of 300 SFT steps costs three times one of 100 at the pace measured so far."""
    pace = KindProgress("evaluate", [("SFT training", 100), ("SFT training", 300), ("Stage-1 training", 20),
                                     "model row"])
    with caplog.at_level(logging.INFO, logger="tracer1kit"):
        pace.finished("SFT training", 50.0)
        pace.finished("SFT training", 150.0)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("evaluate: part 1/4 (25%)")
    assert "about 2 min 30 s left" in lines[0] and "1 Stage-1 training not yet timed" in lines[0]
    assert "1 model row not yet timed" in lines[1] and "left +" not in lines[1]


def test_evaluate_plans_only_the_stages_it_will_train(tmp_path):
    """Stages finished by an earlier run, or copied from a twin that computes the same model, cost nothing."""
    from tracer1kit.evaluation.run import stages_to_compute
    from tracer1kit.evaluation.variants import Training, training_dir
    from tracer1kit.training.common import final_dir
    from tracer1kit.runs import RunDir

    main, stage2_only = Training((), 0), Training((("train.stage1.max_steps", 0),), 0)
    other_seed = Training((), 1)
    needed = {main: {"sft", "stage1", "stage2"}, stage2_only: {"sft", "stage2"}, other_seed: {"sft"}}
    planned = stages_to_compute(tmp_path, needed)
    assert (stage2_only, "sft") not in planned and (stage2_only, "stage2") in planned
    assert [s for t, s in planned if t == main] == ["sft", "stage1", "stage2"] and (other_seed, "sft") in planned
    final_dir(RunDir.create(training_dir(tmp_path, other_seed)), "sft").mkdir(parents=True)
    assert (other_seed, "sft") not in stages_to_compute(tmp_path, needed)


def test_expert_data_generation_reports_episodes(monkeypatch, caplog, tmp_path):
    from tracer1kit.experts import data

    monkeypatch.setattr(data, "_run_task", lambda task, seeds, *a, done=None, **k: [done() for _ in seeds] and [])
    monkeypatch.setattr(data, "expert_for", lambda task: None)
    with caplog.at_level(logging.INFO, logger="tracer1kit"):
        data.generate_expert_episodes(["a", "b"], [0, 1, 2], tmp_path, split="train")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "expert data (train): 6 episodes of 2 tasks" and "episode 6/6 (100%)" in lines[-1]


# ---- command line ---------------------------------------------------------------------------------------------

def test_help_is_plain_text():
    from tracer1kit.cli import build_parser

    text = build_parser().format_help()
    assert "``" not in text and '"error:"' in text


# ---- figures ------------------------------------------------------------------------------------------------

def test_figure_menu_shows_one_figure_at_a_time_with_its_own_titles():
    figs = {name: go.Figure(go.Bar(x=["a"], y=[i]), layout=dict(title=name, yaxis_title=f"{name} axis"))
            for i, name in enumerate(("GUI success", "accuracy", "F1"))}
    menu = figure_menu(figs)
    (buttons,) = [m.buttons for m in menu.layout.updatemenus]
    assert [b.label for b in buttons] == list(figs)
    assert [t.visible for t in menu.data] == [True, False, False]
    assert buttons[2].args[0]["visible"] == [False, False, True] and buttons[2].args[1]["yaxis.title.text"] == "F1 axis"


def test_training_step_axes_tick_on_whole_steps():
    fig = reward_terms_figure([{"step": s, "reward": 0.1 * s} for s in (1, 2)])
    assert fig.layout.xaxis.dtick == 1 and fig.layout.xaxis.tickformat == "d"


def test_a_zero_width_interval_is_said_in_words():
    fig = forest_plot([{"name": "tracer1 − reactive: gui_success", "value": 0.0, "low": 0.0, "high": 0.0,
                        "verdict": "not distinguishable", "n": 4},
                       {"name": "b", "value": 0.2, "low": -0.1, "high": 0.5, "verdict": "not distinguishable"}])
    notes = [a.text for a in fig.layout.annotations if "zero width" in (a.text or "")]
    assert len(notes) == 1 and "over 4 pairs" in notes[0] and notes[0].startswith("tracer1 − reactive")


# ---- inspector ------------------------------------------------------------------------------------------------

@given(st.dictionaries(st.sampled_from(["alignment", "coverage", "done", "repetition", "format"]),
                       st.floats(0, 1), min_size=1),
       st.sampled_from(["offline", "live"]))
def test_reward_bars_add_up_to_the_total(terms, mode):
    from tracer1kit.rewards import TERMS

    reward, grounded = RewardParams(), GroundedRewardParams(mode=mode)
    weights = reward_weights(reward, grounded)
    full = {t: terms.get(t, 0.0) for t in TERMS}
    total = sum(reward.weights.model_dump()[t] * v for t, v in full.items())
    fb = Feedback(True, matched_reference=True, advanced=True)
    rewards = {f"stage1/{t}": v for t, v in full.items()} | {"stage1/total": total}
    rewards |= {f"grounded/{k}": v for k, v in grounded_reward(fb, grounded).items()}
    fig = reward_bar(rewards, weights=weights)
    for trace in fig.data:
        bars = dict(zip(trace.y, trace.x))
        assert sum(v for name, v in bars.items() if name != "total") == pytest.approx(bars["total"])
        assert all(re.fullmatch(r"\d\.\d\d × \d\.\d\d = \d\.\d\d", text) for name, text in zip(trace.y, trace.text)
                   if name != "total")


def test_targets_show_the_fields_visible_label():
    obs = _observation()
    assert target_label(obs, Step(ActionType.TYPE, "input_text #1", "alice")) == "Username"
    assert target_label(obs, Step(ActionType.CLICK, "Login")) == ""              # already the visible words
    assert target_label(Observation("grid", text="a red key ahead"), Step(ActionType.CLICK, "key")) == ""
    html = Inspector([_episode("tracer1-s0", (Step(ActionType.TYPE, "input_text #1", "alice"),), True)]
                     ).panels[0].plan.value
    assert "title='grounder: input_text #1'" in html and ">Username</span>" in html


def test_observation_text_shows_where_a_domain_renders_one():
    episode = _episode("tracer1-s0", (Step(ActionType.CLICK, "Login"),), True)
    record = episode.steps[0]
    grid = Episode("g", "grid", 1, "go", (StepRecord(Observation("go", text="You see a red key 2 steps ahead"),
                                                     record.plan, reference=record.reference),), variant="tracer1-s0")
    assert "You see a red key 2 steps ahead" in Inspector([grid]).panels[0].plan.value


def test_the_picker_opens_on_the_main_variant_then_lists_baselines():
    episodes = [_episode(v, (Step(ActionType.CLICK, "Login"),), False) for v in ("random-s0", "reactive-s0")]
    episodes.append(_episode("tracer1-s0", (Step(ActionType.CLICK, "Login"),), True))
    inspector = Inspector(episodes, main=main_label(EvalParams(training_seeds=[0])))
    assert [entry[0].variant for entry in inspector.entries] == ["tracer1-s0", "random-s0", "reactive-s0"]
    assert "tracer1-s0" in inspector.panels[0].header.value


def test_compare_outlines_what_differs_between_the_pair():
    reactive = _episode("reactive-s0", (Step(ActionType.CLICK, "Login"),), False)
    tracer1 = _episode("tracer1-s0", (Step(ActionType.TYPE, "input_text #1", "alice"),
                                      Step(ActionType.CLICK, "Login", done=True)), True)
    inspector = Inspector([reactive, tracer1], compare=("reactive-s0", "tracer1-s0"))
    marks = differences(*inspector.views)
    assert marks.positions == {1, 2} and "outcome" in marks.header and "seed" not in marks.header
    assert all("differs from the other variant" in p.header.value for p in inspector.panels)
    same = Inspector([reactive, _episode("tracer1-s0", reactive.steps[0].plan.steps, False)],
                     compare=("reactive-s0", "tracer1-s0"))
    assert differences(*same.views).positions == frozenset()


def test_report_figures_group_into_contrasts_and_two_menus():
    from tracer1kit.evaluation.report import figure_groups
    from tracer1kit.viz.figures import line_curve
    from tracer1kit.viz.results import bar_with_interval

    rows = [{"label": "tracer1", "acc": 0.5, "acc_low": 0.2, "acc_high": 0.8, "grid_value": 1, "variant": "tracer1"}]
    figs = {"contrasts": forest_plot([{"name": "a", "value": 0.1, "low": 0.0, "high": 0.2, "verdict": "x"}])}
    figs |= {f"variants_{m}": bar_with_interval(rows, "label", "acc", title=m) for m in ("GUI success", "accuracy")}
    figs |= {f"{g}_acc": line_curve(rows, "grid_value", "acc", "variant", title=f"accuracy by {g}", x_title=g,
                                    y_title="accuracy") for g in ("horizon", "gamma")}
    groups = figure_groups(figs)
    assert list(groups) == ["contrasts", "variants", "grids"]
    grids = [b.label for b in groups["grids"].layout.updatemenus[0].buttons]
    assert grids == ["accuracy by horizon", "accuracy by gamma"]
    axes = groups["variants"].layout
    assert (axes.yaxis.title.text, axes.xaxis.title.text) == ("GUI success", "variant")
