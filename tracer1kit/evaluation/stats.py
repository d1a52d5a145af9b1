"""Statistics of evaluation results: pure functions of per-episode (or per-state) records.

- :func:`rate_interval`: a success rate with its 95% interval: Wilson when every unit is independent (one
  training seed), else a percentile bootstrap that resamples whole blocks (the same (task, seed) evaluated
  under several training seeds stays together).
- :func:`mean_interval`: a mean with a block-bootstrap interval (blocks: episodes or (task, seed) pairs).
- :func:`paired_contrast`: A − B on the units both were evaluated on: the mean paired difference, its
  paired block-bootstrap interval, an exact McNemar p-value for binary outcomes, and a verdict.
- :func:`mdd_unpaired` / :func:`mdd_paired`: the minimum detectable difference at 80% power, α = 0.05.

scipy does the work (Wilson bounds, the exact binomial test, the bootstrap); this module only shapes records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

import numpy as np
from scipy import optimize, stats

LEVEL = 0.95
ALPHA = 0.05
POWER = 0.80
RESAMPLES = 2000

Record = dict[str, Any]


@dataclass(frozen=True)
class Estimate:
    """A value with its interval: ``n`` units (episodes, states or pairs), ``method`` how the interval was made."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    method: str

    def text(self, digits: int = 3) -> str:
        if self.value is None:
            return "–"
        if self.low is None or self.high is None:
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"

    def separates_from(self, other: "Estimate") -> bool:
        """Whether the two intervals do not overlap (used only to mark a best row, never as a test)."""
        if None in (self.low, self.high, other.low, other.high):
            return False
        return self.low > other.high or self.high < other.low  # type: ignore[operator]


NONE = Estimate(None, None, None, 0, "no data")


