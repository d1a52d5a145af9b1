"""GRPO groups that carry signal: all-equal groups, the pre-pass's selection, and the trainer options
(``dynamic_sampling: drop | resample``, ``prepass``) on a training set built to have mostly all-equal groups."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tracer1kit.actions import completion_text
from tracer1kit.data.examples import examples_from_episodes, to_dataset
from tracer1kit.params import Params, with_overrides
from tracer1kit.runs import RunDir
from tracer1kit.training.groups import all_equal, is_hard, prepass_path, select_states, solved
from tracer1kit.viz.dashboards import training_dashboard

from training_data import episode, tiny_params

rewards = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=2, max_size=8)


# ---------------------------------------------------------------- pure selection

@given(rewards)
def test_a_group_is_all_equal_iff_its_rewards_span_nothing(values):
    assert all_equal(values) == (max(values) - min(values) <= 1e-8)
    assert all_equal([values[0]] * len(values))
    assert not all_equal([0.0, 1e-7])


@given(rewards, st.floats(0.0, 1.0))
def test_hard_states_are_the_unsolved_or_the_mixed_ones(values, best):
    assert is_hard(values, best, "unsolved") == (min(values) < best - 1e-6) != solved(values, best)
    assert is_hard(values, None, "mixed") == (not all_equal(values))
    with pytest.raises(ValueError, match="reference plan's reward"):
        is_hard(values, None, "unsolved")
    with pytest.raises(ValueError, match="keep must be"):
        is_hard(values, best, "easy")


@settings(max_examples=60)
@given(st.lists(rewards, min_size=1, max_size=30), st.floats(0.0, 1.0), st.integers(0, 5), st.integers(0, 9))
def test_selection_keeps_every_hard_state_and_a_seeded_share_of_easy_ones(groups, share, minimum, seed):
    selection = select_states(groups, None, keep="mixed", keep_easy=share, seed=seed, minimum=minimum)
    hard = [i for i, g in enumerate(groups) if not all_equal(g)]
    easy = len(groups) - len(hard)
    assert list(selection.hard) == hard and set(hard) <= set(selection.kept)
    assert set(selection.easy_kept) == set(selection.kept) - set(hard)
    wanted = max(round(share * easy), minimum - len(hard))
    assert len(selection.easy_kept) == min(easy, max(0, wanted))
    assert list(selection.kept) == sorted(selection.kept)
    again = select_states(groups, None, keep="mixed", keep_easy=share, seed=seed, minimum=minimum)
    assert again == selection  # seeded
    assert selection.equal == easy and selection.solved is None


def test_selection_counts_and_summary():
    groups = [[1.0, 1.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0], [0.5, 0.5]]
    selection = select_states(groups, [1.0] * 5, keep="unsolved", keep_easy=0.5, seed=0)
    assert selection.hard == (1, 2, 4) and len(selection.easy_kept) == 1 and selection.solved == 2
    assert selection.metrics() == {"prepass/pool": 5, "prepass/states": 5, "prepass/hard": 3, "prepass/kept": 4,
                                   "prepass/kept_easy": 1, "prepass/equal_frac": 0.8, "prepass/solved_frac": 0.4}
    assert "kept 4 of 5 states (3 hard, 1 easy); 4 had all-equal rewards, 2 solved" in selection.describe("stage1")
    with pytest.raises(ValueError, match="keep_easy"):
        select_states(groups, None, keep="mixed", keep_easy=1.5, seed=0)
    with pytest.raises(ValueError, match="4 reference rewards for 5 states"):
        select_states(groups, [1.0] * 4, keep="unsolved", keep_easy=0.5, seed=0)
    sampled = select_states(groups, None, keep="mixed", keep_easy=0.0, seed=0, indices=[3, 8, 10, 20, 31], pool=40)
    assert (sampled.hard, sampled.kept, sampled.states, sampled.pool) == ((8,), (8,), 5, 40)
    assert "kept 1 of 5 states scored (of 40) (1 hard, 0 easy)" in sampled.describe("stage2")
    with pytest.raises(ValueError, match="2 training-set indices for 5 states"):
        select_states(groups, None, keep="mixed", keep_easy=0.0, seed=0, indices=[1, 2])


@given(st.integers(1, 50), st.one_of(st.none(), st.integers(1, 60)), st.integers(0, 5))
def test_the_prepass_scores_all_states_or_a_seeded_sample(size, max_states, seed):
    from tracer1kit.training.groups import scored_states

    chosen = scored_states(size, max_states, seed)
    assert chosen == sorted(set(chosen)) and set(chosen) <= set(range(size))
    assert len(chosen) == (size if max_states is None else min(size, max_states))
    assert chosen == scored_states(size, max_states, seed)


def test_group_options_are_refused_on_sft():
    with pytest.raises(ValueError, match="sft: dynamic_sampling and prepass act on GRPO groups"):
        with_overrides(Params(), {"train.sft.prepass.enabled": True})
    cfg = with_overrides(Params(), {"train.stage2.dynamic_sampling.mode": "resample"}).train
    assert cfg.stage2.dynamic_sampling.max_rounds == 2 and cfg.stage1.dynamic_sampling.mode == "off"
    assert not cfg.stage1.prepass.enabled and cfg.stage1.scale_rewards == "group" and cfg.stage1.loss_type == "dapo"


# ---------------------------------------------------------------- merging TRL batches

def test_merged_batches_keep_every_row_and_its_padding_side():
    from tracer1kit.training.signal_trainer import merge_rows

    a = {"prompt_ids": torch.tensor([[0, 5, 6], [7, 8, 9]]), "prompt_mask": torch.tensor([[0, 1, 1], [1, 1, 1]]),
         "completion_ids": torch.tensor([[1, 0], [2, 3]]), "completion_mask": torch.tensor([[1, 0], [1, 1]]),
         "advantages": torch.tensor([0.5, -0.5]), "num_items_in_batch": torch.tensor(3)}
    b = {"prompt_ids": torch.tensor([[4]]), "prompt_mask": torch.tensor([[1]]),
         "completion_ids": torch.tensor([[6, 6, 6]]), "completion_mask": torch.tensor([[1, 1, 1]]),
         "advantages": torch.tensor([1.0]), "num_items_in_batch": torch.tensor(3)}
    out = merge_rows([(a, [1]), (b, [0])], pad_token_id=0)
    assert out["prompt_ids"].tolist() == [[7, 8, 9], [0, 0, 4]]
    assert out["prompt_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
    assert out["completion_ids"].tolist() == [[2, 3, 0], [6, 6, 6]]
    assert out["completion_mask"].tolist() == [[1, 1, 0], [1, 1, 1]]
    assert out["advantages"].tolist() == [-0.5, 1.0] and int(out["num_items_in_batch"]) == 5
    with pytest.raises(ValueError, match="cannot merge TRL batch keys \\['image_sizes'\\]"):
        merge_rows([({**a, "image_sizes": torch.ones(2, 2)}, [0])], pad_token_id=0)


# ---------------------------------------------------------------- the trainer on mostly all-equal groups

def _easy(seed: int) -> bool:
    return seed % 4 != 0


def constant_on_easy_states(completions, seed, reference, **_):
    """1 on easy states whatever the completion (all-equal groups); on hard ones 1 for the reference plan and a
    hash of the text in {0, .2, …, .8} otherwise (a random model's group is almost never all-equal)."""
    out = []
    for completion, s, ref in zip(completions, seed, reference):
        text = completion_text(completion)
        digest = int(hashlib.sha256(text.encode()).hexdigest(), 16) % 5 / 5
        out.append(1.0 if _easy(int(s)) or text == ref else digest)
    return out


def _train(tmp_path, name: str, **overrides):
    from tracer1kit.training.grpo import run_grpo_stage

    params = tiny_params(**{"train.stage1.max_steps": 4, "train.stage1.per_device_batch_size": 8,
                            "train.stage1.save_steps": 100, **overrides})
    dataset = to_dataset(examples_from_episodes([episode(s) for s in range(16)], params.planner, use_image=True))
    run = RunDir.create(tmp_path / name)
    result = run_grpo_stage("stage1", params, run, dataset, [constant_on_easy_states], [1.0], "tiny")
    return run, result, [m for m in run.metrics("stage1") if "frac_reward_zero_std" in m]


def _mean(rows, key):
    return sum(r[key] for r in rows) / len(rows)


@pytest.mark.slow
def test_the_options_lower_the_share_of_all_equal_groups_trained_on(tmp_path):
    _, _, off = _train(tmp_path, "off")
    assert _mean(off, "frac_reward_zero_std") >= 0.5 and not any("groups/equal_frac_trained" in r for r in off)

    run, result, prepass = _train(tmp_path, "prepass", **{"train.stage1.prepass.enabled": True,
                                                          "train.stage1.prepass.keep_easy": 0.0})
    record = json.loads(prepass_path(run, "stage1").read_text())
    assert record["selection"]["kept"] == [0, 4, 8, 12] == record["selection"]["hard"]  # the four hard states
    assert [(r["index"], r["seed"]) for r in record["rows"] if r["kept"]] == [(0, 0), (4, 4), (8, 8), (12, 12)]
    assert all(r["best"] == 1.0 for r in record["rows"])
    logged = next(m for m in run.metrics("stage1") if "prepass/kept" in m)
    assert (logged["step"], logged["prepass/states"], logged["prepass/kept"], logged["prepass/solved_frac"]) == \
        (0, 16, 4, 0.75)
    assert "kept 4 of 16 states (4 hard, 0 easy)" in result.summary()
    assert _mean(prepass, "frac_reward_zero_std") <= 0.1 < _mean(off, "frac_reward_zero_std")

    _, _, resample = _train(tmp_path, "resample", **{"train.stage1.dynamic_sampling.mode": "resample",
                                                     "train.stage1.dynamic_sampling.max_rounds": 8})
    assert _mean(resample, "groups/equal_frac_trained") <= 0.15 < _mean(resample, "frac_reward_zero_std")
    assert sum(r["groups/resampled"] for r in resample) > 0 and all(r["groups/extra_groups"] >= r["groups/resampled"]
                                                                    for r in resample)

    _, _, drop = _train(tmp_path, "drop", **{"train.stage1.dynamic_sampling.mode": "drop"})
    assert all(r["groups/equal_frac_trained"] == 0 for r in drop)
    assert [r["groups/dropped"] for r in drop] == [round(2 * r["frac_reward_zero_std"]) for r in drop]



def test_the_dashboard_shows_what_the_group_options_logged():
    rows = [{"stage": "stage1", "step": 0, "prepass/states": 16, "prepass/hard": 4, "prepass/kept": 5},
            {"stage": "stage1", "step": 1, "frac_reward_zero_std": 0.5, "groups/equal_frac_trained": 0.0,
             "groups/resampled": 1, "groups/extra_groups": 2},
            {"stage": "stage1", "step": 2, "frac_reward_zero_std": 1.0, "groups/equal_frac_trained": 0.5,
             "groups/resampled": 1, "groups/extra_groups": 4},
            {"stage": "stage2", "step": 1, "frac_reward_zero_std": 0.8, "groups/dropped": 3}]
    fig = training_dashboard(rows)
    traces = {t.name: t for t in fig.data}
    assert list(traces["stage1: trained on"].y) == [0.0, 0.5] and traces["stage1: trained on"].xaxis == "x2"
    assert list(traces["stage: stage1"].y) == [0.5, 1.0]  # TRL's fraction, as before
    assert list(traces["stage1: groups extra"].y) == [2.0, 4.0] and traces["stage2: groups dropped"].xaxis == "x7"
    assert [(t.name, list(t.x), list(t.y)) for t in fig.data if t.type == "bar"] == [
        ("prepass: scored", ["stage1"], [16.0]), ("prepass: hard", ["stage1"], [4.0]),
        ("prepass: kept", ["stage1"], [5.0])]
    assert len(fig.layout.annotations) >= 8  # two more panels
    plain = training_dashboard([r for r in rows if "groups/dropped" not in r and "prepass/kept" not in r
                                and "groups/resampled" not in r])
    assert not any(t.xaxis in ("x7", "x8") for t in plain.data) and plain.layout.height == 900


def test_a_resumed_stage_reuses_the_saved_selection(tmp_path):
    from tracer1kit.training.groups import save_selection, saved_selection

    run = RunDir.create(tmp_path / "run")
    selection = select_states([[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]], [1.0] * 3, keep="unsolved", keep_easy=1.0, seed=3)
    assert saved_selection(run, "stage2", 3) is None
    save_selection(run, "stage2", selection, [{"index": 0, "seed": 0}])
    assert saved_selection(run, "stage2", 3) == selection
    assert saved_selection(run, "stage2", 4) is None  # another training set: scored again
    assert saved_selection(run, "stage1", 3) is None
