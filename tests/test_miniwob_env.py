"""MiniWoB++ in headless Chromium: observations, seeded resets, a clean page on every reset, the episode clock,
crash recovery, clean shutdown, the pool."""

import os
import signal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tracer1kit.actions import ActionType, Step
from tracer1kit.agents.grounding import DomGrounder
from tracer1kit.envs.base import BrowserAction
from tracer1kit.envs.miniwob import MiniWoBEnv, _descendants
from tracer1kit.envs.pool import EnvPool

pytestmark = pytest.mark.browser


def browser_processes() -> list[int]:
    names = []
    for pid in _descendants(os.getpid()):
        try:
            comm = open(f"/proc/{pid}/comm").read().strip()
        except OSError:
            continue
        if "chrom" in comm:
            names.append(pid)
    return names


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with MiniWoBEnv("click-button", workdir=tmp_path_factory.mktemp("browser")) as env:
        yield env


def test_observation_carries_instruction_screenshot_and_elements(env):
    obs = env.reset(3)
    assert obs.instruction.startswith("Click on the") and obs.task == "click-button" and obs.seed == 3
    assert obs.screenshot is not None and obs.screenshot.size == obs.size == (160, 210)
    buttons = [e for e in obs.elements if e.tag == "button"]
    assert buttons and all(e.width > 0 and e.height > 0 for e in buttons)
    assert (env.workdir / "profile").is_dir() and any((env.workdir / "profile").iterdir())  # browser files stay in the run


def test_grounded_click_solves_the_task_and_bad_refs_do_not_crash(env):
    obs = env.reset(3)
    target = obs.instruction.split('"')[1]
    grounding = DomGrounder().ground(Step(ActionType.CLICK, target), obs)
    bad = env.step(BrowserAction("click", ref=99999))
    assert "no element with ref" in bad.info["error"] and not bad.terminated
    transition = env.step(grounding.action)
    assert transition.success and transition.terminated and transition.reward == 1.0


def test_seeded_resets_are_reproducible_across_instances(env, tmp_path):
    first = env.reset(11)
    with MiniWoBEnv("click-button", screenshots=False, workdir=tmp_path / "b") as other:
        second = other.reset(11)
        assert second.screenshot is None
    assert first.instruction == second.instruction
    assert [(e.tag, e.text) for e in first.elements] == [(e.tag, e.text) for e in second.elements]


def test_killed_browser_is_reported_as_interrupted_and_restarted(tmp_path):
    before = set(browser_processes())
    with MiniWoBEnv("click-button", screenshots=False, workdir=tmp_path) as env:
        obs = env.reset(1)
        pid = env.browser_pid()
        for child in [pid, *_descendants(pid)]:
            os.kill(child, signal.SIGKILL)
        transition = env.step(BrowserAction("click", ref=obs.elements[-1].ref))
        assert transition.truncated and transition.info["interrupted"]
        again = env.reset(1)
        assert again.instruction == obs.instruction
    assert set(browser_processes()) <= before


def test_close_leaves_no_browser_processes(tmp_path):
    before = set(browser_processes())
    env = MiniWoBEnv("click-test", screenshots=False, workdir=tmp_path)
    env.reset(0)
    assert set(browser_processes()) - before
    env.close()
    assert set(browser_processes()) <= before


def browser_groups() -> set[int]:
    """Process groups of all chromedriver processes on the machine (a pool's orphans are not our descendants)."""
    groups = set()
    for entry in os.listdir("/proc"):
        try:
            stat = open(f"/proc/{entry}/stat").read() if entry.isdigit() else ""
            if "(chromedriver)" in stat and stat.rsplit(")", 1)[1].split()[0] != "Z":  # zombies are dead
                groups.add(os.getpgid(int(entry)))
        except OSError:
            continue
    return groups


def gone(group: int, seconds: float = 10.0) -> bool:
    """Whether a browser process group has disappeared (killing is asynchronous: poll briefly)."""
    import time

    deadline = time.time() + seconds
    while group in browser_groups():
        if time.time() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_pool_steps_workers_in_parallel_and_survives_a_dead_worker():
    with EnvPool(2, screenshots=False) as pool:
        observations = pool.reset([("click-button", 5), ("click-test", 5)])
        assert [o.task for o in observations] == ["click-button", "click-test"]
        grounder = DomGrounder()
        target = observations[0].instruction.split('"')[1]
        action = grounder.ground(Step(ActionType.CLICK, target), observations[0]).action
        results = pool.step([action, None])
        assert results[0].success and results[1] is None
        orphan = pool._browsers[1]
        os.kill(pool.worker_pids()[1], signal.SIGKILL)
        dead = pool.step([None, BrowserAction("wait")])
        assert dead[1].truncated and dead[1].info["interrupted"]
        assert gone(orphan)  # the dead worker's browser went with it
        assert pool.reset([("click-button", 6), ("click-button", 7)])[1].task == "click-button"
        groups = set(pool._browsers)
    assert all(gone(group) for group in groups)


