"""Statistics on cases whose answers follow from the definitions: interval text and separation, the bootstrap's
blocks, the verdict rules at their thresholds, and the minimum detectable differences."""

import math

import numpy as np
import pytest

from tracer1kit.evaluation.stats import (ALPHA, NONE, Contrast, Estimate, block_bootstrap, mdd_paired, mdd_unpaired,
                                         mean_interval, paired_contrast, rate_interval, wilson)

Z = 1.959963984540054 + 0.8416212335729143       # z(1 − α/2) + z(power) at α = 0.05, power 0.8


def test_estimate_text():
    assert NONE.text() == "–"
    assert Estimate(0.5, None, None, 4, "x").text() == "0.500"
    assert Estimate(0.5, 0.25, None, 4, "x").text() == "0.500"
    assert Estimate(0.5, None, 0.75, 4, "x").text() == "0.500"
    assert Estimate(0.5, 0.25, 0.75, 4, "x").text() == "0.500 [0.250, 0.750]"
    assert Estimate(0.5, 0.25, 0.75, 4, "x").text(1) == "0.5 [0.2, 0.8]"


@pytest.mark.parametrize("a, b, apart", [
    ((0.6, 0.9), (0.1, 0.5), True), ((0.1, 0.5), (0.6, 0.9), True),
    ((0.5, 0.9), (0.1, 0.5), False), ((0.1, 0.5), (0.5, 0.9), False),   # touching intervals overlap
    ((0.2, 0.6), (0.4, 0.8), False),
    ((None, 0.9), (0.1, 0.2), False), ((0.6, None), (0.1, 0.2), False),
    ((0.6, 0.9), (None, 0.2), False), ((0.6, 0.9), (0.1, None), False),
])
def test_separation_needs_both_intervals_and_no_overlap(a, b, apart):
    assert Estimate(0.5, *a, 10, "x").separates_from(Estimate(0.5, *b, 10, "x")) is apart


def test_wilson_level():
    narrow, wide = wilson(3, 10, 0.80), wilson(3, 10)
    z, p, n = 1.2815515655446004, 0.3, 10                                  # z(0.9): an 80% interval
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert narrow == pytest.approx((centre - half, centre + half), abs=1e-9)
    assert wide[0] < narrow[0] < 0.3 < narrow[1] < wide[1]


def test_one_block_gives_its_mean_as_both_bounds():
    assert block_bootstrap([1.0, 0.0, 0.0, 1.0], ["a"] * 4) == (0.5, 0.5)


def test_blocks_are_resampled_whole_and_weighed_by_their_size():
    # two blocks: A holds three 1s, B one 0. A resample holds A twice (mean 1), B twice (mean 0) or both (3/4,
    # the ratio of sums, not the mean of the block means 1/2), each often enough to set the 95% bounds.
    low, high = block_bootstrap([1.0, 1.0, 1.0, 0.0], ["A", "A", "A", "B"])
    assert (low, high) == (0.0, 1.0)
    low, high = block_bootstrap([1.0, 1.0, 1.0, 0.0], ["A", "A", "A", "B"], level=0.4)
    assert low == high == pytest.approx(0.75)
    interleaved = block_bootstrap([1.0, 0.0, 1.0, 1.0], ["A", "B", "A", "A"], level=0.4)
    assert interleaved == pytest.approx((0.75, 0.75))                    # blocks are found wherever they occur


def test_the_bootstrap_is_seeded_and_has_the_nominal_width():
    rng = np.random.default_rng(3)
    values = rng.random(400).tolist()
    blocks = list(range(400))
    assert block_bootstrap(values, blocks) == block_bootstrap(values, blocks, seed=0)
    assert block_bootstrap(values, blocks, seed=1) != block_bootstrap(values, blocks)
    low, high = block_bootstrap(values, blocks)
    se = float(np.std(values, ddof=1)) / math.sqrt(len(values))
    assert high - low == pytest.approx(2 * 1.96 * se, rel=0.1)          # the normal width for a mean of 400
    low80, high80 = block_bootstrap(values, blocks, level=0.8)
    assert high80 - low80 == pytest.approx(2 * 1.2816 * se, rel=0.12)
    assert low < float(np.mean(values)) < high


def test_rate_interval_paths():
    assert rate_interval([]) is NONE
    wilsoned = rate_interval([True, False, False, True], blocks=None, independent=False)
    assert (wilsoned.method, wilsoned.value, wilsoned.n) == ("Wilson", 0.5, 4)
    assert (wilsoned.low, wilsoned.high) == wilson(2, 4)
    blocked = rate_interval([True, True, True, False], blocks=["A", "A", "A", "B"], independent=False)
    assert (blocked.method, blocked.value, blocked.n, blocked.low, blocked.high) == ("block bootstrap", 0.75, 4, 0.0, 1.0)
    assert rate_interval([1, 0, 2]).value == pytest.approx(2 / 3)      # truthy outcomes count as successes


