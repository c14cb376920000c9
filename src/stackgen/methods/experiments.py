"""Every method under every protocol, for one set of members: what scripts 06-10 tabulate.

A "method" is anything that turns members' probabilities into a prediction: the baselines, each
meta-learner, the logistic stack with raw input (passthrough), the logistic stack on a single
member, and the integrated network. ``evaluate`` fits each one on a protocol's fitting rows and
scores it on its scoring rows; nothing else.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from stackgen import progress
from stackgen.data import inputs
from stackgen.data.split import Split
from stackgen.data.task import Task
from stackgen.methods import metalearners, protocols, stats
from stackgen.methods.protocols import MetaRows

LOGISTIC = "logistic regression (multinomial)"
LINEAR = "linear regression"
INTEGRATED = "integrated network"
BEST = "best member (picked on fitting rows)"
AVERAGE = "average of probabilities"
AVERAGE_REGRESSION = "average of predictions"


def stack_label(task: Task) -> str:
    """The stack every table reports: logistic regression, or linear for a regression task."""
    return metalearners.spec("auto", task).label


def average_label(task: Task) -> str:
    return AVERAGE_REGRESSION if task.name == "regression" else AVERAGE


def _base(task: Task) -> str:
    return "linear" if task.name == "regression" else "logistic"


def method_rows(n_members: int, task: Task) -> list[str]:
    """Row labels in table order."""
    return [
        *metalearners.baselines(n_members, task),
        *(spec.label for spec in metalearners.specs_for(task)),
        f"{_base(task)} + raw input (passthrough)",
        f"{_base(task)} on member 1 alone",
        INTEGRATED,
    ]


def evaluate(
    rows: MetaRows,
    seed: int,
    network: Callable[[MetaRows], float] | None = None,
    only: list[str] | None = None,
    raw_input: bool = True,
    intervals: dict | None = None,
) -> dict[str, float]:
    """Accuracy (R² for regression) on the scoring rows of every method (or the ``only`` ones)
    fit on the fitting rows; ``seed`` seeds the meta-learners. ``network`` scores the
    integrated network on ``rows`` (``integrated.network_score``: it needs the Keras members);
    without it that row is left out. ``raw_input`` False leaves out the passthrough row
    (members' predictions given without their features). ``intervals``, if given, gets each
    method's 95% interval ([low, high], ``stats.scored``'s); the integrated network's is
    Wilson's from its accuracy, and for R² it has none (its outputs stay inside the network).
    """
    score = {}
    task = rows.task

    def run(label, combiner, P_fit=rows.fit_P, P_score=rows.score_P):
        if only is not None and label not in only:
            return
        if rows.fit_w is not None and not metalearners.takes_weights(combiner):
            return  # a meta-learner that cannot weight its rows: left out under --weights
        progress.current().doing(f"{rows.protocol} protocol, {label}")
        combiner.fit(P_fit, rows.fit_y, rows.fit_raw, rows.fit_w)
        outputs = combiner.predict_proba(P_score, rows.score_raw)
        score[label] = rows.score(outputs)
        if intervals is not None:
            found = stats.scored(task, outputs, rows.score_y, rows.score_w)
            intervals[label] = [found["ci_low"], found["ci_high"]]

    for label, combiner in metalearners.baselines(rows.fit_P.shape[1], task).items():
        run(label, combiner)
    for spec in metalearners.specs_for(task):
        run(spec.label, spec.make(seed, False))
    if raw_input and inputs.is_flat(rows.fit_raw):  # raw input: feature columns only
        run(
            f"{_base(task)} + raw input (passthrough)",
            metalearners.meta_learner("auto", task, seed, passthrough=True),
        )
    run(
        f"{_base(task)} on member 1 alone",
        metalearners.meta_learner("auto", task, seed),
        rows.fit_P[:, :1],
        rows.score_P[:, :1],
    )
    if network is not None and (only is None or INTEGRATED in only):
        progress.current().doing(f"{rows.protocol} protocol, {INTEGRATED}")
        score[INTEGRATED] = network(rows)
        if intervals is not None and task.metric == "accuracy":
            n = len(rows.score_y) if rows.score_w is None else stats.effective_rows(rows.score_w)
            intervals[INTEGRATED] = list(stats.wilson(score[INTEGRATED], n))
    return score


def vary_members(
    split: Split,
    test_P: np.ndarray,
    oof_P: np.ndarray,
    chosen: list[protocols.Protocol],
    seed: int,
) -> dict:
    """Accuracy against the number of members k = 1..N, per protocol: best member, average,
    logistic stack. Members are taken in order (the first k)."""
    curves: dict = {}
    task = split.task
    for k in range(1, test_P.shape[1] + 1):
        for protocol in chosen:
            rows = protocol.rows(split, test_P[:, :k], oof_P[:, :k])
            for label, combiner in (
                (BEST, metalearners.BestMember()),
                (average_label(task), metalearners.Average()),
                (stack_label(task), metalearners.meta_learner("auto", task, seed)),
            ):
                combiner.fit(rows.fit_P, rows.fit_y, rows.fit_raw, rows.fit_w)
                acc = rows.score(combiner.predict_proba(rows.score_P, rows.score_raw))
                curves.setdefault(protocol.name, {}).setdefault(label, []).append(acc)
    return curves


def format_table(scores: dict[str, dict[str, float]], rows: list[str]) -> list[str]:
    """One line per method, one column per protocol, accuracies to three decimals."""
    columns = list(scores)
    width = max(len(r) for r in rows)
    widths = [max(8, len(c)) for c in columns]
    lines = [
        f"{'method':<{width}}  "
        + "  ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True))
    ]
    for row in rows:
        cells = [
            f"{scores[c][row]:>{w}.3f}" if row in scores[c] else f"{'-':>{w}}"
            for c, w in zip(columns, widths, strict=True)
        ]
        lines.append(f"{row:<{width}}  " + "  ".join(cells))
    return lines
