"""The leak audit of rows that are not independent: what folds blind to the groups or to the
time would have reported, beside what the honest folds report, on the same training rows.

Under row-wise folds a group's rows (a patient's) sit on both sides of a split: a member that
learns the group predicts its other rows well, its out-of-fold predictions flatter it, and a
stack cross-validated on them looks better than it is. Under random folds a series is predicted
from its own future. Step 3 makes both sets of out-of-fold predictions; here each is scored the
same way, on the rows both predict:

* the best member (for each fold, the member with the best score on the other folds' rows,
  predicting that fold) and the members' average;
* the stack: for each fold, the meta-learner fit on the other folds' out-of-fold rows predicts
  that fold's rows, so it is never scored on a row it was fit on.

The gap between the two is what the groups or the time order are worth to an honest estimate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from stackgen.data.task import Task
from stackgen.methods.metalearners import BestMember


def audit(
    make_meta: Callable[[], object],
    task: Task,
    y: np.ndarray,
    honest: tuple[np.ndarray, np.ndarray],
    rowwise: tuple[np.ndarray, np.ndarray],
    weights: np.ndarray | None = None,
    forward: bool = False,
) -> dict:
    """{"rows": rows scored, "rowwise": scores, "honest": scores}, each scores a dict of
    "stack", "best_member" and "average"; ``honest`` and ``rowwise`` are (out-of-fold outputs
    [rows, members, outputs], each row's fold, -1 for none). With ``forward`` (a time order),
    the honest stack of a fold is fit on the earlier folds only, and the first fold, which has
    none, is scored by neither."""
    same = (honest[1] >= 0) & (rowwise[1] >= 0)
    stacks = {
        "honest": out_of_fold_stack(make_meta, *honest, y, weights, forward, same),
        "rowwise": out_of_fold_stack(make_meta, *rowwise, y, weights, False, same),
    }
    scored = same & ~np.isnan(stacks["honest"]).any(axis=1)
    w = None if weights is None else weights[scored]
    found = {"rows": int(scored.sum())}
    for name, (P, fold_of) in (("honest", honest), ("rowwise", rowwise)):
        best = out_of_fold_stack(BestMember, P, fold_of, y, weights, False, scored)
        found[name] = {
            "stack": task.score(stacks[name][scored], y[scored], w),
            "best_member": task.score(best[scored], y[scored], w),
            "average": task.score(P[scored].mean(axis=1), y[scored], w),
        }
    return found


def out_of_fold_stack(
    make_meta, P, fold_of, y, weights=None, forward: bool = False, same=None
) -> np.ndarray:
    """Each fold's rows (of ``same``: all rows a fold predicted) predicted by a meta-learner
    fit on the other folds' rows (the earlier ones only, ``forward``); NaN where there were
    none to fit on."""
    same = fold_of >= 0 if same is None else same
    stacked = np.full((len(y), P.shape[2]), np.nan)
    for fold in np.unique(fold_of[same]):
        fit = same & ((fold_of < fold) if forward else (fold_of != fold))
        out = same & (fold_of == fold)
        if not fit.any() or np.unique(y[fit]).size < 2:
            continue
        meta = make_meta()
        meta.fit(P[fit], y[fit], None, None if weights is None else weights[fit])
        stacked[out] = meta.predict_proba(P[out])
    return stacked
