"""Ways to combine members' class probabilities: baselines and level-1 meta-learners.

Every combiner takes the members' probabilities as P [rows, members, classes] (and the raw
features, for the ones that may use them) and returns class probabilities [rows, classes]:

    combiner.fit(P, y, raw) ; combiner.predict_proba(P, raw)

Baselines: one member, the best member (picked on the fitting rows), the plain average of
probabilities (model averaging), a weighted average (weights fitted on the fitting rows), and
majority vote. Meta-learners: logistic regression (multinomial or the tutorial-era one-vs-rest),
multi-response linear regression (Ting & Witten 1999), non-negative weights (Super Learner),
greedy ensemble selection with replacement (Caruana et al. 2004), random forest, gradient
boosting, k-nearest neighbours and a small MLP.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize, nnls
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LinearRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier

from stackgen.artifacts import StackgenError
from stackgen.metrics import score
from stackgen.stacking import make_meta, stacked_inputs

EPS = 1e-12


def log_loss(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], EPS, 1.0))))


class Member:
    """One member's own probabilities; nothing to fit."""

    def __init__(self, index: int):
        self.index = index

    def fit(self, P, y, raw=None):
        return self

    def predict_proba(self, P, raw=None):
        return P[:, self.index, :]


class BestMember:
    """The member with the highest accuracy (R² for regression) on the fitting rows (first one
    on a tie)."""

    def fit(self, P, y, raw=None):
        self.index_ = int(np.argmax([score(P[:, m], y) for m in range(P.shape[1])]))
        return self

    def predict_proba(self, P, raw=None):
        return P[:, self.index_, :]


class Average:
    """Model averaging: the unweighted mean of the members' probabilities."""

    def fit(self, P, y, raw=None):
        return self

    def predict_proba(self, P, raw=None):
        return P.mean(axis=1)


class MajorityVote:
    """Each member votes for its most probable class; probabilities are the vote shares.

    A tie goes to the lowest class index, as argmax does.
    """

    def fit(self, P, y, raw=None):
        return self

    def predict_proba(self, P, raw=None):
        votes = np.argmax(P, axis=2)  # [rows, members]
        n_classes = P.shape[2]
        return np.stack([(votes == c).mean(axis=1) for c in range(n_classes)], axis=1)


class WeightedAverage:
    """Convex weights (non-negative, summing to one) minimising log loss on the fitting rows."""

    def fit(self, P, y, raw=None):
        n_members = P.shape[1]

        def loss(z):
            w = np.exp(z - z.max())
            return log_loss(np.einsum("rmc,m->rc", P, w / w.sum()), y)

        z = minimize(loss, np.zeros(n_members), method="L-BFGS-B").x
        w = np.exp(z - z.max())
        self.weights_ = w / w.sum()
        return self

    def predict_proba(self, P, raw=None):
        return np.einsum("rmc,m->rc", P, self.weights_)


class NonNegativeWeights:
    """Super Learner style: non-negative least squares of the one-hot labels on the members'
    probabilities (one weight per member, shared by all classes), normalised to sum to one."""

    def fit(self, P, y, raw=None):
        rows, n_members, n_classes = P.shape
        design = P.transpose(0, 2, 1).reshape(rows * n_classes, n_members)
        target = np.eye(n_classes)[y].reshape(-1)
        w, _ = nnls(design, target)
        self.weights_ = w / w.sum() if w.sum() > 0 else np.full(n_members, 1 / n_members)
        return self

    def predict_proba(self, P, raw=None):
        return np.einsum("rmc,m->rc", P, self.weights_)


class MultiResponseLinear:
    """Multi-response linear regression (Ting & Witten 1999): for each class c, a least-squares
    fit of "is class c" on the members' probabilities of class c; predict the largest response.
    Responses are clipped at zero and normalised to read as probabilities."""

    def fit(self, P, y, raw=None):
        self.models_ = [
            LinearRegression().fit(P[:, :, c], (y == c).astype(float)) for c in range(P.shape[2])
        ]
        return self

    def predict_proba(self, P, raw=None):
        scores = np.stack([m.predict(P[:, :, c]) for c, m in enumerate(self.models_)], axis=1)
        scores = np.clip(scores, 0.0, None) + EPS
        return scores / scores.sum(axis=1, keepdims=True)