def test_select_and_type_actions_solve_their_tasks(tmp_path):
    import re

    from tracer1kit.agents.grounding import target_words

    grounder = DomGrounder()
    with MiniWoBEnv("choose-list", screenshots=False, workdir=tmp_path / "list") as env:
        obs = env.reset(2)
        option = re.match(r"Select (.+) from the list", obs.instruction).group(1)
        select = next(e for e in obs.elements if e.tag == "select")
        assert not env.step(grounder.ground(Step(ActionType.SELECT, target_words(obs, select), option), obs).action).terminated
        done = env.step(grounder.ground(Step(ActionType.CLICK, "Submit"), obs).action)
        assert done.success and done.observation.instruction == obs.instruction  # kept after the task ends
    with MiniWoBEnv("enter-text", screenshots=False, workdir=tmp_path / "text") as env:
        obs = env.reset(1)
        field = next(e for e in obs.elements if e.tag.startswith("input"))
        env.step(grounder.ground(Step(ActionType.TYPE, target_words(obs, field), obs.instruction.split('"')[1]), obs).action)
        assert env.step(BrowserAction("press", text="Unknown-Key")).info["error"].startswith("unknown key")
        assert env.step(grounder.ground(Step(ActionType.CLICK, "Submit"), obs).action).success


# ---------------------------------------------------------------- a clean page on every reset

WIDGET_TASKS = ("choose-date", "book-flight", "use-autocomplete")  # jQuery UI widgets appended to <body>
OTHER_TASKS = ("click-tab-2", "form-sequence", "login-user")  # focus rings and state left by earlier episodes


def page_of(obs):
    """Everything an agent sees: instruction, every element's (tag, text, value, classes, id, geometry), pixels."""
    import numpy as np

    elements = [(e.tag, e.text, e.value, e.classes, e.id, e.left, e.top, e.width, e.height) for e in obs.elements]
    return obs.instruction, elements, np.asarray(obs.screenshot).tobytes()


def fresh_and_reused(task, seed, earlier, workdir):
    """``reset(seed)`` in a new browser (its first episode), then again after expert episodes on ``earlier`` seeds."""
    from tracer1kit.experts.data import run_expert_episode

    with MiniWoBEnv(task, workdir=workdir) as env:
        fresh = env.reset(seed)
        for other in earlier:
            run_expert_episode(env, other, 20, DomGrounder())
        return fresh, env.reset(seed)


@pytest.mark.slow
@pytest.mark.parametrize("task", WIDGET_TASKS + OTHER_TASKS)
def test_reset_after_other_episodes_shows_the_fresh_page(task, tmp_path):
    fresh, reused = fresh_and_reused(task, 7, [100, 101], tmp_path)
    assert page_of(reused)[0] == page_of(fresh)[0]
    assert page_of(reused)[1] == page_of(fresh)[1]  # no stale calendar or menu (choose-date: 7 elements, not 104)
    assert page_of(reused)[2] == page_of(fresh)[2]


@pytest.mark.slow
@given(data=st.data())
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_expert_task_resets_to_the_fresh_page(data, tmp_path_factory):
    from tracer1kit.experts.gui import SOLVERS

    task = data.draw(st.sampled_from(sorted(SOLVERS)), label="task")
    seed, earlier = data.draw(st.integers(0, 10**6), label="seed"), data.draw(st.integers(0, 10**6), label="earlier")
    fresh, reused = fresh_and_reused(task, seed, [earlier], tmp_path_factory.mktemp("reset"))
    assert page_of(reused) == page_of(fresh)


def test_the_episode_clock_is_set_before_each_episode_starts(tmp_path):
    """A 1 s limit must end the first episode and a reloaded one (miniwob's default is 10 s)."""
    import time

    with MiniWoBEnv("click-test", screenshots=False, episode_max_time_s=1.0, workdir=tmp_path) as env:
        for seed in (1, 2):
            env.reset(seed)
            time.sleep(1.5)
            timed_out = env.step(BrowserAction("wait"))
            assert timed_out.terminated and not timed_out.success and timed_out.info["raw_reward"] == -1.0
