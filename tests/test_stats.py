"""Statistics of evaluation results on hand-made cases with known answers and on cases whose answers follow from
the definitions (interval text and separation, the bootstrap's blocks, the verdict rules at their thresholds, the
minimum detectable differences), and a coverage simulation."""

import math

import numpy as np
import pytest

from tracer1kit.evaluation.stats import (ALPHA, NONE, Contrast, Estimate, block_bootstrap, mcnemar_exact, mdd_paired,
                                         mdd_unpaired, mean_interval, paired_contrast, pair_up, rate_interval, wilson)


def test_wilson_bounds_match_the_closed_form():
    z = 1.959963984540054
    for k, n in ((0, 10), (3, 10), (10, 10), (17, 40)):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        assert wilson(k, n) == pytest.approx((max(0.0, centre - half), min(1.0, centre + half)), abs=1e-9)
    assert wilson(3, 10) == pytest.approx((0.1078, 0.6032), abs=1e-4)


def test_rate_interval_uses_wilson_for_independent_episodes_and_blocks_otherwise():
    est = rate_interval([True] * 3 + [False] * 7)
    assert (est.value, est.n, est.method) == (0.3, 10, "Wilson") and (est.low, est.high) == wilson(3, 10)
    repeated = rate_interval([True, False] * 20, blocks=[i // 2 for i in range(40)], independent=False)
    assert repeated.method == "block bootstrap" and repeated.low == repeated.high == 0.5  # every block is 1 of 2


def test_mcnemar_exact_p_values():
    assert mcnemar_exact(8, 1) == pytest.approx(2 * (1 + 9) / 2 ** 9)   # two-sided exact binomial on 9 pairs
    assert mcnemar_exact(5, 0) == pytest.approx(2 / 2 ** 5)
    assert mcnemar_exact(4, 4) == 1.0 and mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(1, 8) == mcnemar_exact(8, 1)


def test_minimum_detectable_differences():
    assert mdd_unpaired(100) == pytest.approx((1.959964 + 0.841621) * math.sqrt(0.5 / 100), rel=1e-5)
    assert mdd_unpaired(400) == pytest.approx(mdd_unpaired(100) / 2)
    assert mdd_unpaired(100, 0.2) < mdd_unpaired(100) and mdd_unpaired(0) == math.inf
    d = mdd_paired(200, 0.3)
    z_a, z_b = 1.959964, 0.841621
    assert (z_a * math.sqrt(0.3) + z_b * math.sqrt(0.3 - d * d)) ** 2 / (d * d) == pytest.approx(200, rel=1e-4)
    assert mdd_paired(200, 0.1) < d < mdd_paired(50, 0.3)          # fewer disagreements or more pairs resolve more
    assert mdd_paired(200, 0.0) == math.inf and mdd_paired(3, 0.05) == math.inf


def test_block_bootstrap_keeps_repeated_units_together():
    rng = np.random.default_rng(1)
    once = rng.random(60).tolist()
    blocks = list(range(60))
    thrice = once * 3                                   # the same units under three training seeds
    naive = block_bootstrap(thrice, list(range(180)))
    kept = block_bootstrap(thrice, blocks * 3)
    single = block_bootstrap(once, blocks)
    assert kept[1] - kept[0] == pytest.approx(single[1] - single[0], rel=0.25)
    assert naive[1] - naive[0] < 0.75 * (kept[1] - kept[0])  # treating repeats as new units overstates precision
    assert mean_interval(once, blocks).value == pytest.approx(np.mean(once))


def test_paired_interval_covers_the_true_difference_in_simulation():
    rng = np.random.default_rng(7)
    covered = 0
    for trial in range(40):
        skill = rng.random(150)                                      # per-episode difficulty, shared by both arms
        a = (rng.random(150) < np.clip(skill + 0.15, 0, 1)).astype(float)
        b = (rng.random(150) < skill).astype(float)
        truth = float(np.mean(np.clip(skill + 0.15, 0, 1) - skill))
        c = paired_contrast("a − b", "success", "a", "b", list(zip(a, b, range(150))), binary=True)
        covered += c.difference.low <= truth <= c.difference.high
    assert covered >= 34                                              # nominal 95%: at least 85% of 40 trials


def test_contrast_verdicts_and_sentence():
    better = paired_contrast("full − reactive", "GUI success", "full", "reactive",
                             [(1.0, 0.0, i) for i in range(12)] + [(1.0, 1.0, 12 + i) for i in range(20)], binary=True)
    assert better.a_only == 12 and better.b_only == 0 and better.p_value == pytest.approx(2 / 2 ** 12)
    assert better.verdict == "full is better"
    assert better.sentence().startswith("full − reactive on GUI success = +0.375 [")
    assert "p = 0.000488: full is better" in better.sentence()
    tie = paired_contrast("a − b", "GUI success", "a", "b", [(1.0, 0.0, 0), (0.0, 1.0, 1), (1.0, 1.0, 2)], binary=True)
    assert tie.verdict == "not distinguishable at this size" and tie.p_value == 1.0
    worse = paired_contrast("a − b", "reward", "a", "b", [(0.1, 0.9, i) for i in range(10)], binary=False)
    assert worse.verdict == "b is better" and worse.p_value is None
    assert paired_contrast("a − b", "x", "a", "b", [], binary=True).verdict == "no paired data"
    same = paired_contrast("a − b", "GUI success", "a", "b", [(1.0, 1.0, 0), (0.0, 0.0, 1), (1.0, 1.0, 2)], binary=True)
    assert same.verdict == "identical on all 3 pairs" and same.sentence().endswith("p = 1: identical on all 3 pairs")


def test_pair_up_matches_units_and_skips_missing_values():
    a = [{"u": 1, "v": 1.0}, {"u": 2, "v": 0.0}, {"u": 3, "v": None}]
    b = [{"u": 2, "v": 1.0}, {"u": 1, "v": 1.0}, {"u": 3, "v": 1.0}]
    pairs = pair_up(a, b, unit=lambda r: r["u"], value=lambda r: r["v"], block=lambda r: r["u"])
    assert pairs == [(1.0, 1.0, 1), (0.0, 1.0, 2)]


def test_the_readme_resolution_table_matches_the_params_files():
    """Every row of the README's "What each params file can resolve" table is recomputed from its params files
    (tasks × episodes per task × training seeds, and the detectable differences), so a params change that makes
    the table stale fails here."""
    import re
    from pathlib import Path

    from tracer1kit.evaluation.online import eval_jobs
    from tracer1kit.params import load_params

    repo = Path(__file__).resolve().parents[1]
    section = (repo / "README.md").read_text().split("### What each params file can resolve")[1]
    rows = [line for line in section.split("\n\n")[2].splitlines()[2:] if line.startswith("|")]
    assert len(rows) >= 6

    def shown(x: float) -> str:
        return "none" if x >= 1 else f"{x:.2f}"

    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for name in re.findall(r"`([^`]+\.yaml)`", cells[0]):
            params = load_params(repo / "params" / name)
            per_task = sum(split == "test" for _, _, split in eval_jobs(params)["miniwob"]) // len(params.env.tasks)
            sizes = (len(params.env.tasks), per_task, len(params.eval.training_seeds))
            n = sizes[0] * sizes[1] * sizes[2]
            assert cells[1].startswith(" × ".join(map(str, sizes))), (name, cells[1])
            assert cells[2] == shown(mdd_unpaired(n)), (name, cells[2])
            if cells[3] != "none":
                assert cells[3] == " / ".join(shown(mdd_paired(n, d)) for d in (0.1, 0.2, 0.3)), (name, cells[3])
    grid_rows = [line for line in section.split("Grid success, the same way")[1].split("\n\n")[1].splitlines()[2:]]
    assert len(grid_rows) >= 2
    for row in grid_rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        params = load_params(repo / "params" / re.findall(r"`([^`]+\.yaml)`", cells[0])[0])
        sizes = (len(params.grid.levels), len(params.grid.test_seeds), len(params.eval.training_seeds))
        n = sizes[0] * sizes[1] * sizes[2]
        assert cells[1].startswith(" × ".join(map(str, sizes)) + f" = {n}"), cells[1]
        assert cells[2] == shown(mdd_unpaired(n)) and cells[3] == " / ".join(
            shown(mdd_paired(n, d)) for d in (0.1, 0.2, 0.3)), cells


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
