"""Ways to combine members' outputs: baselines and level-1 meta-learners, all with one interface.

Every combiner takes the members' outputs as P [rows, members, classes] ([rows, members, 1] for
regression) and, for the ones that may use them, the raw features, and returns class
probabilities [rows, classes] (predicted values [rows, 1] for regression):

    combiner.fit(P, y, raw) ; combiner.predict_proba(P, raw)

``passthrough`` (the raw features as extra meta-learner inputs) is applied in one place for every
meta-learner that can take extra columns (``stacked_features``); the ones that only weight the
members (nnls, greedy) refuse it (``SPECS``, checked before any training).

Baselines: one member, the best member (picked on the fitting rows), the plain average of
probabilities (model averaging), a weighted average (weights fitted on the fitting rows), and
majority vote. Meta-learners: logistic regression (multinomial or the tutorial-era one-vs-rest),
multi-response linear regression (Ting & Witten 1999), non-negative weights (Super Learner),
greedy ensemble selection with replacement (Caruana et al. 2004), random forest (100 trees),
gradient boosting (scikit-learn's histogram-based one), k-nearest neighbours and a small MLP;
for regression, linear and non-negative linear regression.

Two corrections to the tutorial's text:

* Column order. The tutorial stacks predictions with ``numpy.dstack``, which gives
  [n_samples, n_classes, n_members] ([1000, 3, 5]), not the [1000, 5, 3] its text states, so its
  15 columns run class by class. We stack member by member, [n_samples, n_members, n_classes],
  and flatten to columns ``member_1:class_0, ..., member_N:class_{C-1}``: the order in which the
  integrated network concatenates its members' outputs. The columns are a permutation of the
  tutorial's; an L2-penalised logistic regression reaches the same optimum under any
  permutation of its inputs, so accuracy does not depend on the choice.
* Multi-class scheme. The tutorial says scikit-learn's LogisticRegression handles three classes
  by one-vs-rest, which was true of scikit-learn 0.20 (``solver="liblinear"``,
  ``multi_class="ovr"``). Modern scikit-learn fits a single multinomial (softmax) model. We use
  multinomial by default; ``--meta ovr`` reproduces the tutorial-era one-vs-rest model.

Saving and loading them: ``methods/metalearner_files.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize, nnls
from sklearn.base import is_classifier
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.utils.validation import has_fit_parameter

from stackgen.data.task import Task, task_of
from stackgen.trust.errors import StackgenError

EPS = 1e-12

# Types a saved scikit-learn meta-learner may contain beyond those skops trusts by default (most
# of scikit-learn's estimators); skops refuses every other type instead of running it. Which
# estimator a file holds is then checked against its kind (``_expected_estimators``).
TRUSTED_TYPES = [
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.multiclass.OneVsRestClassifier",
    "sklearn.preprocessing._label.LabelBinarizer",
    "sklearn.linear_model._base.LinearRegression",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]


def log_loss(probs: np.ndarray, y: np.ndarray, sample_weight=None) -> float:
    losses = -np.log(np.clip(probs[np.arange(len(y)), y], EPS, 1.0))
    return float(np.average(losses, weights=sample_weight))


def stacked_inputs(probabilities: list[np.ndarray]) -> np.ndarray:
    """Flatten N members' [n_samples, C] probabilities to [n_samples, N*C], member by member."""
    if not probabilities:
        raise ValueError("need the predictions of at least one member")
    shapes = {p.shape for p in probabilities}
    if len(shapes) != 1 or len(probabilities[0].shape) != 2:
        raise ValueError(f"members' predictions must share one 2-D shape, got {sorted(shapes)}")
    stacked = np.stack(probabilities, axis=1)  # [n_samples, n_members, n_classes]
    return stacked.reshape(stacked.shape[0], -1)


