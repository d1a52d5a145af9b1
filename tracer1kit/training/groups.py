"""GRPO groups that carry signal: which groups are all-equal, and the pre-pass that keeps the training states the
current model gets wrong (plus a seeded share of easy ones) before a GRPO stage.

GRPO's advantage is a completion's reward minus its group's mean: a group whose rewards are all equal teaches
nothing. The pre-pass predicts those groups: the stage's starting model samples a group per training state (TRL's
own generation and reward path, see :class:`~tracer1kit.training.signal_trainer.GroupSignalTrainer`), and a state
is *hard* when

- ``keep: unsolved``: some sample scores below the reference plan's own reward (the model does not solve it), or
- ``keep: mixed``: the samples' rewards are not all equal (GRPO would learn from it now).

The selection is a pure function of the scores and a seed; its record is saved beside the stage's checkpoints
(``prepass.json``) and reused when the stage resumes, and its counts are logged as ``prepass/*`` metrics.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from ..params import GrpoParams
from ..runs import RunDir, atomic_write_text
from .common import TrainingInputError, stage_dir

EQUAL_TOL = 1e-8   # as TRL: a group is all-equal when its reward std is 0 up to float noise
SOLVED_TOL = 1e-6  # a sample solves a state when it scores at least the reference's reward minus this


def all_equal(rewards: Sequence[float], tol: float = EQUAL_TOL) -> bool:
    """Whether a group's rewards are all equal (GRPO's advantages are then zero)."""
    return max(rewards) - min(rewards) <= tol


def solved(rewards: Sequence[float], best: float, tol: float = SOLVED_TOL) -> bool:
    """Whether every sample scores at least ``best`` (the reference plan's own reward)."""
    return min(rewards) >= best - tol


def is_hard(rewards: Sequence[float], best: float | None, keep: str) -> bool:
    """A state the pre-pass keeps: unsolved (``keep='unsolved'``) or with unequal rewards (``keep='mixed'``)."""
    if keep == "mixed":
        return not all_equal(rewards)
    if keep == "unsolved":
        if best is None:
            raise ValueError("keep='unsolved' needs the reference plan's reward of every state")
        return not solved(rewards, best)
    raise ValueError(f"keep must be 'unsolved' or 'mixed' (got {keep!r})")


@dataclass(frozen=True)
class Selection:
    """The states a GRPO stage trains on after the pre-pass: ``states`` of the training set's ``pool`` were
    scored; ``kept``, ``hard`` and ``easy_kept`` are indices into the training set, ascending."""

    pool: int
    states: int
    kept: tuple[int, ...]
    hard: tuple[int, ...]
    easy_kept: tuple[int, ...]
    equal: int
    solved: int | None  # None: not known (keep='mixed' does not score the reference)

    def metrics(self) -> dict[str, float]:
        """The ``prepass/*`` counts logged to ``metrics.jsonl``."""
        out = {"prepass/pool": self.pool, "prepass/states": self.states, "prepass/hard": len(self.hard),
               "prepass/kept": len(self.kept),
               "prepass/kept_easy": len(self.easy_kept), "prepass/equal_frac": self.equal / max(1, self.states)}
        if self.solved is not None:
            out["prepass/solved_frac"] = self.solved / max(1, self.states)
        return out

    def describe(self, stage: str) -> str:
        solved = "" if self.solved is None else f", {self.solved} solved by every sample"
        scored = "" if self.states == self.pool else f" scored (of {self.pool})"
        return (f"{stage} pre-pass: kept {len(self.kept)} of {self.states} states{scored} ({len(self.hard)} hard, "
                f"{len(self.easy_kept)} easy); {self.equal} had all-equal rewards{solved}")


def select_states(groups: Sequence[Sequence[float]], best: Sequence[float] | None, *, keep: str, keep_easy: float,
                  seed: int, minimum: int = 1, indices: Sequence[int] | None = None, pool: int | None = None
                  ) -> Selection:
    """Keep every hard state and a seeded share ``keep_easy`` of the others (at least ``minimum`` states in all,
    topped up with easy ones: a GRPO step needs that many distinct prompts). ``indices``: each group's index in
    the training set of ``pool`` states (default: the groups are the whole training set, in order)."""
    if not 0.0 <= keep_easy <= 1.0:
        raise ValueError(f"keep_easy must be in [0, 1] (got {keep_easy})")
    if best is not None and len(best) != len(groups):
        raise ValueError(f"{len(best)} reference rewards for {len(groups)} states")
    indices = list(range(len(groups))) if indices is None else list(indices)
    if len(indices) != len(groups):
        raise ValueError(f"{len(indices)} training-set indices for {len(groups)} states")
    hard = [indices[i] for i, g in enumerate(groups) if is_hard(g, best[i] if best is not None else None, keep)]
    hard_set = set(hard)
    easy = [i for i in indices if i not in hard_set]
    wanted = max(round(keep_easy * len(easy)), minimum - len(hard))
    easy_kept = sorted(random.Random(seed).sample(easy, min(len(easy), max(0, wanted))))
    return Selection(
        pool=len(groups) if pool is None else pool, states=len(groups), kept=tuple(sorted(hard + easy_kept)),
        hard=tuple(sorted(hard)), easy_kept=tuple(easy_kept),
        equal=sum(all_equal(g) for g in groups),
        solved=sum(solved(g, b) for g, b in zip(groups, best)) if best is not None else None)


def prepass_path(run: RunDir, stage: str):
    return stage_dir(run, stage) / "prepass.json"


def saved_selection(run: RunDir, stage: str, pool: int) -> Selection | None:
    """The selection an earlier attempt of this stage saved (for a training set of the same size), or None."""
    path = prepass_path(run, stage)
    if not path.exists():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    if record["selection"].get("pool") != pool:
        return None
    return Selection(**{k: tuple(v) if isinstance(v, list) else v for k, v in record["selection"].items()})


def save_selection(run: RunDir, stage: str, selection: Selection, rows: list[dict[str, Any]]) -> None:
    path = prepass_path(run, stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"selection": asdict(selection), "rows": rows}, ensure_ascii=False) + "\n")


