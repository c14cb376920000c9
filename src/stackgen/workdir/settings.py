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

from stackgen.data.numbers import finite_number
from stackgen.data.split import TableFile
from stackgen.methods.metalearners import (
    KNN_NEIGHBOURS,
    meta_learner,
    neighbours,
    specs_for,
    takes_weights,
)
from stackgen.methods.protocols import CrossValidated, Holdout, Tutorial
from stackgen.trust.errors import StackgenError
from stackgen.workdir.table_files import VALUES_NOT_CLASSES


def check(cfg, split, own_folds: bool = False) -> None:
    """Refuse, in one line, a ``--meta`` of the other task (or one that cannot weight rows,
    with weights), ``--passthrough`` on data that is not feature columns, and protocols
    (``--protocol``, ``--folds``) that ``split`` cannot give rows for: each protocol object's
    own check (``CHECKS``; cv's is skipped with ``own_folds``, predictions that bring their own
    folds)."""
    kinds = [s.kind for s in specs_for(split.task)]
    if cfg.meta != "auto" and cfg.meta not in kinds:
        raise StackgenError(
            f"--meta {cfg.meta} is not a {split.task.name} meta-learner; use {', '.join(kinds)}"
        )
    if split.test_weights is not None and not takes_weights(
        meta_learner(cfg.meta, split.task, cfg.seed, cfg.passthrough)
    ):
        raise StackgenError(
            f"--meta {cfg.meta} cannot weight its rows, and --weights asks every meta-learner "
            "to: pick another --meta (logistic, rf, gbm, ...), or drop --weights"
        )
    if cfg.passthrough and not split.flat:
        raise StackgenError(
            "--passthrough gives the meta-learners the raw features, and this data is "
            f"{split.describe()}, not feature columns: drop --passthrough"
        )
    chosen = cfg.protocol_objects()
    if not split.has_train:  # members trained elsewhere: cv is skipped, with a note
        if all(p.needs_oof for p in chosen):
            raise StackgenError(
                "the cv protocol retrains the members on the training rows, and this data has "
                "no train arrays: use --protocol holdout or --protocol tutorial"
            )
        chosen = [p for p in chosen if not p.needs_oof]
    counts = _Counts.of(split, may_be_values=cfg.task == "auto" and cfg.data_file is not None)
    if own_folds:  # cv fits on the file's own out-of-fold rows: nothing of it to check here
        chosen = [p for p in chosen if not isinstance(p, CrossValidated)]
    _refuse_what_cannot_run(chosen, counts, cfg.seed, cfg.folds)
    if split.task.name == "classification" and (split.grouped or split.ordered):
        _check_meta_rows_classes(chosen, split, own_folds)


@dataclasses.dataclass(frozen=True)
class _Counts:
    """What the checks look at: the task, the rows of each class (or in all, for regression)
    in the train and test parts, and whether a larger --test-size is there to suggest."""

    regression: bool
    names: list[str]
    train: list[int]
    test: list[int]
    table: bool
    train_groups: int | None = None  # distinct groups in each part, with groups
    test_groups: int | None = None
    ordered: bool = False
    may_be_values: bool = False  # classes named by numbers, the task guessed: --task regression

    @classmethod
    def of(cls, split, may_be_values: bool = False) -> _Counts:
        table = isinstance(split.source, TableFile)
        groups = {
            f"{part}_groups": int(np.unique(split.groups(part)).size)
            for part in ("train", "test")
            if split.grouped
        }
        facts = {**groups, "ordered": split.ordered}
        if split.task.name == "regression":
            return cls(True, [], [len(split.train_y)], [len(split.test_y)], table, **facts)
        names = split.class_names
        train = np.bincount(split.train_y, minlength=len(names)).tolist()
        test = np.bincount(split.test_y, minlength=len(names)).tolist()
        values = may_be_values and all(finite_number(name) is not None for name in names)
        return cls(False, names, train, test, table, **facts, may_be_values=values)


