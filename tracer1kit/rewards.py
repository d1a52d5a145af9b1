"""Rewards: the Stage-1 trajectory reward and the Stage-2 grounded reward. Pure functions of plain records.

Stage 1 scores a whole forecast τ̂ against the reference trajectory τ* (defaults: the prototype recipe in
PAPER.md). Every term lies in [0, 1] and the total is their weighted sum, so a term is switched off by a
zero weight and unparseable output scores 0 on every term (the minimum):

- ``alignment``  Σ_t γ^(t-1)·sim(â_t, a*_t) / Σ_t γ^(t-1) over reference positions; steps aligned by position
                 when lengths match, else greedily with ``offset_penalty`` per position of offset.
- ``coverage``   1 − extra_step_penalty·#extra − missing_step_penalty·#missing (floored at 0).
- ``done``       whether the forecast's final status agrees with the reference's.
- ``repetition`` 1 − repetition_penalty·Σ_t γ^(t-1)·events_t (floored at 0), counting repetitions the reference
                 does not have, by identity (three identical actions X in a row = 1 event of X; an A-B-A-B-A
                 cycle = 2 events of {A, B}; each event the reference has excuses one forecast event of the
                 same identity, earliest first, so clicking OK three times is penalised against a reference
                 that presses Backspace three times). Actions are compared by ``Step.key``.
- ``format``     1 for the exact ``<think>…</think><answer>…</answer>`` layout, 0.5 if parseable only leniently.

``sim`` requires the action type to match; the current step weighs type vs detail as
``current_type_weight`` (0.6/0.4) and future steps as ``future_type_weight`` (0.8/0.2); the current step's
click target and any scroll direction must match; text matches by normalised substring; the done status
counts ``status_weight`` (0.3) of the similarity.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Callable, Sequence

from .actions import ActionType, Plan, Step, completion_text, parse_plan, real_steps, try_parse_plan
from .episodes import Episode, Feedback, StepRecord
from .params import GroundedRewardParams, RewardParams
from .text import normalize, text_match

TERMS = ("alignment", "coverage", "done", "repetition", "format")


def _detail(pred: Step, ref: Step, current: bool) -> float | None:
    """Argument agreement in [0, 1], or ``None`` when a hard requirement fails (then sim = 0)."""
    action = ref.action
    if action is ActionType.SCROLL:
        return 1.0 if normalize(pred.value) == normalize(ref.value) else None
    if action in (ActionType.WAIT, ActionType.DONE):
        return 1.0
    if action is ActionType.PRESS:
        return text_match(pred.value, ref.value)
    if action is ActionType.ANSWER:
        return text_match(pred.value, ref.value)
    parts = []
    if ref.target or pred.target:
        target = text_match(pred.target, ref.target)
        if current and action in (ActionType.CLICK, ActionType.CALL) and target < 1.0:
            return None
        parts.append(target)
    if ref.value or pred.value:
        parts.append(text_match(pred.value, ref.value))
    ref_args = ref.args_dict
    if ref_args:
        pred_args = pred.args_dict
        parts.append(sum(text_match(pred_args.get(k, ""), v) for k, v in ref_args.items()) / len(ref_args))
    return sum(parts) / len(parts) if parts else 1.0


def step_similarity(pred: Step, ref: Step, current: bool, params: RewardParams) -> float:
    """Agreement of a predicted and a reference step in [0, 1] (see the module docstring)."""
    if pred.action is not ref.action:
        return 0.0
    detail = _detail(pred, ref, current)
    if detail is None:
        return 0.0
    type_weight = params.current_type_weight if current else params.future_type_weight
    action_sim = type_weight + (1.0 - type_weight) * detail
    status = 1.0 if pred.done == ref.done else 0.0
    return (1.0 - params.status_weight) * action_sim + params.status_weight * status


def align(pred: Sequence[Step], ref: Sequence[Step], params: RewardParams) -> list[tuple[int | None, float]]:
    """For each reference position: the matched predicted position (or None) and its score."""
    if len(pred) == len(ref):
        return [(j, step_similarity(pred[j], ref[j], j == 0, params)) for j in range(len(ref))]
    used: set[int] = set()
    out: list[tuple[int | None, float]] = []
    for j, ref_step in enumerate(ref):
        best, best_score = None, 0.0
        for i, pred_step in enumerate(pred):
            if i in used:
                continue
            score = step_similarity(pred_step, ref_step, j == 0, params) - params.offset_penalty * abs(i - j)
            if score > best_score:
                best, best_score = i, score
        if best is not None:
            used.add(best)
        out.append((best, best_score))
    return out


# A repetition: (the 0-based position it ends at, the repeating actions' Step.key values, its number of events).
Repetition = tuple[int, frozenset[tuple[Any, ...]], int]


def repetitions(steps: Sequence[Step]) -> list[Repetition]:
    """Every repetition in order: three identical actions X in a row end one event of {X} at the third; an
    A-B-A-B-A cycle ends two events of {A, B} at its fifth step."""
    keys = [s.key for s in steps]
    found = []
    for t in range(len(keys)):
        if t >= 2 and keys[t] == keys[t - 1] == keys[t - 2]:
            found.append((t, frozenset({keys[t]}), 1))
        if (t >= 4 and keys[t] == keys[t - 2] == keys[t - 4] and keys[t - 1] == keys[t - 3]
                and keys[t] != keys[t - 1]):
            found.append((t, frozenset({keys[t], keys[t - 1]}), 2))
    return found


def repetition_events(steps: Sequence[Step], reference: Sequence[Step] = ()) -> list[int]:
    """Repetition events ending at each position that the ``reference`` does not excuse: each reference event
    excuses one event of the same repeating actions, earliest first (see the module docstring)."""
    allowance: Counter[frozenset[tuple[Any, ...]]] = Counter()
    for _, keys, count in repetitions(reference):
        allowance[keys] += count
    events = [0] * len(steps)
    for t, keys, count in repetitions(steps):
        excused = min(count, allowance[keys])
        allowance[keys] -= excused
        events[t] += count - excused
    return events


def format_score(text: str, parsed: bool) -> float:
    """1 for the exact layout ``<think>…</think>`` then ``<answer>…</answer>`` and nothing else, 0.5 if only parseable."""
    if not parsed:
        return 0.0
    stripped = text.strip()
    exact = (stripped.startswith("<think>") and stripped.endswith("</answer>")
             and stripped.count("<answer>") == 1 and stripped.count("</think>") == 1)
    return 1.0 if exact else 0.5


@dataclass(frozen=True)
class RewardBreakdown:
    """The total reward, each term's value in [0, 1], and per-reference-position detail."""

    total: float
    terms: dict[str, float]
    per_step: list[dict[str, Any]] = field(default_factory=list)
    parse_error: str | None = None


