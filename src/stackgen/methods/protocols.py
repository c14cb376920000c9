"""Which rows a meta-learner is fit on and which rows it is scored on: the three protocols.

* ``tutorial``: fit on the 1,000 test points, scored on the same 1,000. The tutorial's protocol,
  kept so its numbers can be compared; optimistic, because the meta-learner has seen the answers.
* ``holdout``: the 1,000 test points are split once (stratified, seeded) into a meta-training
  half and a final-test half. The meta-learner is fit on the first; members, baselines and stacks
  are all scored on the second.
* ``cv``: the meta-learner is fit on out-of-fold member predictions for the 100 training points
  (each member retrained k times, each time without the fold it then predicts; made by step 3),
  and scored on the untouched 1,000 test points, with members refit on all 100 training points.

Each protocol's ``MetaRows`` carries the row indices it fits on and scores on, named by the array
they index ("train" or "test"), so tests can check that no honest protocol fits on a row it scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from stackgen.config import PROTOCOLS, Config
from stackgen.data import inputs
from stackgen.data.split import Split
from stackgen.data.task import Task
from stackgen.methods.metalearners import BestMember

HONEST = tuple(p for p in PROTOCOLS if p != "tutorial")


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

    def describe(self) -> str:
        """E.g. "fit: 500 test; scored: other 500 test"."""
        (fit_set, fit_idx), (score_set, score_idx) = self.fit_rows, self.score_rows
        oof = " out-of-fold" if self.protocol == "cv" else ""
        other = "other " if self.protocol == "holdout" else ""
        return f"fit: {len(fit_idx)} {fit_set}{oof}; scored: {other}{len(score_idx)} {score_set}"

    def score(self, outputs: np.ndarray) -> float:
        """``outputs`` for the scoring rows, scored against their labels."""
        return self.task.score(outputs, self.score_y)


def holdout_rows(test_y: np.ndarray, seed: int, task: Task) -> tuple[np.ndarray, np.ndarray]:
    """Split the test rows once, stratified by class: (meta-training rows, final-test rows)."""
    rows = np.arange(len(test_y))
    stratify = task.stratify(test_y)
    fit, score = train_test_split(rows, test_size=0.5, stratify=stratify, random_state=seed)
    return np.sort(fit), np.sort(score)


def cv_folds(train_y: np.ndarray, folds: int, seed: int, task: Task) -> np.ndarray:
    """Fold number (0..folds-1) of each training row, stratified by class and seeded."""
    fold_of = np.empty(len(train_y), dtype=np.int64)
    if task.stratify(train_y) is None:
        splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        smallest = int(np.bincount(train_y).min())
        if smallest < folds:
            raise ValueError(f"a class has only {smallest} training rows, fewer than {folds} folds")
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (_, held_out) in enumerate(splitter.split(np.zeros(len(train_y)), train_y)):
        fold_of[held_out] = fold
    return fold_of


def rows_for(
    split: Split, test_P: np.ndarray, oof_P: np.ndarray | None, cfg: Config
) -> list[MetaRows]:
    """The rows of every protocol ``cfg`` asks for, in its order."""
    return [make_rows(p, split, test_P, oof_P, cfg.seed) for p in cfg.protocols]


def make_rows(
    protocol: str, split: Split, test_P: np.ndarray, oof_P: np.ndarray | None, seed: int
) -> MetaRows:
    """The rows of ``protocol``; ``oof_P`` (out-of-fold probabilities) is needed by cv only."""
    every_test = np.arange(len(split.test_y))
    if protocol == "tutorial":
        fit, score = every_test, every_test
        return MetaRows(
            protocol,
            split.task,
            test_P,
            split.test_y,
            split.test_X,
            test_P,
            split.test_y,
            split.test_X,
            ("test", fit),
            ("test", score),
        )
    if protocol == "holdout":
        fit, score = holdout_rows(split.test_y, seed, split.task)
        return MetaRows(
            protocol,
            split.task,
            test_P[fit],
            split.test_y[fit],
            inputs.take(split.test_X, fit),
            test_P[score],
            split.test_y[score],
            inputs.take(split.test_X, score),
            ("test", fit),
            ("test", score),
        )
    if protocol == "cv":
        if oof_P is None:
            raise ValueError("the cv protocol needs out-of-fold predictions")
        return MetaRows(
            protocol,
            split.task,
            oof_P,
            split.train_y,
            split.train_X,
            test_P,
            split.test_y,
            split.test_X,
            ("train", np.arange(len(split.train_y))),
            ("test", every_test),
        )
    raise ValueError(f"unknown protocol {protocol!r}")


def baseline_numbers(rows: MetaRows) -> dict:
    """What steps 4 and 5 report for a protocol besides their stack: its rows, each member's
    score, the best member (picked on the fitting rows) and the average, on the scoring rows."""
    best = BestMember().fit(rows.fit_P, rows.fit_y)
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
