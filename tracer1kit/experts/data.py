"""Expert episodes as training and reference data: the store, its manifest, and MiniWoB++'s parallel generator.

Each domain's expert runs on its tasks and seeds (``tracer1kit.domains.data`` asks each domain); every episode
is recorded by the agent loop through the frozen tool agent, like any planner's. A manifest beside each store
records what it was generated from, so a second call with the same params does nothing. MiniWoB++ episodes are
generated here in browser processes, one task per process.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Sequence

from ..actions import Step

from ..agents.base import ToolAgent
from ..agents.loop import run_batch
from ..envs.base import Environment
from ..envs.serial import SerialEnvs
from ..episodes import Episode, EpisodeStore, Observation
from ..progress import Progress, log
from ..runs import atomic_write_text
from .gui import expert_for
from .planner import ExpertPlanner, ExpertSteps

MANIFEST = "manifest.json"


def gui_expert_steps(observation: Observation) -> list[Step]:
    """The MiniWoB++ expert of the observation's task: its remaining steps on this page."""
    return expert_for(observation.task).next_steps(observation)


def run_expert_episode(env: Environment, seed: int, max_steps: int, agent: ToolAgent, horizon: int = 5,
                       steps: ExpertSteps = gui_expert_steps) -> Episode:
    """One expert episode on ``env`` through the frozen tool agent, recorded by the agent loop (each step's plan
    is the expert's forecast, its feedback what the agent executed); ``steps`` is the expert (MiniWoB++'s by
    default)."""
    return run_batch(ExpertPlanner(horizon, steps), agent, SerialEnvs.of(env), [(env.task, seed)],
                     max_steps=max_steps, variant="expert")[0]


def _run_task(task: str, seeds: Sequence[int], screenshots: bool, max_steps: int, headless: bool = True,
              episode_max_time_s: float = 3600.0, done: Callable[[], None] | None = None) -> list[Episode]:
    """Every seed of one MiniWoB++ task in one browser (also the unit of work of a worker process); ``done`` is
    called after each episode."""
    from ..agents.grounding import DomGrounder
    from ..envs.miniwob import MiniWoBEnv

    env = MiniWoBEnv(task, screenshots=screenshots, headless=headless, episode_max_time_s=episode_max_time_s)
    try:
        grounder, episodes = DomGrounder(), []
        for seed in seeds:
            episodes.append(run_expert_episode(env, seed, max_steps, grounder))
            if done is not None:
                done()
        return episodes
    finally:
        env.close()


def generate_expert_episodes(tasks: list[str], seeds: list[int], store_dir: Path, *, split: str,
                             screenshots: bool = True, max_steps: int = 30, workers: int = 1) -> list[Episode]:
    """Run the expert of every MiniWoB++ task on every seed, store each episode (``split``, variant ``expert``)
    in ``EpisodeStore(store_dir)`` and return them; ``workers`` browser processes share the tasks."""
    for task in tasks:
        expert_for(task)  # unknown task → ValueError listing the supported ones, before any browser starts
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    jobs = [(task, list(seeds)) for task in tasks]
    total, pace, count = len(tasks) * len(seeds), Progress(f"expert data ({split})"), [0]
    log.info(f"expert data ({split}): {total} episodes of {len(tasks)} tasks")

    def done(episodes: int = 1) -> None:
        count[0] += episodes
        pace.update(count[0], total, unit="episode")

    if workers == 1 or len(jobs) == 1:
        results = [_run_task(task, task_seeds, screenshots, max_steps, done=done) for task, task_seeds in jobs]
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=get_context("spawn")) as pool:
            results = []
            for result in pool.map(_run_task, *zip(*jobs), [screenshots] * len(jobs), [max_steps] * len(jobs)):
                results.append(result)
                done(len(result))
    return store_episodes([e for episodes in results for e in episodes], store_dir, split)


def store_episodes(episodes: list[Episode], store_dir: Path, split: str) -> list[Episode]:
    """Store ``episodes`` as the expert's (variant ``expert``) episodes of ``split``; returns them as stored."""
    store = EpisodeStore(store_dir)
    stored = [replace(episode, split=split, variant="expert") for episode in episodes]
    for episode in stored:
        store.write(episode)
    return stored


def generated_once(store_dir: Path, key: Any, generate: Callable[[], dict[str, int]]) -> dict[str, int]:
    """``generate()``'s episode counts per split, or the stored ones when ``store_dir``'s manifest was written
    for the same ``key``; a store from other params is emptied before generating again."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    manifest = store_dir / MANIFEST
    try:
        stored = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # no manifest yet, or a broken one: generate afresh
        stored = {}
    if isinstance(stored, dict) and stored.get("key") == digest:
        return dict(stored["counts"])
    store_dir.mkdir(parents=True, exist_ok=True)
    (store_dir / "episodes.jsonl").unlink(missing_ok=True)
    counts = generate()
    atomic_write_text(manifest, json.dumps({"key": digest, "counts": counts}))
    return counts
