"""``evaluate(params, run_dir)``: train what the variants need (sub-runs under ``RUN/trainings``), evaluate every
variant and grid point on the same (task, seed) list, store the episodes for the inspector under
``RUN/episodes/eval``, keep every episode's and state's record in ``RUN/reports/evaluations.jsonl`` (evaluations
already run for the same params are reused from there) and write the report to ``RUN/reports``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from ..agents.base import ToolAgent

from ..agents.planner import Planner, RandomPlanner
from ..domains.data import ensure_expert_data, expert_episodes
from ..domains.registry import active, expert_planner, prompt_contexts, random_step, tool_agents
from ..envs.base import BatchEnv
from ..episodes import Episode, EpisodeStore
from ..metrics import get_protocol
from ..models import load_policy
from ..params import Params, StageParams
from ..progress import KindProgress, log
from ..runs import RunDir, append_jsonl
from ..training.common import STAGES, final_dir
from ..training.pipeline import check_reference_plans, train, training_dataset
from ..training.processes import refuse_several_processes
from .offline import offline_states
from .online import episode_record, run_jobs
from .report import write_report
from .store import CACHE, evaluation_key, identity, read_cache, row_params
from .variants import (Evaluation, Training, grid_bases, plan_evaluations, same_until, training_dir, training_names,
                       trainings_needed)


def build_planner(ev: Evaluation, params: Params, root: Path) -> tuple[Any, Params]:
    """The planner a row evaluates, and the params it is evaluated with (:func:`row_params`)."""
    if ev.variant == "random":
        return RandomPlanner(params.planner.horizon, random_step, seed=ev.seed), params
    if ev.variant == "expert":
        return expert_planner(params.planner.horizon), params
    trained = row_params(ev, params)
    spec = (str(final_dir(RunDir(training_dir(root, ev.training)), ev.checkpoint)) if ev.training is not None
            else params.model.spec)
    return frozen_planner(spec, trained), trained


def frozen_planner(spec: str, params: Params) -> Any:
    """A frozen planner with the params' planner settings over ``spec``: the params' own model (with its
    ``lora.adapter_path``, if any) or a trained checkpoint, whose LoRA is already merged, so no adapter."""
    adapter = params.model.lora.adapter_path if spec == params.model.spec else None
    frozen = params.model.lora.model_copy(update={"enabled": False, "adapter_path": adapter})
    policy = load_policy(params.model.model_copy(update={"spec": spec, "lora": frozen}))
    return Planner.from_params(policy, params.planner, contexts=prompt_contexts(params))


def evaluate(params: Params, run_dir: str | Path, *, progress: bool = True) -> Path:
    """Train what is needed, evaluate every variant and grid point on the same (task, seed) list, keep every
    episode's and state's record, write the report (intervals, contrasts); returns report.html."""
    refuse_several_processes("evaluate")
    run = RunDir.create(run_dir)
    run.save_params(params)
    root = ensure_expert_data(params, run)
    evals = plan_evaluations(params)
    needed, names = trainings_needed(evals), training_names(evals)
    stage_params = {(t, s): t.params(params).train.stage(s) for t, s in stages_to_compute(run.root, needed)}
    computed = [pair for pair, cfg in stage_params.items() if _trains(cfg)]
    keys = [evaluation_key(ev, params) for ev in evals]
    cached = read_cache(run.reports_dir / CACHE)
    new = [k for k in dict.fromkeys(keys) if k not in cached]
    kind = {key: row_kind(ev) for ev, key in zip(evals, keys)}
    pace = KindProgress("evaluate", [(STAGE_KIND[stage], stage_params[training, stage].max_steps)
                                     for training, stage in computed] + [kind[k] for k in new], unit="part")
    check_caps(params, run, root, computed)
    trained: list[Training] = []
    for number, (training, stages) in enumerate(needed.items(), start=1):
        target = training_dir(run.root, training)
        log.info(f"training {number}/{len(needed)}: {names[training]} in {target}")
        reuse_stages(run.root, training, trained, target)
        for stage in (s for s in STAGES if s in stages):
            start = time.perf_counter()
            train(training.params(params), target, stages=[stage], episodes_root=root)
            if progress and (training, stage) in computed:
                pace.finished(STAGE_KIND[stage], time.perf_counter() - start)
        trained.append(training)
    evaluations = _evaluate_all(params, run, evals, keys, cached, offline_episodes(params, root),
                                pace if progress else None)
    return write_report(evaluations, params.eval, protocol(params, run), run.reports_dir, grid_bases=grid_bases(params))


def check_caps(params: Params, run: RunDir, root: Path, computed: list[tuple[Training, str]]) -> None:
    """Every training still to compute, its reference plans against its token caps, before the first one starts
    (a refusal in the fifth training would come after an hour of the first four)."""
    stages: dict[Training, list[str]] = {}
    for training, stage in computed:
        stages.setdefault(training, []).append(stage)
    checked: set[str] = set()
    for training, names in stages.items():
        trained = training.params(params)
        key = trained.model_dump_json(include={"model", "planner", "data", "train"}) + " ".join(names)
        if key not in checked:
            checked.add(key)
            check_reference_plans(trained, training_dataset(trained, run, root)[0]["reference"], names)


def _trains(cfg: StageParams) -> bool:
    """Whether a stage computes anything (a disabled or zero-step stage passes its input on in no time)."""
    return cfg.enabled and cfg.max_steps > 0


STAGE_KIND = {"sft": "SFT training", "stage1": "Stage-1 training", "stage2": "Stage-2 training"}


def row_kind(ev: Evaluation) -> str:
    """What an evaluation row costs like: scripted rows are fast, model rows generate."""
    return "scripted row" if ev.variant in ("random", "expert") else "model row"


def stages_to_compute(root: Path, needed: dict[Training, set[str]]) -> list[tuple[Training, str]]:
    """The (training, stage) pairs ``evaluate`` will train, in order: not finished by an earlier run into this
    folder and not copied from an earlier training that computes the same model (:func:`reuse_stages`)."""
    out: list[tuple[Training, str]] = []
    before: list[Training] = []
    for training, stages in needed.items():
        for stage in (s for s in STAGES if s in stages):
            finished = final_dir(RunDir(training_dir(root, training)), stage).exists()
            twin = stage != "stage2" and any(stage in needed[t] and same_until(t, training, stage) for t in before)
            if not (finished or twin):
                out.append((training, stage))
        before.append(training)
    return out


def offline_episodes(params: Params, root: Path) -> list[Episode]:
    """The recorded test episodes offline evaluation forecasts from: per task, the first
    ``eval.offline_episodes_per_task`` (all when unset)."""
    limit = params.eval.offline_episodes_per_task
    kept: dict[str, int] = {}
    out = []
    for episode in expert_episodes(params, root, "test"):
        kept[episode.task] = kept.get(episode.task, 0) + 1
        if limit is None or kept[episode.task] <= limit:
            out.append(episode)
    return out


def _evaluate_all(params: Params, run: RunDir, evals: list[Evaluation], keys: list[str], cached: dict[str, Any],
                  test_episodes: list[Episode], pace: KindProgress | None) -> list[dict[str, Any]]:
    """Each evaluation's records (``keys[i]`` is ``evals[i]``'s cache key), from ``cached`` when the same
    evaluation was already run into this folder; with ``pace``, a line per evaluation on the kit's progress log."""
    cache_path = run.reports_dir / CACHE
    slots = {d.name: d.slots(params, params.eval.workers) for d in active(params)}
    agents = tool_agents(params, "eval")
    evaluations = []
    new = [k for k in dict.fromkeys(keys) if k not in cached]
    try:
        for ev, key in zip(evals, keys):
            if key not in cached:
                if pace is not None:
                    log.info(f"evaluation {new.index(key) + 1}/{len(new)}: {identity(ev)['label']}")
                start = time.perf_counter()
                cached[key] = _evaluate_one(ev, params, run, slots, agents, test_episodes)
                append_jsonl(cache_path, {"key": key, "evaluation": cached[key]})
                if pace is not None:
                    pace.finished(row_kind(ev), time.perf_counter() - start)
            evaluations.append({**cached[key], **identity(ev)})
    finally:
        for envs in slots.values():
            envs.close()
    return evaluations


