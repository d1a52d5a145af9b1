"""A tiny end-to-end evaluation of the scripted floor and ceiling: the expert reaches its scripted success
rate, the random planner stays near zero, and every report file is written and complete."""

import csv
from pathlib import Path

import pytest

from tracer1kit.evaluation import evaluate
from tracer1kit.evaluation.online import task_affine_rounds
from tracer1kit.evaluation.report import markdown_table
from tracer1kit.evaluation.results import contrasts, table
from tracer1kit.evaluation.variants import plan_evaluations, same_until, trainings_needed
from tracer1kit.params import load_params, with_overrides

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.browser
def test_expert_and_random_end_to_end(tmp_path):
    params = with_overrides(load_params(REPO / "params" / "ci.yaml"), {
        "eval.variants": ["random", "expert"], "eval.horizons": [3], "env.test_seeds": [2000, 2001, 2002],
        "eval.episodes_per_task": 3, "tooluse.test_seeds": [2000, 2001], "eval.contrasts": [["expert", "random"]],
        "grid.levels": []})  # pages and tools here; the grid's rows: tests/test_domains.py
    report = evaluate(params, tmp_path / "run", progress=False)
    rows = {r["variant"]: r for r in csv.DictReader(open(report.parent / "results.csv"))}
    assert set(rows) == {"random", "expert"}
    assert float(rows["expert"]["gui_success"]) == 1.0 and float(rows["expert"]["heldout_success"]) == 1.0
    assert float(rows["expert"]["offline_step_sr"]) == 1.0 and float(rows["expert"]["stage1_reward"]) > 0.95
    assert float(rows["random"]["gui_success"]) <= 0.34 and float(rows["random"]["offline_step_sr"]) < 0.5
    assert float(rows["expert"]["offline_grounding_acc"]) == 1.0 and float(rows["expert"]["offline_stage1_reward"]) > 0.95
    assert float(rows["random"]["offline_stage1_reward"]) < 0.6
    assert float(rows["expert"]["gui_success_low"]) < 1.0 == float(rows["expert"]["gui_success_high"])  # Wilson, n = 6
    for name in ("results.csv", "results_by_seed.csv", "results.md", "report.html", "contrasts.csv",
                 "episodes.csv", "states.csv"):
        assert (report.parent / name).stat().st_size > 0
    episode_rows = list(csv.DictReader(open(report.parent / "episodes.csv")))
    assert len(episode_rows) == 2 * (3 * 3 + 2) and {"task", "seed", "split", "success", "variant"} <= set(episode_rows[0])
    pairs = {(r["task"], r["seed"], r["split"]) for r in episode_rows if r["variant"] == "random"}
    assert pairs == {(r["task"], r["seed"], r["split"]) for r in episode_rows if r["variant"] == "expert"}  # paired
    markdown = (report.parent / "results.md").read_text()
    assert markdown.index("## Contrasts") < markdown.index("## Variants")
    assert "expert − random on GUI success (held-out seeds) = +" in markdown and "1 seed" in markdown
    html = report.read_text()
    assert "expert (ceiling)" in html and "random (floor)" in html and "plotly" in html and "protocol default" in html
    episodes = (tmp_path / "run" / "episodes" / "eval" / "episodes.jsonl").read_text().count("\n")
    assert episodes == 2 * (3 * 3 + 2)  # 2 variants × (2 tasks + 1 held-out task) × 3 seeds + 2 tool-use tasks
    again = evaluate(params, tmp_path / "run", progress=False)  # cached evaluations are reused
    assert (tmp_path / "run" / "episodes" / "eval" / "episodes.jsonl").read_text().count("\n") == episodes
    assert again == report
    from tracer1kit.evaluation.store import stored_evaluations  # what notebooks 04 and 06 read, without computing

    assert {r["variant"] for r in stored_evaluations(params, tmp_path / "run")} == {"random", "expert"}
    with pytest.raises(FileNotFoundError, match="reactive-s0.*tracer1kit evaluate"):
        stored_evaluations(with_overrides(params, {"eval.variants": ["expert", "reactive"]}), tmp_path / "run")


def test_variants_and_grids_share_trainings():
    params = with_overrides(load_params(REPO / "params" / "quickstart.yaml"), {
        "eval.gammas": [0.8, 1.0], "eval.training_seeds": [0, 1, 2],
        "eval.variants": ["random", "expert", "reactive", "sft", "stage1", "stage2", "tracer1"]})
    evals = plan_evaluations(params)
    needed = trainings_needed(evals)
    # per seed: main (sft/stage1/tracer1 + K=3 + γ=0.8), reactive (= K=1), Stage-2-only, γ=1.0
    assert len(needed) == 4 * 3
    assert all(stages == {"sft", "stage1", "stage2"} for t, stages in needed.items()
               if ("train.stage1.enabled", False) not in t.overrides)
    # Stage-2-only and the γ grid share the main training's SFT; reactive (K = 1) and other seeds do not
    main = next(t for t in needed if not t.overrides and t.seed == 0)
    twins = {t.overrides for t in needed if t is not main and same_until(t, main, "sft")}
    assert twins == {(("train.stage1.enabled", False),), (("reward.gamma", 1.0),)}


