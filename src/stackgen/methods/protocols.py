"""Which rows a meta-learner is fit on and which rows it is scored on: protocols as objects.

The rule behind all of them: an honest meta-learner never learns from a prediction a member made
on a row that member trained on, and is never scored on a row it learnt from.

**The estimator's** ``cv`` (``stacking_cv``) says how ``fit`` makes the meta-learner's training
rows out of the rows it is given. One interface, ``split(X, y, groups) -> [(fit rows, held-out
rows), ...]``, as scikit-learn's splitters have:

* ``Prefit``: no splits. The members are used as given and the meta-learner is fit on every row
  passed to ``fit``: the holdout protocol when the members never saw those rows, the tutorial's
  when they are the test rows.
* ``Folds``: for each split, fresh copies of the members train on its fit rows and predict its
  held-out rows (out of fold); the meta-learner is fit on the rows that were held out somewhere.
  An integer k gives (stratified, shuffled, seeded) k-fold splits; a float f one split that holds
  out a fraction f; any scikit-learn splitter its own, as long as no row is held out twice.

**The command line's three** (``Tutorial``, ``Holdout``, ``CrossValidated``) say, for a run's
train and test rows and members trained on the train rows, which rows each step's meta-learner
is fit on and scored on (``rows``):

* ``tutorial``: fit on the 1,000 test points, scored on the same 1,000. The tutorial's protocol,
  kept so its numbers can be compared; optimistic, because the meta-learner has seen the answers.
* ``holdout``: the 1,000 test points are split once (stratified, seeded) into a meta-training
  half and a final-test half. The meta-learner is fit on the first; members, baselines and stacks
  are all scored on the second.
* ``cv``: the meta-learner is fit on out-of-fold member predictions for the 100 training points
  (its ``stacking_cv``: each member retrained k times, each time without the fold it then
  predicts; made by step 3), and scored on the untouched 1,000 test points, with members refit on
  all 100 training points.

Each protocol's ``MetaRows`` carries the row indices it fits on and scores on, named by the array
they index ("train" or "test"), so tests can check that no honest protocol fits on a row it scores.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    TimeSeriesSplit,
    train_test_split,
)

from stackgen.data import inputs
from stackgen.data.split import Split
from stackgen.data.task import Task
from stackgen.methods.metalearners import BestMember
from stackgen.trust.errors import StackgenError, StackgenTypeError

# --- the estimator's cv: how fit makes the meta-learner's training rows ------------------------


class Prefit:
    """Members used as given; the meta-learner is fit on every row passed to ``fit``."""

    name = "prefit"
    trains_copies = False

    def split(self, X, y, groups=None, order=None) -> list[tuple[np.ndarray, np.ndarray]]:
        return []

    def __repr__(self) -> str:
        return "Prefit()"


class Folds:
    """Out-of-fold predictions: for each (fit rows, held-out rows) of ``splitter``, fresh copies
    of the members train on the fit rows and predict the held-out ones. No row may be held out
    twice; rows never held out get no prediction, and the meta-learner is not fit on them."""

    name = "folds"
    trains_copies = True

    def __init__(self, splitter, label: str):
        self.splitter = splitter
        self.label = label  # the caller's name for it, for messages: "cv=5"

    def split(self, X, y, groups=None, order=None) -> list[tuple[np.ndarray, np.ndarray]]:
        """(fit rows, held-out rows) index pairs; with ``groups`` (one label per row) no group
        is on both sides of a split, with ``order`` (one time per row) no split fits on a row
        later than one it holds out: the splitter sees the rows in that order."""
        n = inputs.count(X)
        placeholder = np.zeros((n, 1))  # splitters look at the rows' count and the labels
        y = np.asarray(y)
        sort = np.arange(n) if order is None else np.argsort(order, kind="stable")
        try:
            if hasattr(self.splitter, "split"):
                pairs = [
                    (sort[fit], sort[out])
                    for fit, out in self.splitter.split(
                        placeholder, y[sort], None if groups is None else groups[sort]
                    )
                ]
            else:  # a list of index pairs: rows of X as given
                pairs = list(self.splitter)
        except ValueError as exc:  # too few rows of a class for k folds, groups missing, ...
            raise StackgenError(f"{self.label} cannot split these {n} rows: {exc}") from None
        splits = check_splits(pairs, n, self.label)
        if groups is not None:
            check_groups_apart(splits, groups, self.label)
        if order is not None:
            check_forward(splits, order, self.label)
        return splits

    def __repr__(self) -> str:
        return f"Folds({self.splitter!r})"


def check_splits(pairs, n: int, label: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """``pairs`` as (fit rows, held-out rows) index arrays, or one line saying what is wrong:
    no split, a held-out row outside 0..n-1, one held out twice, or held out and trained on."""
    splits, held = [], np.zeros(n, dtype=np.int64)
    for pair in pairs:
        try:
            fit, out = (np.asarray(part).reshape(-1) for part in pair)
        except (TypeError, ValueError):
            raise StackgenTypeError(
                f"{label}: each split must be a pair (fit rows, held-out rows)"
            ) from None
        for part in (fit, out):
            if part.dtype == bool:
                raise StackgenError(f"{label}: give each split's rows as indices, not masks")
            if part.size and (part.min() < 0 or part.max() >= n):
                raise StackgenError(f"{label}: a split names a row outside 0..{n - 1}")
        fit, out = fit.astype(np.int64), out.astype(np.int64)
        if not fit.size or not out.size:
            raise StackgenError(f"{label}: a split has no rows to fit on, or none to predict")
        if np.intersect1d(fit, out).size:
            raise StackgenError(f"{label}: a split trains on a row it holds out")
        held[out] += 1
        splits.append((np.sort(fit), np.sort(out)))
    if not splits:
        raise StackgenError(f"{label} gave no split")
    if held.max() > 1:
        row = int(np.argmax(held > 1))
        raise StackgenError(
            f"{label} holds out row {row} more than once: out-of-fold predictions need held-out "
            "parts that do not overlap (KFold, StratifiedKFold, GroupKFold, TimeSeriesSplit do "
            "not; ShuffleSplit does)"
        )
    return splits


def check_groups_apart(splits, groups: np.ndarray, label: str) -> None:
    """One line if a split puts rows of one group on both sides: under such a split a member
    learns the group, not the task, and its out-of-fold predictions flatter it."""
    groups = np.asarray(groups)
    for fit, out in splits:
        shared = np.intersect1d(groups[fit], groups[out])
        if shared.size:
            raise StackgenError(
                f"{label} puts group {shared.tolist()[0]!r} on both sides of a split: give a "
                "splitter "
                "that keeps groups apart (GroupKFold, StratifiedGroupKFold), or a number of "
                "folds"
            )


def check_forward(splits, order: np.ndarray, label: str) -> None:
    """One line if a split fits on a row later (in ``order``) than a row it holds out: a
    series must be predicted from its past only."""
    order = np.asarray(order)
    for fit, out in splits:
        if order[fit].max() > order[out].min():
            raise StackgenError(
                f"{label} fits on rows later than rows it holds out: with a time order, give a "
                "number of folds (forward-chaining) or TimeSeriesSplit"
            )


def kfold(folds: int, seed: int, task: Task, grouped: bool = False, ordered: bool = False):
    """The splitter of ``cv=k`` and of the command line's cv protocol: k folds, stratified by
    class for classification, shuffled from ``seed``; with groups, folds that keep every group
    whole (stratified where the groups allow); with a time order, forward-chaining
    (expanding-window) folds: each fold is predicted by copies trained on every earlier block
    only, and the first block is never predicted."""
    if ordered:
        return TimeSeriesSplit(n_splits=folds)
    classes = task.name == "classification"
    if grouped:
        kind = StratifiedGroupKFold if classes else GroupKFold
        return kind(n_splits=folds, shuffle=True, random_state=seed)
    if classes:
        return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return KFold(n_splits=folds, shuffle=True, random_state=seed)


def two_parts(
    y: np.ndarray,
    fraction: float,
    seed: int,
    task: Task,
    groups: np.ndarray | None = None,
    order: np.ndarray | None = None,
    label: str = "the split",
    stratified: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows split once into (the rest, a part of about ``fraction`` of them), each sorted:
    stratified by class (unless not ``stratified``) and seeded; with ``groups``, whole groups
    on each side (stratified where the groups allow and the fraction is close to one fold's
    share; else by a shuffle of whole groups); with ``order``, the latest rows held out, rows
    of the same time kept on one side."""
    n = len(y)
    rows = np.arange(n)
    if order is not None:
        sort = np.argsort(order, kind="stable")
        times = np.asarray(order)[sort]
        cut = n - min(n - 1, max(1, int(np.ceil(fraction * n))))
        tied = np.flatnonzero(times == times[cut])  # a time on both sides: all of it later
        cut = tied[0] if tied[0] > 0 else tied[-1] + 1
        if cut >= n:
            raise StackgenError(f"{label}: every row has the same time; nothing is later")
        return np.sort(sort[:cut]), np.sort(sort[cut:])
    if groups is not None:
        groups = np.asarray(groups)
        distinct = np.unique(groups).size
        if distinct < 2:
            raise StackgenError(f"{label} needs at least 2 groups to keep apart, got {distinct}")
        small = min(fraction, 1 - fraction)
        k = min(distinct, max(2, int(1 / small + 0.5)))
        if stratified and task.name == "classification" and abs(1 / k - small) <= 0.05:
            # k folds of whole groups, stratified: the first fold is the held-out part
            splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
            rest, part = next(splitter.split(np.zeros((n, 1)), y, groups))
            if fraction > 0.5:
                rest, part = part, rest
        else:
            splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
            rest, part = next(splitter.split(np.zeros((n, 1)), y, groups))
        return np.sort(rest), np.sort(part)
    stratify = task.stratify(y) if stratified else None
    rest, part = train_test_split(rows, test_size=fraction, stratify=stratify, random_state=seed)
    return np.sort(rest), np.sort(part)


