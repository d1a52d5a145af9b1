"""``evaluate(params, run_dir)``: train what the variants need (sub-runs under ``RUN/trainings``), evaluate every
variant and grid point, store the episodes for the inspector under ``RUN/episodes/eval`` and write the report to
``RUN/reports``. Evaluations already computed for the same params are reused from ``reports/evaluations.jsonl``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ..agents.grounding import DomGrounder
from ..agents.planner import Planner, RandomPlanner
from ..agents.tools import ToolExecutor, tool_descriptions
from ..envs.factory import env_slots
from ..episodes import EpisodeStore
from ..experts.data import ensure_expert_data, expert_episodes
from ..experts.planner import ExpertPlanner
from ..metrics import get_protocol
from ..models import load_policy
from ..params import Params
from ..runs import RunDir, append_jsonl, read_jsonl
from ..training.common import STAGES, final_dir
from ..training.pipeline import train
from .offline import offline_metrics
from .online import gui_jobs, run_jobs, summarize, tool_jobs, tool_use_summary
from .report import write_report
from .variants import Evaluation, Training, plan_evaluations, same_sft, training_dir, trainings_needed

TABLE_METRICS = ("gui_success", "heldout_success", "tool_answer_acc", "offline_grounding_acc", "offline_step_sr",
                 "offline_stage1_reward", "forecast_agreement", "stage1_reward", "non_executable_rate")
KEY_EXCLUDES = {"run": {"name", "notebooks"},
                "eval": {"variants", "horizons", "gammas", "repetition_weights", "training_seeds", "workers"}}


def build_planner(ev: Evaluation, params: Params, root: Path) -> tuple[Any, Params]:
    """The planner a row evaluates, and the params it is evaluated with (:func:`row_params`)."""
    if ev.variant == "random":
        return RandomPlanner(horizon=params.planner.horizon, seed=ev.seed), params
    if ev.variant == "expert":
        return ExpertPlanner(horizon=params.planner.horizon), params
    trained = row_params(ev, params)
    spec = (str(final_dir(RunDir(training_dir(root, ev.training)), ev.checkpoint)) if ev.training is not None
            else params.model.spec)
    return frozen_planner(spec, trained), trained


def row_params(ev: Evaluation, params: Params) -> Params:
    """A row's training params (its horizon, model) with the evaluation's reward, so the γ and λ_rep grid
    points, trained under different rewards, are scored by the same one."""
    trained = ev.training.params(params) if ev.training is not None else params
    return trained.model_copy(update={"reward": params.reward})


def frozen_planner(spec: str, params: Params) -> Any:
    """A frozen planner with the params' planner settings over ``spec``: the params' own model (with its
    ``lora.adapter_path``, if any) or a trained checkpoint, whose LoRA is already merged, so no adapter."""
    adapter = params.model.lora.adapter_path if spec == params.model.spec else None
    frozen = params.model.lora.model_copy(update={"enabled": False, "adapter_path": adapter})
    policy = load_policy(params.model.model_copy(update={"spec": spec, "lora": frozen}))
    return Planner.from_params(policy, params.planner, tools_text=tool_descriptions())


def evaluate(params: Params, run_dir: str | Path, *, progress: bool = True) -> Path:
    """Train what is needed, evaluate every variant and grid point, write the report; returns report.html."""
    from tqdm.auto import tqdm

    run = RunDir.create(run_dir)
    run.save_params(params)
    root = ensure_expert_data(params, run)
    evals = plan_evaluations(params)
    trained: list[Training] = []
    for training, stages in trainings_needed(evals).items():
        target = training_dir(run.root, training)
        reuse_sft(run.root, training, trained, target)
        train(training.params(params), target, stages=[s for s in STAGES if s in stages], episodes_root=root)
        trained.append(training)
    test_episodes = expert_episodes(params, root, "test")
    cache_path = run.reports_dir / "evaluations.jsonl"
    cached = {r["key"]: r["row"] for r in read_jsonl(cache_path)}
    grounder, executor = DomGrounder(), ToolExecutor()
    rows = []
    gui_slots = env_slots(params, params.eval.workers)
    tool_slots = env_slots(params)
    try:
        for ev in tqdm(evals, desc="evaluations", disable=not progress):
            key = evaluation_key(ev, params)
            if key in cached:
                rows.append(cached[key])
                continue
            planner, trained = build_planner(ev, params, run.root)
            reference = ExpertPlanner(horizon=trained.planner.horizon)
            start = time.perf_counter()
            label = f"{ev.variant}" + (f"-{ev.grid}{ev.grid_value:g}" if ev.grid else "") + f"-s{ev.seed}"
            gui = run_jobs(planner, grounder, gui_slots, gui_jobs(params), max_steps=params.env.max_steps,
                           variant=label, reference_planner=reference, params=trained)
            tools = (run_jobs(planner, executor, tool_slots, tool_jobs(params), max_steps=params.tooluse.max_steps,
                              variant=label, reference_planner=reference, params=trained)
                     if params.tooluse.enabled else [])
            EpisodeStore(run.episodes_dir / "eval").write_all(gui + tools)
            seen = summarize([e for e in gui if e.split == "test"])
            heldout = summarize([e for e in gui if e.split == "heldout"])
            everything = summarize(gui + tools)
            checkpoint = ev.checkpoint or ("untrained" if ev.variant == "base" else "scripted")
            row: dict[str, Any] = {
                "variant": ev.variant, "grid": ev.grid, "grid_value": ev.grid_value, "seed": ev.seed,
                "horizon": trained.planner.horizon, "checkpoint": checkpoint,
                "gui_success": seen.success_rate, "heldout_success": heldout.success_rate,
                "gui_steps": seen.mean_steps, "non_executable_rate": everything.non_executable_rate,
                "parse_failure_rate": everything.parse_failure_rate,
                "stage1_reward": _mean(r.rewards.get("stage1/total") for e in gui + tools for r in e.steps),
                "first_step_matched": _mean(float(bool(r.feedback and r.feedback.matched_reference))
                                            for e in gui + tools for r in e.steps),
                "eval_seconds": time.perf_counter() - start,
            }
            if tools:
                row.update({f"tool_{k}": v for k, v in tool_use_summary(tools).items()})
            row.update(offline_metrics(planner, test_episodes, trained, grounder, executor))
            append_jsonl(cache_path, {"key": key, "row": row})
            rows.append(row)
    finally:
        for slots in (gui_slots, tool_slots):
            slots.close()
    protocol = {
        "gui tasks (held-out seeds)": ", ".join(params.env.tasks),
        "held-out tasks": ", ".join(params.env.heldout_tasks) or "none",
        "test seeds": str(params.env.test_seeds[: params.eval.episodes_per_task]),
        "tool-use test seeds": str(params.tooluse.test_seeds) if params.tooluse.enabled else "disabled",
        "training seeds": str(params.eval.training_seeds),
        "horizon (main)": params.planner.horizon, "max steps": params.env.max_steps,
        "model": params.model.spec, "checkpoints": str(run.root / "trainings"),
        "success": "MiniWoB++ raw reward > 0 (undecayed); tool use: answer within tolerance",
        "offline metrics": offline_protocol(params),
    }
    return write_report(rows, protocol, run.reports_dir, TABLE_METRICS)


def stored_rows(params: Params, run_dir: str | Path) -> list[dict[str, Any]]:
    """The result rows of every evaluation ``params`` asks for, read from the run's cache without computing or
    writing anything; ``FileNotFoundError`` says which are missing and how to compute them."""
    cache = {r["key"]: r["row"] for r in read_jsonl(RunDir(Path(run_dir)).reports_dir / "evaluations.jsonl")}
    evals = plan_evaluations(params)
    missing = [ev for ev in evals if evaluation_key(ev, params) not in cache]
    if missing:
        names = ", ".join(sorted({f"{ev.variant}-s{ev.seed}" for ev in missing}))
        raise FileNotFoundError(f"{len(missing)} of {len(evals)} evaluations of these params are not in {run_dir} "
                                f"({names}): run `tracer1kit evaluate PARAMS --run-dir {run_dir}` (or notebook 00) first")
    return [cache[evaluation_key(ev, params)] for ev in evals]


def reuse_sft(root: Path, training: Training, trained: list[Training], target: Path) -> None:
    """Copy the SFT model of an already trained twin (e.g. the main training for Stage-2-only) into ``target``
    so its SFT stage is skipped rather than recomputed."""
    import shutil

    mine = final_dir(RunDir.create(target), "sft")
    twin = next((t for t in trained if same_sft(t, training)
                 and final_dir(RunDir(training_dir(root, t)), "sft").exists()), None)
    if twin is None or mine.exists():
        return
    partial = mine.with_name("final.partial")  # renamed when complete: a crash never leaves a half model
    shutil.copytree(final_dir(RunDir(training_dir(root, twin)), "sft"), partial, dirs_exist_ok=True)
    partial.rename(mine)


def evaluation_key(ev: Evaluation, params: Params) -> str:
    """Identifies an evaluation: what is evaluated and every param it depends on (not the run's name, nor the
    lists of variants, grid points, seeds and workers that only choose which evaluations run)."""
    return json.dumps([ev.variant, ev.grid, ev.grid_value, ev.seed, ev.checkpoint,
                       row_params(ev, params).model_dump(mode="json", exclude=KEY_EXCLUDES)], sort_keys=True)


def offline_protocol(params: Params) -> str:
    return get_protocol(params.eval.protocol).describe()


def _mean(values: Any) -> float:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else 0.0
