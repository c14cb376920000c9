"""Members' predictions made anywhere (PyTorch, XGBoost, R, another Keras run): checked, and
made into what every meta-learner and protocol reads. No Keras here.

What is given (``from_predictions`` in the API, ``--predictions FILE.npz`` on the command line):

* ``oof`` [training rows, members, outputs]: each member's out-of-fold predictions on the
  training rows, made by copies that never saw their row (the cv protocol fits on them); rows
  no fold predicted (the first block of forward-chaining folds) are NaN, with fold -1;
* ``train_y``: the training rows' labels (class labels, or values for regression);
* optionally ``test`` [test rows, members, outputs] and ``test_y``: the members' predictions on
  rows none of them trained on (the holdout and tutorial protocols fit on them, and every
  protocol scores on them);
* optionally the members' names, each training row's fold (the split that predicted it), and
  each training row's group (then no group may sit in two folds).

Outputs are class probabilities (rows summing to one; a single column for two classes is the
second class's probability) or, for regression, one predicted value. Every problem is one
``StackgenError`` line naming the array; ``where`` starts it ("--predictions FILE" or
"from_predictions").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stackgen.data.task import CLASSIFICATION, Task
from stackgen.trust.errors import StackgenError

PROBABILITY_TOLERANCE = 1e-3  # how far from one a row of probabilities may sum (float32, rounding)


@dataclass(frozen=True)
class Predictions:
    """Checked predictions: outputs as float64 [rows, members, outputs] (two columns for two
    classes), labels as class indices (classification; ``classes`` their labels) or values."""

    task: Task
    oof: np.ndarray
    train_y: np.ndarray
    test: np.ndarray | None
    test_y: np.ndarray | None
    names: list[str]
    classes: np.ndarray | None
    folds: np.ndarray | None
    groups: np.ndarray | None

    @property
    def predicted(self) -> np.ndarray:
        """The training rows a fold predicted (all, but for a forward-chaining first block)."""
        return ~np.isnan(self.oof).any(axis=(1, 2))


def check(
    task: Task,
    oof,
    train_y,
    test=None,
    test_y=None,
    names=None,
    folds=None,
    groups=None,
    where: str = "from_predictions",
) -> Predictions:
    """The arrays checked and made ``Predictions``; one line for the first thing wrong."""

    def refuse(problem: str):
        raise StackgenError(f"{where}: {problem}")

    oof = _outputs(oof, "oof", task, refuse)
    n, members, _ = oof.shape
    train_y = _labels(train_y, "train_y", n, refuse)
    if (test is None) != (test_y is None):
        refuse("give test and test_y together, or neither")
    if test is not None:
        test = _outputs(test, "test", task, refuse)
        if test.shape[1:] != oof.shape[1:]:
            refuse(
                f"test has {test.shape[1]} members of {test.shape[2]} outputs, oof "
                f"{members} of {oof.shape[2]}: the same members, in the same order"
            )
        if np.isnan(test).any():
            refuse("test holds NaN: every member must predict every test row")
        test_y = _labels(test_y, "test_y", len(test), refuse)
    folds = _folds(folds, oof, refuse)
    if folds is None and np.isnan(oof).any():
        refuse("oof holds NaN rows: give folds, with -1 for the rows no fold predicted")
    if groups is not None:
        groups = np.asarray(groups)
        if groups.ndim != 1 or len(groups) != n:
            refuse(f"groups has shape {list(groups.shape)}: give one group per training row ({n})")
        if folds is not None:
            for group in np.unique(groups):
                held = np.unique(folds[groups == group])
                held = held[held >= 0]
                if len(held) > 1:
                    refuse(
                        f"group {group.item() if hasattr(group, 'item') else group!r} is in "
                        f"folds {held[0]} and {held[1]}: a model that predicted its rows in one "
                        "fold trained on its rows of the other, and these out-of-fold "
                        "predictions leak; make them with group-wise folds (GroupKFold)"
                    )
    if names is None:
        names = [f"member {m + 1}" for m in range(members)]
    names = [str(name) for name in np.asarray(names).reshape(-1).tolist()]
    if len(names) != members or len(set(names)) != members:
        refuse(f"members must name each of the {members} members once, got {names}")
    classes = None
    if task is CLASSIFICATION:
        every = train_y if test_y is None else np.concatenate([train_y, test_y])
        classes = np.unique(every)
        if len(classes) != oof.shape[2]:
            refuse(
                f"the labels hold {len(classes)} classes ({', '.join(map(str, classes[:6]))}) "
                f"and the predictions have {oof.shape[2]} columns: one per class, in sorted "
                "order of the labels"
            )
        train_y = np.searchsorted(classes, train_y).astype(np.int64)
        test_y = None if test_y is None else np.searchsorted(classes, test_y).astype(np.int64)
    else:
        train_y = _values(train_y, "train_y", refuse)
        test_y = None if test_y is None else _values(test_y, "test_y", refuse)
    return Predictions(task, oof, train_y, test, test_y, names, classes, folds, groups)


def later_outputs(task: Task, P, like: Predictions, where: str = "X") -> np.ndarray:
    """Predictions given to a stack made from predictions, checked against the ones it was fit
    on: the same members and outputs, every row predicted."""

    def refuse(problem: str):
        raise StackgenError(f"{where}: {problem}")

    P = _outputs(P, where, task, refuse)
    if P.shape[1:] != like.oof.shape[1:]:
        refuse(
            f"has {P.shape[1]} members of {P.shape[2]} outputs: this stack was made from "
            f"predictions of {like.oof.shape[1]} members of {like.oof.shape[2]} outputs, and "
            "takes theirs [rows, members, outputs]"
        )
    if np.isnan(P).any():
        refuse("holds NaN: every member must predict every row")
    return P


def _outputs(a, name: str, task: Task, refuse) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == object or not np.issubdtype(a.dtype, np.number):
        refuse(f"{name} holds {a.dtype} values, not numbers")
    a = a.astype(np.float64)
    if task is not CLASSIFICATION and a.ndim == 2:
        a = a[:, :, None]  # [rows, members]: one value each
    if a.ndim != 3 or 0 in a.shape:
        refuse(f"{name} has shape {list(a.shape)}: give [rows, members, outputs]")
    rows = a[~np.isnan(a).any(axis=(1, 2))]
    if np.isinf(a).any() or (np.isnan(a).any(axis=(1, 2)) != np.isnan(a).all(axis=(1, 2))).any():
        refuse(f"{name} holds infinite values, or rows predicted by some members only")
    if task is CLASSIFICATION:
        if rows.size and (rows.min() < 0 or rows.max() > 1):
            refuse(
                f"{name} holds values outside 0..1: give class probabilities (a softmax of "
                "logits, a sigmoid's output)"
            )
        if a.shape[2] == 1:  # two classes as the second one's probability
            a = np.concatenate([1 - a, a], axis=2)
            rows = a[~np.isnan(a).any(axis=(1, 2))]
        sums = rows.sum(axis=2)
        if sums.size and np.abs(sums - 1).max() > PROBABILITY_TOLERANCE:
            refuse(
                f"{name}'s rows of probabilities do not sum to one (one sums to "
                f"{sums.reshape(-1)[np.argmax(np.abs(sums - 1))]:.4f}): give each member's "
                "probabilities of every class"
            )
    elif a.shape[2] != 1:
        refuse(f"{name} has {a.shape[2]} outputs per member: regression takes one value")
    return a


def _labels(y, name: str, n: int, refuse) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != n:
        refuse(f"{name} has shape {list(y.shape)}: give one label per row ({n})")
    if y.dtype == object:
        refuse(f"{name} holds Python objects: give numbers or strings")
    return y


def _values(y: np.ndarray, name: str, refuse) -> np.ndarray:
    if not np.issubdtype(y.dtype, np.number) or not np.isfinite(y.astype(np.float64)).all():
        refuse(f"{name} must hold finite numbers for regression")
    return y.astype(np.float64)


def _folds(folds, oof: np.ndarray, refuse) -> np.ndarray | None:
    """Each training row's fold: whole numbers, -1 exactly where no fold predicted the row,
    at least two folds."""
    if folds is None:
        return None
    folds = np.asarray(folds)
    n = len(oof)
    if folds.ndim != 1 or len(folds) != n:
        refuse(f"folds has shape {list(folds.shape)}: give one fold id per training row ({n})")
    if not np.issubdtype(folds.dtype, np.integer):
        refuse(f"folds holds {folds.dtype} values: give each row's fold as a whole number")
    missing = np.isnan(oof).any(axis=(1, 2))
    if (folds < -1).any() or ((folds == -1) != missing).any():
        refuse(
            "folds must be -1 exactly for the rows oof leaves NaN (no fold predicted them), "
            "and 0 or more for every other row"
        )
    if np.unique(folds[folds >= 0]).size < 2:
        refuse("folds names fewer than 2 folds: out-of-fold predictions come from 2 or more")
    return folds.astype(np.int64)