def trajectory_reward(pred: Plan | None, ref: Plan, params: RewardParams, *, text: str | None = None,
                      parse_error: str | None = None, positions: int | None = None) -> RewardBreakdown:
    """The Stage-1 reward of a forecast ``pred`` against the reference ``ref``; ``pred=None`` means unparseable.

    ``positions`` limits the alignment term and the missing-step penalty to the reference's first positions
    (evaluation passes the real steps, :func:`~tracer1kit.actions.real_steps`, so ``done`` padding is neither
    averaged over nor owed); ``None`` counts every position, padding included, as Stage-1 training does."""
    weights = params.weights.model_dump()
    if pred is None or not pred.steps:
        return RewardBreakdown(0.0, {t: 0.0 for t in TERMS}, [], parse_error or "empty plan")
    gamma = params.gamma
    matches = align(pred.steps, ref.steps, params)
    counted = len(ref.steps) if positions is None else max(1, min(positions, len(ref.steps)))
    discounts = [gamma ** j for j in range(len(ref.steps))]
    norm = sum(discounts[:counted]) or 1.0
    alignment = sum(d * s for d, (_, s) in zip(discounts[:counted], matches)) / norm
    extra = max(0, len(pred.steps) - len(ref.steps))
    missing = max(0, counted - len(pred.steps))
    coverage = max(0.0, 1.0 - params.extra_step_penalty * extra - params.missing_step_penalty * missing)
    done = 1.0 if pred.steps[-1].done == (ref.steps[-1].done if ref.steps else True) else 0.0
    events = repetition_events(pred.steps, ref.steps)
    repetition = max(0.0, 1.0 - params.repetition_penalty * sum(gamma ** t * e for t, e in enumerate(events)))
    fmt = format_score(text, True) if text is not None else 1.0
    terms = {"alignment": alignment, "coverage": coverage, "done": done, "repetition": repetition, "format": fmt}
    total = sum(weights[t] * terms[t] for t in TERMS)
    per_step = [{"position": j + 1, "matched": i + 1 if i is not None else None, "similarity": s, "discount": d}
                for j, ((i, s), d) in enumerate(zip(matches, discounts))]
    return RewardBreakdown(total, terms, per_step)


