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


def test_forecast_reasoning_names_the_real_steps_before_the_plan() -> None:
    from tracer1kit.actions import parse_plan, format_plan
    from tracer1kit.data.examples import with_reasoning

    a = Step(ActionType.TYPE, target="Username", value="alice", instruction="type 'alice' into the Username field")
    b = Step(ActionType.CLICK, target="Login", done=True)
    episode = _episode(a, b)
    target = with_reasoning(reference_plan(episode, 0, 4), "forecast")
    assert target.think == 'next: type \'alice\' into the Username field; then click "Login", done'
    assert target.steps == reference_plan(episode, 0, 4).steps                  # the plan itself is unchanged
    assert parse_plan(format_plan(target)) == target
    assert with_reasoning(reference_plan(episode, 1, 4), "forecast").think == 'next: click "Login", done'
    assert with_reasoning(reference_plan(episode, 0, 1), "forecast").think == "next: type 'alice' into the Username field"
    assert with_reasoning(reference_plan(episode, 0, 4), "none").think == ""


def test_sft_targets_can_drop_the_instructions_but_keep_the_reasoning() -> None:
    from tracer1kit.data.examples import sft_target
    from tracer1kit.params import PlannerParams

    a = Step(ActionType.TYPE, target="Username", value="alice", instruction="type 'alice' into the Username field")
    plan = reference_plan(_episode(a, Step(ActionType.CLICK, target="Login", done=True)), 0, 2)
    short = sft_target(plan, PlannerParams(instructions=False, think="forecast"))
    assert [s.instruction for s in short.steps] == ["", ""] and short.steps[0].target == "Username"
    assert short.think.startswith("next: type 'alice' into the Username field")
    assert sft_target(plan, PlannerParams()) == plan


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


def test_lookahead_readers_parse_their_instructions() -> None:
    from hypothesis import given, strategies as st

    from tracer1kit.experts.lookahead import dropdown_task, phone_book_task, spinner_target

    name = st.from_regex(r"[A-Z][a-z]{1,9}( [A-Z][a-z]{1,9})?", fullmatch=True)

    @given(st.integers(-10, 10), name, st.sampled_from(["phone", "email", "address"]),
           st.sampled_from(["5ft 9in", "5ft 10in", "6 ft", "6ft 1in"]), st.sampled_from(["Yes", "No", "Maybe"]))
    def check(value: int, person: str, detail: str, option: str, button: str) -> None:
        assert spinner_target(f"Select {value} with the spinner and hit Submit.") == value
        tail = " number." if detail == "phone" else "."
        phone_book = f"Find {person} in the contact book and click on their {detail}{tail}"
        assert phone_book_task(phone_book) == (person, detail)
        text = f'Choose {option} from the dropdown, then click the button labeled "{button}".'
        assert dropdown_task(text) == (option, button)

    check()


@pytest.mark.parametrize("reader", ["spinner_target", "phone_book_task", "dropdown_task"])
def test_lookahead_readers_name_the_instruction_they_cannot_read(reader: str) -> None:
    from tracer1kit.experts import lookahead
    from tracer1kit.experts.page import ExpertError

    with pytest.raises(ExpertError, match="Click the button"):
        getattr(lookahead, reader)("Click the button.")


def _spinner_page(value: str, *history: Step) -> Observation:
    from tracer1kit.episodes import Element, HistoryItem

    elements = (Element(1, "input_text", value=value, id="spinner", width=133, height=15),
                Element(2, "button", "Submit", id="subbtn", width=95, height=31))
    return Observation("Select -3 with the spinner and hit Submit.", elements=elements, task="use-spinner",
                       history=tuple(HistoryItem(step) for step in history))