def scored_states(size: int, max_states: int | None, seed: int) -> list[int]:
    """The training-set indices the pre-pass scores: all, or a seeded sample of ``max_states`` (ascending)."""
    if max_states is None or max_states >= size:
        return list(range(size))
    return sorted(random.Random(seed).sample(range(size), max_states))


def state_rows(dataset: Any, indices: Sequence[int], groups: Sequence[Sequence[float]],
               best: Sequence[float] | None, selection: Selection) -> list[dict[str, Any]]:
    """One record per scored state (what it is, its group's rewards, the reference's reward, whether kept)."""
    kept, hard = set(selection.kept), set(selection.hard)
    ids = {k: dataset[k] for k in ("task", "seed", "step") if k in dataset.column_names}
    return [{"index": i, **{k: v[i] for k, v in ids.items()}, "rewards": [round(r, 6) for r in g],
             "best": None if best is None else round(best[n], 6), "hard": i in hard, "kept": i in kept}
            for n, (i, g) in enumerate(zip(indices, groups))]


def run_prepass(trainer: Any, dataset: Any, cfg: GrpoParams, run: RunDir, stage: str, seed: int, *,
                resume: bool = False) -> tuple[Any, str]:
    """Score the training states (all, or a seeded sample of ``prepass.max_states``) with ``trainer`` (a
    :class:`GroupSignalTrainer` before ``train()``), select, save and log; returns the kept subset of ``dataset``
    and a summary line. A resumed stage reuses the selection its first attempt saved."""
    minimum = max(1, trainer.args.generation_batch_size // cfg.num_generations)
    if min(len(dataset), cfg.prepass.max_states or len(dataset)) < minimum:
        raise TrainingInputError(f"train.{stage}.prepass: {len(dataset)} training states (max_states "
                                 f"{cfg.prepass.max_states}), fewer than the {minimum} prompts one step needs")
    selection = saved_selection(run, stage, len(dataset)) if resume else None
    if selection is not None:
        return dataset.select(selection.kept), selection.describe(stage) + " (saved)"
    if cfg.prepass.keep == "unsolved" and "reference" not in dataset.column_names:
        raise TrainingInputError(f"train.{stage}.prepass.keep: 'unsolved' compares with the reference plan, and "
                                 "the dataset has no 'reference' column; use keep: mixed")
    start = time.perf_counter()
    indices = scored_states(len(dataset), cfg.prepass.max_states, seed)
    rows = [dataset[i] for i in indices]
    groups = trainer.group_rewards(rows, cfg.prepass.samples or cfg.num_generations)
    best = trainer.reference_rewards(rows) if cfg.prepass.keep == "unsolved" else None
    selection = select_states(groups, best, keep=cfg.prepass.keep, keep_easy=cfg.prepass.keep_easy, seed=seed,
                              minimum=minimum, indices=indices, pool=len(dataset))
    if trainer.accelerator.is_main_process:
        save_selection(run, stage, selection, state_rows(dataset, indices, groups, best, selection))
    # through the trainer: to RUN/metrics.jsonl (the metrics callback, main process) and to the trackers
    trainer.log({**selection.metrics(), "prepass/seconds": time.perf_counter() - start})
    return dataset.select(selection.kept), selection.describe(stage)
