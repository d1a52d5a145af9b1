"""Domains plug in: a one-dimensional corridor, defined here and nowhere in the package, runs the whole method
(expert data → SFT → Stage 1 → Stage 2 → evaluation with a paired contrast) through the registry alone; and the
registry sends every task to its own domain."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, replace

import pytest

from tracer1kit.actions import ActionType, Step
from tracer1kit.agents.base import Grounding
from tracer1kit.domains.base import Domain
from tracer1kit.domains.registry import DOMAINS, active, domain_of, register, unregister
from tracer1kit.envs.base import Transition
from tracer1kit.episodes import Observation
from tracer1kit.params import Params, with_overrides

LENGTH = 6


@dataclass
class Corridor:
    """Cells 0..LENGTH-1; the agent starts at a seeded cell and must reach the seeded goal cell."""

    task: str
    position: int = 0
    goal: int = 0
    seed: int = 0

    def observe(self, steps: int = 0) -> Observation:
        return Observation(f"reach cell {self.goal}", text=f"You are at cell {self.position}.", task=self.task,
                           seed=self.seed, step_index=steps, state={"position": self.position, "goal": self.goal})

    def reset(self, seed: int) -> Observation:
        rng = random.Random(seed)
        self.seed, self.position, self.goal = seed, rng.randrange(LENGTH), rng.randrange(LENGTH)
        while self.goal == self.position:
            self.goal = rng.randrange(LENGTH)
        return self.observe()

    def step(self, action: int) -> Transition:
        self.position = min(LENGTH - 1, max(0, self.position + action))
        won = self.position == self.goal
        return Transition(self.observe(), reward=float(won), terminated=won, success=won)

    def close(self) -> None:
        pass


class Walker:
    """The frozen tool agent: ``press`` ``left`` or ``right`` moves one cell."""

    def ground(self, step: Step, observation: Observation) -> Grounding:
        if step.action is not ActionType.PRESS or step.value not in ("left", "right"):
            return Grounding(False, error="the walker only presses left or right")
        return Grounding(True, action=1 if step.value == "right" else -1, description=f"walk {step.value}")

    def same_effect(self, step: Step, grounding: Grounding, reference: Step, reference_grounding: Grounding) -> bool:
        return grounding.action == reference_grounding.action


class CorridorDomain(Domain):
    name, store = "corridor", "corridor_expert"

    def owns(self, task: str) -> bool:
        return task == "corridor"

    def enabled(self, params: Params) -> bool:
        return True

    def jobs(self, params: Params, split):
        seeds = {"train": params.env.train_seeds, "val": params.env.val_seeds, "test": params.env.test_seeds}
        return [("corridor", s) for s in seeds.get(split, [])]

    def max_steps(self, params: Params) -> int:
        return params.env.max_steps

    def make_env(self, task: str, params: Params, *, screenshots=None) -> Corridor:
        return Corridor(task)

    def tool_agent(self, params: Params, purpose) -> Walker:
        return Walker()

    def expert_steps(self, observation: Observation) -> list[Step]:
        here, goal = observation.state["position"], observation.state["goal"]
        way = "right" if goal > here else "left"
        steps = [Step(ActionType.PRESS, value=way, instruction=f"walk {way}") for _ in range(abs(goal - here))]
        return [*steps[:-1], replace(steps[-1], done=True)]

    def lengths(self, params: Params) -> dict[str, int]:
        return {"corridor": LENGTH - 1}


@pytest.fixture
def corridor():
    domain = register(CorridorDomain())
    yield domain
    unregister(domain.name)


def corridor_params(**overrides) -> Params:
    base = {"env.tasks": [], "env.train_seeds": list(range(12)), "env.val_seeds": [100], "env.test_seeds": [200, 201, 202, 203],
            "env.max_steps": 6, "tooluse.enabled": False, "planner.horizon": 2, "planner.max_new_tokens": 64,
            "planner.instructions": False,
            "train.sft.max_steps": 4, "train.sft.per_device_batch_size": 4,
            "train.stage1.max_steps": 1, "train.stage1.per_device_batch_size": 4, "train.stage1.num_generations": 2,
            "train.stage1.max_completion_length": 64,
            "train.stage2.max_steps": 1, "train.stage2.per_device_batch_size": 4, "train.stage2.num_generations": 2,
            "train.stage2.max_completion_length": 64,
            "eval.variants": ["expert", "tracer1"], "eval.horizons": [2], "eval.episodes_per_task": 4,
            "eval.contrasts": [["tracer1", "expert"]]}
    return with_overrides(Params(), {**base, **overrides})


def test_the_registry_sends_each_task_to_its_domain(corridor):
    assert domain_of("corridor") is corridor
    assert domain_of("tooluse/receipt_tip").name == "tooluse"
    assert domain_of("click-button").name == "miniwob" and domain_of("no-such-task").name == "miniwob"  # fallback
    assert [d.name for d in active(corridor_params())] == ["corridor"]
    with pytest.raises(ValueError, match="fallback"):
        register(type("Bad", (CorridorDomain,), {"name": DOMAINS[0].name})())


@pytest.mark.slow
def test_a_domain_defined_in_a_test_runs_the_whole_method(corridor, tmp_path):
    from tracer1kit.evaluation import evaluate

    report = evaluate(corridor_params(), tmp_path / "run", progress=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "reports" / "evaluations.jsonl").read_text().splitlines()]
    rows = {r["evaluation"]["variant"]: r["evaluation"] for r in records}
    assert set(rows) == {"expert", "tracer1"}
    assert all(e["task"] == "corridor" for row in rows.values() for e in row["episodes"])
    assert sum(e["success"] for e in rows["expert"]["episodes"]) == 4          # the expert walks every corridor
    assert len(rows["tracer1"]["states"]) == len(rows["expert"]["states"]) > 0  # offline: the same recorded states
    for stage in ("sft", "stage1", "stage2"):
        assert list((tmp_path / "run" / "trainings").glob(f"*/checkpoints/{stage}/final"))
    contrasts = (tmp_path / "run" / "reports" / "results.md").read_text()
    assert "tracer1 − expert" in contrasts and report.exists()


def test_no_module_outside_a_domain_tests_a_task_name():
    """Which family a task belongs to is asked of the registry: the tool-use prefix and the BabyAI prefix, and
    the functions that test them, appear only in their own domain's modules."""
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "tracer1kit"
    own = {"tooluse": {"envs/tooluse.py", "domains/tooluse.py", "experts/tooluse.py", "agents/tools.py"},
           "grid": {"envs/grid.py", "domains/grid.py", "experts/grid.py", "agents/grid.py"}}
    needles = {"tooluse": (r"\bis_tool_task\b", r"\bTASK_PREFIX\b", '"tooluse/'),
               "grid": (r"\bis_grid_task\b", r"\bGRID_TASK_PREFIX\b", '"BabyAI-')}
    found = [f"{path.relative_to(package)}: {needle}" for path in package.rglob("*.py")
             for family, words in needles.items() if str(path.relative_to(package)) not in own[family]
             for needle in words if re.search(needle, path.read_text(encoding="utf-8"))]
    assert not found, found