def _evaluate_one(ev: Evaluation, params: Params, run: RunDir, slots: dict[str, BatchEnv],
                  agents: Callable[[str], ToolAgent], test_episodes: list[Episode]) -> dict[str, Any]:
    """One evaluation: online episodes of every active domain (held-out seeds and tasks) and offline states."""
    planner, trained = build_planner(ev, params, run.root)
    reference = expert_planner(trained.planner.horizon)
    start = time.perf_counter()
    label = identity(ev)["label"]
    episodes = []
    for domain in active(params):
        jobs = domain.eval_jobs(params)
        if jobs:
            episodes += run_jobs(planner, agents(jobs[0][0]), slots[domain.name], jobs,
                                 max_steps=domain.max_steps(params), variant=label, reference_planner=reference,
                                 reward=trained.reward, grounded=trained.grounded,
                                 stop_after=domain.stop_after(params))
    EpisodeStore(run.episodes_dir / "eval").write_all(episodes)
    states = offline_states(planner, test_episodes, agents, horizon=trained.planner.horizon,
                            batch_size=trained.planner.batch_size, reward=trained.reward,
                            protocol=trained.eval.protocol)
    return {**identity(ev), "horizon": trained.planner.horizon,
            "checkpoint": ev.checkpoint or ("untrained" if ev.variant == "base" else "scripted"),
            "episodes": [episode_record(e) for e in episodes], "states": states,
            "eval_seconds": time.perf_counter() - start}


def protocol(params: Params, run: RunDir) -> dict[str, Any]:
    """How the table was made, in words (printed under it)."""
    return {
        **{key: value for domain in active(params) for key, value in domain.protocol(params).items()},
        "training seeds": str(params.eval.training_seeds),
        "horizon (main)": params.planner.horizon,
        "model": params.model.spec, "checkpoints": str(run.root / "trainings"),
        "offline metrics": get_protocol(params.eval.protocol).describe(),
        "forecast metrics": "only the reference's real steps count, never the done padding past an episode's end",
        "intervals": "95%: Wilson for a success rate over independent episodes (one training seed); otherwise a "
                     "percentile bootstrap over (task, seed) blocks (2000 resamples); contrasts: paired block "
                     "bootstrap of the difference and, for 0/1 outcomes, McNemar's exact test",
    }


def reuse_stages(root: Path, training: Training, trained: list[Training], target: Path) -> None:
    """Copy the SFT and Stage-1 models of an already trained twin that computed the same stage (e.g. the main
    training's SFT for Stage-2-only, its Stage 1 for a Stage 2 against another executor) into ``target``, so
    those stages are skipped rather than recomputed."""
    import shutil

    for stage in ("sft", "stage1"):
        mine = final_dir(RunDir.create(target), stage)
        twin = next((t for t in trained if same_until(t, training, stage)
                     and final_dir(RunDir(training_dir(root, t)), stage).exists()), None)
        if twin is None or mine.exists():
            continue
        partial = mine.with_name("final.partial")  # renamed when complete: a crash never leaves a half model
        shutil.copytree(final_dir(RunDir(training_dir(root, twin)), stage), partial, dirs_exist_ok=True)
        partial.rename(mine)