def _evaluation(variant, seed, successes, grid="", grid_value=None, horizon=3, states=()):
    return {"variant": variant, "grid": grid, "grid_value": grid_value, "seed": seed, "horizon": horizon,
            "checkpoint": "stage2", "label": f"{variant}-s{seed}",
            "episodes": [{"task": "t", "seed": 2000 + i, "split": "test", "success": ok, "steps": 1,
                          "non_executable": 0} for i, ok in enumerate(successes)],
            "states": list(states)}


def test_table_pools_seeds_with_block_intervals_and_keeps_the_seed_std():
    evals = [_evaluation("tracer1", s, [True] * k + [False] * (10 - k)) for s, k in enumerate((2, 4, 6))]
    (row,) = table(evals, ["gui_success"])
    assert row["seeds"] == 3 and row["label"] == "full TraceR1"
    assert row["gui_success"].value == pytest.approx(0.4) and row["gui_success"].n == 30
    assert row["gui_success"].method == "block bootstrap"         # the same (task, seed) under three seeds
    assert row["gui_success_std"] == pytest.approx(0.2)
    line = markdown_table([row], ["gui_success"]).splitlines()[2]
    assert line.startswith("| full TraceR1 | 3 seeds | 0.400 [") and line.endswith("± 0.200 |")
    (one,) = table(evals[:1], ["gui_success"])
    assert one["gui_success"].method == "Wilson" and one["gui_success_std"] is None
    assert "| 1 seed | 0.200 [0.057, 0.510] |" in markdown_table([one], ["gui_success"])


def test_best_trained_variant_is_marked_only_where_its_interval_separates():
    clear = table([_evaluation("tracer1", 0, [True] * 60), _evaluation("reactive", 0, [False] * 60, horizon=1)],
                  ["gui_success"])
    assert "**1.000 [" in markdown_table(clear, ["gui_success"])
    close = table([_evaluation("tracer1", 0, [True] * 6 + [False] * 4), _evaluation("reactive", 0, [True] * 5 + [False] * 5)],
                  ["gui_success"])
    assert "**" not in markdown_table(close, ["gui_success"])


def test_grid_points_get_their_own_table_sorted_by_value():
    evals = [_evaluation("tracer1", 0, [True, False], "gamma", g) for g in (1.0, 0.6)] + [_evaluation("sft", 0, [False])]
    rows = table(evals, ["gui_success"])
    assert "γ" not in markdown_table(rows, ["gui_success"]) and "| SFT only |" in markdown_table(rows, ["gui_success"])
    lines = markdown_table(rows, ["gui_success"], "gamma").splitlines()
    assert len(lines) == 4
    assert lines[2].startswith("| full TraceR1, γ = 0.6 | 1 seed | 0.500") and lines[3].startswith("| full TraceR1, γ = 1 |")


def test_contrasts_pair_units_by_seed_and_skip_forecast_metrics_across_horizons():
    state = lambda t, ok, agree: {"task": "t", "seed": 9, "t": t, "step_success": ok, "grounding_ok": ok,  # noqa: E731
                                  "stage1_reward": 0.5, "agreement": agree}
    full = _evaluation("tracer1", 0, [True] * 8 + [False] * 2, states=[state(0, True, [True, True])])
    reactive = _evaluation("reactive", 0, [False] * 8 + [True] * 2, horizon=1, states=[state(0, False, [False])])
    found = contrasts([full, reactive], [("tracer1", "reactive"), ("stage1", "sft")])
    metrics = {c.metric: c for c in found}
    assert set(metrics) == {"GUI success (held-out seeds)", "offline step success"}  # K differs: no forecast rows
    gui = metrics["GUI success (held-out seeds)"]
    assert gui.difference.value == pytest.approx(0.6) and (gui.a_only, gui.b_only) == (8, 2)
    assert gui.difference.n == 10 and gui.p_value == pytest.approx(0.109375)


def test_each_grid_point_is_contrasted_with_the_base_point_in_its_grid_section():
    """A grid point's difference from the params' own value carries its paired interval and verdict."""
    from tracer1kit.evaluation.report import results_markdown
    from tracer1kit.evaluation.results import grid_contrasts
    from tracer1kit.params import EvalParams

    evals = [_evaluation("tracer1", 0, [True] * 9 + [False], "gamma", 1.0),
             _evaluation("tracer1", 0, [True] * 2 + [False] * 8, "gamma", 0.8),
             _evaluation("tracer1", 0, [True] * 2 + [False] * 8, "gamma", 0.6),
             _evaluation("tracer1", 0, [False] * 10, "horizon", 1.0, horizon=1),
             _evaluation("sft", 0, [False] * 10)]
    found = grid_contrasts(evals, {"gamma": 0.8, "horizon": 3.0})  # no K = 3 point: the horizon grid has no base
    assert found["horizon"] == []
    found = found["gamma"]
    assert [(c.name, c.metric) for c in found] == [("γ = 1 − γ = 0.8", "GUI success (held-out seeds)"),
                                                   ("γ = 0.6 − γ = 0.8", "GUI success (held-out seeds)")]
    assert found[0].difference.value == pytest.approx(0.7) and (found[0].a_only, found[0].b_only) == (7, 0)
    assert found[1].verdict.startswith("identical")
    markdown = results_markdown(table(evals, ["gui_success"]), [], EvalParams(contrasts=[]), metrics=["gui_success"],
                                grid_found={"gamma": found})
    gamma = markdown[markdown.index("## Grid: gamma"):]
    assert gamma.index("- γ = 1 − γ = 0.8 on GUI success") < gamma.index("| full TraceR1, γ = 0.6")
    assert "−" not in markdown[markdown.index("## Grid: horizon"):]


