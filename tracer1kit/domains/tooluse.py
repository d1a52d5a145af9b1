"""The tool-use domain: generated GTA-style tasks (``tooluse/<kind>``), the real-tool executor, the tool expert."""

from __future__ import annotations

import random
from typing import Any

from ..actions import GUI_ACTIONS, TOOL_ACTIONS, ActionType, Step
from ..agents.base import ToolAgent
from ..agents.planner import random_tool_step
from ..agents.tools import ToolExecutor, tool_descriptions
from ..envs.base import Environment
from ..envs.tooluse import KINDS, ToolUseEnv, is_tool_task, kind_of, tool_task
from ..episodes import Episode, Observation
from ..experts.page import ExpertError
from ..experts.tooluse import TOOL_USE_LONGEST_EPISODE, tool_expert_steps
from ..params import Params
from ..prompts import SYSTEM_PROMPT, PromptContext, compact_system_prompt
from .base import Domain, Purpose, Split


class ToolUseDomain(Domain):
    name = "tooluse"
    store = "tooluse_expert"
    source = ("tracer1kit's generated multimodal tool-use tasks", "apache-2.0")

    def owns(self, task: str) -> bool:
        return is_tool_task(task)

    def enabled(self, params: Params) -> bool:
        return params.tooluse.enabled

    def jobs(self, params: Params, split: Split) -> list[tuple[str, int]]:
        """Seed ``s`` gets kind ``kinds[s % len(kinds)]``; tool use has train and test seeds only."""
        seeds = {"train": params.tooluse.train_seeds, "test": params.tooluse.test_seeds}.get(split, [])
        kinds = params.tooluse.kinds
        return [(tool_task(kinds[s % len(kinds)]), s) for s in seeds]

    def max_steps(self, params: Params) -> int:
        return params.tooluse.max_steps

    def make_env(self, task: str, params: Params, *, screenshots: bool | None = None) -> Environment:
        return ToolUseEnv([kind_of(task)], max_steps=params.tooluse.max_steps)

    def tool_agent(self, params: Params, purpose: Purpose) -> ToolAgent:
        return ToolExecutor()

    def expert_steps(self, observation: Observation) -> list[Step]:
        try:
            return list(tool_expert_steps(observation))
        except ValueError as exc:
            raise ExpertError(str(exc)) from None

    def config_key(self, params: Params) -> Any:
        return params.tooluse.model_dump(mode="json")

    def prompt_context(self, params: Params) -> PromptContext:
        return PromptContext(SYSTEM_PROMPT, compact_system_prompt(GUI_ACTIONS | TOOL_ACTIONS,
                                                                  "target, value, args, instruction"),
                             tool_descriptions())

    def problems(self, params: Params) -> list[str]:
        cfg = params.tooluse
        unknown = [k for k in cfg.kinds if k not in KINDS]
        if unknown or not cfg.kinds:
            problem = f"unknown kind {', '.join(map(repr, unknown))}" if unknown else "no kinds listed"
            return [f"tooluse.kinds: {problem}; list some of {', '.join(KINDS)} or set tooluse.enabled: false"]
        return []

    def budget_problems(self, params: Params) -> list[str]:
        cfg = params.tooluse
        if cfg.max_steps < TOOL_USE_LONGEST_EPISODE:
            return [f"tooluse.max_steps = {cfg.max_steps} is less than the longest tool-use expert episode "
                    f"({TOOL_USE_LONGEST_EPISODE} steps); raise tooluse.max_steps"]
        return []

    def lengths(self, params: Params) -> dict[str, int]:
        return {f"tool use ({kind})": TOOL_USE_LONGEST_EPISODE for kind in params.tooluse.kinds}

    def protocol(self, params: Params) -> dict[str, str]:
        return {"tool-use test seeds": str(params.tooluse.test_seeds),
                "tool-use success": "the answer within tolerance (numbers: one unit of the gold's last decimal)"}

    def split_label(self, split: str) -> str:
        return "tool"

    def record_fields(self, episode: Episode) -> dict[str, Any]:
        """GTA's tool selection (the first call names the reference's first tool) and executable calls."""
        steps = episode.steps
        calls = [r for r in steps if r.plan is not None and r.plan.steps[0].action is ActionType.CALL]
        record: dict[str, Any] = {}
        reference = steps[0].reference.steps[0] if steps and steps[0].reference is not None else None
        if reference is not None:
            chosen = calls[0].plan.steps[0].target if calls else ""
            record["tool_selected"] = reference.action is ActionType.CALL and chosen == reference.target
        record["calls"] = len(calls)
        record["calls_executable"] = sum(1 for r in calls if r.feedback is not None and r.feedback.executable)
        return record

    def random_step(self, observation: Observation, rng: random.Random) -> Step:
        return random_tool_step(rng)
