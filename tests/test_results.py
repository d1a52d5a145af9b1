"""The results table and contrasts on hand-made evaluation records: which records each metric reads, when a rate
gets a Wilson interval and when a block bootstrap, how rows are grouped, when a best row is marked, how units are
paired across training seeds, and what the table can resolve."""

import math

import pytest

from tracer1kit.evaluation.results import (METRICS, best_rows, contrasts, estimate, label, resolution, seed_spread,
                                           table, units)
from tracer1kit.evaluation.stats import Estimate, wilson


def episode(seed, success, split="test", task="t", steps=2, non_executable=0):
    return {"task": task, "seed": seed, "split": split, "success": success, "steps": steps,
            "non_executable": non_executable}


def state(seed, ok, agreement, t=0, reward=0.5):
    return {"task": "t", "seed": seed, "t": t, "step_success": ok, "grounding_ok": ok, "stage1_reward": reward,
            "agreement": agreement}


def evaluation(variant, seed=0, episodes=(), states=(), grid="", grid_value=None, horizon=3, checkpoint="stage2"):
    return {"variant": variant, "grid": grid, "grid_value": grid_value, "seed": seed, "horizon": horizon,
            "checkpoint": checkpoint, "episodes": list(episodes), "states": list(states)}


def test_each_metric_reads_its_split_and_source():
    ev = evaluation("tracer1", episodes=[episode(1, True), episode(2, False, "heldout"), episode(3, True, "tool"),
                                         episode(4, None)],
                    states=[state(9, True, [True, False, True])])
    assert units([ev], METRICS["gui_success"]) == ([1.0], [("test", "t", 1)])      # a missing value is no unit
    assert units([ev], METRICS["heldout_success"]) == ([0.0], [("heldout", "t", 2)])
    assert units([ev], METRICS["tool_answer_acc"]) == ([1.0], [("tool", "t", 3)])
    assert units([ev], METRICS["forecast_future"]) == ([0.0, 1.0], [("offline", "t", 9)] * 2)
    assert units([ev], METRICS["forecast_pos1"])[0] == [1.0]
    assert units([ev], METRICS["forecast_agreement"])[0] == [1.0, 0.0, 1.0]
    nonexec = evaluation("x", episodes=[episode(1, True, steps=3, non_executable=1), episode(2, True, "tool", steps=1)])
    assert units([nonexec], METRICS["non_executable_rate"])[0] == [1.0, 0.0, 0.0, 0.0]   # every split, every step
    assert units([ev, ev], METRICS["gui_success"])[0] == [1.0, 1.0]


