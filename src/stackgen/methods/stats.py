"""Summaries for the repeat study (means with t intervals, paired comparisons over seeds), and for
one set of rows (a score with its interval, two methods compared on the same rows)."""

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


# --- one set of rows: a score's interval, and two methods on the same rows ---------------------

BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 0  # the intervals of the same scores on the same rows are the same every time


def scored(task, outputs: np.ndarray, y: np.ndarray, sample_weight=None) -> dict:
    """A method's score on rows (accuracy or R²) with its 95% interval: Wilson's for accuracy
    (a proportion of rows, weighted rows counted by their share), a bootstrap over the rows for
    R²; and how many rows it is scored on."""
    score = task.score(outputs, y, sample_weight)
    n = len(y)
    if task.metric == "accuracy":
        low, high = wilson(score, n if sample_weight is None else effective_rows(sample_weight))
    else:
        low, high = _bootstrap_interval(task, outputs, y, sample_weight)
    return {task.metric: score, "ci_low": low, "ci_high": high, "rows": n}


def effective_rows(sample_weight) -> float:
    """Kish's effective number of rows of weighted rows: (sum w)^2 / sum w^2; n for equal
    weights, fewer when a few rows carry most of the weight."""
    w = np.asarray(sample_weight, dtype=float)
    return float(w.sum() ** 2 / (w**2).sum()) if (w**2).sum() > 0 else 0.0


def wilson(p: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's 95% interval for a proportion ``p`` of ``n`` trials."""
    if n == 0:
        return float("nan"), float("nan")
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _bootstrap_interval(task, outputs, y, sample_weight) -> tuple[float, float]:
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    n = len(y)
    draws = []
    for _ in range(BOOTSTRAP_DRAWS):
        rows = rng.integers(0, n, n)
        w = None if sample_weight is None else np.asarray(sample_weight)[rows]
        if w is not None and w.sum() <= 0:
            continue  # a draw of rows that all weigh nothing says nothing
        draws.append(task.score(outputs[rows], y[rows], w))
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return float(low), float(high)


def discordant(a: np.ndarray, b: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """(rows only method a gets right, rows only method b gets right): McNemar's counts."""
    right_a = np.argmax(a, axis=1) == y
    right_b = np.argmax(b, axis=1) == y
    return int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())


def paired_p(task, a: np.ndarray, b: np.ndarray, y: np.ndarray, sample_weight=None) -> float:
    """How likely a difference this large between methods a and b on the same rows is if they
    were equally good: McNemar's exact test on the rows exactly one of them gets right (for
    accuracy; rows counted unweighted), or a paired bootstrap of the R² difference (two-sided;
    weighted R² with ``sample_weight``)."""
    if task.metric == "accuracy":
        only_a, only_b = discordant(a, b, y)
        if only_a + only_b == 0:
            return 1.0
        return float(stats.binomtest(only_a, only_a + only_b, 0.5).pvalue)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    n = len(y)
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    observed = task.score(a, y, w) - task.score(b, y, w)
    differences = []
    for _ in range(BOOTSTRAP_DRAWS):
        rows = rng.integers(0, n, n)
        drawn = None if w is None else w[rows]
        if drawn is not None and drawn.sum() <= 0:
            continue  # a draw of rows that all weigh nothing says nothing
        differences.append(
            task.score(a[rows], y[rows], drawn) - task.score(b[rows], y[rows], drawn)
        )
    differences = np.asarray(differences)
    # How often the resampled difference falls on the other side of zero, both tails.
    tail = np.mean(differences <= 0) if observed > 0 else np.mean(differences >= 0)
    return float(min(1.0, 2 * tail))