def test_trainings_reuse_the_stages_they_share_with_a_twin(tmp_path):
    from tracer1kit.evaluation import reuse_stages
    from tracer1kit.evaluation.variants import Training, training_dir

    main = Training((), 0)
    s2only = Training((("train.stage1.enabled", False),), 0)
    strict = Training((("grounded.grounder.kind", "strict"),), 0)
    gamma = Training((("reward.gamma", 1.0),), 0)
    reactive, other_seed = Training((("planner.horizon", 1),), 0), Training((), 1)

    def model(training, stage):
        return training_dir(tmp_path, training) / "checkpoints" / stage / "final" / "model.safetensors"

    for stage in ("sft", "stage1"):
        model(main, stage).parent.mkdir(parents=True)
        model(main, stage).write_bytes(stage.encode())
    for training in (s2only, strict, gamma, reactive, other_seed):
        reuse_stages(tmp_path, training, [main], training_dir(tmp_path, training))
    assert model(s2only, "sft").read_bytes() == b"sft" and not model(s2only, "stage1").exists()
    assert model(strict, "sft").read_bytes() == b"sft" and model(strict, "stage1").read_bytes() == b"stage1"
    assert model(gamma, "sft").read_bytes() == b"sft" and not model(gamma, "stage1").exists()  # γ: Stage 1 reads it
    assert not model(reactive, "sft").exists() and not model(other_seed, "sft").exists()


def test_slots_keep_their_task_and_every_job_runs_once():
    tasks = [t for t in "ABCDEFGH" for _ in range(5)]  # task-major, as the MiniWoB domain lists its jobs
    rounds = task_affine_rounds(tasks, 4)
    assert sorted(i for r in rounds for i in r) == list(range(len(tasks)))
    assert all(len(r) == 4 for r in rounds)
    switches = sum(1 for a, b in zip(rounds, rounds[1:]) for i, j in zip(a, b) if tasks[i] != tasks[j])
    assert switches == 4  # each slot changes task once (A–D, then E–H): 8 browsers in all, not one per round
    assert task_affine_rounds(["A", "B", "A"], 1) == [[0], [2], [1]]  # one slot finishes A before it opens B
    assert [len(r) for r in task_affine_rounds(["A"] * 5, 2)] == [2, 2, 1]


def test_reward_grid_points_are_scored_by_the_evaluation_reward():
    from tracer1kit.evaluation import evaluation_key, row_params

    params = load_params(REPO / "params" / "quickstart_grids.yaml")
    evals = {(e.grid, e.grid_value): e for e in plan_evaluations(params)}
    low, flat, k1 = evals[("gamma", 0.6)], evals[("repetition", 0.0)], evals[("horizon", 1.0)]
    assert low.training.params(params).reward.gamma == 0.6  # trained under γ = 0.6 ...
    assert row_params(low, params).reward == params.reward  # ... scored under the evaluation's γ
    assert row_params(flat, params).reward == params.reward
    assert row_params(k1, params).planner.horizon == 1  # the horizon stays the row's own
    keys = {point: evaluation_key(e, params) for point, e in evals.items()}
    # computed once each: the full TraceR1 (also the K = 3, γ = 0.8 and λ_rep = 0.05 points), K = 1, γ = 0.6,
    # γ = 1.0 and λ_rep = 0
    assert len(set(keys.values())) == 5
    assert keys[("horizon", 3.0)] == keys[("gamma", 0.8)] == keys[("repetition", 0.05)] == keys[("", None)]
    assert keys[("horizon", 1.0)] != keys[("", None)]


def test_a_start_adapter_applies_to_the_base_model_only(monkeypatch):
    import tracer1kit.evaluation.run as evaluation_run
    from tracer1kit.evaluation import frozen_planner

    class Loaded(Exception):
        pass

    def record(model_params):
        raise Loaded(model_params.lora)

    monkeypatch.setattr(evaluation_run, "load_policy", record)
    params = with_overrides(load_params(REPO / "params" / "ci.yaml"), {"model.lora.adapter_path": "/adapters/start"})
    with pytest.raises(Loaded) as base:
        frozen_planner(params.model.spec, params)
    with pytest.raises(Loaded) as trained:
        frozen_planner("/run/trainings/base-s0/checkpoints/stage2/final", params)
    assert base.value.args[0].adapter_path == "/adapters/start" and not base.value.args[0].enabled
    assert trained.value.args[0].adapter_path is None  # merged into the checkpoint already: never applied twice
