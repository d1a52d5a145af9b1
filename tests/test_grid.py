"""The BabyAI grid domain's parts: the environment, the frozen subgoal executor and the bot-driven expert."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracer1kit.actions import ActionType, Step
from tracer1kit.agents.feedback import step_feedback
from tracer1kit.agents.grid import GridExecutor, parse_target, same_grid_step
from tracer1kit.envs.grid import COLOURS, GRID_LEVELS, GridAction, GridEnv, GridState, object_names, render_text
from tracer1kit.episodes import HistoryItem, Observation
from tracer1kit.experts.grid import GRID_LONGEST_EPISODE, expert_segments, grid_expert_steps, replay
from tracer1kit.experts.page import ExpertError

FAST_LEVELS = ("BabyAI-PickupLoc-v0", "BabyAI-UnlockPickup-v0", "BabyAI-BlockedUnlockPickup-v0",
               "BabyAI-KeyCorridorS3R3-v0", "BabyAI-PutNextLocal-v0")
SLOW = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
seeds = st.integers(0, 10_000)


def step(action: ActionType, target: str = "") -> Step:
    return Step(action, target=target)


def room_state(objects: list[tuple[str, str, tuple[int, int], str]], agent=(3, 3), direction=0,
               carrying=None) -> dict:
    """A 7×7 single room (walls around) as GridEnv writes it; objects are (kind, colour, cell, door state)."""
    types, states = {"key": 5, "ball": 6, "box": 7, "door": 4}, ("open", "closed", "locked")
    cells = [["210" if x in (0, 6) or y in (0, 6) else "100" for x in range(7)] for y in range(7)]
    for kind, colour, (x, y), door in objects:
        cells[y][x] = f"{types[kind]:x}{COLOURS.index(colour)}{states.index(door) if door else 0}"
    return {"grid": ["".join(row) for row in cells], "agent": list(agent), "dir": direction, "carrying": carrying,
            "rooms": [1, 1, 7], "mission": "test"}


def view(state: dict) -> Observation:
    return Observation(instruction=state["mission"], text=render_text(GridState.from_json(state)), state=state)


# ---------------------------------------------------------------- the expert replays to success

@pytest.mark.parametrize("task", FAST_LEVELS)
@SLOW
@given(seed=seeds)
def test_expert_plans_replay_to_success(task: str, seed: int) -> None:
    steps = expert_segments(task, seed)
    assert steps[-1].done and not any(s.done for s in steps[:-1])
    assert all(s.action in (ActionType.GOTO, ActionType.PICKUP, ActionType.OPEN, ActionType.DROP, ActionType.PUT)
               for s in steps)
    for kind in ("lenient", "strict"):
        assert replay(task, seed, GridExecutor(kind)) == (True, len(steps))


def test_suite_levels_are_registered_and_measured() -> None:
    suite = [t for group in GRID_LEVELS.values() for t in group]
    assert sorted(GRID_LONGEST_EPISODE) == sorted(suite)
    for task in suite:
        GridEnv(task).close()
        assert len(expert_segments(task, 0)) <= GRID_LONGEST_EPISODE[task]


def test_grid_expert_steps_follow_the_history_and_refuse_a_detour() -> None:
    task, seed = "BabyAI-UnlockPickup-v0", 3
    observation = GridEnv(task).reset(seed)
    steps = expert_segments(task, seed)
    assert grid_expert_steps(observation) == list(steps)
    followed = Observation(instruction="", task=task, seed=seed, history=(HistoryItem(steps[0]),))
    assert grid_expert_steps(followed) == list(steps[1:])
    detour = Observation(instruction="", task=task, seed=seed,
                         history=(HistoryItem(step(ActionType.GOTO, "the purple box")),))
    with pytest.raises(ExpertError, match="not the expert's"):
        grid_expert_steps(detour)


# ---------------------------------------------------------------- locked doors, keys and hands

def test_a_target_behind_a_locked_door_is_refused_until_the_door_is_opened() -> None:
    env, executor = GridEnv("BabyAI-UnlockPickup-v0"), GridExecutor()
    observation = env.reset(1)   # yellow key in room A, purple box behind the locked yellow door
    assert "unreachable" in executor.ground(step(ActionType.PICKUP, "the purple box"), observation).error
    assert "locked" in executor.ground(step(ActionType.OPEN, "the yellow door"), observation).error
    for action, target in ((ActionType.PICKUP, "the yellow key"), (ActionType.OPEN, "the yellow door")):
        observation = env.step(executor.ground(step(action, target), observation).action).observation
    assert "hands are full" in executor.ground(step(ActionType.PICKUP, "the purple box"), observation).error
    assert "already open" in executor.ground(step(ActionType.OPEN, "the yellow door"), observation).error
    observation = env.step(executor.ground(step(ActionType.DROP), observation).action).observation
    grounding = executor.ground(step(ActionType.PICKUP, "the purple box"), observation)
    assert grounding.executable
    transition = env.step(grounding.action)
    assert transition.success and transition.terminated and transition.reward > 0


# ---------------------------------------------------------------- determinism and storage

@SLOW
@given(seed=seeds)
def test_same_seed_same_level_observation_and_feedback(seed: int) -> None:
    task = "BabyAI-BlockedUnlockPickup-v0"
    first, second = GridEnv(task).reset(seed), GridEnv(task).reset(seed)
    assert (first.instruction, first.text, first.state) == (second.instruction, second.text, second.state)
    assert first.screenshot.tobytes() == second.screenshot.tobytes()
    reference = expert_segments(task, seed)[0]
    agent = GridExecutor(noise=0.3, seed=seed)
    assert step_feedback(reference, first, agent, reference=reference) == \
        step_feedback(reference, second, agent, reference=reference)


@SLOW
@given(seed=seeds)
def test_observation_json_round_trip_keeps_text_state_and_grounding(seed: int) -> None:
    task = "BabyAI-KeyCorridorS3R3-v0"
    observation = GridEnv(task).reset(seed)
    back = Observation.from_dict(json.loads(json.dumps(observation.to_dict())))
    assert (back.text, back.state) == (observation.text, observation.state)
    executor = GridExecutor("strict")
    for expert_step in expert_segments(task, seed)[:3]:
        assert executor.ground(expert_step, back) == executor.ground(expert_step, observation)


def test_text_rendering_names_rooms_objects_doors_and_the_load() -> None:
    text = GridEnv("BabyAI-UnlockPickup-v0").reset(1).text
    assert text.splitlines()[1:] == ["room A: yellow key", "room B: purple box", "doors: yellow door A|B locked"]
    assert text.startswith("you: room A") and "carrying nothing" in text


# ---------------------------------------------------------------- bad steps are refused, never raised

BAD = [
    (step(ActionType.PICKUP, "the pink key"), "unknown colour"),
    (step(ActionType.PICKUP, "the red chair"), "unknown object"),
    (step(ActionType.GOTO, "x" * 500), "500 characters"),
    (step(ActionType.PICKUP, ""), "names no object"),
    (step(ActionType.CLICK, "Login"), "not a grid action"),
    (step(ActionType.CALL, "ocr"), "not a grid action"),
    (step(ActionType.TYPE, "red key"), "not a grid action"),
    (step(ActionType.DROP), "nothing is carried"),
    (step(ActionType.PUT, "the red ball"), "nothing is carried"),
    (step(ActionType.OPEN, "the red ball"), "only doors open"),
    (step(ActionType.PICKUP, "the red door"), "cannot be picked up"),
    (step(ActionType.PICKUP, "the blue key"), "no object fits"),
]


@pytest.mark.parametrize("bad,reason", BAD)
def test_bad_steps_are_not_executable_with_a_reason(bad: Step, reason: str) -> None:
    observation = view(room_state([("ball", "red", (5, 3), ""), ("door", "red", (6, 2), "closed")]))
    for kind in ("lenient", "strict"):
        grounding = GridExecutor(kind).ground(bad, observation)
        assert not grounding.executable and reason in grounding.error


def test_hands_full_and_a_missing_state_are_refused() -> None:
    observation = view(room_state([("ball", "red", (5, 3), "")], carrying=["key", "blue"]))
    assert "hands are full" in GridExecutor().ground(step(ActionType.PICKUP, "the red ball"), observation).error
    assert "drop it first" in GridExecutor().ground(step(ActionType.PICKUP, "the red ball"), observation).error
    bare = Observation(instruction="pick up the ball")
    assert "no grid state" in GridExecutor().ground(step(ActionType.PICKUP, "the ball"), bare).error


@settings(max_examples=200, deadline=None)
@given(action=st.sampled_from(list(ActionType)), target=st.text(max_size=300))
def test_any_step_grounds_without_raising(action: ActionType, target: str) -> None:
    observation = view(room_state([("ball", "red", (5, 3), ""), ("key", "red", (1, 1), ""),
                                   ("door", "blue", (6, 2), "locked")], carrying=None))
    grounding = GridExecutor("strict").ground(Step(action, target=target), observation)
    assert grounding.executable or grounding.error
    query = parse_target(target)
    assert isinstance(query, str) or query.kind in (None, "key", "ball", "box", "door")


# ---------------------------------------------------------------- strict, lenient, noisy

def test_strict_refuses_ambiguity_and_lenient_picks_the_nearest() -> None:
    observation = view(room_state([("ball", "red", (1, 3), ""), ("ball", "red", (5, 3), "")]))
    strict = GridExecutor("strict").ground(step(ActionType.GOTO, "the red ball"), observation)
    assert not strict.executable and "ambiguous" in strict.error
    lenient = GridExecutor().ground(step(ActionType.GOTO, "the red ball"), observation)
    assert lenient.executable and lenient.action.cell == (5, 3) and lenient.action.actions == (2,)
    exact = GridExecutor("strict").ground(step(ActionType.GOTO, "the red ball at (1,3)"), observation)
    assert exact.executable and exact.action.cell == (1, 3)


@SLOW
@given(seed=seeds)
def test_canonical_names_ground_back_to_their_object(seed: int) -> None:
    observation = GridEnv("BabyAI-PickupLoc-v0").reset(seed)
    state = GridState.from_json(observation.state)
    for cell, name in object_names(state).items():
        grounding = GridExecutor("strict").ground(step(ActionType.GOTO, f"the {name}"), observation)
        assert grounding.executable and grounding.action.cell == cell


def test_noise_is_seeded_and_acts_on_another_fitting_object() -> None:
    objects = [("ball", "red", (1, 1), ""), ("ball", "blue", (5, 1), ""), ("key", "green", (1, 5), ""),
               ("box", "grey", (5, 5), "")]
    target, cells = step(ActionType.PICKUP, "the red ball"), set()
    for seed in range(40):
        observation = view(room_state(objects, agent=(3, 3), direction=seed % 4))
        noisy = GridExecutor(noise=0.5, seed=seed)
        first, again = noisy.ground(target, observation), noisy.ground(target, observation)
        assert first == again and first.executable
        cells.add(first.action.cell)
        assert GridExecutor(noise=0.0, seed=seed).ground(target, observation).action.cell == (1, 1)
    assert (1, 1) in cells and len(cells) > 1


def test_same_effect_is_the_same_action_on_the_same_object() -> None:
    observation = view(room_state([("ball", "red", (1, 3), ""), ("ball", "blue", (5, 3), "")]))
    assert same_grid_step(step(ActionType.GOTO, "the red ball"), step(ActionType.GOTO, "red ball at (1,3)"),
                          observation)
    assert not same_grid_step(step(ActionType.GOTO, "the red ball"), step(ActionType.GOTO, "the blue ball"),
                              observation)
    assert not same_grid_step(step(ActionType.GOTO, "the red ball"), step(ActionType.PICKUP, "the red ball"),
                              observation)
    executor = GridExecutor()
    a, b = step(ActionType.PICKUP, "the blue ball"), step(ActionType.PICKUP, "a ball on your right")
    assert not executor.same_effect(a, executor.ground(a, observation), b, executor.ground(b, observation))
    c = step(ActionType.PICKUP, "a ball in front of you")
    assert executor.same_effect(a, executor.ground(a, observation), c, executor.ground(c, observation))


# ---------------------------------------------------------------- the environment

def test_env_refuses_unknown_levels_and_foreign_actions() -> None:
    with pytest.raises(ValueError, match="not a BabyAI level"):
        GridEnv("click-test")
    with pytest.raises(ValueError, match="unknown BabyAI level"):
        GridEnv("BabyAI-NoSuchLevel-v0")
    env = GridEnv("BabyAI-PickupLoc-v0")
    env.reset(0)
    assert "expected a GridAction" in env.step("forward").info["error"]
    assert env.step(GridAction((1,), "turn right")).observation.step_index == 1


def test_drop_cuts_nothing_off() -> None:
    # a corridor: the only way from the agent to the box is the cell in front of it
    state = room_state([("box", "grey", (5, 5), "")], agent=(3, 1), direction=1, carrying=["key", "red"])
    rows = [list(r) for r in state["grid"]]
    for y in range(2, 6):
        for x in (1, 2, 4, 5):
            if (x, y) != (5, 5) and not (y == 5 and x in (4,)):
                rows[y][3 * x:3 * x + 3] = list("210")
    state["grid"] = ["".join(r) for r in rows]
    grounding = GridExecutor().ground(step(ActionType.DROP), view(state))
    assert grounding.executable and grounding.action.cell not in ((3, 2), (3, 3), (3, 4), (3, 5), (4, 5))


def test_feedback_advances_when_a_grid_step_changes_the_level() -> None:
    env, executor = GridEnv("BabyAI-UnlockPickup-v0"), GridExecutor()
    observation = env.reset(1)
    key = step(ActionType.PICKUP, "the yellow key")
    grounding = executor.ground(key, observation)
    feedback = step_feedback(key, observation, executor, reference=key, grounding=grounding,
                             transition=env.step(grounding.action))
    assert feedback.executable and feedback.matched_reference and feedback.advanced
    held = env.observe()
    turn = GridAction((), "stay")
    unchanged = step_feedback(step(ActionType.GOTO, "the yellow door"), held, executor,
                              grounding=executor.ground(step(ActionType.GOTO, "the yellow door"), held),
                              transition=env.step(turn))
    assert unchanged.advanced is False


@pytest.mark.parametrize("broken", [None, {}, {"grid": ["210"], "agent": [5, 5], "dir": 0, "rooms": [1, 1, 3]},
                                    {"grid": ["2x0"], "agent": [0, 0], "dir": 0, "rooms": [1, 1, 3]},
                                    {"grid": ["100"], "agent": [0, 0], "dir": 0, "rooms": [1, 1, 3], "carrying": [1]}])
def test_a_malformed_state_is_refused_with_its_reason(broken: object) -> None:
    with pytest.raises(ValueError, match="grid state"):
        GridState.from_json(broken)
    grounding = GridExecutor().ground(step(ActionType.GOTO, "the red key"), Observation(instruction="", state=broken))
    assert not grounding.executable and "grid state" in grounding.error


@pytest.mark.parametrize("key, value, refused", [
    ("grid.test_seeds", [5000, 5001], False), ("grid.stop_after", None, False), ("grid.val_seeds", [4000], False),
    ("grid.eval_executor.kind", "strict", False), ("grid.train_seeds", [0, 1, 2], True),
    ("grid.executor.kind", "strict", True), ("grid.levels", ["BabyAI-UnlockPickup-v0"], True)])
def test_a_trained_folder_takes_other_grid_evaluation_keys_but_not_other_training_keys(tmp_path, key, value, refused):
    """Evaluating the same trainings on other test seeds or with the early stop off reuses them; changing what
    was trained on is refused (its final models would be silently reused)."""
    from tracer1kit.params import params_from_dict, with_overrides
    from tracer1kit.runs import RunDir
    from tracer1kit.training.common import TrainingInputError, final_dir
    from tracer1kit.training.pipeline import check_same_training

    params = params_from_dict({"grid": {"levels": ["BabyAI-PickupLoc-v0"]}})
    run = RunDir.create(tmp_path)
    run.save_params(params)
    final_dir(run, "sft").mkdir(parents=True)
    changed = with_overrides(params, {key: value})
    if refused:
        with pytest.raises(TrainingInputError, match=key):
            check_same_training(changed, run)
    else:
        check_same_training(changed, run)


@pytest.mark.parametrize("noise", [-0.1, 1.0, 2.0])
def test_the_executor_refuses_a_noise_outside_zero_to_one(noise) -> None:
    with pytest.raises(ValueError, match=r"noise must be in \[0, 1\)"):
        GridExecutor(noise=noise)
    assert GridExecutor(noise=0.999).noise == 0.999
