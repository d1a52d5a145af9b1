"""The training checks the params alone decide: each problem named with its key and fix, all reported at once,
each check on both sides of its rule (batch divisible by the group, horizon and step budgets against the longest
known expert episode, names known, something to train on), which checks run for which stages, and the tool-use
episode length they assume is the expert's."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracer1kit.actions import ActionType
from tracer1kit.envs.tooluse import KINDS, make_task
from tracer1kit.episodes import HistoryItem, Observation
from tracer1kit.experts.lengths import LONGEST_EPISODE
from tracer1kit.experts.tooluse import tool_expert_steps
from tracer1kit.params import Params, with_overrides
from tracer1kit.domains.miniwob import MiniWoBDomain
from tracer1kit.domains.tooluse import ToolUseDomain
from tracer1kit.experts.tooluse import TOOL_USE_LONGEST_EPISODE
from tracer1kit.training.preflight import (TrainingInputError, check_group_size, check_horizon, check_init_from,
                                           check_known_horizon, check_plan_tokens, check_some_training,
                                           check_training_input, plan_token_caps, preflight, training_lengths)

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


GUI_ONLY = {"tooluse.enabled": False}


def error(check, *args) -> str:
    with pytest.raises(TrainingInputError) as info:
        check(*args)
    return str(info.value)


def test_the_batch_must_divide_into_whole_groups():
    ok = params(**{"train.stage1.per_device_batch_size": 3, "train.stage1.gradient_accumulation_steps": 2,
                   "train.stage1.num_generations": 6})
    check_group_size("stage1", ok.train.stage1)                      # 3 × 2 = 6 generations: one group
    bad = params(**{"train.stage1.per_device_batch_size": 3, "train.stage1.gradient_accumulation_steps": 3,
                    "train.stage1.num_generations": 6})
    assert error(check_group_size, "stage1", bad.train.stage1) == (
        "train.stage1: per_device_batch_size × gradient_accumulation_steps = 9 is not divisible by num_generations "
        "= 6; set per_device_batch_size to a multiple of 6")


def test_init_from_must_exist(tmp_path):
    check_init_from("stage2", None)
    check_init_from("stage2", str(tmp_path))
    assert error(check_init_from, "stage2", str(tmp_path / "gone")) == (
        f"train.stage2.init_from: checkpoint {tmp_path / 'gone'} does not exist; train the earlier stage first or "
        "point init_from at a saved model folder")


def test_the_horizon_may_equal_the_longest_episode_but_not_exceed_it():
    check_horizon(3, 3)
    assert error(check_horizon, 4, 3) == (
        "planner.horizon = 4 is larger than the longest training episode (3 steps); lower planner.horizon to at "
        "most 3 or train on longer tasks")
    assert "(3 steps: login-user)" in error(check_horizon, 4, 3, "login-user")


def test_some_training_episodes_are_needed():
    message = ("no training episodes: list training tasks and train seeds for a domain (env.tasks and env.train_seeds; "
               "tooluse.enabled with tooluse.train_seeds; grid.levels with grid.train_seeds)")
    check_some_training(params(**{"tooluse.enabled": False}))                             # GUI episodes
    check_some_training(params(**{"env.tasks": []}))                                       # tool-use episodes
    assert error(check_some_training, params(**{"env.tasks": [], "tooluse.enabled": False})) == message
    assert error(check_some_training, params(**{"env.train_seeds": [], "tooluse.train_seeds": []})) == message
    assert error(check_some_training, params(**{"env.tasks": [], "tooluse.train_seeds": []})) == message


def test_training_lengths_list_each_task_and_tool_kind():
    p = params(**{"env.tasks": ["click-button", "login-user"], "tooluse.kinds": ["table_max", "receipt_tip"]})
    assert training_lengths(p) == {"click-button": 1, "login-user": 3, "tool use (table_max)": 4,
                                   "tool use (receipt_tip)": 4}
    assert training_lengths(with_overrides(p, GUI_ONLY)) == {"click-button": 1, "login-user": 3}


def test_env_max_steps_must_hold_the_longest_episode_of_training_and_heldout_tasks():
    miniwob = MiniWoBDomain()
    assert miniwob.budget_problems(params(**{"env.tasks": ["login-user"],
                                             "env.max_steps": LONGEST_EPISODE["login-user"]})) == []
    assert miniwob.budget_problems(params(**{"env.tasks": ["login-user"], "env.max_steps": 2})) == [
        "env.max_steps = 2 is less than the longest expert episode of login-user (3 steps): those episodes would "
        "end unfinished; raise env.max_steps"]
    heldout = params(**{"env.tasks": ["click-button"], "env.heldout_tasks": ["enter-text"], "env.max_steps": 1})
    assert "of enter-text (2 steps)" in miniwob.budget_problems(heldout)[0]


def test_tooluse_max_steps_must_hold_the_longest_tool_episode():
    assert TOOL_USE_LONGEST_EPISODE == 4
    tooluse = ToolUseDomain()
    assert tooluse.budget_problems(params(**{"tooluse.max_steps": 4})) == []
    assert preflight(params(**{"tooluse.max_steps": 3, "tooluse.enabled": False})) == []
    assert tooluse.budget_problems(params(**{"tooluse.max_steps": 3})) == [
        "tooluse.max_steps = 3 is less than the longest tool-use expert episode (4 steps); raise tooluse.max_steps"]


def test_the_known_horizon_check_uses_the_longest_task():
    gui = params(**{"env.tasks": ["click-button", "login-user", "enter-text"], **GUI_ONLY})
    check_known_horizon(with_overrides(gui, {"planner.horizon": 3}))
    assert "(3 steps: login-user, the longest" in error(check_known_horizon, with_overrides(gui, {"planner.horizon": 4}))
    check_known_horizon(params(**{"env.tasks": [], "tooluse.enabled": False, "planner.horizon": 30}))  # nothing known


def test_preflight_checks_the_stages_it_is_given():
    bad = params(**{f"train.{s}.num_generations": 3 for s in ("stage1", "stage2")})  # SFT has none (SftParams)
    problems = preflight(bad)
    assert [p.split(":")[0] for p in problems] == ["train.stage1", "train.stage2"]         # never the SFT batch
    assert [p.split(":")[0] for p in preflight(bad, ["stage2"])] == ["train.stage2"]
    assert preflight(bad, []) == []


def test_init_from_is_checked_for_each_enabled_stage_only(tmp_path):
    missing = str(tmp_path / "gone")
    bad = params(**{f"train.{s}.init_from": missing for s in ("sft", "stage1", "stage2")})
    assert [p.split(":")[0] for p in preflight(bad)] == [f"train.{s}.init_from" for s in ("sft", "stage1", "stage2")]
    assert preflight(with_overrides(bad, {"train.sft.enabled": False}), ["sft"]) == []


def test_unknown_names_skip_the_length_checks_but_not_the_others():
    bad = params(**{"env.tasks": ["nope"], "env.max_steps": 1, "train.stage2.num_generations": 3})
    problems = preflight(bad)
    assert [p.split(" ")[0] for p in problems] == ["env.tasks", "train.stage2:"]


def test_resume_takes_the_newest_complete_checkpoint_by_step_number(tmp_path):
    from tracer1kit.runs import RunDir
    from tracer1kit.training.common import last_checkpoint, stage_dir

    run = RunDir.create(tmp_path / "run")
    assert last_checkpoint(run, "stage1") is None                                  # no stage folder yet
    for name, complete in (("checkpoint-9", True), ("checkpoint-10", True), ("checkpoint-100", False),
                           ("checkpoint-final", True), ("checkpoint-2", True)):
        (stage_dir(run, "stage1") / name).mkdir(parents=True)
        if complete:
            (stage_dir(run, "stage1") / name / "trainer_state.json").write_text("{}")
    assert last_checkpoint(run, "stage1") == stage_dir(run, "stage1") / "checkpoint-10"   # 10 > 9, not "9" > "10"


@given(lengths=st.lists(st.integers(1, 400), min_size=1, max_size=30),
       caps=st.dictionaries(st.sampled_from(["planner.max_new_tokens", "train.stage1.max_completion_length",
                                             "train.stage2.max_completion_length"]), st.integers(8, 400), min_size=1))
def test_a_cap_below_any_reference_plan_is_refused_naming_exactly_the_short_caps(lengths, caps):
    """Issue 26: a horizon whose reference plans exceed a token cap trained and evaluated plans cut unparsable."""
    short = [name for name, cap in caps.items() if cap < max(lengths)]
    if not short:
        check_plan_tokens(lengths, caps, 4)
        return
    with pytest.raises(TrainingInputError) as error:
        check_plan_tokens(lengths, caps, 4)
    message = str(error.value)
    assert all(f"{name} = {caps[name]}" in message for name in short)
    assert not any(f"{name} = " in message for name in caps if name not in short)
    assert f"the longest {max(lengths)} tokens" in message and "planner.horizon = 4" in message
    over = sum(length > min(caps[name] for name in short) for length in lengths)
    assert f": {over} of {len(lengths)} reference plans" in message
    assert f"mean {sum(lengths) / len(lengths):.0f})" in message and f"raise {' and '.join(short)} to" in message


def test_the_plan_caps_are_evaluation_and_each_enabled_grpo_stage():
    assert plan_token_caps(params(**{"planner.max_new_tokens": 90, "train.stage1.max_completion_length": 80,
                                     "train.stage2.enabled": False})) == {
        "planner.max_new_tokens": 90, "train.stage1.max_completion_length": 80}
    assert list(plan_token_caps(Params(), ["sft"])) == ["planner.max_new_tokens"]


def test_grid_plans_longer_than_the_cap_stop_training_before_any_step(tmp_path):
    """The grid study's K = 8 plans (about 110 tokens) against its 96-token cap: refused after the data, before SFT."""
    from tracer1kit.training.pipeline import train

    grid = params(**{"env.tasks": [], "env.heldout_tasks": [], "tooluse.enabled": False,
                     "grid.levels": ["BabyAI-BlockedUnlockPickup-v0"], "grid.train_seeds": [0, 1],
                     "grid.image": False, "planner.horizon": 8, "planner.prompt": "compact",
                     "planner.instructions": False, "planner.max_new_tokens": 96,
                     "train.stage1.max_completion_length": 96, "train.stage2.max_completion_length": 200,
                     "train.sft.max_steps": 1, "train.stage1.enabled": False, "train.stage2.enabled": False})
    with pytest.raises(TrainingInputError, match=r"planner.max_new_tokens = 96: \d+ of \d+ reference plans at "
                                                 r"planner.horizon = 8"):
        train(grid, tmp_path / "run", ["sft"])
    assert not (tmp_path / "run" / "checkpoints" / "sft").exists()


def test_evaluate_refuses_a_later_trainings_long_plans_before_the_first_training(tmp_path):
    """The K = 8 point of a horizon grid is refused before the K = 2 training runs, not an hour into the study."""
    from tracer1kit.evaluation import evaluate

    grid = params(**{"env.tasks": [], "env.heldout_tasks": [], "tooluse.enabled": False,
                     "grid.levels": ["BabyAI-BlockedUnlockPickup-v0"], "grid.train_seeds": [0, 1],
                     "grid.test_seeds": [2000], "grid.image": False, "planner.horizon": 2, "planner.prompt": "compact",
                     "planner.instructions": False, "planner.max_new_tokens": 96,
                     "train.stage1.max_completion_length": 200, "train.stage2.max_completion_length": 200,
                     "train.sft.max_steps": 1, "train.stage1.max_steps": 1, "train.stage2.max_steps": 1,
                     "eval.variants": ["expert"], "eval.horizons": [2, 8], "eval.contrasts": []})
    with pytest.raises(TrainingInputError, match=r"planner.max_new_tokens = 96: \d+ of \d+ reference plans at "
                                                 r"planner.horizon = 8"):
        evaluate(grid, tmp_path / "run", progress=False)
    assert not list((tmp_path / "run").rglob("final"))
