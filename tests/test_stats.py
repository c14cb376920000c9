"""The statistics of the repeat study and of compare, against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from stackgen.data.task import CLASSIFICATION
from stackgen.methods import stats


def test_summary_matches_hand_computation():
    s = stats.summary([0.80, 0.82, 0.84])
    assert s["mean"] == pytest.approx(0.82)
    assert s["sd"] == pytest.approx(0.02)
    # t(0.975, 2) = 4.302653; half-width = 4.302653 * 0.02 / sqrt(3) = 0.049683
    assert s["ci_high"] - s["mean"] == pytest.approx(0.049683, abs=1e-6)


def test_paired_wilcoxon_exact_p_and_win_counts():
    # |d| ranks: 0.005 -> 1, 0.01 -> 2, 0.02 -> 3, 0.03 -> 4. W- = 1. Of the 16 equally likely
    # sign patterns, 2 have W- <= 1 ({} and {1}); two-sided p = 2 * 2/16 = 0.25.
    a = [0.81, 0.82, 0.795, 0.83]
    b = [0.80, 0.80, 0.800, 0.80]
    p = stats.paired(a, b)
    assert p["wilcoxon_p"] == pytest.approx(0.25)
    assert (p["wins"], p["ties"], p["losses"]) == (3, 0, 1)
    assert p["mean"] == pytest.approx(0.01375)


def test_paired_all_ties_is_p_one():
    p = stats.paired([0.8, 0.81], [0.8, 0.81])
    assert p["wilcoxon_p"] == 1.0 and p["ties"] == 2


def test_a_proportions_wilson_interval_matches_the_textbook_value():
    low, high = stats.wilson(0.5, 100)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)
    assert stats.wilson(1.0, 20)[1] == 1.0 and stats.wilson(0.0, 20)[0] == 0.0


def test_mcnemar_counts_only_the_rows_exactly_one_method_gets_right():
    y = np.zeros(30, dtype=int)
    right, wrong = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    a = np.repeat(np.vstack([right, right, wrong]), [10, 18, 2], axis=0)  # right on 28
    b = np.repeat(np.vstack([wrong, right, right]), [10, 18, 2], axis=0)  # right on 20
    # 10 rows only a gets right, 2 only b: the exact two-sided binomial test of 10 in 12.
    assert round(stats.paired_p(CLASSIFICATION, a, b, y), 4) == 0.0386
    assert stats.paired_p(CLASSIFICATION, a, a, y) == 1.0
    row = stats.scored(CLASSIFICATION, a, y)
    assert row["accuracy"] == 28 / 30 and row["rows"] == 30
    assert row["ci_low"] < 28 / 30 < row["ci_high"]
