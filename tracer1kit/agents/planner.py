"""The planner: observation → prompt → generate → parse a K-step plan (and a random floor planner).

Model output is untrusted text: it is only ever parsed by :func:`~tracer1kit.actions.try_parse_plan`, and
unparseable output is a normal outcome (``PlannerOutput.error``), never an exception.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..actions import SCROLL_DIRECTIONS, ActionType, Plan, Step, format_plan, try_parse_plan
from ..episodes import Observation
from ..params import PlannerParams
from ..prompts import PromptContext, PromptForm, gui_context, build_messages, prompt_form, prompt_images
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


Contexts = Callable[[str], PromptContext]  # task → what its domain's prompts say (domains.registry.prompt_contexts)


def planner_messages(observation: Observation, *, horizon: int, use_image: bool, history_len: int, max_elements: int,
                     context: PromptContext, form: PromptForm) -> list[dict[str, Any]]:
    """The planner's chat messages (training examples and planning calls alike): the compact form names the
    elements with the grounder's canonical words."""
    names = element_names(observation) if form == "compact" else None
    return build_messages(observation, horizon=horizon, use_image=use_image, history_len=history_len,
                          max_elements=max_elements, context=context, form=form, names=names)


class Planner:
    """A policy model that forecasts ``horizon`` steps per call; shows the screenshot iff the model can see."""

    def __init__(self, policy: Any, *, horizon: int = 5, max_new_tokens: int = 256, temperature: float = 1.0,
                 top_p: float = 0.99, greedy: bool = True, history_len: int = 4, max_elements: int = 40,
                 contexts: Contexts = gui_context, prompt: str = "full") -> None:
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
        self.contexts = contexts
        self.form = prompt_form(prompt, policy.supports_images)  # planner.prompt: full | compact | auto

    @classmethod
    def from_params(cls, policy: Any, params: PlannerParams, *, horizon: int | None = None,
                    greedy: bool | None = None, contexts: Contexts = gui_context) -> "Planner":
        return cls(policy, horizon=horizon or params.horizon, max_new_tokens=params.max_new_tokens,
                   temperature=params.temperature, top_p=params.top_p,
                   greedy=params.greedy_eval if greedy is None else greedy, history_len=params.history_len,
                   max_elements=params.max_elements, contexts=contexts, prompt=params.prompt)

    def prompt(self, observation: Observation) -> tuple[list[dict[str, Any]], list[Any]]:
        """The chat messages and images for one observation."""
        images = prompt_images(observation, self.policy.supports_images)
        messages = planner_messages(observation, horizon=self.horizon, use_image=bool(images),
                                    history_len=self.history_len, max_elements=self.max_elements,
                                    context=self.contexts(observation.task), form=self.form)
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
StepMaker = Callable[[Observation, random.Random], Step]


def random_gui_step(observation: Observation, rng: random.Random) -> Step:
    """A random valid GUI step on one of the page's elements."""
    action = rng.choice(_GUI)
    element = rng.choice(observation.elements)
    target = element.text.strip()[:80] or element.tag
    if action is ActionType.DONE:
        return Step(action, instruction="the task is complete", done=True)
    if action is ActionType.WAIT:
        return Step(action, instruction="wait")
    value = {ActionType.TYPE: rng.choice(_WORDS), ActionType.SELECT: rng.choice(_WORDS),
             ActionType.PRESS: rng.choice(["Enter", "Tab"]),
             ActionType.SCROLL: rng.choice(SCROLL_DIRECTIONS)}.get(action, "")
    return Step(action, target=target, value=value, instruction=f"{action.value} {target}")


def random_tool_step(rng: random.Random, tools: Sequence[str] = ()) -> Step:
    """A random call of one of ``tools`` (70 %) or a random numeric answer."""
    if tools and rng.random() < 0.7:
        tool = rng.choice(tools)
        return Step(ActionType.CALL, target=tool, instruction=f"call {tool}")
    answer = str(rng.randint(0, 100))
    return Step(ActionType.ANSWER, value=answer, instruction=f"answer {answer}", done=True)


class RandomPlanner:
    """The floor: ``horizon`` random valid steps per call from ``step`` (its domain's random step: e.g.
    :func:`random_gui_step`), seeded."""

    def __init__(self, horizon: int, step: StepMaker, seed: int = 0) -> None:
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1 (got {horizon})")
        self.horizon = horizon
        self.step = step
        self._rng = random.Random(seed)

    def plan(self, observation: Observation) -> PlannerOutput:
        plan = Plan(tuple(self.step(observation, self._rng) for _ in range(self.horizon)), think="random")
        return PlannerOutput(plan, format_plan(plan))

    def plan_batch(self, observations: Sequence[Observation]) -> list[PlannerOutput]:
        return [self.plan(o) for o in observations]
