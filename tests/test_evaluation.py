"""A tiny end-to-end evaluation of the scripted floor and ceiling: the expert reaches its scripted success
rate, the random planner stays near zero, and every report file is written and complete."""

import csv
from pathlib import Path

import pytest

from tracer1kit.evaluation import evaluate
from tracer1kit.evaluation.online import task_affine_rounds
from tracer1kit.evaluation.report import aggregate, markdown_table
from tracer1kit.evaluation.variants import plan_evaluations, same_sft, trainings_needed
from tracer1kit.params import load_params, with_overrides

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.browser
def test_expert_and_random_end_to_end(tmp_path):
    params = with_overrides(load_params(REPO / "params" / "ci.yaml"), {
        "eval.variants": ["random", "expert"], "eval.horizons": [3], "env.test_seeds": [2000, 2001, 2002],
        "eval.episodes_per_task": 3, "tooluse.test_seeds": [2000, 2001]})
    report = evaluate(params, tmp_path / "run", progress=False)
    rows = {r["variant"]: r for r in csv.DictReader(open(report.parent / "results.csv"))}
    assert set(rows) == {"random", "expert"}
    assert float(rows["expert"]["gui_success"]) == 1.0 and float(rows["expert"]["heldout_success"]) == 1.0
    assert float(rows["expert"]["offline_step_sr"]) == 1.0 and float(rows["expert"]["stage1_reward"]) > 0.95
    assert float(rows["random"]["gui_success"]) <= 0.34 and float(rows["random"]["offline_step_sr"]) < 0.5
    assert float(rows["expert"]["offline_grounding_acc"]) == 1.0 and float(rows["expert"]["offline_stage1_reward"]) > 0.95
    assert float(rows["random"]["offline_stage1_reward"]) < 0.6
    for name in ("results.csv", "results_by_seed.csv", "results.md", "report.html"):
        assert (report.parent / name).stat().st_size > 0
    html = report.read_text()
    assert "expert" in html and "random" in html and "plotly" in html and "protocol default" in html
    episodes = (tmp_path / "run" / "episodes" / "eval" / "episodes.jsonl").read_text().count("\n")
    assert episodes == 2 * (3 * 3 + 2)  # 2 variants × (2 tasks + 1 held-out task) × 3 seeds + 2 tool-use tasks
    again = evaluate(params, tmp_path / "run", progress=False)  # cached evaluations are reused
    assert (tmp_path / "run" / "episodes" / "eval" / "episodes.jsonl").read_text().count("\n") == episodes
    assert again == report


def test_variants_and_grids_share_trainings():
    params = with_overrides(load_params(REPO / "params" / "quickstart.yaml"), {
        "eval.gammas": [0.8, 1.0], "eval.training_seeds": [0, 1, 2]})
    evals = plan_evaluations(params)
    needed = trainings_needed(evals)
    # per seed: main (sft/stage1/tracer1 + K=3 + γ=0.8), reactive (= K=1), Stage-2-only, γ=1.0
    assert len(needed) == 4 * 3
    assert all(stages == {"sft", "stage1", "stage2"} for t, stages in needed.items()
               if ("train.stage1.enabled", False) not in t.overrides)
    # Stage-2-only and the γ grid share the main training's SFT; reactive (K = 1) and other seeds do not
    main = next(t for t in needed if not t.overrides and t.seed == 0)
    twins = {t.overrides for t in needed if t is not main and same_sft(t, main)}
    assert twins == {(("train.stage1.enabled", False),), (("reward.gamma", 1.0),)}


def test_aggregate_gives_mean_and_std_over_seeds():
    rows = [{"variant": "a", "grid": "", "grid_value": None, "seed": s, "gui_success": v} for s, v in enumerate((0.2, 0.4, 0.6))]
    (agg,) = aggregate(rows)
    assert agg["seeds"] == 3 and agg["gui_success"] == pytest.approx(0.4) and agg["gui_success_std"] == pytest.approx(0.2)
    assert "0.400 ± 0.200" in markdown_table([agg], ["gui_success"])


def test_grid_points_get_their_own_table_sorted_by_value():
    rows = [{"variant": "tracer1", "grid": "gamma", "grid_value": g, "seeds": 1, "gui_success": v}
            for g, v in ((1.0, 0.5), (0.6, 0.25))] + [{"variant": "sft", "grid": "", "grid_value": None, "gui_success": 0.1}]
    assert "gamma" not in markdown_table(rows, ["gui_success"]) and "| sft |" in markdown_table(rows, ["gui_success"])
    lines = markdown_table(rows, ["gui_success"], "gamma").splitlines()
    assert lines[0].startswith("| variant, gamma |") and len(lines) == 4
    assert lines[2].startswith("| tracer1, gamma = 0.6 | 1 | 0.250") and lines[3].startswith("| tracer1, gamma = 1 |")


def test_stage2_only_reuses_the_main_sft_model(tmp_path):
    from tracer1kit.evaluation import reuse_sft
    from tracer1kit.evaluation.variants import Training, training_dir

    main, s2only, reactive = Training((), 0), Training((("train.stage1.enabled", False),), 0), Training((("planner.horizon", 1),), 0)
    model = training_dir(tmp_path, main) / "checkpoints" / "sft" / "final" / "model.safetensors"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"weights")
    for training in (s2only, reactive):
        reuse_sft(tmp_path, training, [main], training_dir(tmp_path, training))
    assert (training_dir(tmp_path, s2only) / "checkpoints" / "sft" / "final" / "model.safetensors").read_bytes() == b"weights"
    assert not (training_dir(tmp_path, reactive) / "checkpoints" / "sft" / "final").exists()


def test_slots_keep_their_task_and_every_job_runs_once():
    tasks = [t for t in "ABCDEFGH" for _ in range(5)]  # task-major, as gui_jobs lists them
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
    keys = {evaluation_key(e, params) for e in evals.values()}
    assert len(keys) == len(evals)


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