class _Fraction:
    """``cv=f``: one split that holds out a fraction ``f`` of the rows (stratified by class,
    seeded; whole groups with groups; the latest rows with a time order, which ``Folds`` gives
    it as the rows' order); its fit rows are the rest."""

    def __init__(self, fraction: float, seed: int, task: Task, ordered: bool = False):
        self.fraction, self.seed, self.task, self.ordered = fraction, seed, task, ordered

    def split(self, X, y, groups=None):
        order = np.arange(len(y)) if self.ordered else None
        yield two_parts(y, self.fraction, self.seed, self.task, groups, order, "cv")

    def __repr__(self) -> str:
        return f"holdout fraction {self.fraction}"


def stacking_cv(
    cv, task: Task, seed: int, grouped: bool = False, ordered: bool = False
) -> Prefit | Folds:
    """The estimator's ``cv`` as a protocol object: "prefit", an integer k (at least 2), a
    float in (0, 1), a scikit-learn splitter, or an iterable of (fit rows, held-out rows).
    ``grouped`` and ``ordered`` (fit was given groups, or a time order) make k folds and a
    fraction keep groups whole, or run forward in time."""
    if isinstance(cv, str):
        if cv == "prefit":
            return Prefit()
        raise StackgenError(
            f"cv={cv!r}: give 'prefit', a number of folds (cv=5), a holdout fraction (cv=0.5) "
            "or a scikit-learn splitter"
        )
    if cv is None:
        cv = 5  # scikit-learn's default for its stacking estimators
    if isinstance(cv, bool):
        raise StackgenTypeError(f"cv={cv!r}: give 'prefit', a number of folds or a splitter")
    if grouped and ordered and isinstance(cv, numbers.Real):
        raise StackgenError(
            f"cv={cv} with both groups and order: give one of them, or a splitter of your own "
            "that keeps groups apart and runs forward in time"
        )
    if isinstance(cv, numbers.Integral):
        if cv < 2:
            raise StackgenError(f"cv={cv}: k-fold stacking needs at least 2 folds")
        return Folds(kfold(int(cv), seed, task, grouped, ordered), f"cv={cv}")
    if isinstance(cv, numbers.Real):
        if not 0 < cv < 1:
            raise StackgenError(
                f"cv={cv}: a float is the fraction of rows held out for the meta-learner, "
                "between 0 and 1"
            )
        return Folds(_Fraction(float(cv), seed, task, ordered), f"cv={cv}")
    if hasattr(cv, "split"):
        return Folds(cv, f"cv={type(cv).__name__}")
    if hasattr(cv, "__iter__"):
        return Folds(list(cv), "cv (a list of splits)")
    raise StackgenTypeError(
        f"cv is a {type(cv).__name__}; give 'prefit', a number of folds, a holdout fraction or "
        "a scikit-learn splitter"
    )