def wilson(successes: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The Wilson score interval of ``successes`` out of ``n`` (``n`` > 0)."""
    ci = stats.binomtest(successes, n).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def _blocks(values: Sequence[float], blocks: Sequence[Hashable]) -> tuple[np.ndarray, np.ndarray]:
    """Per block: the sum of its values and its count (blocks in first-seen order)."""
    index: dict[Hashable, int] = {}
    for block in blocks:
        index.setdefault(block, len(index))
    sums, counts = np.zeros(len(index)), np.zeros(len(index))
    for value, block in zip(values, blocks):
        sums[index[block]] += value
        counts[index[block]] += 1
    return sums, counts


def block_bootstrap(values: Sequence[float], blocks: Sequence[Hashable], level: float = LEVEL,
                    resamples: int = RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of the mean of ``values`` when whole ``blocks`` are resampled (ratio of sums)."""
    sums, counts = _blocks(values, blocks)
    if len(sums) < 2:
        mean = float(sums.sum() / counts.sum())
        return mean, mean

    def ratio(s: np.ndarray, c: np.ndarray, axis: int = -1) -> np.ndarray:
        return s.sum(axis=axis) / c.sum(axis=axis)

    result = stats.bootstrap((sums, counts), ratio, paired=True, vectorized=True, method="percentile",
                             confidence_level=level, n_resamples=resamples, rng=np.random.default_rng(seed))
    low, high = result.confidence_interval
    return float(low), float(high)


def rate_interval(outcomes: Sequence[bool], blocks: Sequence[Hashable] | None = None, *,
                  independent: bool = True) -> Estimate:
    """A success rate and its 95% interval: Wilson when the units are ``independent``, else a block bootstrap."""
    n = len(outcomes)
    if n == 0:
        return NONE
    k = sum(bool(o) for o in outcomes)
    if independent or blocks is None:
        low, high = wilson(k, n)
        return Estimate(k / n, low, high, n, "Wilson")
    low, high = block_bootstrap([float(o) for o in outcomes], blocks)
    return Estimate(k / n, low, high, n, "block bootstrap")


def mean_interval(values: Sequence[float], blocks: Sequence[Hashable]) -> Estimate:
    """A mean and its 95% block-bootstrap interval (each value's block given in ``blocks``)."""
    if not values:
        return NONE
    low, high = block_bootstrap(values, blocks)
    return Estimate(float(np.mean(values)), low, high, len(values), "block bootstrap")


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs (A right and B wrong, and the reverse)."""
    discordant = a_only + b_only
    if discordant == 0:
        return 1.0
    return float(stats.binomtest(min(a_only, b_only), discordant, 0.5).pvalue)


def _z(p: float) -> float:
    return float(stats.norm.ppf(p))


def mdd_unpaired(n: int, rate: float = 0.5, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest difference of two success rates near ``rate`` that ``n`` episodes per arm detect with the
    given power (two-sided, unpaired normal approximation); ``rate = 0.5`` is the worst case."""
    if n <= 0:
        return math.inf
    return (_z(1 - alpha / 2) + _z(power)) * math.sqrt(2 * rate * (1 - rate) / n)


def mdd_paired(n: int, discordant: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest paired difference that ``n`` pairs with a ``discordant`` share of disagreeing pairs detect
    (McNemar, normal approximation: n = (z_a·√ψ + z_b·√(ψ − d²))² / d²)."""
    if n <= 0 or discordant <= 0:
        return math.inf
    z_a, z_b = _z(1 - alpha / 2), _z(power)

    def needed(d: float) -> float:
        return (z_a * math.sqrt(discordant) + z_b * math.sqrt(max(discordant - d * d, 0.0))) ** 2 / (d * d) - n

    high = math.sqrt(discordant)
    if needed(high) > 0:  # even the largest difference these pairs allow needs more pairs
        return math.inf
    return float(optimize.brentq(needed, 1e-9, high))


@dataclass(frozen=True)
class Contrast:
    """A − B on paired units: the difference, its interval, McNemar's p (binary outcomes) and the verdict."""

    name: str
    metric: str
    a: str
    b: str
    difference: Estimate
    p_value: float | None
    a_only: int
    b_only: int
    mdd: float

    @property
    def verdict(self) -> str:
        d = self.difference
        if d.value is None or d.low is None or d.high is None:
            return "no paired data"
        if d.value == d.low == d.high == 0:
            return f"identical on all {d.n} pairs"
        significant = self.p_value is None or self.p_value < ALPHA
        if d.low > 0 and significant:
            return f"{self.a} is better"
        if d.high < 0 and significant:
            return f"{self.b} is better"
        return "not distinguishable at this size"

    def sentence(self) -> str:
        """One plain sentence: ``full − reactive = +0.07 [+0.02, +0.12], p = 0.01: full is better``."""
        d = self.difference
        if d.value is None:
            return f"{self.name} ({self.metric}): no paired data"
        p = f", p = {self.p_value:.3g}" if self.p_value is not None else ""
        mdd = f" (detectable at 80% power: ±{self.mdd:.2f})" if math.isfinite(self.mdd) else ""
        return (f"{self.name} on {self.metric} = {d.value:+.3f} [{d.low:+.3f}, {d.high:+.3f}] over {d.n} pairs{p}: "
                f"{self.verdict}" + (mdd if self.verdict.startswith("not") else ""))


def paired_contrast(name: str, metric: str, a: str, b: str, pairs: Sequence[tuple[float, float, Hashable]],
                    binary: bool) -> Contrast:
    """The contrast A − B from ``(a value, b value, block)`` per paired unit (blocks keep units of one
    (task, seed) together in the bootstrap)."""
    if not pairs:
        return Contrast(name, metric, a, b, NONE, None, 0, 0, math.inf)
    diffs = [x - y for x, y, _ in pairs]
    low, high = block_bootstrap(diffs, [block for _, _, block in pairs])
    difference = Estimate(float(np.mean(diffs)), low, high, len(pairs), "paired block bootstrap")
    if not binary:
        spread = float(np.std(diffs, ddof=1)) if len(diffs) > 1 else 0.0
        mdd = (_z(1 - ALPHA / 2) + _z(POWER)) * spread / math.sqrt(len(diffs)) if spread > 0 else math.inf
        return Contrast(name, metric, a, b, difference, None, 0, 0, mdd)
    a_only = sum(1 for x, y, _ in pairs if x > y)
    b_only = sum(1 for x, y, _ in pairs if y > x)
    return Contrast(name, metric, a, b, difference, mcnemar_exact(a_only, b_only), a_only, b_only,
                    mdd_paired(len(pairs), (a_only + b_only) / len(pairs)))


def pair_up(a: Sequence[Record], b: Sequence[Record], unit: Callable[[Record], Hashable],
            value: Callable[[Record], float | None], block: Callable[[Record], Hashable]
            ) -> list[tuple[float, float, Hashable]]:
    """``(a value, b value, block)`` for every unit both record lists hold a value for (A's order)."""
    b_by_unit = {unit(r): r for r in b}
    out = []
    for record in a:
        other = b_by_unit.get(unit(record))
        if other is None:
            continue
        x, y = value(record), value(other)
        if x is not None and y is not None:
            out.append((float(x), float(y), block(record)))
    return out