def stacked_features(P: np.ndarray, raw: np.ndarray | None, passthrough: bool) -> np.ndarray:
    """What a meta-learner (or the integrated network's head) sees for P [rows, members,
    classes]: the members' outputs in concatenation order, then the raw features if asked."""
    X = stacked_inputs(list(P.transpose(1, 0, 2)))
    return np.hstack([X, raw]).astype(np.float32) if passthrough else X


def column_names(n_members: int, n_outputs: int, raw_names: list[str] | None = None) -> list[str]:
    """The meta-learner's input columns, in order; ``raw_names`` with passthrough."""
    if n_outputs == 1:
        members = [f"member_{m}" for m in range(1, n_members + 1)]
    else:
        members = [
            f"member_{m}:class_{c}" for m in range(1, n_members + 1) for c in range(n_outputs)
        ]
    return members + [f"raw:{name}" for name in raw_names or []]


# --- baselines: nothing or a few weights fitted; never the raw features ----------------------


class Combiner:
    """``fit(P, y, raw, sample_weight)`` then ``predict_proba(P, raw)``; see the module
    docstring. ``sample_weight`` (one weight per row, or None) weights the fitting rows."""

    passthrough = False

    def fit(self, P, y, raw=None, sample_weight=None):
        return self

    def predict_proba(self, P, raw=None):
        raise NotImplementedError


class Member(Combiner):
    """One member's own probabilities; nothing to fit."""

    def __init__(self, index: int):
        self.index = index

    def predict_proba(self, P, raw=None):
        return P[:, self.index, :]


class BestMember(Combiner):
    """The member with the highest accuracy (R² for regression) on the fitting rows (first one
    on a tie)."""

    def fit(self, P, y, raw=None, sample_weight=None):
        task = task_of(y)
        scores = [task.score(P[:, m], y, sample_weight) for m in range(P.shape[1])]
        self.index_ = int(np.argmax(scores))
        return self

    def predict_proba(self, P, raw=None):
        return P[:, self.index_, :]


class Average(Combiner):
    """Model averaging: the unweighted mean of the members' probabilities."""

    def predict_proba(self, P, raw=None):
        return P.mean(axis=1)


class MajorityVote(Combiner):
    """Each member votes for its most probable class; probabilities are the vote shares.

    A tie goes to the lowest class index, as argmax does.
    """

    def predict_proba(self, P, raw=None):
        votes = np.argmax(P, axis=2)  # [rows, members]
        n_classes = P.shape[2]
        return np.stack([(votes == c).mean(axis=1) for c in range(n_classes)], axis=1)


class Weights(Combiner):
    """A fixed weight per member, shared by all classes: saved as its weights (JSON)."""

    kind = "weights"

    def predict_proba(self, P, raw=None):
        return np.einsum("rmc,m->rc", P, self.weights_)

    def state(self) -> dict:
        return {"weights": self.weights_.tolist()}

    def load_state(self, state: dict) -> None:
        self.weights_ = _floats(state, "weights", ndim=1)


class WeightedAverage(Weights):
    """Convex weights (non-negative, summing to one) minimising log loss on the fitting rows."""

    def fit(self, P, y, raw=None, sample_weight=None):
        n_members = P.shape[1]

        def loss(z):
            w = np.exp(z - z.max())
            return log_loss(np.einsum("rmc,m->rc", P, w / w.sum()), y, sample_weight)

        z = minimize(loss, np.zeros(n_members), method="L-BFGS-B").x
        w = np.exp(z - z.max())
        self.weights_ = w / w.sum()
        return self


# --- meta-learners: --meta picks one; step 4 saves it and predict serves it ------------------