# --- the command line's three: which of a run's rows fit and score ----------------------------


@dataclass(frozen=True)
class MetaRows:
    """Member probabilities [rows, members, classes], labels and raw features, fit and score."""

    protocol: str
    task: Task
    fit_P: np.ndarray
    fit_y: np.ndarray
    fit_raw: inputs.Inputs
    score_P: np.ndarray
    score_y: np.ndarray
    score_raw: inputs.Inputs
    fit_rows: tuple[str, np.ndarray]
    score_rows: tuple[str, np.ndarray]
    described: str = ""
    fit_w: np.ndarray | None = None  # each row's weight (--weights), or None
    score_w: np.ndarray | None = None

    def describe(self) -> str:
        """E.g. "fit: 500 test; scored: other 500 test"."""
        return self.described

    def score(self, outputs: np.ndarray) -> float:
        """``outputs`` for the scoring rows, scored against their labels (weighted, with
        weights)."""
        return self.task.score(outputs, self.score_y, self.score_w)


class Protocol:
    """One of the command line's protocols. ``split`` says which of a run's rows its
    meta-learners fit on and which they are scored on, each as (the array the indices are of,
    "train" or "test"; the indices), as the estimators' protocols say which rows fit and which
    are held out; ``rows`` gathers those rows' member outputs, labels and features. Each keeps
    the split's groups whole and its time order forward (``Split.groups``, ``Split.order``)."""

    name: str
    needs_oof = False  # fit on the members' out-of-fold predictions (made by step 3)

    def split(self, split: Split) -> tuple[tuple[str, np.ndarray], tuple[str, np.ndarray]]:
        raise NotImplementedError

    def describe(self, fit: tuple, score: tuple, split: Split) -> str:
        """E.g. "fit: 500 test; scored: other 500 test"."""
        (fit_set, fit_idx), (score_set, score_idx) = fit, score
        return f"fit: {len(fit_idx)} {fit_set}; scored: {len(score_idx)} {score_set}"

    def rows(self, split: Split, test_P: np.ndarray, oof_P: np.ndarray | None) -> MetaRows:
        fit, score = self.split(split)
        if oof_P is None and "train" in (fit[0], score[0]):
            raise ValueError(f"the {self.name} protocol needs out-of-fold predictions")
        if fit[0] == "train":  # forward-chaining folds predict no row of the first block
            predicted = ~np.isnan(oof_P[fit[1]]).any(axis=(1, 2))
            fit = (fit[0], fit[1][predicted])
        parts = {
            "train": (oof_P, split.train_y, split.train_X, split.train_weights),
            "test": (test_P, split.test_y, split.test_X, split.test_weights),
        }

        def take(which, rows):
            P, y, X, w = parts[which]
            if len(rows) == len(y) and np.array_equal(rows, np.arange(len(y))):
                return P, y, X, w  # every row, in order: the arrays themselves
            return P[rows], y[rows], inputs.take(X, rows), None if w is None else w[rows]

        (fit_P, fit_y, fit_raw, fit_w), (score_P, score_y, score_raw, score_w) = (
            take(*fit),
            take(*score),
        )
        return MetaRows(
            self.name,
            split.task,
            fit_P,
            fit_y,
            fit_raw,
            score_P,
            score_y,
            score_raw,
            fit,
            score,
            self.describe(fit, score, split),
            fit_w,
            score_w,
        )