@dataclasses.dataclass(frozen=True)
class _Refusal:
    """Why one protocol cannot run on these rows, and what of its own would let it: the k
    of ``--folds`` that would (cv), and which way ``--test-size`` would have to move."""

    why: str
    folds: int | None = None
    test_size: str | None = None  # "smaller" or "larger"


def _refuse_what_cannot_run(chosen, c: _Counts, seed: int, folds_asked: int) -> None:
    """Refuse, in one line, every chosen protocol the rows cannot serve, each with its limit,
    and offer only what would run: a ``--folds`` or ``--test-size`` that all of them take, else
    a protocol alone that these rows can serve (an honest one before the tutorial's), and
    ``--task regression`` for classes named by numbers. Refusing the protocols one at a time
    sent the user in a circle between them."""
    order = list(CHECKS)  # cv's rows first, then holdout's, then the tutorial's
    chosen = sorted(chosen, key=lambda p: order.index(type(p)))
    refused = [r for r in (CHECKS[type(p)](p, c) for p in chosen) if r is not None]
    if not refused:
        return
    fixes = []
    folds = [r.folds for r in refused]
    fewer_folds = all(k is not None for k in folds)  # only cv's folds stand in the way
    if fewer_folds:
        fixes.append(f"--folds {min(folds)} or fewer")
    ways = {r.test_size for r in refused}
    if c.table and len(ways) == 1 and None not in ways:
        fixes.append(f"a {ways.pop()} --test-size")
    alone = _protocols_alone(c, seed, folds_asked, exclude=chosen if len(chosen) == 1 else [])
    if fewer_folds:  # cv with fewer folds is offered already
        alone = [a for a in alone if not a.startswith("--protocol cv --folds")]
    if alone:
        fixes.append(" or ".join(alone))
    if c.may_be_values:
        fixes.append(VALUES_NOT_CLASSES)
    why = "; and ".join(r.why for r in refused)
    if not fixes:
        raise StackgenError(f"{why}; none of the three protocols can run on these rows")
    if len(fixes) == 1:
        raise StackgenError(f"{why}; use {fixes[0]}")
    raise StackgenError(f"{why}; use {', '.join(fixes[:-1])}, or {fixes[-1]}")


def _protocols_alone(c: _Counts, seed: int, folds: int, exclude) -> list[str]:
    """The ``--protocol`` (with the ``--folds`` it needs) that would run alone on these rows:
    the honest ones, or the tutorial's where neither honest one can."""
    excluded = {type(p) for p in exclude}
    honest = []
    cv = _check_cv(CrossValidated(folds, seed), c)
    if CrossValidated not in excluded:
        if cv is None:
            honest.append("--protocol cv")
        elif cv.folds is not None:
            honest.append(f"--protocol cv --folds {cv.folds}")
    if Holdout not in excluded and _check_holdout(Holdout(seed), c) is None:
        honest.append("--protocol holdout")
    if honest or Tutorial in excluded:
        return honest
    return ["--protocol tutorial"] if _check_tutorial(Tutorial(), c) is None else []