def test_the_grid_domain_reads_its_own_params_section():
    from tracer1kit.domains.grid import GridDomain

    grid = GridDomain()
    params = corridor_params(**{"grid.levels": ["BabyAI-PickupLoc-v0", "BabyAI-UnlockPickup-v0"],
                                "grid.heldout_levels": ["BabyAI-PutNextLocal-v0"], "grid.train_seeds": [0, 1],
                                "grid.test_seeds": [7], "grid.max_steps": 8})
    assert grid.enabled(params) and not grid.enabled(corridor_params())
    assert grid.jobs(params, "train") == [("BabyAI-PickupLoc-v0", 0), ("BabyAI-PickupLoc-v0", 1),
                                          ("BabyAI-UnlockPickup-v0", 0), ("BabyAI-UnlockPickup-v0", 1)]
    assert grid.eval_jobs(params) == [("BabyAI-PickupLoc-v0", 7, "test"), ("BabyAI-UnlockPickup-v0", 7, "test"),
                                      ("BabyAI-PutNextLocal-v0", 7, "heldout")]
    assert [grid.split_label(s) for s in ("test", "heldout")] == ["grid", "grid_heldout"]
    assert grid.problems(params) == [] and grid.budget_problems(params) == []
    assert grid.lengths(params) == {"BabyAI-PickupLoc-v0": 1, "BabyAI-UnlockPickup-v0": 4}
    short = with_overrides(params, {"grid.max_steps": 3})
    assert grid.budget_problems(short) == [
        "grid.max_steps = 3 is less than the longest expert episode of BabyAI-UnlockPickup-v0 (4 steps): those "
        "episodes would end unfinished; raise grid.max_steps"]
    unknown = with_overrides(params, {"grid.levels": ["BabyAI-Nope-v0"]})
    assert grid.problems(unknown)[0].startswith("grid.levels / grid.heldout_levels: no measured expert for "
                                                "'BabyAI-Nope-v0'; supported levels: BabyAI-")
    strict = with_overrides(params, {"grid.eval_executor.kind": "strict", "grid.executor.noise": 0.2})
    assert grid.tool_agent(strict, "eval").kind == "strict" and grid.tool_agent(strict, "train").noise == 0.2
    assert grid.tool_agent(strict, "replay").noise == 0.0 and grid.tool_agent(strict, "eval").noise == 0.0