def score_text(text: str, reference: str | Plan, params: RewardParams) -> RewardBreakdown:
    """Parse untrusted planner output and score it; never raises on the completion."""
    ref = reference if isinstance(reference, Plan) else parse_plan(reference)
    outcome = try_parse_plan(text)
    return trajectory_reward(outcome.plan, ref, params, text=text, parse_error=outcome.error)


RewardFunc = Callable[..., list[float]]


def stage1_reward_funcs(params: RewardParams) -> tuple[list[RewardFunc], list[float]]:
    """TRL ``reward_funcs`` and ``reward_weights`` for Stage 1: one function per term, plus ``parsed``.

    Each function has TRL's signature ``f(completions, reference, **kwargs) -> list[float]`` where the dataset
    column ``reference`` holds the reference plan text; TRL then logs every term's mean and std. ``parsed``
    (weight 0) reports 1 − the parse-failure rate. Completions are scored once and cached across the terms.
    """

    @lru_cache(maxsize=8192)
    def breakdown(text: str, reference: str) -> RewardBreakdown:
        return score_text(text, reference, params)

    def make(term: str) -> RewardFunc:
        def reward(completions: list[Any], reference: list[str], **_: Any) -> list[float]:
            return [breakdown(completion_text(c), r).terms[term] for c, r in zip(completions, reference)]
        reward.__name__ = term
        return reward

    def parsed(completions: list[Any], reference: list[str], **_: Any) -> list[float]:
        return [float(breakdown(completion_text(c), r).parse_error is None) for c, r in zip(completions, reference)]

    weights = params.weights.model_dump()
    active = [t for t in TERMS if weights[t] > 0]
    return [make(t) for t in active] + [parsed], [weights[t] for t in active] + [0.0]


def stage1_reward(params: RewardParams) -> RewardFunc:
    """One TRL reward function returning the total Stage-1 reward (for a plain GRPOTrainer)."""

    def trajectory(completions: list[Any], reference: list[str], **_: Any) -> list[float]:
        return [score_text(completion_text(c), r, params).total for c, r in zip(completions, reference)]

    return trajectory


def grounded_reward(feedback: Feedback | None, params: GroundedRewardParams) -> dict[str, float]:
    """Stage-2 reward terms from execution feedback: executable, matched (the right step), advanced; plus total.

    ``feedback=None`` (unparseable plan, nothing executed) scores 0 on every term.
    """
    if feedback is None:
        terms = {"executable": 0.0, "matched": 0.0, "advanced": 0.0}
    else:
        terms = {
            "executable": float(feedback.executable),
            "matched": float(bool(feedback.executable and feedback.matched_reference)),
            "advanced": float(bool(feedback.executable and feedback.advanced)),
        }
    weights = grounded_weights(params)
    terms["total"] = sum(weights[k] * terms[k] for k in weights)
    return terms


def grounded_weights(params: GroundedRewardParams) -> dict[str, float]:
    """Each Stage-2 term's share of the total (the weights over their sum; 0 for ``advanced`` offline, where recorded
    states cannot advance: the paper's offline form)."""
    weights = {"executable": params.executable, "matched": params.matched, "advanced": params.advanced}
    if params.mode == "offline":
        weights["advanced"] = 0.0
    total_weight = sum(weights.values()) or 1.0
    return {term: weight / total_weight for term, weight in weights.items()}


def score_record(record: StepRecord, params: RewardParams, grounded: GroundedRewardParams) -> dict[str, float]:
    """A loop step's reward breakdown (``stage1/<term>``, ``stage1/total``, ``grounded/<term>``, ``grounded/total``)
    from its record: the forecast against its reference's real steps (not the ``done`` padding) and the
    execution feedback. Empty without a reference."""
    if record.reference is None:
        return {}
    breakdown = trajectory_reward(record.plan, record.reference, params, text=record.raw_text,
                                  parse_error=record.parse_error, positions=real_steps(record.reference))
    rewards = {f"stage1/{k}": v for k, v in breakdown.terms.items()}
    rewards["stage1/total"] = breakdown.total
    rewards.update({f"grounded/{k}": v for k, v in grounded_reward(record.feedback, grounded).items()})
    return rewards


def score_episode(episode: Episode, params: RewardParams, grounded: GroundedRewardParams) -> Episode:
    """The episode with every step's ``rewards`` scored by :func:`score_record`."""
    return replace(episode, steps=tuple(replace(r, rewards=score_record(r, params, grounded)) for r in episode.steps))
