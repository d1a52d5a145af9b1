"""Scripted MiniWoB++ experts: they solve their tasks through the frozen grounder; reference plans; stored data."""

from __future__ import annotations

import pytest

from tracer1kit.actions import ActionType, Plan, Step
from tracer1kit.data.examples import reference_plan
from tracer1kit.episodes import Episode, EpisodeStore, Observation, StepRecord


def _episode(*steps: Step) -> Episode:
    records = tuple(StepRecord(Observation("x"), plan=Plan((s, Step(ActionType.WAIT)))) for s in steps)
    return Episode("e", "login-user", 0, "x", steps=records)


def test_reference_plan_takes_executed_steps_and_pads_with_done() -> None:
    a = Step(ActionType.TYPE, target="Username", value="alice")
    b = Step(ActionType.CLICK, target="Login", done=True)
    episode = _episode(a, b)
    assert reference_plan(episode, 0, 2).steps == (a, b)
    padded = reference_plan(episode, 1, 3).steps
    assert padded[0] == b and [s.action for s in padded[1:]] == [ActionType.DONE] * 2
    assert all(s.done for s in padded[1:])


def test_reference_plan_rejects_bad_index_and_horizon() -> None:
    episode = _episode(Step(ActionType.CLICK, target="Login", done=True))
    with pytest.raises(ValueError, match="t=5"):
        reference_plan(episode, 5, 2)
    with pytest.raises(ValueError, match="horizon"):
        reference_plan(episode, 0, 0)


def test_unknown_task_lists_supported_tasks() -> None:
    from tracer1kit.experts.gui import expert_for

    with pytest.raises(ValueError, match="supported tasks: .*login-user"):
        expert_for("no-such-task")


def test_slider_keys_reach_every_target_in_few_presses() -> None:
    from tracer1kit.experts.gui import SLIDER_KEYS, _slider_keys

    deltas = dict(SLIDER_KEYS)
    for start in range(-10, 11):
        for target in range(-10, 11):
            value, path = start, _slider_keys(start, target)
            for key, after in path:
                value = min(10, max(-10, value + deltas[key]))
                assert value == after
            assert value == target and len(path) <= 6


def _results_page(criterion: str) -> Observation:
    from tracer1kit.episodes import Element

    flights = [("3h 20m", 400), ("1h 5m", 900), ("7h 0m", 120)]
    elements, ref = [], 1
    for duration, price in flights:
        elements += [Element(ref, "div", classes="flight", width=140, height=80),
                     Element(ref + 1, "div", duration, classes="time-duration", width=50, height=10),
                     Element(ref + 2, "button", f"Book flight for ${price}", classes="flight-price", width=126, height=15)]
        ref += 3
    return Observation(f"Book the {criterion} one-way flight from: Anvik, AK to: MOT on 12/23/2016.",
                       elements=tuple(elements), task="book-flight")


@pytest.mark.parametrize("criterion,price,button", [("cheapest", 120, 9), ("shortest", 900, 6)])
def test_book_flight_books_the_cheapest_or_shortest(criterion: str, price: int, button: int) -> None:
    from tracer1kit.experts.gui import solve_book_flight

    (step, ref), = solve_book_flight(_results_page(criterion))
    assert step.done and ref == button
    assert step.target == f"Book flight for ${price}" and f"${price}" in step.instruction


CASES = [("login-user", 0), ("click-checkboxes", 1), ("email-inbox", 2), ("choose-date", 3),
         ("social-media", 2), ("use-autocomplete", 0), ("click-tab-2", 4),
         ("book-flight", 0), ("book-flight", 1), ("form-sequence", 0), ("form-sequence", 2)]


@pytest.fixture(scope="module")
def grounder():
    from tracer1kit.agents.grounding import DomGrounder

    return DomGrounder()


@pytest.mark.browser
@pytest.mark.parametrize("task,seed", CASES)
def test_expert_solves_task_through_the_grounder(task: str, seed: int, grounder) -> None:
    from tracer1kit.experts.data import run_expert_episode
    from tracer1kit.experts.gui import expert_for
    from tracer1kit.envs.miniwob import MiniWoBEnv

    env = MiniWoBEnv(task, screenshots=False)
    try:
        episode = run_expert_episode(env, seed, 30, grounder)
    finally:
        env.close()
    assert episode.success, [r.feedback for r in episode.steps]
    assert episode.variant == "expert" and episode.steps[-1].plan.first.done
    expert = expert_for(task)
    for record in episode.steps:  # each executed step hit the element the expert meant
        expert.next_steps(record.observation)
        if expert.last_targets[0] is not None:
            assert record.feedback.element_ref == expert.last_targets[0]


@pytest.mark.browser
def test_generator_writes_episodes_that_read_back(tmp_path) -> None:
    from tracer1kit.experts.data import generate_expert_episodes

    episodes = generate_expert_episodes(["click-test"], [0, 1], tmp_path, split="train", max_steps=5)
    assert [e.success for e in episodes] == [True, True]
    stored = EpisodeStore(tmp_path).read(split="train")
    assert [(e.task, e.seed, e.variant) for e in stored] == [("click-test", 0, "expert"), ("click-test", 1, "expert")]
    first = stored[0].steps[0]
    assert first.plan == episodes[0].steps[0].plan
    assert first.observation.image() is not None and first.observation.image().size[0] > 0