def test_each_domain_prompts_with_its_own_vocabulary():
    from tracer1kit.actions import GRID_ACTIONS, GUI_ACTIONS, TOOL_ACTIONS
    from tracer1kit.domains.registry import prompt_contexts

    contexts = prompt_contexts(Params())
    actions = {name: contexts(task).system.split("action (")[1].split(")")[0].split("|")
               for name, task in (("gui", "click-button"), ("tool", "tooluse/receipt_tip"), ("grid", "BabyAI-PickupLoc-v0"))}
    assert set(actions["grid"]) == {a.value for a in GRID_ACTIONS}
    assert set(actions["gui"]) == set(actions["tool"]) == {a.value for a in GUI_ACTIONS | TOOL_ACTIONS}
    assert contexts("tooluse/receipt_tip").tools_text and contexts("BabyAI-PickupLoc-v0").tools_text is None


@pytest.mark.parametrize("seed", range(5))
def test_random_grid_steps_are_valid_plans_the_executor_answers(seed):
    from tracer1kit.actions import format_plan, parse_plan
    from tracer1kit.agents.planner import RandomPlanner
    from tracer1kit.domains.grid import GridDomain

    grid, params = GridDomain(), Params()
    env = grid.make_env("BabyAI-UnlockPickup-v0", params, screenshots=False)
    observation = env.reset(seed)
    output = RandomPlanner(6, grid.random_step, seed=seed).plan(observation)
    assert parse_plan(format_plan(output.plan)) == output.plan
    for step in output.plan.steps:
        grounding = grid.tool_agent(params, "eval").ground(step, observation)
        assert grounding.executable or grounding.error
    assert observation.screenshot is None and observation.text  # image off: text only


def test_offline_judgement_of_a_grid_step_is_its_domains():
    """A grid step names an object: offline step success needs the same object (the executor's judgement), not
    only the same action type (the protocols know no grid actions)."""
    from tracer1kit.actions import Plan
    from tracer1kit.agents.planner import PlannerOutput
    from tracer1kit.domains.registry import expert_planner, tool_agents
    from tracer1kit.evaluation.offline import offline_states
    from tracer1kit.experts.data import run_expert_episode
    from tracer1kit.domains.grid import GridDomain

    grid, params = GridDomain(), Params()
    env = grid.make_env("BabyAI-UnlockPickup-v0", params, screenshots=False)
    episode = run_expert_episode(env, 3, 8, grid.tool_agent(params, "expert"), steps=grid.expert_steps)
    assert episode.success

    class Fixed:
        horizon = 1

        def __init__(self, step):
            self.step = step

        def plan_batch(self, views):
            return [PlannerOutput(Plan((self.step,)), "") for _ in views]

    agents = tool_agents(params, "eval")
    settings = dict(horizon=params.planner.horizon, batch_size=params.planner.batch_size, reward=params.reward,
                    protocol=params.eval.protocol)
    expert = [r["step_success"] for r in offline_states(expert_planner(1), [episode], agents, **settings)]
    assert expert == [True] * len(episode.steps)
    first = episode.steps[0].plan.first
    other = next(s for s in (Step(first.action, "the purple box"), Step(first.action, "the yellow key"))
                 if s.target != first.target)
    wrong = offline_states(Fixed(other), [episode], agents, **settings)
    assert wrong[0]["type_ok"] and not wrong[0]["step_success"]