def _check_cv(protocol: CrossValidated, c: _Counts) -> _Refusal | None:
    folds = protocol.folds
    if c.train_groups is not None:  # group-wise folds: each fold needs a group of its own
        if c.train_groups < folds:
            return _Refusal(
                f"--folds {folds} is more than the {c.train_groups} groups of the training "
                "rows: group-wise folds need a group for each",
                _at_least_two(c.train_groups),
                "smaller",
            )
        return None
    if c.ordered:  # forward-chaining: k + 1 blocks of at least one row
        rows = sum(c.train)
        if rows <= folds:
            return _Refusal(
                f"--folds {folds} forward-chaining folds need more than {folds} training rows, "
                f"and there are {rows}",
                _at_least_two(rows - 1),
                "smaller",
            )
        return None
    if c.regression:
        if c.train[0] < folds:
            return _Refusal(
                f"--folds {folds} is more than the {c.train[0]} training rows",
                _at_least_two(c.train[0]),
                "smaller",
            )
        return None
    fewest = min(range(len(c.names)), key=lambda k: c.train[k])
    k = c.train[fewest]
    if k < 2:
        return _Refusal(
            f"class {c.names[fewest]!r} has {_rows(k, 'training')}: the cv protocol's "
            "stratified folds need at least 2 of every class",
            None,
            "smaller",
        )
    if k < folds:
        return _Refusal(
            f"--folds {folds} is more than the {k} training rows of class "
            f"{c.names[fewest]!r}: the cv protocol's stratified folds each need a row of "
            "every class",
            k,
            "smaller",
        )
    return None


def _check_holdout(protocol: Holdout, c: _Counts) -> _Refusal | None:
    if c.test_groups is not None and c.test_groups < 2:
        return _Refusal(
            f"the test rows hold {c.test_groups} group: the holdout protocol fits on some "
            "groups and scores on others, and needs 2 or more",
            test_size="larger",
        )
    if c.test_groups is not None or c.ordered or c.regression:
        if sum(c.test) < 4:
            return _Refusal(
                f"{_rows(sum(c.test), 'test')}: the holdout protocol needs at least 4 (2 to "
                "fit on, 2 to score on)",
                test_size="larger",
            )
        return None
    fewest = min(range(len(c.names)), key=lambda k: c.test[k])
    if c.test[fewest] < 2:
        return _Refusal(
            f"class {c.names[fewest]!r} has {_rows(c.test[fewest], 'test')}: the holdout "
            "protocol halves the test rows class by class, so every class needs at least "
            "2 there",
            test_size="larger",
        )
    return None


def _check_tutorial(protocol: Tutorial, c: _Counts) -> _Refusal | None:
    if c.regression:
        if c.test[0] < 2:
            return _Refusal(
                f"{_rows(c.test[0], 'test')}: the tutorial protocol's score needs at least 2",
                test_size="larger",
            )
        return None
    present = [c.names[k] for k in range(len(c.names)) if c.test[k] > 0]
    if len(present) < 2:
        held = f"only class {present[0]!r}" if present else "no rows"
        return _Refusal(
            f"the test rows hold {held}: the tutorial protocol fits its "
            "meta-learner on them and needs two classes or more",
            test_size="larger",
        )
    return None


def _check_meta_rows_classes(chosen, split, own_folds: bool) -> None:
    """Split by whole groups or by time, a meta-learner's rows cannot be stratified: refuse a
    protocol whose meta-learner would be fit on rows of one class."""
    for protocol in chosen:
        if isinstance(protocol, Holdout):
            (_, fit), _ = protocol.split(split)
            y, said = split.test_y[fit], "the holdout protocol's fitting half of the test rows"
        elif isinstance(protocol, CrossValidated) and split.ordered and not own_folds:
            held = np.concatenate([out for _, out in protocol.oof_splits(split)])
            y, said = split.train_y[held], "the training rows forward-chaining folds predict"
        else:
            continue
        if np.unique(y).size < 2:
            only = split.class_names[int(y[0])] if len(y) else "none"
            raise StackgenError(
                f"{said} hold only class {only!r}: its meta-learner needs two classes or more; "
                "use another --test-size or --folds, or another --protocol"
            )


# Each protocol's check, by its class: what rows it needs the data to have.
CHECKS = {CrossValidated: _check_cv, Holdout: _check_holdout, Tutorial: _check_tutorial}


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


def _at_least_two(k: int) -> int | None:
    """A ``--folds`` to offer: k, where k folds are folds at all."""
    return k if k >= 2 else None


def _rows(n: int, kind: str) -> str:
    return f"{n} {kind} row" + ("" if n == 1 else "s")