class NonNegativeWeights(Weights):
    """Super Learner style: non-negative least squares of the one-hot labels on the members'
    probabilities (one weight per member, shared by all classes), normalised to sum to one."""

    kind = "nnls"

    def fit(self, P, y, raw=None, sample_weight=None):
        rows, n_members, n_classes = P.shape
        design = P.transpose(0, 2, 1).reshape(rows * n_classes, n_members)
        target = np.eye(n_classes)[y].reshape(-1)
        if sample_weight is not None:  # weighted least squares: each row's equations scaled
            scale = np.repeat(np.sqrt(np.asarray(sample_weight, dtype=np.float64)), n_classes)
            design, target = design * scale[:, None], target * scale
        w, _ = nnls(design, target)
        self.weights_ = w / w.sum() if w.sum() > 0 else np.full(n_members, 1 / n_members)
        return self


class GreedySelection(Weights):
    """Ensemble selection with replacement (Caruana et al. 2004): start empty; each round add the
    member whose inclusion most lowers log loss on the fitting rows (lowest index on a tie); the
    ensemble is the average over the selected list, at the round that scored best."""

    kind = "greedy"

    def __init__(self, rounds: int = 25):
        self.rounds = rounds

    def fit(self, P, y, raw=None, sample_weight=None):
        total, chosen, history = np.zeros(P.shape[::2]), [], []
        for _ in range(self.rounds):
            losses = [
                log_loss((total + P[:, m]) / (len(chosen) + 1), y, sample_weight)
                for m in range(P.shape[1])
            ]
            best = int(np.argmin(losses))
            chosen.append(best)
            total = total + P[:, best]
            history.append((losses[best], list(chosen)))
        best_round = int(np.argmin([loss for loss, _ in history]))
        self.selected_ = history[best_round][1]
        self.weights_ = np.bincount(self.selected_, minlength=P.shape[1]) / len(self.selected_)
        return self


class MultiResponseLinear(Combiner):
    """Multi-response linear regression (Ting & Witten 1999): for each class c, a least-squares
    fit of "is class c" on the members' probabilities of class c (and the raw features, with
    passthrough); predict the largest response. Responses are clipped at zero and normalised to
    read as probabilities. Saved as its coefficients (JSON)."""

    kind = "mlr"

    def __init__(self, passthrough: bool = False):
        self.passthrough = passthrough

    def _design(self, P, raw, c):
        return np.hstack([P[:, :, c], raw]) if self.passthrough else P[:, :, c]

    def fit(self, P, y, raw=None, sample_weight=None):
        fits = [
            LinearRegression().fit(
                self._design(P, raw, c), (y == c).astype(float), sample_weight=sample_weight
            )
            for c in range(P.shape[2])
        ]
        self.coef_ = np.stack([f.coef_ for f in fits])  # [classes, inputs]
        self.intercept_ = np.array([f.intercept_ for f in fits])
        return self

    def predict_proba(self, P, raw=None):
        scores = np.stack(
            [
                self._design(P, raw, c) @ self.coef_[c] + self.intercept_[c]
                for c in range(P.shape[2])
            ],
            axis=1,
        )
        scores = np.clip(scores, 0.0, None) + EPS
        return scores / scores.sum(axis=1, keepdims=True)

    def state(self) -> dict:
        # Fit on float32 member outputs, the coefficients are float32: said, so that the loaded
        # ones compute in the same precision and give the same bits.
        return {
            "coef": self.coef_.tolist(),
            "intercept": self.intercept_.tolist(),
            "dtype": str(self.coef_.dtype),
        }

    def load_state(self, state: dict) -> None:
        dtype = {"float32": np.float32}.get(state.get("dtype"), np.float64)
        self.coef_ = _floats(state, "coef", ndim=2).astype(dtype)
        self.intercept_ = _floats(state, "intercept", ndim=1).astype(dtype)


def takes_weights(combiner) -> bool:
    """Whether a meta-learner can weight its fitting rows (a scikit-learn estimator whose fit
    takes ``sample_weight``; every one of stackgen's own)."""
    if not isinstance(combiner, SklearnMeta):
        return True
    return has_fit_parameter(combiner.estimator, "sample_weight")


