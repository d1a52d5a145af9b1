"""How many evaluations and trainings the variants and grids ask for: scripted baselines once across training
seeds, trained variants and grid points once per seed, identical configurations sharing one training, SFT shared
where SFT reads nothing that differs."""

from collections import Counter
from pathlib import Path

import pytest

from tracer1kit.evaluation.variants import (SCRIPTED_VARIANTS, TRAINED_VARIANTS, Evaluation, Training,
                                            check_variant_names, main_training_dir, plan_evaluations, same_until,
                                            training_dir, trainings_needed)
from tracer1kit.params import Params, with_overrides

ALL = {"sft", "stage1", "stage2"}


def params(**overrides) -> Params:
    return with_overrides(Params(), overrides)


def test_scripted_variants_are_evaluated_once_across_training_seeds():
    evals = plan_evaluations(params(**{"eval.training_seeds": [5, 6, 7], "eval.horizons": [3]}))
    scripted = [(e.variant, e.seed, e.training, e.checkpoint) for e in evals if e.variant in ("random", "expert")]
    assert scripted == [("random", 5, None, None), ("expert", 5, None, None)]
    trained = Counter(e.variant for e in evals if e.training is not None)
    assert trained == {"reactive": 3, "sft": 3, "stage1": 3, "stage2": 3, "tracer1": 3}
    assert [e.seed for e in evals if e.variant == "sft"] == [5, 6, 7]
    assert len(evals) == 2 + 5 * 3


def test_grids_with_two_or_more_values_are_evaluated_per_point_and_seed():
    p = params(**{"eval.training_seeds": [0, 1], "eval.variants": ["tracer1"], "eval.horizons": [1, 3, 5],
                  "eval.gammas": [0.8], "eval.repetition_weights": [0.0, 0.05]})
    grid = [(e.grid, e.grid_value, e.seed) for e in plan_evaluations(p) if e.grid]
    assert grid == [("horizon", 1.0, 0), ("horizon", 3.0, 0), ("horizon", 5.0, 0), ("repetition", 0.0, 0),
                    ("repetition", 0.05, 0), ("horizon", 1.0, 1), ("horizon", 3.0, 1), ("horizon", 5.0, 1),
                    ("repetition", 0.0, 1), ("repetition", 0.05, 1)]
    points = [e for e in plan_evaluations(p) if e.grid]
    assert all(e.variant == "tracer1" and e.checkpoint == "stage2" for e in points)
    assert all(isinstance(e.grid_value, float) for e in points)
    k5 = next(e for e in points if e.grid == "horizon" and e.grid_value == 5.0 and e.seed == 1)
    assert k5.training == Training((("planner.horizon", 5),), 1)
    default_point = next(e for e in points if e.grid == "horizon" and e.grid_value == 3.0 and e.seed == 0)
    assert default_point.training == Training((), 0)               # the base value is no override


def test_trainings_are_shared_by_identical_configurations():
    p = params(**{"eval.training_seeds": [0, 1, 2], "eval.gammas": [0.8, 1.0]})
    needed = trainings_needed(plan_evaluations(p))
    # per seed: the main training (sft, stage1, tracer1, K = 3, γ = 0.8), reactive = K = 1, Stage-2-only, γ = 1
    assert len(needed) == 4 * 3
    assert Counter(t.overrides for t in needed) == {(): 3, (("planner.horizon", 1),): 3,
                                                    (("train.stage1.enabled", False),): 3, (("reward.gamma", 1.0),): 3}
    assert all(stages == ALL for stages in needed.values())


def test_each_training_runs_the_stages_up_to_its_latest_checkpoint():
    only_sft = params(**{"eval.variants": ["sft"], "eval.horizons": [3]})
    assert trainings_needed(plan_evaluations(only_sft)) == {Training((), 0): {"sft"}}
    stage1 = params(**{"eval.variants": ["sft", "stage1"], "eval.horizons": [3]})
    assert trainings_needed(plan_evaluations(stage1)) == {Training((), 0): {"sft", "stage1"}}
    scripted = params(**{"eval.variants": ["random", "expert"], "eval.horizons": [3]})
    assert trainings_needed(plan_evaluations(scripted)) == {}
    assert trainings_needed([Evaluation("odd", Training((), 0), None)]) == {Training((), 0): set()}


