"""The planner: observation → prompt → generate → parse a K-step plan (and a random floor planner).

Model output is untrusted text: it is only ever parsed by :func:`~tracer1kit.actions.try_parse_plan`, and
unparseable output is a normal outcome (``PlannerOutput.error``), never an exception.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

from ..actions import ActionType, Plan, Step, format_plan, try_parse_plan
from ..episodes import Observation
from ..params import PlannerParams
from ..prompts import PromptForm, build_messages, prompt_form, prompt_images
from .grounding import element_names


@dataclass(frozen=True)
class PlannerOutput:
    """One planning call's result: the parsed plan (or ``None``), the raw text, and why parsing failed."""

    plan: Plan | None
    raw_text: str
    error: str | None = None
    error_step: int | None = None


def parse_output(text: str) -> PlannerOutput:
    outcome = try_parse_plan(text)
    return PlannerOutput(outcome.plan, text, outcome.error, outcome.error_step)


def planner_messages(observation: Observation, *, horizon: int, use_image: bool, history_len: int, max_elements: int,
                     tools_text: str | None, form: PromptForm) -> list[dict[str, Any]]:
    """The planner's chat messages (training examples and planning calls alike): the compact form names the
    elements with the grounder's canonical words."""
    names = element_names(observation) if form == "compact" else None
    return build_messages(observation, horizon=horizon, use_image=use_image, history_len=history_len,
                          max_elements=max_elements, tools_text=tools_text, form=form, names=names)


class Planner:
    """A policy model that forecasts ``horizon`` steps per call; shows the screenshot iff the model can see."""

    def __init__(self, policy: Any, *, horizon: int = 5, max_new_tokens: int = 256, temperature: float = 1.0,
                 top_p: float = 0.99, greedy: bool = True, history_len: int = 4, max_elements: int = 40,
                 tools_text: str | None = None, prompt: str = "full") -> None:
        if horizon < 1:
            raise ValueError(f"planner.horizon must be >= 1 (got {horizon})")
        self.policy = policy
        self.horizon = horizon
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.greedy = greedy or temperature == 0.0
        self.history_len = history_len
        self.max_elements = max_elements
        self.tools_text = tools_text
        self.form = prompt_form(prompt, policy.supports_images)  # planner.prompt: full | compact | auto

    @classmethod
    def from_params(cls, policy: Any, params: PlannerParams, *, horizon: int | None = None,
                    greedy: bool | None = None, tools_text: str | None = None) -> "Planner":
        return cls(policy, horizon=horizon or params.horizon, max_new_tokens=params.max_new_tokens,
                   temperature=params.temperature, top_p=params.top_p,
                   greedy=params.greedy_eval if greedy is None else greedy, history_len=params.history_len,
                   max_elements=params.max_elements, tools_text=tools_text, prompt=params.prompt)

    def prompt(self, observation: Observation) -> tuple[list[dict[str, Any]], list[Any]]:
        """The chat messages and images for one observation."""
        images = prompt_images(observation, self.policy.supports_images)
        messages = planner_messages(observation, horizon=self.horizon, use_image=bool(images),
                                    history_len=self.history_len, max_elements=self.max_elements,
                                    tools_text=self.tools_text, form=self.form)
        return messages, images

    def plan(self, observation: Observation) -> PlannerOutput:
        return self.plan_batch([observation])[0]

    def plan_batch(self, observations: Sequence[Observation]) -> list[PlannerOutput]:
        """Plan for several observations in one left-padded generation call."""
        if not observations:
            return []
        return [parse_output(text) for text in self.generate(observations)]

    def generate(self, observations: Sequence[Observation]) -> list[str]:
        """The raw completions (special tokens removed) for a batch of observations."""
        return self.policy.tokenizer.batch_decode(self.generate_ids(observations), skip_special_tokens=True)

    def generate_ids(self, observations: Sequence[Observation]) -> Any:
        """The generated token ids, one row per observation (right-padded with the pad token)."""
        import torch

        processor, model = self.policy.processor, self.policy.model
        prompts = [self.prompt(o) for o in observations]
        texts = [processor.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m, _ in prompts]
        images = [image for _, imgs in prompts for image in imgs]
        kwargs: dict[str, Any] = {"text": texts, "return_tensors": "pt", "padding": True}
        if images:
            kwargs["images"] = images
        inputs = processor(**kwargs).to(model.device)
        sampling = {} if self.greedy else {"temperature": self.temperature, "top_p": self.top_p}
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=not self.greedy,
                                 pad_token_id=self.policy.tokenizer.pad_token_id, **sampling)
        return out[:, inputs["input_ids"].shape[1]:]


_GUI = [ActionType.CLICK, ActionType.CLICK, ActionType.TYPE, ActionType.SELECT, ActionType.PRESS,
        ActionType.SCROLL, ActionType.WAIT, ActionType.DONE]
_WORDS = ["yes", "no", "ok", "hello", "42", "submit", "alice"]


class RandomPlanner:
    """The floor: random valid steps over the observation's elements, or random tool calls when none."""

    def __init__(self, horizon: int, seed: int = 0, tools: Sequence[str] = ()) -> None:
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1 (got {horizon})")
        self.horizon = horizon
        self.tools = tuple(tools)
        self._rng = random.Random(seed)

    def _gui_step(self, observation: Observation) -> Step:
        action = self._rng.choice(_GUI)
        element = self._rng.choice(observation.elements)
        target = element.text.strip()[:80] or element.tag
        if action is ActionType.DONE:
            return Step(action, instruction="the task is complete", done=True)
        if action is ActionType.WAIT:
            return Step(action, instruction="wait")
        value = {ActionType.TYPE: self._rng.choice(_WORDS), ActionType.SELECT: self._rng.choice(_WORDS),
                 ActionType.PRESS: self._rng.choice(["Enter", "Tab"]),
                 ActionType.SCROLL: self._rng.choice(["up", "down"])}.get(action, "")
        return Step(action, target=target, value=value, instruction=f"{action.value} {target}")

    def _tool_step(self) -> Step:
        if self.tools and self._rng.random() < 0.7:
            tool = self._rng.choice(self.tools)
            return Step(ActionType.CALL, target=tool, instruction=f"call {tool}")
        answer = str(self._rng.randint(0, 100))
        return Step(ActionType.ANSWER, value=answer, instruction=f"answer {answer}", done=True)

    def plan(self, observation: Observation) -> PlannerOutput:
        make = (lambda: self._gui_step(observation)) if observation.elements else self._tool_step
        plan = Plan(tuple(make() for _ in range(self.horizon)), think="random")
        return PlannerOutput(plan, format_plan(plan))

    def plan_batch(self, observations: Sequence[Observation]) -> list[PlannerOutput]:
        return [self.plan(o) for o in observations]