class SklearnMeta(Combiner):
    """A scikit-learn estimator on the flattened member outputs (plus the raw features with
    passthrough). A classifier's ``predict_proba``; a regressor's predicted values."""

    def __init__(self, kind: str, estimator, passthrough: bool = False):
        self.kind = kind
        self.estimator = estimator
        self.passthrough = passthrough

    def fit(self, P, y, raw=None, sample_weight=None):
        if self.kind == "knn":  # stackgen's k-nearest neighbours: no more neighbours than rows
            self.estimator.set_params(n_neighbors=neighbours(len(y)))
        X = stacked_features(P, raw, self.passthrough)
        if sample_weight is None:
            self.estimator.fit(X, y)
        elif has_fit_parameter(self.estimator, "sample_weight"):
            self.estimator.fit(X, y, sample_weight=sample_weight)
        else:
            raise StackgenError(
                f"the {type(self.estimator).__name__} meta-learner cannot weight its rows "
                "(its fit takes no sample_weight); pick another, or fit without weights"
            )
        return self

    def predict_proba(self, P, raw=None):
        X = stacked_features(P, raw, self.passthrough)
        if not is_classifier(self.estimator) and not hasattr(self.estimator, "predict_proba"):
            return self.estimator.predict(X).reshape(-1, 1)  # a regressor: its predictions
        probs = self.estimator.predict_proba(X)
        seen = getattr(self.estimator, "classes_", None)
        n_classes = P.shape[2]
        if seen is not None and len(seen) < n_classes:  # a class its rows never held
            full = np.zeros((len(probs), n_classes))
            full[:, np.asarray(seen, dtype=np.int64)] = probs
            return full
        return probs


KNN_NEIGHBOURS = 15


def neighbours(rows: int) -> int:
    """k for k-nearest neighbours fit on ``rows`` rows: at most the rows (trust/settings.py
    says so where the steps fit it)."""
    return max(1, min(KNN_NEIGHBOURS, rows))


def make_logistic(kind: str, seed: int):
    """The logistic-regression meta-learner: modern multinomial, or the tutorial's one-vs-rest."""
    if kind == "multinomial":
        return LogisticRegression(max_iter=1000, random_state=seed)
    if kind == "ovr":
        # scikit-learn 0.20's default LogisticRegression(), the one the tutorial ran.
        return OneVsRestClassifier(LogisticRegression(solver="liblinear", random_state=seed))
    raise ValueError(f"unknown logistic meta-learner {kind!r}")


def _sklearn(kind: str, make: Callable[[int], object]):
    return lambda seed, passthrough: SklearnMeta(kind, make(seed), passthrough)


@dataclass(frozen=True)
class MetaSpec:
    """One --meta choice for one task: its table label and how to make it."""

    kind: str
    task: str
    label: str
    make: Callable[[int, bool], Combiner]  # (seed, passthrough) -> an unfitted combiner
    passthrough: bool = True  # whether it can take the raw features too