@dataclass(frozen=True)
class Tutorial(Protocol):
    name = "tutorial"

    def split(self, split):
        every = np.arange(len(split.test_y))
        return ("test", every), ("test", every)


@dataclass(frozen=True)
class Holdout(Protocol):
    seed: int = 1
    name = "holdout"

    def split(self, split):
        fit, score = holdout_rows(
            split.test_y, self.seed, split.task, split.groups("test"), split.order("test")
        )
        return ("test", fit), ("test", score)

    def describe(self, fit, score, split) -> str:
        if split.ordered:
            return f"fit: {len(fit[1])} earlier test; scored: {len(score[1])} latest test"
        other = "other groups'" if split.grouped else "other"
        return f"fit: {len(fit[1])} test; scored: {other} {len(score[1])} test"


@dataclass(frozen=True)
class CrossValidated(Protocol):
    folds: int = 5
    seed: int = 1
    name = "cv"
    needs_oof = True

    def stacking_cv(self, task: Task, grouped: bool = False, ordered: bool = False) -> Folds:
        """How step 3 makes the out-of-fold predictions this protocol fits on: k folds,
        group-wise with groups, forward-chaining with a time order."""
        how = " forward-chaining" if ordered else " group-wise" if grouped else ""
        return Folds(
            kfold(self.folds, self.seed, task, grouped, ordered), f"{self.folds}{how} folds"
        )

    def oof_splits(self, split: Split) -> list[tuple[np.ndarray, np.ndarray]]:
        """The (fit rows, held-out rows) of the training rows step 3's fold copies train on."""
        folds = self.stacking_cv(split.task, split.grouped, split.ordered)
        return folds.split(
            split.train_X, split.train_y, split.groups("train"), split.order("train")
        )

    def split(self, split):
        return ("train", np.arange(len(split.train_y))), ("test", np.arange(len(split.test_y)))

    def describe(self, fit, score, split) -> str:
        if split.ordered:
            return (
                f"fit: {len(fit[1])} train out-of-fold, forward-chaining; scored: "
                f"{len(score[1])} latest test"
            )
        how = " group-wise" if split.grouped else ""
        return f"fit: {len(fit[1])} train out-of-fold{how}; scored: {len(score[1])} test"


