"""The repeat study's statistics, against hand-computed cases."""

from __future__ import annotations

import pytest

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
