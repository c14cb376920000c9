"""Every method under every protocol, for one set of members: what scripts 06-10 tabulate.

A "method" is anything that turns members' probabilities into a prediction: the baselines, each
meta-learner, the logistic stack with raw input (passthrough), the logistic stack on a single
member, and the integrated network. ``evaluate`` fits each one on a task's fitting rows and
scores it on the task's scoring rows; nothing else.
"""

from __future__ import annotations

import numpy as np

from stackgen import combiners, data, metrics, protocols
from stackgen.config import Config
from stackgen.data import Split

LOGISTIC = "logistic regression (multinomial)"
LINEAR = "linear regression"
INTEGRATED = "integrated network"
BEST = "best member (picked on fitting rows)"
AVERAGE = "average of probabilities"
AVERAGE_REGRESSION = "average of predictions"


def stack_label(regression: bool) -> str:
    """The stack every table reports: logistic regression, or linear for a regression task."""
    return LINEAR if regression else LOGISTIC


def _meta_learners(regression: bool) -> dict[str, str]:
    return combiners.REGRESSION_META_LEARNERS if regression else combiners.META_LEARNERS


def method_rows(n_members: int, regression: bool = False) -> list[str]:
    """Row labels in table order."""
    base = "linear" if regression else "logistic"
    return [
        *combiners.baselines(n_members, regression),
        *_meta_learners(regression).values(),
        f"{base} + raw input (passthrough)",
        f"{base} on member 1 alone",
        INTEGRATED,
    ]


def evaluate(
    task: protocols.MetaTask, cfg: Config, members=None, only: list[str] | None = None
) -> dict[str, float]:
    """Accuracy (R² for regression) on the scoring rows of every method (or the ``only`` ones)
    fit on the fitting rows. ``members`` (the Keras members behind ``task``) are needed for the
    integrated network only; without them that row is left out.
    """
    score = {}
    regression = data.is_regression(task.fit_y)
    stack, base = ("linear", "linear") if regression else ("multinomial", "logistic")

    def run(label, combiner, P_fit=task.fit_P, P_score=task.score_P):
        if only is not None and label not in only:
            return
        combiner.fit(P_fit, task.fit_y, task.fit_raw)
        probs = combiner.predict_proba(P_score, task.score_raw)
        score[label] = metrics.score(probs, task.score_y)

    for label, combiner in combiners.baselines(task.fit_P.shape[1], regression).items():
        run(label, combiner)
    for name, label in _meta_learners(regression).items():
        run(label, combiners.meta_learner(name, cfg.seed, regression=regression))
    run(
        f"{base} + raw input (passthrough)",
        combiners.meta_learner(stack, cfg.seed, passthrough=True, regression=regression),
    )
    run(
        f"{base} on member 1 alone",
        combiners.meta_learner(stack, cfg.seed, regression=regression),
        task.fit_P[:, :1],
        task.score_P[:, :1],
    )
    if members is not None and (only is None or INTEGRATED in only):
        score[INTEGRATED] = integrated_accuracy(task, members, cfg)
    return score


def integrated_accuracy(task: protocols.MetaTask, members, cfg: Config) -> float:
    from stackgen import integrated, training

    head = integrated.fit_head(
        integrated.head_inputs(task.fit_P, task.fit_raw, False),
        task.fit_y,
        task.score_P.shape[2],
        cfg,
    )
    network = integrated.assemble(members, head)
    return metrics.score(training.predict_proba(network, task.score_raw), task.score_y)


def tasks_for(split: Split, test_P: np.ndarray, oof_P: np.ndarray | None, cfg: Config):
    return [protocols.make_task(p, split, test_P, oof_P, cfg.seed) for p in cfg.protocols]


def vary_members(split: Split, test_P: np.ndarray, oof_P: np.ndarray, cfg: Config) -> dict:
    """Accuracy against the number of members k = 1..N, per protocol: best member, average,
    logistic stack. Members are taken in order (the first k)."""
    curves: dict = {}
    regression = data.is_regression(split.test_y)
    for k in range(1, test_P.shape[1] + 1):
        for protocol in cfg.protocols:
            task = protocols.make_task(protocol, split, test_P[:, :k], oof_P[:, :k], cfg.seed)
            for label, combiner in (
                (BEST, combiners.BestMember()),
                (AVERAGE_REGRESSION if regression else AVERAGE, combiners.Average()),
                (
                    stack_label(regression),
                    combiners.meta_learner(
                        combiners.meta_kind("auto", regression), cfg.seed, regression=regression
                    ),
                ),
            ):
                combiner.fit(task.fit_P, task.fit_y, task.fit_raw)
                acc = metrics.score(
                    combiner.predict_proba(task.score_P, task.score_raw), task.score_y
                )
                curves.setdefault(protocol, {}).setdefault(label, []).append(acc)
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
