"""Settings that cannot work together with the data, refused once at the door.

``--meta`` against the task, ``--folds`` against the smallest class of the training rows,
``--test-size`` against the classes the holdout protocol halves, the test rows a meta-learner is
fit on: each is checked here, when step 1 makes the split and before any later step that uses
the protocols starts, and refused in one line that says what to change, instead of being
discovered by the library that trips on it minutes into training. (The seeds are checked where
the flags are read: ``Config``.)

k-nearest neighbours is the one setting that adapts instead: it takes at most as many neighbours
as there are rows to fit on (``methods/metalearners.py``), and the steps that fit it say so
(``knn_notes``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from stackgen.methods.metalearners import KNN_NEIGHBOURS, neighbours, spec
from stackgen.trust.errors import StackgenError


def check(cfg, split) -> None:
    """Refuse, in one line, a ``--meta`` of the other task, and protocols (``cfg.protocols``,
    ``cfg.folds``) that ``split`` cannot give rows for."""
    spec(cfg.meta, split.task)
    if cfg.passthrough and not split.flat:
        raise StackgenError(
            "--passthrough gives the meta-learners the raw features, and this data is "
            f"{split.describe()}, not feature columns: drop --passthrough"
        )
    if not split.has_train:  # members trained elsewhere: cv is skipped, with a note
        if cfg.protocols == ("cv",):
            raise StackgenError(
                "the cv protocol retrains the members on the training rows, and this data has "
                "no train arrays: use --protocol holdout or --protocol tutorial"
            )
        cfg = dataclasses.replace(cfg, protocols=tuple(p for p in cfg.protocols if p != "cv"))
    table = split.params.get("source") == "table"
    if split.task.name == "regression":
        _check_regression(cfg, len(split.train_y), len(split.test_y))
        return
    names = split.class_names
    train = np.bincount(split.train_y, minlength=len(names)).tolist()
    test = np.bincount(split.test_y, minlength=len(names)).tolist()
    smaller_test = "a smaller --test-size, " if table else ""
    larger_test = "a larger --test-size, or " if table else ""
    if "cv" in cfg.protocols:
        fewest = min(range(len(names)), key=lambda c: train[c])
        k = train[fewest]
        if k < 2:
            raise StackgenError(
                f"class {names[fewest]!r} has {_rows(k, 'training')}: the cv protocol's "
                "stratified folds need at least 2 of every class; use "
                f"{smaller_test}--protocol holdout or --protocol tutorial"
            )
        if k < cfg.folds:
            raise StackgenError(
                f"--folds {cfg.folds} is more than the {k} training rows of class "
                f"{names[fewest]!r}: the cv protocol's stratified folds each need a row of "
                f"every class; use --folds {k} or fewer, {smaller_test}or --protocol holdout"
            )
    if "holdout" in cfg.protocols:
        fewest = min(range(len(names)), key=lambda c: test[c])
        if test[fewest] < 2:
            raise StackgenError(
                f"class {names[fewest]!r} has {_rows(test[fewest], 'test')}: the holdout "
                "protocol halves the test rows class by class, so every class needs at least "
                f"2 there; use {larger_test}--protocol cv or --protocol tutorial"
            )
    present = [names[c] for c in range(len(names)) if test[c] > 0]
    if "tutorial" in cfg.protocols and len(present) < 2:
        raise StackgenError(
            f"the test rows hold only class {present[0]!r}: the tutorial protocol fits its "
            f"meta-learner on them and needs two classes or more; use {larger_test}"
            "--protocol cv"
        )


def _check_regression(cfg, n_train: int, n_test: int) -> None:
    if "cv" in cfg.protocols and n_train < cfg.folds:
        raise StackgenError(
            f"--folds {cfg.folds} is more than the {n_train} training rows; use --folds "
            f"{max(2, n_train)} or fewer"
        )
    if "holdout" in cfg.protocols and n_test < 4:
        raise StackgenError(
            f"{n_test} test rows: the holdout protocol needs at least 4 (2 to fit on, 2 to "
            "score on); use a larger --test-size, or --protocol cv"
        )
    if "tutorial" in cfg.protocols and n_test < 2:
        raise StackgenError(
            f"{n_test} test row: a score needs at least 2; use a larger --test-size"
        )


def knn_notes(cfg, split) -> list[str]:
    """One line for each protocol of ``cfg`` that has fewer rows to fit on than k."""
    n_test = len(split.test_y)
    fit_rows = {"tutorial": n_test, "holdout": n_test // 2, "cv": len(split.train_y)}
    return [
        f"note: k-nearest neighbours takes k = {neighbours(rows)} under the {protocol} "
        f"protocol, not {KNN_NEIGHBOURS}: it has only {rows} rows to fit on"
        for protocol, rows in fit_rows.items()
        if protocol in cfg.protocols and rows < KNN_NEIGHBOURS
    ]


def _rows(n: int, kind: str) -> str:
    return f"{n} {kind} row" + ("" if n == 1 else "s")
