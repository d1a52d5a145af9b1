"""Generated tool-use tasks, the environment, answer checking, and the expert through the real tools."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tracer1kit.actions import DONE_STEP, ActionType, Step, pad_to_horizon, parse_plan
from tracer1kit.agents.loop import run_episode
from tracer1kit.agents.tools import ToolExecutor
from tracer1kit.envs.base import Answer, Environment, ToolResult
from tracer1kit.envs.tooluse import KINDS, ToolUseEnv, make_task
from tracer1kit.domains.registry import expert_planner
from tracer1kit.experts.tooluse import tool_expert_steps
from tracer1kit.text import check_answer
from tracer1kit.episodes import HistoryItem, Observation
from tracer1kit.params import ToolUseParams
from tracer1kit.tools import run_tool
from tracer1kit.tools.convert import convert


def test_kinds_match_the_params_defaults() -> None:
    assert set(ToolUseParams().kinds) == set(KINDS)


@pytest.mark.parametrize("kind", list(KINDS))
def test_tasks_are_deterministic_small_and_varied(kind: str) -> None:
    a, b = make_task(kind, 7), make_task.__wrapped__(kind, 7)  # a fresh render, not the cached one
    assert (a.instruction, a.answer, a.steps) == (b.instruction, b.answer, b.steps)
    assert a.image.tobytes() == b.image.tobytes()
    tasks = [make_task(kind, seed) for seed in range(12)]
    assert all(t.image.width <= 320 and t.image.mode == "RGB" for t in tasks)
    assert len({t.answer for t in tasks}) >= 6 and len({t.image.size for t in tasks}) >= 6


def test_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(ValueError, match="kinds: receipt_tip, table_max, sign_convert"):
        make_task("poem", 0)
    with pytest.raises(ValueError, match="unknown tool-use kind"):
        ToolUseEnv(["receipt_tip", "poem"])


@pytest.mark.parametrize("kind", list(KINDS))
def test_reference_steps_compute_the_gold_answer_with_the_real_tools(kind: str) -> None:
    for seed in range(25):
        task = make_task(kind, seed)
        read, compute, answer = task.steps
        assert (read.action, read.target, read.args) == (ActionType.CALL, "ocr", (("image", "input"),))
        assert compute.action is ActionType.CALL and answer.action is ActionType.ANSWER and answer.done
        assert answer.value == task.answer
        output = run_tool(compute.target, dict(compute.args))
        assert output.ok, output.text
        if kind == "table_max":
            assert float(dict(task.reading)[task.answer]) == max(float(v) for _, v in task.reading)
            assert float(output.text) == float(dict(task.reading)[task.answer])
        else:
            assert check_answer(output.text, task.answer), (output.text, task.answer)


def test_gold_answers_follow_the_question() -> None:
    receipt = make_task("receipt_tip", 0)
    tip = int(receipt.params["tip"])
    assert f"{tip}% tip" in receipt.instruction
    assert float(receipt.answer) == pytest.approx(float(dict(receipt.reading)["total"]) * (100 + tip) / 100, abs=0.006)
    sign = make_task("sign_convert", 1)
    value = convert(float(dict(sign.reading)["value"]), sign.params["from"], sign.params["to"])
    assert float(sign.answer) == pytest.approx(value, abs=0.051)


# ---------------------------------------------------------------- the environment

def test_env_reset_and_tool_steps() -> None:
    env = ToolUseEnv(["receipt_tip", "table_max", "sign_convert"], max_steps=3)
    assert isinstance(env, Environment)
    obs = env.reset(4)
    task = make_task("table_max", 4)
    assert env.task == "tooluse/table_max" and obs.task == env.task and obs.seed == 4
    assert obs.instruction == task.instruction and obs.screenshot is task.image and obs.elements == ()
    assert obs.size == task.image.size and env.reference_steps() == task.steps
    result = ToolResult("ocr", (("image", "input"),), "Item Price", True)
    t = env.step(result)
    assert not t.terminated and not t.truncated and t.observation.step_index == 1 and env.calls == [result]
    t = env.step("click the thing")
    assert "expected a ToolResult" in t.info["error"] and not t.terminated and t.observation.step_index == 2
    t = env.step(result)
    assert t.truncated and not t.success
    assert "episode is over" in env.step(Answer(task.answer)).info["error"]


@pytest.mark.parametrize("offset, success", [(0.0, True), (0.004, True), (0.5, False)])
def test_env_answer_ends_the_episode(offset: float, success: bool) -> None:
    env = ToolUseEnv(["receipt_tip"])
    env.reset(3)
    gold = float(make_task("receipt_tip", 3).answer)
    t = env.step(Answer(f"${gold + offset:.3f}"))
    assert t.terminated and t.success is success and t.reward == float(success)


def test_env_needs_a_reset_first() -> None:
    with pytest.raises(RuntimeError, match="reset"):
        ToolUseEnv(["sign_convert"]).step(Answer("1"))


# ---------------------------------------------------------------- the expert

def _after(obs: Observation, *calls: tuple[Step, str]) -> Observation:
    return replace(obs, history=tuple(HistoryItem(s, out) for s, out in calls), step_index=len(calls))


def test_expert_forecasts_the_reference_then_uses_what_the_tools_read() -> None:
    expert, env = expert_planner(5), ToolUseEnv(["receipt_tip"])
    obs, task = env.reset(0), make_task("receipt_tip", 0)
    out = expert.plan(obs)
    assert out.plan.steps == pad_to_horizon(task.steps, 5) and parse_plan(out.raw_text) == out.plan
    assert out.plan.steps[3:] == (DONE_STEP, DONE_STEP)  # the task ends inside the horizon: padded with done
    read, compute, _ = task.steps
    misread = tool_expert_steps(_after(obs, (read, "CAFE | Tea 2.00 | TOTAL 10,00")))
    assert misread[0].args == (("expression", f"10.00*{compute.args[0][1].split('*')[1]}"),)
    assert misread[1].value == f"{10 * (100 + int(task.params['tip'])) / 100:.2f}"
    final = tool_expert_steps(_after(obs, (read, "TOTAL 10.00"), (misread[0], "11.5")))
    assert final == (Step(ActionType.ANSWER, value="11.50", instruction="answer 11.50", done=True),)
    retry = tool_expert_steps(_after(obs, (read, "(no text found)")))
    assert retry[0].target == "zoom" and retry[1:] == task.steps[1:]
    zoom = retry[0]
    assert tool_expert_steps(_after(obs, (read, "x"), (zoom, "y")))[0].value == "unknown"
    assert expert_planner(1).plan(obs).plan.steps == task.steps[:1]


def test_expert_refuses_foreign_observations() -> None:
    with pytest.raises(ValueError, match="not a generated tool-use task"):
        tool_expert_steps(Observation("q", task="click-button"))
    out = expert_planner().plan(Observation("other question", task="tooluse/table_max", seed=1))
    assert out.plan is None and "does not match" in out.error


@pytest.mark.parametrize("kind, seed", [("receipt_tip", 0), ("table_max", 1), ("sign_convert", 0)])
def test_expert_solves_end_to_end_through_the_executor(kind: str, seed: int) -> None:
    expert = expert_planner(5)
    episode = run_episode(expert, ToolExecutor(), ToolUseEnv([kind]), seed, max_steps=6, reference_planner=expert)
    assert episode.success and episode.reward == 1.0
    assert [r.plan.first.target or r.plan.first.action.value for r in episode.steps][0] == "ocr"
    assert episode.steps[-1].plan.first.action is ActionType.ANSWER
    assert all(r.feedback.executable and r.feedback.matched_reference for r in episode.steps)