def test_a_rate_gets_wilson_only_for_independent_episodes_of_one_training_seed():
    one = evaluation("a", episodes=[episode(s, s < 3) for s in range(10)])
    est = estimate([one], METRICS["gui_success"])
    assert (est.value, est.n, est.method, (est.low, est.high)) == (0.3, 10, "Wilson", wilson(3, 10))
    assert estimate([one, one], METRICS["gui_success"]).method == "block bootstrap"       # two training seeds
    repeated = evaluation("a", episodes=[episode(s // 2, s < 3) for s in range(10)])       # a (task, seed) twice
    assert estimate([repeated], METRICS["gui_success"]).method == "block bootstrap"
    offline = evaluation("a", states=[state(s, s < 3, [True], t=s) for s in range(10)])
    assert estimate([offline], METRICS["offline_step_sr"]).method == "block bootstrap"     # states of one episode
    means = estimate([one], METRICS["gui_steps"])
    assert (means.value, means.method) == (2.0, "block bootstrap")
    assert estimate([one], METRICS["heldout_success"]).value is None


def test_seed_spread_is_the_sample_std_over_seeds_with_data():
    evs = [evaluation("a", s, [episode(1, ok) for ok in oks]) for s, oks in
           enumerate(([True, False], [True, True], [], [False, False]))]
    assert seed_spread(evs, METRICS["gui_success"]) == pytest.approx(0.5)              # means 0.5, 1, 0
    assert seed_spread(evs[:1], METRICS["gui_success"]) is None
    assert seed_spread(evs[1:3], METRICS["gui_success"]) is None                        # one seed has no episodes


def test_labels():
    assert label({"variant": "tracer1", "grid": "gamma", "grid_value": 0.6}) == "full TraceR1, γ = 0.6"
    assert label({"variant": "tracer1", "grid": "horizon", "grid_value": 3.0}) == "full TraceR1, K = 3"
    assert label({"variant": "tracer1", "grid": "repetition", "grid_value": 0.05}) == "full TraceR1, λ_rep = 0.05"
    assert label({"variant": "mine", "grid": "depth", "grid_value": 2.0}) == "mine, depth = 2"
    assert label({"variant": "random", "grid": ""}) == "random (floor)"


def test_rows_group_by_variant_and_grid_point_in_first_seen_order():
    evs = [evaluation("tracer1", 0, [episode(1, True)], horizon=3),
           evaluation("random", 0, [episode(1, False)], checkpoint=None, horizon=None),
           evaluation("tracer1", 1, [episode(1, False)], horizon=3),
           evaluation("tracer1", 0, [episode(1, True)], grid="gamma", grid_value=1.0),
           evaluation("base", 0, [episode(1, False)], checkpoint="untrained"),
           evaluation("expert", 0, [episode(1, True)], checkpoint="scripted")]
    rows = table(evs, ["gui_success"])
    assert [(r["variant"], r["grid"], r["grid_value"], r["seeds"]) for r in rows] == [
        ("tracer1", "", None, 2), ("random", "", None, 1), ("tracer1", "gamma", 1.0, 1), ("base", "", None, 1),
        ("expert", "", None, 1)]
    assert [r["trained"] for r in rows] == [True, False, True, False, False]
    assert rows[0]["gui_success"].value == 0.5 and rows[0]["gui_success_std"] == pytest.approx(math.sqrt(0.5))
    assert rows[0]["horizon"] == 3 and rows[2]["label"] == "full TraceR1, γ = 1"


def row(value, low, high, trained=True):
    return {"trained": trained, "m": Estimate(value, low, high, 10, "x")}


def test_best_row_needs_a_separated_interval_among_trained_rows():
    assert best_rows([row(0.9, 0.8, 1.0), row(0.5, 0.4, 0.6)], "m") == {0}
    assert best_rows([row(0.5, 0.4, 0.6), row(0.9, 0.8, 1.0)], "m") == {1}
    assert best_rows([row(0.5, 0.4, 0.6), row(0.9, 0.8, 1.0)], "m", lower_is_better=True) == {0}
    assert best_rows([row(0.9, 0.6, 1.0), row(0.5, 0.4, 0.6)], "m") == set()          # touching intervals
    assert best_rows([row(0.9, 0.8, 1.0), row(0.5, 0.4, 0.6), row(0.85, 0.7, 0.95)], "m") == set()
    assert best_rows([row(0.9, 0.8, 1.0)], "m") == set()                                # nothing to beat
    assert best_rows([row(0.99, 0.95, 1.0, trained=False), row(0.9, 0.8, 1.0), row(0.5, 0.4, 0.6)], "m") == {1}
    assert best_rows([row(0.9, 0.8, 1.0), row(None, None, None), row(0.5, 0.4, 0.6)], "m") == {0}
    assert best_rows([row(0.9, 0.8, 1.0), row(None, None, None)], "m") == set()


def test_contrasts_pair_by_training_seed_and_fall_back_to_a_scripted_side():
    a = [evaluation("tracer1", s, [episode(i, True) for i in range(4)]) for s in (0, 1)]
    b = [evaluation("sft", s, [episode(i, i < 2 * s) for i in range(4)]) for s in (0, 1)]
    found = {c.metric: c for c in contrasts(a + b, [("tracer1", "sft")], ["gui_success"])}
    gui = found["GUI success (held-out seeds)"]
    # seed 0: 4 pairs where only A succeeds; seed 1: 2 of each
    assert (gui.difference.n, gui.a_only, gui.b_only) == (8, 6, 0)
    assert gui.difference.value == pytest.approx(6 / 8)
    scripted = evaluation("random", 0, [episode(i, False) for i in range(4)], checkpoint=None)
    (vs_random,) = contrasts(a + [scripted], [("tracer1", "random")], ["gui_success"])
    assert (vs_random.difference.n, vs_random.a_only) == (8, 8)                        # both seeds against the one
    assert contrasts(a, [("tracer1", "sft"), ("sft", "tracer1")], ["gui_success"]) == []


def test_contrasts_skip_grid_points_and_forecast_positions_across_horizons():
    full = evaluation("tracer1", 0, [episode(1, True)], [state(9, True, [True, True])], horizon=3)
    k1 = evaluation("reactive", 0, [episode(1, False)], [state(9, False, [False])], horizon=1)
    grid = evaluation("sft", 0, [episode(1, False)], grid="gamma", grid_value=1.0)
    metrics = ["gui_success", "offline_stage1_reward", "forecast_future"]
    across = contrasts([full, k1], [("tracer1", "reactive")], metrics)
    assert [c.metric for c in across] == ["GUI success (held-out seeds)"]                 # per-position metrics dropped
    same_k = evaluation("stage1", 0, [episode(1, False)], [state(9, False, [True, False], reward=0.25)], horizon=3)
    within = {c.metric: c for c in contrasts([full, same_k], [("tracer1", "stage1")], metrics)}
    assert list(within) == ["GUI success (held-out seeds)", "offline Stage-1 reward (real steps)",
                            "forecast agreement, steps 2..K"]
    assert within["GUI success (held-out seeds)"].p_value == 1.0                         # a binary outcome: McNemar
    assert within["offline Stage-1 reward (real steps)"].p_value is None                # a mean
    assert within["offline Stage-1 reward (real steps)"].difference.value == pytest.approx(0.25)
    assert within["forecast agreement, steps 2..K"].p_value is None                     # several values per state
    assert within["forecast agreement, steps 2..K"].difference.value == pytest.approx(1.0)
    assert contrasts([full, grid], [("tracer1", "sft")], metrics) == []


def rows_of(n, seeds=1):
    return [{"gui_success": Estimate(0.5, 0.4, 0.6, n, "x"), "seeds": seeds},
            {"gui_success": Estimate(None, None, None, 0, "x"), "seeds": 1}]


def test_resolution_in_words():
    assert resolution([{"gui_success": Estimate(None, None, None, 0, "x"), "seeds": 1}]) == "no episodes"
    assert resolution(rows_of(9, seeds=3)) == ("with 3 episodes per variant and training seed, no difference in "
                                               "GUI success (held-out seeds) can be detected")
    assert resolution(rows_of(4)) == (
        "with 4 episodes per variant and training seed, two variants' GUI success (held-out seeds) must differ by "
        "about 0.99 (unpaired, worst case p = 0.5; 0.79 near p = 0.2) to be detected with 80% power at α = 0.05; "
        "the paired contrasts above detect smaller differences the more episodes two variants agree on (their own "
        "detectable difference is printed with each)")
    smaller = rows_of(100) + [{"gui_success": Estimate(0.5, 0.4, 0.6, 40, "x"), "seeds": 2}]
    assert resolution(smaller).startswith("with 20 episodes per variant")
    assert resolution([{"gui_success": Estimate(0.5, 0.4, 0.6, 50, "x"), "seeds": 0}]).startswith("with 50 episodes")


def test_per_task_splits_each_row_by_task_in_first_seen_order():
    from tracer1kit.evaluation.results import per_task

    a = evaluation("tracer1", episodes=[episode(1, True, task="b"), episode(2, False, task="b"),
                                        episode(1, True, task="a"), episode(9, True, "heldout", task="c")],
                   states=[state(1, True, [True])])
    r = evaluation("reactive", horizon=1, episodes=[episode(1, False, task="b"), episode(2, False, task="b"),
                                                    episode(1, True, task="a")])
    rows = per_task([a, r])
    assert [(row["task"], row["variant"]) for row in rows] == [
        ("b", "tracer1"), ("b", "reactive"), ("a", "tracer1"), ("a", "reactive"), ("c", "tracer1"), ("c", "reactive")]
    success = {(row["task"], row["variant"]): row["gui_success"] for row in rows}
    assert (success["b", "tracer1"].value, success["b", "tracer1"].n) == (0.5, 2)
    assert (success["b", "reactive"].value, success["a", "reactive"].value) == (0.0, 1.0)
    assert success["c", "tracer1"].value is None                  # held-out episodes are not GUI test episodes
    assert set(rows[0]) >= {"task", "label", "gui_success"} and "offline_step_sr" not in rows[0]
    held = per_task([a], "heldout_success")
    assert [(row["task"], row["heldout_success"].value) for row in held] == [("b", None), ("a", None), ("c", 1.0)]
    assert per_task([a], "offline_step_sr")[0]["task"] == "t"     # a state-sourced metric splits by the states' task
