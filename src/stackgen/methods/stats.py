"""Summaries for the repeat study: means with t intervals, and paired comparisons."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def summary(values) -> dict:
    """Mean, sample standard deviation and a 95% t confidence interval of the mean."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    sd = float(x.std(ddof=1)) if len(x) > 1 else 0.0
    half = float(stats.t.ppf(0.975, len(x) - 1) * sd / math.sqrt(len(x))) if len(x) > 1 else 0.0
    return {"n": len(x), "mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half}


def paired(a, b) -> dict:
    """How method a compares with method b over the same seeds: the mean difference a - b with its
    95% t interval, the Wilcoxon signed-rank test's two-sided p-value (zero differences
    dropped; 1.0 when every difference is zero), and how often a wins, ties and loses."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    d = np.round(d, 12)  # accuracies are multiples of 1/n: don't let float noise break ties
    result = summary(d)
    nonzero = d[d != 0]
    p = float(stats.wilcoxon(nonzero).pvalue) if len(nonzero) else 1.0
    return {
        **result,
        "wilcoxon_p": p,
        "wins": int((d > 0).sum()),
        "ties": int((d == 0).sum()),
        "losses": int((d < 0).sum()),
    }


def format_p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"
