"""Expert episodes as training and reference data, generated once per run directory.

MiniWoB++ experts run on every task and seed (train/val/test seeds of ``env.tasks``, test seeds of
``env.heldout_tasks`` as split ``heldout``); the tool-use expert runs on its train/test seeds. Each episode is
recorded by the agent loop through the frozen tool agents, like any planner's. A manifest beside each store
records the params it was generated from, so a second call with the same params does nothing.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Sequence

from ..agents.base import ToolAgent
from ..agents.loop import run_batch
from ..envs.base import Environment
from ..envs.factory import SerialEnvs, make_env, tool_jobs
from ..episodes import Episode, EpisodeStore
from ..params import Params
from ..progress import Progress, log
from ..runs import RunDir, atomic_write_text
from .gui import expert_for
from .planner import ExpertPlanner

EXPERT_DIR = "expert"
TOOLUSE_DIR = "tooluse_expert"
MANIFEST = "manifest.json"


def run_expert_episode(env: Environment, seed: int, max_steps: int, agent: ToolAgent, horizon: int = 5) -> Episode:
    """One expert episode on ``env`` through the frozen tool agent, recorded by the agent loop (each step's plan
    is the expert's forecast, its feedback what the agent executed)."""
    return run_batch(ExpertPlanner(horizon), agent, SerialEnvs.of(env), [(env.task, seed)],
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
    return _store([e for episodes in results for e in episodes], store_dir, split)


def _store(episodes: list[Episode], store_dir: Path, split: str) -> list[Episode]:
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


def generate_gui_episodes(params: Params, store_dir: Path) -> dict[str, int]:
    """Expert episodes of ``env.tasks`` (train/val/test seeds) and ``env.heldout_tasks`` (test seeds, split
    ``heldout``) into ``store_dir``; returns episodes per split."""
    cfg = params.env

    def generate() -> dict[str, int]:
        plan = [("train", cfg.tasks, cfg.train_seeds), ("val", cfg.tasks, cfg.val_seeds),
                ("test", cfg.tasks, cfg.test_seeds), ("heldout", cfg.heldout_tasks, cfg.test_seeds)]
        return {split: len(generate_expert_episodes(list(tasks), list(seeds), store_dir, split=split,
                                                    screenshots=cfg.screenshots, max_steps=cfg.max_steps,
                                                    workers=cfg.workers))
                for split, tasks, seeds in plan if tasks and seeds}

    return generated_once(store_dir, cfg.model_dump(mode="json", exclude={"workers", "headless"}), generate)


def generate_tooluse_episodes(params: Params, store_dir: Path) -> dict[str, int]:
    """The tool-use expert through the real tools on every train/test seed into ``store_dir``."""
    from ..agents.tools import ToolExecutor

    cfg = params.tooluse

    def generate() -> dict[str, int]:
        planner, executor, counts = ExpertPlanner(horizon=params.planner.horizon), ToolExecutor(), {}
        with SerialEnvs(lambda task: make_env(task, params)) as envs:
            for split, seeds in (("train", cfg.train_seeds), ("test", cfg.test_seeds)):
                episodes = [e for job in tool_jobs(params.tooluse.kinds, seeds)
                            for e in run_batch(planner, executor, envs, [job], max_steps=cfg.max_steps,
                                               variant="expert")]
                counts[split] = len(_store(episodes, store_dir, split))
        return counts

    return generated_once(store_dir, cfg.model_dump(mode="json"), generate)


def generate_expert_data(params: Params, episodes_root: Path) -> dict[str, dict[str, int]]:
    """Expert episodes per split for MiniWoB++ (``gui``) and, when enabled, tool use (``tooluse``) under
    ``episodes_root``; each store is generated only once for the same params."""
    counts = {"gui": generate_gui_episodes(params, episodes_root / EXPERT_DIR)}
    if params.tooluse.enabled:
        counts["tooluse"] = generate_tooluse_episodes(params, episodes_root / TOOLUSE_DIR)
    return counts


def ensure_expert_data(params: Params, run: RunDir, episodes_root: Path | None = None) -> Path:
    """The episodes folder holding the run's expert data, generated unless already there. With ``episodes_root``
    (a sub-run sharing its parent's data) nothing is generated."""
    if episodes_root is not None:
        return episodes_root
    generate_expert_data(params, run.episodes_dir)
    return run.episodes_dir


def expert_episodes(params: Params, episodes_root: Path, split: str) -> list[Episode]:
    """The stored expert episodes of a split: MiniWoB++ and, when enabled, tool use."""
    episodes = EpisodeStore(episodes_root / EXPERT_DIR).read(split=split)
    if params.tooluse.enabled:
        episodes += EpisodeStore(episodes_root / TOOLUSE_DIR).read(split=split)
    return episodes