def test_mean_interval():
    assert mean_interval([], []) is NONE
    est = mean_interval([0.2, 0.4, 0.9], ["a", "a", "a"])
    assert (est.value, est.low, est.high, est.n, est.method) == (pytest.approx(0.5), pytest.approx(0.5),
                                                                pytest.approx(0.5), 3, "block bootstrap")


def test_mdd_unpaired_formula():
    assert mdd_unpaired(50, 0.3) == pytest.approx(Z * math.sqrt(2 * 0.3 * 0.7 / 50), rel=1e-9)
    z_90 = 1.6448536269514722 + 0.8416212335729143
    assert mdd_unpaired(50, alpha=0.1) == pytest.approx(z_90 * math.sqrt(0.5 / 50), rel=1e-9)
    assert mdd_unpaired(50, power=0.9) == pytest.approx((1.959963984540054 + 1.2815515655446004) * 0.1, rel=1e-9)
    assert mdd_unpaired(1) < math.inf and mdd_unpaired(-1) == math.inf


def test_mdd_paired_solves_the_mcnemar_sample_size_equation():
    for n, psi in ((100, 0.2), (40, 0.5), (1000, 0.05)):
        d = mdd_paired(n, psi)
        assert (1.959963984540054 * math.sqrt(psi) + 0.8416212335729143 * math.sqrt(psi - d * d)) ** 2 / d ** 2 \
            == pytest.approx(n, rel=1e-6)
    # ψ = 0.5 allows differences up to √0.5, which needs (1.96·√0.5)² / 0.5 = 3.84 pairs: 8 resolve less, 2 nothing
    assert mdd_paired(8, 0.5) < math.sqrt(0.5)
    assert mdd_paired(2, 0.5) == math.inf
    assert mdd_paired(0, 0.5) == math.inf and mdd_paired(10, 0.0) == math.inf
    assert mdd_paired(100, 0.2, alpha=0.1) < mdd_paired(100, 0.2) < mdd_paired(100, 0.2, power=0.9)


def contrast(low, high, p, value=0.1):
    return Contrast("a − b", "m", "a", "b", Estimate(value, low, high, 20, "x"), p, 0, 0, 0.3)


@pytest.mark.parametrize("low, high, p, verdict", [
    (0.01, 0.2, 0.01, "a is better"),
    (0.01, 0.2, None, "a is better"),                               # a mean: the interval decides
    (0.01, 0.2, ALPHA, "not distinguishable at this size"),         # p must be below α
    (0.0, 0.2, 0.01, "not distinguishable at this size"),           # the interval must exclude 0
    (-0.2, -0.01, 0.01, "b is better"),
    (-0.2, -0.01, 0.2, "not distinguishable at this size"),
    (-0.2, 0.0, 0.01, "not distinguishable at this size"),
    (None, 0.2, 0.01, "no paired data"), (0.01, None, 0.01, "no paired data"),
])
def test_verdict_rules(low, high, p, verdict):
    assert contrast(low, high, p).verdict == verdict


def test_sentences():
    assert contrast(0.01, 0.2, 0.01).sentence() == "a − b on m = +0.100 [+0.010, +0.200] over 20 pairs, p = 0.01: a is better"
    assert contrast(-0.1, 0.2, None).sentence() == ("a − b on m = +0.100 [-0.100, +0.200] over 20 pairs: not "
                                                    "distinguishable at this size (detectable at 80% power: ±0.30)")
    unresolvable = Contrast("a − b", "m", "a", "b", Estimate(0.0, -0.1, 0.1, 2, "x"), 1.0, 0, 0, math.inf)
    assert unresolvable.sentence().endswith("p = 1: not distinguishable at this size")
    assert Contrast("a − b", "m", "a", "b", NONE, None, 0, 0, math.inf).sentence() == "a − b (m): no paired data"


def test_a_paired_contrast_of_means_and_of_outcomes():
    diffs = [0.1, 0.3, 0.2, 0.4]
    means = paired_contrast("a − b", "reward", "a", "b", [(d, 0.0, i) for i, d in enumerate(diffs)], binary=False)
    assert means.difference.value == pytest.approx(0.25) and means.difference.n == 4
    assert means.p_value is None and (means.a_only, means.b_only) == (0, 0)
    assert means.mdd == pytest.approx(Z * float(np.std(diffs, ddof=1)) / 2)
    assert paired_contrast("x", "m", "a", "b", [(0.3, 0.1, 0)], binary=False).mdd == math.inf     # one pair: no spread
    assert paired_contrast("x", "m", "a", "b", [(0.5, 0.25, 0), (0.75, 0.5, 1)], binary=False).mdd == math.inf
    outcomes = [(1.0, 0.0, 0), (1.0, 0.0, 1), (0.0, 1.0, 2), (1.0, 1.0, 3), (0.0, 0.0, 4)]
    binary = paired_contrast("a − b", "success", "a", "b", outcomes, binary=True)
    assert (binary.a_only, binary.b_only) == (2, 1) and binary.p_value == pytest.approx(1.0)
    assert binary.mdd == mdd_paired(5, 3 / 5) and binary.difference.method == "paired block bootstrap"
    assert binary.difference.value == pytest.approx(0.2)
