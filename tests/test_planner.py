"""Prompts, the model planner (batched generation, untrusted output) and the random floor planner."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from tracer1kit.actions import ActionType, Step, format_plan, parse_plan
from tracer1kit.agents.grounding import element_names
from tracer1kit.agents.planner import Planner, PlannerOutput, RandomPlanner, random_gui_step, random_tool_step
from tracer1kit.domains.registry import prompt_contexts
from tracer1kit.episodes import Element, HistoryItem, Observation
from tracer1kit.models import Policy, load_policy
from tracer1kit.params import ModelParams, Params, PlannerParams
from tracer1kit.prompts import (COMPACT_EXAMPLE_PLAN, COMPACT_TEXT_CHARS, COMPACT_VALUE_CHARS, EXAMPLE_PLAN,
                                SYSTEM_PROMPT, build_messages, compact_user_text,
                                prompt_form, prompt_images, user_text)


def _obs(n_elements: int = 15, image: bool = True, history: int = 6) -> Observation:
    elements = tuple(Element(i, "button" if i % 2 else "input_text", f"item {i}", left=i * 10, top=5, width=40,
                             height=12) for i in range(n_elements))
    past = tuple(HistoryItem(Step(ActionType.CLICK, target=f"item {i}"), f"clicked {i}") for i in range(history))
    return Observation("Click the item 3 button, then submit.", elements=elements, history=past,
                       screenshot=Image.new("RGB", (160, 210), "white") if image else None)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    return load_policy(ModelParams(spec="tiny", cache_dir=str(tmp_path_factory.mktemp("cache"))))


def test_prompt_with_screenshot_puts_the_image_first_and_keeps_recent_context_only():
    messages = build_messages(_obs(), horizon=3, use_image=True, history_len=2, max_elements=10)
    assert [m["role"] for m in messages] == ["system", "user"]
    content = messages[1]["content"]
    assert content[0] == {"type": "image"} and content[1]["type"] == "text"
    text = content[1]["text"]
    assert text.startswith("Task: Click the item 3 button") and text.endswith("Forecast the next 3 step(s).")
    assert "[9] button" in text and "[10]" not in text                      # max_elements
    assert "clicked 5" in text and "clicked 4" in text and "clicked 3" not in text  # history_len
    assert prompt_images(_obs(), True)[0].size == (160, 210)


def test_prompt_without_screenshot_is_plain_text_and_shows_the_exact_format():
    messages = build_messages(_obs(image=False, history=0), horizon=1, use_image=False, history_len=4,
                              max_elements=40, context=prompt_contexts(Params())("click-button"))
    text = messages[1]["content"]
    assert isinstance(text, str) and "History: none" in text and "Tools:" not in text  # GUI: no tool list
    assert "Forecast the next 1 step(s)." in text
    tool_obs = replace(_obs(image=False, history=0), elements=(), task="tooluse/receipt_tip")
    tool_text = build_messages(tool_obs, horizon=1, use_image=False, history_len=4, max_elements=40,
                               context=prompt_contexts(Params())(tool_obs.task))[1]["content"]
    assert "Tools:\nocr(image" in tool_text and "Elements:" not in tool_text
    assert format_plan(EXAMPLE_PLAN) in messages[0]["content"]
    assert parse_plan(SYSTEM_PROMPT.split("Example:\n", 1)[1]) == EXAMPLE_PLAN
    assert prompt_images(_obs(), False) == [] and prompt_images(_obs(image=False), True) == []
    with pytest.raises(ValueError, match="horizon"):
        build_messages(_obs(), horizon=0, use_image=False, history_len=1, max_elements=1)


def test_batched_generation_returns_one_output_per_observation(tiny):
    planner = Planner(tiny, horizon=3, max_new_tokens=12, greedy=True, history_len=2, max_elements=15)
    observations = [_obs(), _obs(n_elements=3, image=False), _obs(n_elements=8)]
    texts = planner.generate(observations)
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)
    assert all(len(tiny.tokenizer(t, add_special_tokens=False).input_ids) <= 12 + 2 for t in texts)
    outputs = planner.plan_batch(observations)
    assert len(outputs) == 3 and all(isinstance(o, PlannerOutput) for o in outputs)
    assert planner.plan_batch([]) == []
    assert planner.plan(observations[0]).raw_text == outputs[0].raw_text  # greedy, left padding


def test_untrained_model_output_is_an_error_not_an_exception(tiny):
    planner = Planner.from_params(tiny, PlannerParams(horizon=2, max_new_tokens=16))
    assert planner.horizon == 2 and planner.greedy
    output = planner.plan(_obs())
    assert output.plan is None and output.error and "answer" in output.error


def test_text_only_policy_gets_no_image(tiny):
    text_only = Policy(tiny.model, tiny.processor, "tiny", supports_images=False, path=Path("."))
    messages, images = Planner(text_only, horizon=2).prompt(_obs())
    assert images == [] and isinstance(messages[1]["content"], str)


def test_random_planner_is_deterministic_and_valid():
    observations = [_obs(), _obs(n_elements=3)]
    a = RandomPlanner(4, random_gui_step, seed=7).plan_batch(observations)
    b = RandomPlanner(4, random_gui_step, seed=7).plan_batch(observations)
    c = RandomPlanner(4, random_gui_step, seed=8).plan_batch(observations)
    assert [o.raw_text for o in a] == [o.raw_text for o in b] != [o.raw_text for o in c]
    texts = {e.text for o in observations for e in o.elements}
    for output in a:
        assert len(output.plan) == 4 and parse_plan(output.raw_text) == output.plan
        assert all(s.target in texts for s in output.plan.steps if s.target)
    tool_obs = Observation("What is the total?")
    planner = RandomPlanner(3, lambda obs, rng: random_tool_step(rng, ["ocr"]), seed=1)
    steps = [s for o in planner.plan_batch([tool_obs] * 5) for s in o.plan.steps]
    assert {s.action for s in steps} <= {ActionType.CALL, ActionType.ANSWER}
    assert any(s.action is ActionType.CALL and s.target == "ocr" for s in steps)


# ---------------------------------------------------------------- the compact prompt (planner.prompt)

WORDS = ("Login", "Submit", "Next", "OK", "Cancel", "Reply", "Search for flights now please", "...")
TAGS = ("button", "a", "span", "div", "input_text", "t", "label")


@st.composite
def observations(draw) -> Observation:
    """MiniWoB-like observations: duplicate texts, textless fields with or without an id, values, a history."""
    elements = []
    for ref in range(draw(st.integers(1, 25))):
        tag = draw(st.sampled_from(TAGS))
        text = "" if tag == "input_text" else draw(st.sampled_from(WORDS + ("",)))
        element_id = draw(st.sampled_from(("", f"field-{ref}")))
        value = draw(st.sampled_from(("", "alice", "x" * 60))) if tag == "input_text" else ""
        visible = draw(st.booleans()) or bool(text)
        size = 10.0 if visible else 0.0
        elements.append(Element(ref, tag, text, value=value, id=element_id, width=size, height=size))
    steps = [Step(ActionType.CLICK, target=draw(st.sampled_from(WORDS))) for _ in range(draw(st.integers(0, 6)))]
    outcomes = [draw(st.sampled_from(("click [3] button 'OK'", "not executable: no element matches"))) for _ in steps]
    history = tuple(HistoryItem(s, o) for s, o in zip(steps, outcomes))
    return Observation("Enter \"alice\" and press Login.", elements=tuple(elements), history=history)


@settings(max_examples=80, deadline=None)
@given(observations(), st.integers(1, 5), st.integers(0, 4))
def test_compact_prompt_keeps_task_elements_history_and_horizon(obs, horizon, history_len):
    text = compact_user_text(obs, horizon=horizon, history_len=history_len, max_elements=40,
                             names=element_names(obs))
    lines = text.split("\n")
    assert lines[0] == f"Task: {obs.instruction}" and lines[-1] == f"Plan {horizon} steps."
    names = element_names(obs)
    shown = [e for e in obs.elements if e.informative]
    element_lines = lines[lines.index("Elements:") + 1:] if shown else []
    for element, line in zip(shown, element_lines):
        assert element.text[:COMPACT_TEXT_CHARS] in line and element.value[:COMPACT_VALUE_CHARS] in line
        assert names[element.ref][:COMPACT_TEXT_CHARS] in line
    recent = obs.history[-history_len:] if history_len else ()
    assert ("History:" in lines) == bool(recent)
    for item in recent:
        assert item.step.describe() in text
        assert (item.outcome in text) == item.outcome.startswith("not executable")  # failures kept, echoes not
    full = user_text(obs, horizon=horizon, history_len=history_len, max_elements=40)
    assert len(text) < len(full)


@settings(max_examples=80, deadline=None)
@given(observations())
def test_compact_names_are_the_words_the_grounder_resolves(obs):
    from tracer1kit.agents.grounding import INPUT_TAGS, resolve

    names = element_names(obs)
    assert set(names) == {e.ref for e in obs.elements if e.visible}
    for ref, name in names.items():
        element = obs.element(ref)
        for action in (ActionType.CLICK,) + ((ActionType.TYPE,) if element.tag in INPUT_TAGS else ()):
            for strict in (False, True):
                assert resolve(obs, name, action, strict=strict) is element, name


def test_compact_prompt_is_shorter_in_tokens_and_keeps_the_canonical_format(tiny):
    obs = _obs(image=False, history=3)
    full = build_messages(obs, horizon=3, use_image=False, history_len=4, max_elements=40)
    compact = build_messages(obs, horizon=3, use_image=False, history_len=4, max_elements=40, form="compact",
                             names=element_names(obs))
    tokens = [len(tiny.tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True)) for m in
              (full, compact)]
    counted = [len(tiny.tokenizer(tiny.tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True))
                   ["input_ids"]) for m in (full, compact)]
    assert counted[1] < counted[0] and tokens[1] < tokens[0]
    system = compact[0]["content"]
    assert parse_plan(system.split("Example:\n", 1)[1]) == COMPACT_EXAMPLE_PLAN
    assert format_plan(COMPACT_EXAMPLE_PLAN) in system and "call" not in system.split("Example")[0]
    tool_context = prompt_contexts(Params())("tooluse/table_max")
    assert "call|answer" in tool_context.compact_system and "args" in tool_context.compact_system
    tool_obs = replace(obs, elements=())
    tool = build_messages(tool_obs, horizon=1, use_image=False, history_len=4, max_elements=40,
                          context=tool_context, form="compact")
    assert "Tools:\nocr(image" in tool[1]["content"] and "call|answer" in tool[0]["content"]
    with pytest.raises(ValueError, match="prompt form must be full or compact"):
        build_messages(obs, horizon=1, use_image=False, history_len=1, max_elements=1, form="short")


def test_prompt_setting_auto_is_compact_for_text_only_models(tiny):
    assert [prompt_form(s, images) for s in ("full", "compact", "auto") for images in (True, False)] == \
        ["full", "full", "compact", "compact", "full", "compact"]
    with pytest.raises(ValueError, match="planner.prompt must be full, compact or auto"):
        prompt_form("tiny", True)
    text_only = Policy(tiny.model, tiny.processor, "tiny", supports_images=False, path=Path("."))
    planner = Planner.from_params(text_only, PlannerParams(horizon=2, prompt="auto"))
    messages, _ = planner.prompt(_obs())
    assert messages[1]["content"].endswith("Plan 2 steps.") and messages[0]["content"].startswith("Plan the next")
    messages, _ = Planner.from_params(tiny, PlannerParams(horizon=2, prompt="auto")).prompt(_obs())
    assert messages[1]["content"][1]["text"].endswith("Forecast the next 2 step(s).")  # a VLM keeps the full form


def test_training_examples_use_the_prompt_form_of_the_params():
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from training_data import episode, tiny_params

    from tracer1kit.data.examples import examples_from_episodes

    params = tiny_params(**{"planner.prompt": "auto"})
    text_rows = examples_from_episodes([episode(1)], params.planner, use_image=False)
    image_rows = examples_from_episodes([episode(1)], params.planner, use_image=True)
    assert text_rows[0]["prompt"][1]["content"].endswith("Plan 1 steps.")
    assert image_rows[0]["prompt"][1]["content"][1]["text"].endswith("Forecast the next 1 step(s).")