NAMES = ("tutorial", "holdout", "cv")


def named(name: str, seed: int, folds: int) -> Protocol:
    """The command line's protocol called ``name``, seeded."""
    if name == "tutorial":
        return Tutorial()
    if name == "holdout":
        return Holdout(seed)
    if name == "cv":
        return CrossValidated(folds, seed)
    raise ValueError(f"unknown protocol {name!r}")


def holdout_rows(
    test_y: np.ndarray,
    seed: int,
    task: Task,
    groups: np.ndarray | None = None,
    order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Split the test rows once, stratified by class: (meta-training rows, final-test rows);
    with groups, whole groups on each side; with a time order, the earlier half fits and the
    later half scores."""
    return two_parts(test_y, 0.5, seed, task, groups, order, "the holdout protocol")


def fold_ids(splits: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """Each row's split number (the one that held it out), or -1 for a row never held out."""
    fold_of = np.full(n, -1, dtype=np.int64)
    for number, (_, held_out) in enumerate(splits):
        fold_of[held_out] = number
    return fold_of


def rows_for(
    split: Split, test_P: np.ndarray, oof_P: np.ndarray | None, chosen: list[Protocol]
) -> list[MetaRows]:
    """The rows of every protocol in ``chosen``, in its order."""
    return [protocol.rows(split, test_P, oof_P) for protocol in chosen]


def baseline_numbers(rows: MetaRows) -> dict:
    """What steps 4 and 5 report for a protocol besides their stack: its rows, each member's
    score, the best member (picked on the fitting rows) and the average, on the scoring rows."""
    best = BestMember().fit(rows.fit_P, rows.fit_y, sample_weight=rows.fit_w)
    return {
        "protocol": rows.protocol,
        "rows": rows.describe(),
        "fit_rows": {"set": rows.fit_rows[0], "count": len(rows.fit_rows[1])},
        "scored_rows": {"set": rows.score_rows[0], "count": len(rows.score_rows[1])},
        "member_scores": [rows.score(rows.score_P[:, m]) for m in range(rows.score_P.shape[1])],
        "best_member": best.index_ + 1,
        "best_member_score": rows.score(best.predict_proba(rows.score_P)),
        "average_score": rows.score(rows.score_P.mean(axis=1)),
    }