def test_use_spinner_focuses_once_then_presses_one_key_per_value() -> None:
    from tracer1kit.experts.lookahead import solve_use_spinner

    planned = solve_use_spinner(_spinner_page("0"))
    steps = [step for step, _ in planned]
    assert [s.action for s in steps] == [ActionType.CLICK] + [ActionType.PRESS] * 3 + [ActionType.CLICK]
    assert [ref for _, ref in planned] == [1, None, None, None, 2]  # the spinner field, keys, Submit
    assert [s.value for s in steps[1:4]] == ["ArrowDown"] * 3
    assert steps[-1].done and not any(s.done for s in steps[:-1])
    pressed = [step for step, _ in solve_use_spinner(_spinner_page("-1", steps[0], steps[1]))]
    assert [s.action for s in pressed] == [ActionType.PRESS] * 2 + [ActionType.CLICK]
    assert [step for step, _ in solve_use_spinner(_spinner_page("-3"))] == [steps[-1]]
    above = [step for step, _ in solve_use_spinner(_spinner_page("-5", steps[0]))]
    assert [s.value for s in above[:-1]] == ["ArrowUp"] * 2


def _sections_page(active: int, panel: bool, waits: int) -> Observation:
    from tracer1kit.episodes import Element, HistoryItem

    elements = []
    for i in (1, 2, 3):
        state = "ui-accordion-header-active" if i == active else "ui-accordion-header-collapsed"
        elements.append(Element(i, "h3", f"Section #{i}", classes=f"ui-accordion-header {state}", width=152, height=17))
        if i == active and panel:
            elements.append(Element(10, "div", classes="ui-accordion-content", width=152, height=40))
            elements.append(Element(11, "span", "sed", classes="alink", width=16, height=11))
    return Observation('Expand the sections below, to find and click on the link "ac".', elements=tuple(elements),
                       task="click-collapsible-2", history=(HistoryItem(Step(ActionType.WAIT)),) * waits)


@pytest.mark.parametrize("active,panel,waits,expected", [
    (0, False, 0, "Section #1"), (1, True, 0, "Section #2"), (2, True, 0, "Section #3"),
    (2, False, 0, "wait"), (2, False, 2, "wait"), (2, False, 3, "Section #3")])
def test_click_collapsible_2_opens_sections_in_turn_and_waits_for_each(active: int, panel: bool, waits: int,
                                                                        expected: str) -> None:
    from tracer1kit.experts.lookahead import MAX_WAITS, solve_click_collapsible_2

    assert MAX_WAITS == 3
    (step, ref), = solve_click_collapsible_2(_sections_page(active, panel, waits))
    assert (step.action.value if ref is None else step.target) == expected and not step.done


def test_click_collapsible_2_fails_clearly_when_no_section_holds_the_link() -> None:
    from tracer1kit.experts.lookahead import solve_click_collapsible_2
    from tracer1kit.experts.page import ExpertError

    with pytest.raises(ExpertError, match=r"'ac' is in none of the sections \(3 tried\)"):
        solve_click_collapsible_2(_sections_page(3, True, 0))


def test_lookahead_tasks_are_registered_with_a_reason_and_a_length() -> None:
    from tracer1kit.experts.gui import SOLVERS
    from tracer1kit.experts.lengths import LONGEST_EPISODE
    from tracer1kit.experts.lookahead import LOOKAHEAD_SOLVERS, LOOKAHEAD_TASKS

    assert set(LOOKAHEAD_TASKS) == set(LOOKAHEAD_SOLVERS) and len(LOOKAHEAD_TASKS) >= 6
    assert all(SOLVERS[task] is solver for task, solver in LOOKAHEAD_SOLVERS.items())
    assert all(reason.strip() and reason.endswith(".") for reason in LOOKAHEAD_TASKS.values())
    assert set(LONGEST_EPISODE) == set(SOLVERS), "measure new tasks with benchmarks/bench_experts.py"
    assert all(isinstance(n, int) and 1 <= n <= 30 for n in LONGEST_EPISODE.values())


CASES = [("login-user", 0), ("click-checkboxes", 1), ("email-inbox", 2), ("choose-date", 3),
         ("social-media", 2), ("use-autocomplete", 0), ("click-tab-2", 4),
         ("book-flight", 0), ("book-flight", 1), ("form-sequence", 0), ("form-sequence", 2),
         ("click-collapsible", 0), ("click-collapsible-2", 2), ("click-tab-2-hard", 3), ("navigate-tree", 8),
         ("phone-book", 1), ("login-user-popup", 1), ("form-sequence-3", 2), ("use-spinner", 2)]


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
