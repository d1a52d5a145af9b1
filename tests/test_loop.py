"""The plan → execute step 1 → re-plan loop, on a small in-process environment (no browser, no model)."""


from hypothesis import given
from hypothesis import strategies as st

from tracer1kit.actions import ActionType as A, Plan, Step, format_plan
from tracer1kit.agents.base import Grounding
from tracer1kit.agents.loop import run_batch, run_episode
from tracer1kit.agents.planner import PlannerOutput, parse_output
from tracer1kit.envs.base import BrowserAction, Transition
from tracer1kit.envs.serial import SerialEnvs
from tracer1kit.episodes import Element, Observation
from tracer1kit.params import GroundedRewardParams, RewardParams
from tracer1kit.rewards import score_episode


class ButtonsEnv:
    """Click buttons A, B, C in order; any other click fails the episode."""

    def __init__(self, task: str = "buttons") -> None:
        self.task, self.pressed, self.closed = task, [], False

    def _obs(self, seed: int) -> Observation:
        elements = tuple(Element(i, "button", name, left=10 * i, top=5, width=8, height=8)
                         for i, name in enumerate("ABC") if name not in self.pressed)
        return Observation("press A, B, C", elements=elements, task=self.task, seed=seed)

    def reset(self, seed: int) -> Observation:
        self.pressed, self.seed = [], seed
        return self._obs(seed)

    def step(self, action: BrowserAction) -> Transition:
        name = "ABC"[action.ref]
        self.pressed.append(name)
        ok = self.pressed == list("ABC")[: len(self.pressed)]
        done = not ok or len(self.pressed) == 3
        return Transition(self._obs(self.seed), reward=1.0 if ok and done else 0.0,
                          terminated=done, success=ok and done)

    def close(self) -> None:
        self.closed = True


class ByText:
    """A frozen grounder for ButtonsEnv: the target names the button."""

    def ground(self, step: Step, obs: Observation) -> Grounding:
        match = next((e for e in obs.elements if e.text == step.target), None)
        if step.action is not A.CLICK or match is None:
            return Grounding(False, error=f"no button {step.target!r}")
        return Grounding(True, BrowserAction("click", match.ref), f"click {match.text}", element_ref=match.ref,
                         point=match.center)

    def same_effect(self, step, grounding, reference, reference_grounding) -> bool:
        return grounding.element_ref == reference_grounding.element_ref


class Scripted:
    """Plans the remaining buttons (or replays fixed texts), recording what it was shown."""

    def __init__(self, horizon: int, texts: list[str] | None = None) -> None:
        self.horizon, self.texts, self.seen = horizon, texts, []

    def plan_batch(self, observations):
        self.seen += observations
        if self.texts is not None:
            return [parse_output(self.texts[min(len(self.seen) - 1, len(self.texts) - 1)]) for _ in observations]
        outs = []
        for obs in observations:
            names = [e.text for e in obs.elements][: self.horizon]
            steps = tuple(Step(A.CLICK, n, done=i == len(names) - 1 and len(obs.elements) <= self.horizon)
                          for i, n in enumerate(names))
            plan = Plan(steps)
            outs.append(PlannerOutput(plan, format_plan(plan)))
        return outs


def test_only_step_one_runs_and_the_planner_replans_each_step():
    planner = Scripted(horizon=3)
    episode = run_episode(planner, ByText(), ButtonsEnv(), seed=7, max_steps=10, variant="expert",
                          reference_planner=Scripted(horizon=3))
    assert episode.success and len(episode.steps) == 3
    assert [len(r.plan) for r in episode.steps] == [3, 2, 1]          # the full forecast is recorded
    assert [r.feedback.executed for r in episode.steps] == ["click A", "click B", "click C"]
    assert [len(o.history) for o in planner.seen] == [0, 1, 2]         # history grows, re-planned every step
    assert planner.seen[2].history[0].step.target == "A"
    assert all(r.feedback.matched_reference for r in episode.steps)
    assert all(not r.rewards for r in episode.steps)                     # the loop records, rewards come after
    scored = score_episode(episode, RewardParams(), GroundedRewardParams(mode="live"))
    assert scored.steps[0].rewards["stage1/total"] == 1.0 and scored.steps[0].rewards["grounded/total"] == 1.0


def test_garbage_planner_is_recorded_as_not_executable_and_runs_to_budget():
    env = ButtonsEnv()
    episode = run_episode(Scripted(3, ["<answer>\n{oops\n</answer>", "junk"]), ByText(), env, seed=0, max_steps=4,
                          reference_planner=Scripted(3))
    assert not episode.success and len(episode.steps) == 4
    assert all(r.plan is None and r.parse_error and not r.feedback.executable for r in episode.steps)
    assert all(r.feedback.matched_reference is False for r in episode.steps)  # a reference, nothing executed
    scored = score_episode(episode, RewardParams(), GroundedRewardParams(mode="live"))
    assert scored.steps[0].rewards["stage1/total"] == 0.0
    assert scored.steps[0].rewards["grounded/total"] == 0.0


def test_done_stops_and_unknown_targets_are_not_executable():
    texts = [format_plan(Plan((Step(A.CLICK, "Z"),))), format_plan(Plan((Step(A.DONE, done=True),)))]
    episode = run_episode(Scripted(1, texts), ByText(), ButtonsEnv(), seed=0, max_steps=10)
    assert len(episode.steps) == 2
    assert not episode.steps[0].feedback.executable and "no button 'Z'" in episode.steps[0].feedback.error
    assert episode.steps[1].feedback.executed == "done" and not episode.success


def test_batch_runs_several_environments_in_lockstep():
    made: list[ButtonsEnv] = []

    def factory(task: str) -> ButtonsEnv:
        made.append(ButtonsEnv(task))
        return made[-1]

    planner = Scripted(horizon=2)
    with SerialEnvs(factory, slots=3) as envs:
        episodes = run_batch(planner, ByText(), envs, [("buttons", 1), ("buttons", 2), ("buttons", 3)], max_steps=5)
        assert [e.seed for e in episodes] == [1, 2, 3] and all(e.success for e in episodes)
        run_batch(planner, ByText(), envs, [("other", 4)], max_steps=5)
    assert len(made) == 4 and all(env.closed for env in made)   # task switch makes a new env; exit closes all


@given(st.lists(st.booleans(), min_size=1, max_size=12), st.one_of(st.none(), st.integers(1, 4)))
def test_an_episode_stops_after_so_many_non_executable_steps_in_a_row(executable, stop_after):
    """Executable steps reset the count; only an unbroken run of ``stop_after`` refused steps ends the episode."""
    texts, goods = [], 0
    for ok in executable:
        texts.append(format_plan(Plan((Step(A.CLICK, "ABC"[goods] if ok and goods < 3 else "Z"),))))
        goods += ok and goods < 3
    max_steps = len(texts)
    expected, run, goods = 0, 0, 0
    for ok in executable:
        expected += 1
        good = ok and goods < 3
        goods, run = goods + good, 0 if good else run + 1
        if goods == 3 or (stop_after is not None and run >= stop_after):
            break
    episode = run_batch(Scripted(1, texts), ByText(), SerialEnvs.of(ButtonsEnv()), [("buttons", 0)],
                        max_steps=max_steps, stop_after=stop_after)[0]
    assert len(episode.steps) == expected
    assert episode.success == (goods == 3)