# In table order; --meta takes the kinds, "auto" picks the first of the split's task.
SPECS: tuple[MetaSpec, ...] = (
    MetaSpec(
        "multinomial",
        "classification",
        "logistic regression (multinomial)",
        _sklearn("multinomial", lambda seed: make_logistic("multinomial", seed)),
    ),
    MetaSpec(
        "ovr",
        "classification",
        "logistic regression (one-vs-rest)",
        _sklearn("ovr", lambda seed: make_logistic("ovr", seed)),
    ),
    MetaSpec(
        "mlr",
        "classification",
        "multi-response linear regression",
        lambda seed, passthrough: MultiResponseLinear(passthrough),
    ),
    MetaSpec(
        "nnls",
        "classification",
        "non-negative weights (Super Learner)",
        lambda seed, passthrough: NonNegativeWeights(),
        passthrough=False,
    ),
    MetaSpec(
        "greedy",
        "classification",
        "greedy selection (Caruana)",
        lambda seed, passthrough: GreedySelection(),
        passthrough=False,
    ),
    MetaSpec(
        "rf",
        "classification",
        "random forest",
        _sklearn(
            "rf",
            lambda seed: RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1),
        ),
    ),
    MetaSpec(
        "gbm",
        "classification",
        "gradient boosting",
        _sklearn("gbm", lambda seed: HistGradientBoostingClassifier(random_state=seed)),
    ),
    MetaSpec(
        "knn",
        "classification",
        "k-nearest neighbours",
        _sklearn("knn", lambda seed: KNeighborsClassifier(n_neighbors=KNN_NEIGHBOURS)),
    ),
    MetaSpec(
        "mlp",
        "classification",
        "MLP (scikit-learn)",
        _sklearn(
            "mlp",
            lambda seed: MLPClassifier(hidden_layer_sizes=(10,), max_iter=2000, random_state=seed),
        ),
    ),
    MetaSpec(
        "linear",
        "regression",
        "linear regression",
        _sklearn("linear", lambda seed: LinearRegression()),
    ),
    MetaSpec(
        "nnls",
        "regression",
        "non-negative linear regression",
        _sklearn("nnls", lambda seed: LinearRegression(positive=True)),
        passthrough=False,
    ),
)

KINDS = ("auto", *dict.fromkeys(spec.kind for spec in SPECS))
# Kinds that only weight the members, in every task: --passthrough is refused with them.
NO_PASSTHROUGH = tuple(
    kind
    for kind in KINDS
    if kind != "auto" and not any(s.passthrough for s in SPECS if s.kind == kind)
)
# Kinds that can take the raw features too.
WITH_RAW = tuple(k for k in KINDS if k not in ("auto", *NO_PASSTHROUGH))


def specs_for(task: Task) -> list[MetaSpec]:
    return [spec for spec in SPECS if spec.task == task.name]


def spec(kind: str, task: Task) -> MetaSpec:
    """--meta resolved for the task: "auto" is multinomial logistic regression for classes and
    linear regression for a numeric target; a meta-learner of the other task is an error."""
    allowed = specs_for(task)
    if kind == "auto":
        return allowed[0]
    for candidate in allowed:
        if candidate.kind == kind:
            return candidate
    names = ", ".join(s.kind for s in allowed)
    raise StackgenError(f"{kind!r} is not a {task.name} meta-learner; use one of {names}")


def meta_learner(kind: str, task: Task, seed: int, passthrough: bool = False) -> Combiner:
    """An unfitted meta-learner of ``kind`` for ``task``."""
    chosen = spec(kind, task)
    if passthrough and not chosen.passthrough:
        raise StackgenError(
            f"{kind} only weights the members' outputs and cannot use the raw features "
            "(passthrough); pick a meta-learner that takes extra columns "
            f"({', '.join(WITH_RAW)})"
        )
    return chosen.make(seed, passthrough)


def baselines(n_members: int, task: Task) -> dict[str, Combiner]:
    """Label -> combiner, in table order."""
    rows: dict[str, Combiner] = {f"member {m + 1}": Member(m) for m in range(n_members)}
    rows["best member (picked on fitting rows)"] = BestMember()
    if task.name == "regression":
        rows["average of predictions"] = Average()
        return rows
    rows["average of probabilities"] = Average()
    rows["weighted average (fitted weights)"] = WeightedAverage()
    rows["majority vote"] = MajorityVote()
    return rows


def _floats(state: dict, key: str, ndim: int) -> np.ndarray:
    values = np.asarray(state[key], dtype=np.float64)
    if values.ndim != ndim or not np.isfinite(values).all():
        raise ValueError(f"{key} is not a finite {ndim}-D array")
    return values


def stack_name(kind: str) -> str:
    """What printouts and ``predict`` call the stack of ``kind``: "logistic_stack", ..."""
    return {"multinomial": "logistic", "ovr": "logistic"}.get(kind, kind) + "_stack"
