"""The training checks the params alone decide: each problem named with its key and fix, all reported at once,
and the tool-use episode length they assume is the expert's."""

import pytest

from tracer1kit.actions import ActionType
from tracer1kit.envs.tooluse import KINDS, make_task
from tracer1kit.episodes import HistoryItem, Observation
from tracer1kit.experts.lengths import LONGEST_EPISODE
from tracer1kit.experts.tooluse import tool_expert_steps
from tracer1kit.params import Params, with_overrides
from tracer1kit.experts.tooluse import TOOL_USE_LONGEST_EPISODE
from tracer1kit.training.preflight import TrainingInputError, check_training_input, preflight

GPU_TASKS = ["click-button", "click-link", "enter-text", "focus-text", "login-user", "click-tab-2", "enter-password"]


def params(**overrides) -> Params:
    return with_overrides(Params(), overrides)


def test_the_defaults_pass():
    assert preflight(Params()) == []


@pytest.mark.parametrize("tooluse, horizon, longest", [(True, 5, 4), (True, 4, None), (False, 4, 3), (False, 3, None)])
def test_horizon_against_the_known_episode_lengths(tooluse, horizon, longest):
    """Issue 18.6: horizon 5 on the GPU file's tasks (longest 4 steps, tool use) was refused only after the data."""
    problems = preflight(params(**{"env.tasks": GPU_TASKS, "tooluse.enabled": tooluse, "planner.horizon": horizon}))
    if longest is None:
        assert problems == []
    else:
        assert problems == [f"planner.horizon = {horizon} is larger than the longest training episode ({longest} steps: "
                            f"{'tool use (receipt_tip)' if tooluse else 'login-user'}, the longest expert episode "
                            f"known for the training tasks); lower planner.horizon to at most {longest} or train on "
                            "longer tasks"]


def test_unknown_tasks_and_kinds_list_the_supported_ones():
    problems = preflight(params(**{"env.tasks": ["click-buton"], "env.heldout_tasks": ["nope"],
                                   "tooluse.kinds": ["receipt"]}))
    assert len(problems) == 2
    assert problems[0].startswith("env.tasks / env.heldout_tasks: no scripted expert for 'click-buton', 'nope'; "
                                  "supported tasks: ")
    assert all(task in problems[0] for task in LONGEST_EPISODE)
    assert problems[1] == f"tooluse.kinds: unknown kind 'receipt'; list some of {', '.join(KINDS)} or set tooluse.enabled: false"
    assert "no kinds listed" in preflight(params(**{"tooluse.kinds": []}))[0]
    assert preflight(params(**{"tooluse.kinds": [], "tooluse.enabled": False})) == []


@pytest.mark.parametrize("stage", ["stage1", "stage2"])
def test_group_size_is_checked_for_each_grpo_stage_it_trains(stage):
    bad = params(**{f"train.{stage}.per_device_batch_size": 6, f"train.{stage}.num_generations": 4})
    assert preflight(bad) == [f"train.{stage}: per_device_batch_size × gradient_accumulation_steps = 6 is not divisible "
                              "by num_generations = 4; set per_device_batch_size to a multiple of 4"]
    assert preflight(bad, stages=["sft"]) == []
    assert preflight(with_overrides(bad, {f"train.{stage}.enabled": False})) == []
    assert preflight(with_overrides(bad, {f"train.{stage}.gradient_accumulation_steps": 2})) == []


def test_every_problem_is_reported_at_once(tmp_path):
    bad = params(**{"train.stage1.init_from": str(tmp_path / "missing"), "train.stage2.num_generations": 3,
                    "env.max_steps": 2, "tooluse.max_steps": 3, "planner.horizon": 9})
    problems = preflight(bad)
    assert [p.split(" ")[0] for p in problems] == ["train.stage1.init_from:", "train.stage2:", "env.max_steps",
                                                   "tooluse.max_steps", "planner.horizon"]
    assert "login-user (3 steps): those episodes would end unfinished; raise env.max_steps" in problems[2]
    with pytest.raises(TrainingInputError) as info:
        check_training_input(bad)
    assert str(info.value).splitlines() == problems


def test_no_training_episodes_is_refused_before_any_data():
    assert preflight(params(**{"env.train_seeds": [], "tooluse.enabled": False})) == [
        "no training episodes: list training tasks and train seeds for a domain (env.tasks and env.train_seeds; "
        "tooluse.enabled with tooluse.train_seeds; grid.levels with grid.train_seeds)"]
    assert preflight(params(**{"env.train_seeds": []})) == []  # tool use still trains


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_tool_use_expert_takes_at_most_the_assumed_steps(kind):
    """OCR, then (when the reading fails) a zoom, the computing tool and the answer: 3 steps, 4 with the zoom."""
    task = make_task(kind, 0)
    start = Observation(task.instruction, task=f"tooluse/{kind}", seed=0)
    assert len(tool_expert_steps(start)) == 3
    ocr = tool_expert_steps(start)[0]
    unread = Observation(task.instruction, history=(HistoryItem(ocr, "no text found"),), task=f"tooluse/{kind}", seed=0)
    rest = tool_expert_steps(unread)
    assert rest[0].target == "zoom" and rest[-1].action is ActionType.ANSWER
    assert 1 + len(rest) == TOOL_USE_LONGEST_EPISODE
