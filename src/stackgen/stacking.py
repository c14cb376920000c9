"""The separate stacking model: members' class probabilities in, a scikit-learn meta-learner on top.

Two corrections to the tutorial's text:

* Column order. The tutorial stacks predictions with ``numpy.dstack``, which gives
  [n_samples, n_classes, n_members] ([1000, 3, 5]), not the [1000, 5, 3] its text states, so its
  15 columns run class by class. We stack member by member, [n_samples, n_members, n_classes],
  and flatten to columns ``member_1:class_0, member_1:class_1, ..., member_N:class_{C-1}``: the same
  order in which the integrated network concatenates its members' outputs. The columns are a
  permutation of the tutorial's; an L2-penalised logistic regression reaches the same optimum
  under any permutation of its inputs, so accuracy does not depend on the choice.
* Multi-class scheme. The tutorial says scikit-learn's LogisticRegression handles three classes
  by one-vs-rest, which was true of scikit-learn 0.20 (``solver="liblinear"``,
  ``multi_class="ovr"``). Modern scikit-learn fits a single multinomial (softmax) model. We use
  multinomial by default; ``--meta ovr`` reproduces the tutorial-era one-vs-rest model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import skops.io as sio
from sklearn.base import ClassifierMixin
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from stackgen import lineage
from stackgen.artifacts import Paths, StackgenError, corrupt, remake_hint, require, write_atomic

# What a saved meta-learner may contain. skops refuses every other type instead of running it.
TRUSTED_TYPES = [
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.multiclass.OneVsRestClassifier",
    "sklearn.preprocessing._label.LabelBinarizer",
    "sklearn.linear_model._base.LinearRegression",
]


def stacked_inputs(probabilities: list[np.ndarray]) -> np.ndarray:
    """Flatten N members' [n_samples, C] probabilities to [n_samples, N*C], member by member."""
    if not probabilities:
        raise ValueError("need the predictions of at least one member")
    shapes = {p.shape for p in probabilities}
    if len(shapes) != 1 or len(probabilities[0].shape) != 2:
        raise ValueError(f"members' predictions must share one 2-D shape, got {sorted(shapes)}")
    stacked = np.stack(probabilities, axis=1)  # [n_samples, n_members, n_classes]
    return stacked.reshape(stacked.shape[0], -1)


def column_names(n_members: int, n_classes: int, regression: bool = False) -> list[str]:
    if regression:
        return [f"member_{m}" for m in range(1, n_members + 1)]
    return [f"member_{m}:class_{c}" for m in range(1, n_members + 1) for c in range(n_classes)]


def make_meta(kind: str, seed: int) -> ClassifierMixin:
    if kind == "multinomial":
        return LogisticRegression(max_iter=1000, random_state=seed)
    if kind == "ovr":
        # scikit-learn 0.20's default LogisticRegression(), the one the tutorial ran.
        return OneVsRestClassifier(LogisticRegression(solver="liblinear", random_state=seed))
    raise ValueError(f"unknown meta-learner {kind!r}")


def save_meta(model: ClassifierMixin, path: Path) -> Path:
    return write_atomic(path, lambda tmp: sio.dump(model, tmp))


def load_meta(path: Path, paths: Paths) -> ClassifierMixin:
    """Load a saved meta-learner through skops, trusting only the types listed above."""
    require(path, 4, paths)
    try:
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
    except Exception as exc:  # not a skops archive: a pickle, a truncated file, ...
        raise corrupt(path, 4, paths, exc) from None
    if untrusted:
        raise StackgenError(
            f"{paths.rel(path)} holds types this project does not trust "
            f"({', '.join(untrusted[:3])}); refusing to load it: {remake_hint(4)}"
        )
    try:
        meta = sio.load(path, trusted=TRUSTED_TYPES)
    except Exception as exc:
        raise corrupt(path, 4, paths, exc) from None
    # skops trusts most scikit-learn types by default; ours is one of two shapes, nothing else.
    inner = meta.estimator if isinstance(meta, OneVsRestClassifier) else meta
    if not isinstance(inner, LogisticRegression | LinearRegression):
        raise StackgenError(
            f"{paths.rel(path)} holds a {type(meta).__name__}, not a linear meta-learner: "
            f"{remake_hint(4)}"
        )
    lineage.verify(paths, path, 4)
    return meta