def test_training_names_are_stable_and_distinct():
    assert Training((), 0).name == "base-s0"
    assert Training((("planner.horizon", 1),), 2).name == "e26effbf-s2"      # sub-run folders of earlier runs
    assert Training((("planner.horizon", 1),), 3).name == "e26effbf-s3"
    assert Training((("planner.horizon", 2),), 2).name != "e26effbf-s2"
    assert training_dir(Path("/r"), Training((), 4)) == Path("/r/trainings/base-s4")
    assert main_training_dir(params(**{"eval.training_seeds": [3, 1]}).eval, Path("/r")) == Path("/r/trainings/base-s3")


def test_a_training_applies_its_overrides_and_seed():
    trained = Training((("planner.horizon", 1), ("reward.gamma", 0.5)), 7).params(Params())
    assert (trained.planner.horizon, trained.reward.gamma, trained.run.seed) == (1, 0.5, 7)


def test_sft_is_shared_across_reward_and_grpo_settings_only():
    base = Training((), 0)
    for key, value in (("reward.gamma", 1.0), ("train.stage1.enabled", False), ("train.stage2.beta", 0.1),
                       ("grounded.matched", 0.5)):
        assert same_until(base, Training(((key, value),), 0), "sft")
    assert not same_until(base, Training((), 1), "sft")                                 # another seed
    assert not same_until(base, Training((("planner.horizon", 1),), 0), "sft")           # SFT reads the horizon
    assert not same_until(base, Training((("train.sft.max_steps", 9),), 0), "sft")
    assert same_until(Training((("planner.horizon", 1), ("reward.gamma", 1.0)), 0),
                      Training((("planner.horizon", 1),), 0), "sft")


def test_each_grid_is_based_at_the_params_own_value():
    from tracer1kit.evaluation.variants import grid_bases

    based = grid_bases(params(**{"planner.horizon": 5, "reward.gamma": 0.7, "reward.weights.repetition": 0.1}))
    assert based == {"horizon": 5.0, "gamma": 0.7, "repetition": 0.1}


def test_stage1_is_shared_across_stage2_settings_only():
    base = Training((), 0)
    assert same_until(base, Training((("train.stage2.beta", 0.1), ("grounded.matched", 0.5)), 0), "stage1")
    strict = Training(tuple(TRAINED_VARIANTS["strict"][0].items()), 0)                           # Stage 2's executors only
    assert same_until(base, strict, "stage1") and same_until(base, strict, "sft")
    assert not same_until(base, Training((("reward.gamma", 1.0),), 0), "stage1")        # Stage 1 reads the reward
    assert not same_until(base, Training((("train.stage1.enabled", False),), 0), "stage1")
    assert not same_until(base, Training((("train.stage2.beta", 0.1),), 1), "stage1")


@pytest.mark.parametrize("key, names, message", [
    ("eval.variants", ["sft", "bogus"], "eval.variants: unknown variant 'bogus'"),
    ("eval.contrasts", [["tracer1", "nope"]], "eval.contrasts: unknown variant 'nope'"),
])
def test_unknown_variant_names_are_refused_by_key(key, names, message):
    with pytest.raises(ValueError) as info:
        plan_evaluations(params(**{key: names}))
    known = ", ".join((*SCRIPTED_VARIANTS, *TRAINED_VARIANTS))
    assert known.startswith("random, expert, base, sft, stage1, tracer1, stage2, reactive")
    assert str(info.value) == f"{message} (allowed: {known})"
    check_variant_names(params(**{"eval.variants": ["base", "reactive"], "eval.contrasts": [["base", "reactive"]]}).eval)


def test_trainings_are_named_by_the_rows_they_serve():
    from tracer1kit.evaluation.variants import training_names

    p = params(**{"eval.training_seeds": [0, 1], "eval.horizons": [1, 3], "eval.gammas": [0.8, 1.0]})
    names = training_names(plan_evaluations(p))
    assert names[Training((), 0)] == "sft, stage1, tracer1, horizon 3, gamma 0.8 (seed 0)"
    assert names[Training((("planner.horizon", 1),), 1)] == "reactive, horizon 1 (seed 1)"
    assert names[Training((("train.stage1.enabled", False),), 0)] == "stage2 (seed 0)"
    assert names[Training((("reward.gamma", 1.0),), 1)] == "gamma 1 (seed 1)"
    assert len(set(names.values())) == len(names) == 8
    assert training_names([]) == {}
