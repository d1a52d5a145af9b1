"""Stage 2: grounded reinforcement fine-tuning. The planner still forecasts K steps; only step 1 is executed
by the frozen tool agent, and the reward is the execution feedback:

- ``offline`` (the paper's form): ground the step on the recorded state; executable? same effect as the
  reference step (same element / same tool result / correct answer)?
- ``live``: additionally restore the live state (reset by seed, replay the reference prefix), execute the
  grounded action and check that the task state advanced.

Which tool agent judges a step, and which environment restores it, is the task's domain's (``tracer1kit.domains``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from ..actions import Step, completion_text, parse_plan, try_parse_plan
from ..agents.base import ToolAgent
from ..agents.feedback import ground_step, step_feedback
from ..domains.registry import domain_of, tool_agents
from ..envs.base import Environment, Transition
from ..episodes import Feedback, observation_from_json
from ..params import GroundedRewardParams, Params
from ..rewards import GROUNDED_TERMS, grounded_reward, grounded_weights
from ..runs import RunDir
from .grpo import record_samples, run_grpo_stage
from .stage import StageResult

class GroundedJudge:
    """Runs a completion's first step through the frozen tool agent of its task (``agents(task)``) and returns the
    execution feedback (:func:`~tracer1kit.agents.feedback.step_feedback`); in live mode the step is also executed
    on the restored state (reset by seed, the reference prefix replayed by ``replay(task)``, a noise-free twin of
    the agent, so the state is the recorded one) so ``advanced`` is known."""

    def __init__(self, agents: Callable[[str], ToolAgent], env_factory: Callable[[str], Environment] | None = None,
                 replay: Callable[[str], ToolAgent] | None = None) -> None:
        self.agents = agents
        self.replay = replay or agents
        self.env_factory = env_factory
        self.envs: dict[str, Environment] = {}
        self.feedback = lru_cache(maxsize=4096)(self._feedback)

    def _feedback(self, text: str, observation: str, reference: str, task: str, seed: int, prefix: str) -> Feedback:
        outcome = try_parse_plan(text)
        step = outcome.plan.first if outcome.plan is not None else None
        obs = observation_from_json(observation)
        agent = self.agents(task)
        grounding = ground_step(step, obs, agent)
        transition = None
        if self.env_factory is not None and grounding is not None and grounding.executable:
            transition = self._execute(task, seed, prefix, grounding.action)
        return step_feedback(step, obs, agent, reference=parse_plan(reference).first, grounding=grounding,
                             transition=transition, parse_error=outcome.error)

    def _execute(self, task: str, seed: int, prefix: str, action: Any) -> Transition | None:
        """Restore the recorded state live and execute ``action`` there; ``None`` if the state cannot be restored."""
        env = self.envs.get(task)
        if env is None:
            env = self.envs[task] = self.env_factory(task)
        obs = env.reset(seed)
        replay = self.replay(task)
        for raw in json.loads(prefix):
            grounding = ground_step(Step.from_dict(raw), obs, replay)
            if grounding is None:
                continue
            if not grounding.executable or grounding.action is None:
                return None
            obs = env.step(grounding.action).observation
        return env.step(action) if action is not None else None

    def close(self) -> None:
        for env in self.envs.values():
            env.close()
        self.envs.clear()


def stage2_reward_funcs(judge: GroundedJudge, params: GroundedRewardParams) -> tuple[list[Callable], list[float]]:
    """TRL reward functions, one per grounded term with a weight (``advanced`` only in live mode), weighted by
    :func:`~tracer1kit.rewards.grounded_weights`: TRL's weighted sum is :func:`~tracer1kit.rewards.grounded_reward`'s
    total."""
    weights = grounded_weights(params)
    active = [t for t in GROUNDED_TERMS if weights[t] > 0]

    def terms(completion: Any, observation: str, reference: str, task: str, seed: int, prefix: str) -> dict[str, float]:
        feedback = judge.feedback(completion_text(completion), observation, reference, task, int(seed), prefix)
        return grounded_reward(feedback, params)

    def make(term: str) -> Callable[..., list[float]]:
        def reward(completions: list[Any], observation: list[str], reference: list[str], task: list[str],
                   seed: list[int], prefix: list[str], **_: Any) -> list[float]:
            return [terms(*row)[term] for row in zip(completions, observation, reference, task, seed, prefix)]
        reward.__name__ = term
        return reward

    def parsed(completions: list[Any], **_: Any) -> list[float]:
        return [float(try_parse_plan(completion_text(c)).ok) for c in completions]

    funcs = [make(t) for t in active] + [parsed]
    return funcs, [weights[t] for t in active] + [0.0]


def default_judge(params: Params) -> GroundedJudge:
    """Each task's domain's frozen tool agent for training (``grounded.grounder`` for GUI steps, the real tools for
    tool use, …); live mode executes on the domain's environments (no screenshots), restored by the agent's
    noise-free twin."""
    live = ((lambda task: domain_of(task).make_env(task, params, screenshots=False))
            if params.grounded.mode == "live" else None)
    return GroundedJudge(tool_agents(params, "train"), live, tool_agents(params, "replay"))


def train_stage2(params: Params, run: RunDir, dataset: Any, init_from: str | Path, *,
                 resume: bool = False, judge: GroundedJudge | None = None) -> StageResult:
    judge = judge or default_judge(params)
    funcs, weights = stage2_reward_funcs(judge, params.grounded)

    def describe(text: str, i: int, observation: list[str], reference: list[str], task: list[str],
                 seed: list[int], prefix: list[str], **_: Any) -> dict[str, float]:
        feedback = judge.feedback(text, observation[i], reference[i], task[i], int(seed[i]), prefix[i])
        return grounded_reward(feedback, params.grounded)

    funcs[0] = record_samples(funcs[0], run, "stage2", params.train.stage2.sample_every, describe)
    try:
        return run_grpo_stage("stage2", params, run, dataset, funcs, weights, init_from, resume=resume)
    finally:
        judge.close()
