"""Statistics of evaluation results on hand-made cases with known answers, and a coverage simulation."""

import math

import numpy as np
import pytest

from tracer1kit.evaluation.stats import (block_bootstrap, mcnemar_exact, mdd_paired, mdd_unpaired, mean_interval,
                                         paired_contrast, pair_up, rate_interval, wilson)


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