class GreedySelection:
    """Ensemble selection with replacement (Caruana et al. 2004): start empty; each round add the
    member whose inclusion most lowers log loss on the fitting rows (lowest index on a tie); the
    ensemble is the average over the selected list, at the round that scored best."""

    def __init__(self, rounds: int = 25):
        self.rounds = rounds

    def fit(self, P, y, raw=None):
        total, chosen, history = np.zeros(P.shape[::2]), [], []
        for _ in range(self.rounds):
            losses = [log_loss((total + P[:, m]) / (len(chosen) + 1), y) for m in range(P.shape[1])]
            best = int(np.argmin(losses))
            chosen.append(best)
            total = total + P[:, best]
            history.append((losses[best], list(chosen)))
        best_round = int(np.argmin([loss for loss, _ in history]))
        self.selected_ = history[best_round][1]
        self.weights_ = np.bincount(self.selected_, minlength=P.shape[1]) / len(self.selected_)
        return self

    def predict_proba(self, P, raw=None):
        return np.einsum("rmc,m->rc", P, self.weights_)


class SklearnMeta:
    """A scikit-learn classifier on the flattened probabilities (plus raw features if asked)."""

    def __init__(self, estimator, passthrough: bool = False):
        self.estimator = estimator
        self.passthrough = passthrough

    def _inputs(self, P, raw):
        X = stacked_inputs(list(P.transpose(1, 0, 2)))
        return np.hstack([X, raw]) if self.passthrough else X

    def fit(self, P, y, raw=None):
        self.estimator.fit(self._inputs(P, raw), y)
        return self

    def predict_proba(self, P, raw=None):
        if not hasattr(self.estimator, "predict_proba"):  # a regressor: its predicted values
            return self.estimator.predict(self._inputs(P, raw)).reshape(-1, 1)
        return self.estimator.predict_proba(self._inputs(P, raw))


def sklearn_meta(name: str, seed: int, passthrough: bool = False) -> SklearnMeta:
    estimators = {
        "multinomial": lambda: make_meta("multinomial", seed),
        "ovr": lambda: make_meta("ovr", seed),
        "rf": lambda: RandomForestClassifier(n_estimators=200, random_state=seed, n_jobs=1),
        "gbm": lambda: GradientBoostingClassifier(random_state=seed),
        "knn": lambda: KNeighborsClassifier(n_neighbors=15),
        "mlp": lambda: MLPClassifier(hidden_layer_sizes=(10,), max_iter=2000, random_state=seed),
    }
    return SklearnMeta(estimators[name](), passthrough)


# Meta-learners selectable with --meta, in table order, with the labels tables print.
META_LEARNERS = {
    "multinomial": "logistic regression (multinomial)",
    "ovr": "logistic regression (one-vs-rest)",
    "mlr": "multi-response linear regression",
    "nnls": "non-negative weights (Super Learner)",
    "greedy": "greedy selection (Caruana)",
    "rf": "random forest",
    "gbm": "gradient boosting",
    "knn": "k-nearest neighbours",
    "mlp": "MLP (scikit-learn)",
}


# For regression: the members' predicted values combined linearly.
REGRESSION_META_LEARNERS = {
    "linear": "linear regression",
    "nnls": "non-negative linear regression",
}


def meta_kind(name: str, regression: bool) -> str:
    """--meta resolved for the task: "auto" is multinomial logistic regression for classes and
    linear regression for a numeric target; a meta-learner of the other task is an error."""
    if name == "auto":
        return "linear" if regression else "multinomial"
    allowed = REGRESSION_META_LEARNERS if regression else META_LEARNERS
    if name not in allowed:
        task = "regression" if regression else "classification"
        raise StackgenError(f"--meta {name} is not a {task} meta-learner; use {', '.join(allowed)}")
    return name


def meta_learner(name: str, seed: int, passthrough: bool = False, regression: bool = False):
    if regression:
        return SklearnMeta(LinearRegression(positive=name == "nnls"), passthrough)
    if name == "mlr":
        return MultiResponseLinear()
    if name == "nnls":
        return NonNegativeWeights()
    if name == "greedy":
        return GreedySelection()
    return sklearn_meta(name, seed, passthrough)


def baselines(n_members: int, regression: bool = False) -> dict[str, object]:
    """Label -> combiner, in table order."""
    rows: dict[str, object] = {f"member {m + 1}": Member(m) for m in range(n_members)}
    rows["best member (picked on fitting rows)"] = BestMember()
    if regression:
        rows["average of predictions"] = Average()
        return rows
    rows["average of probabilities"] = Average()
    rows["weighted average (fitted weights)"] = WeightedAverage()
    rows["majority vote"] = MajorityVote()
    return rows
