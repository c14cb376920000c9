"""What an estimator's ``final_estimator`` may be, made into a meta-learner (``Combiner``):

* ``None`` or ``"auto"``: multinomial logistic regression for classes, linear regression for a
  numeric target (the tutorial's meta-learner, modernised);
* a name of stackgen's meta-learners (``metalearners.SPECS``: ``"logistic"`` (multinomial),
  ``"ovr"``, ``"mlr"``, ``"nnls"``, ``"greedy"``, ``"rf"``, ``"gbm"``, ``"knn"``, ``"mlp"``;
  ``"linear"`` and ``"nnls"`` for regression), or of a baseline (``"average"``,
  ``"best_member"``, ``"weighted_average"``, ``"vote"``);
* ``"network"``, or a ``NetworkHead(...)``: the integrated network's Keras head;
* any scikit-learn estimator (a classifier for classes, a regressor for a numeric target), fit
  on a copy (``sklearn.base.clone``), never on the object given.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone, is_classifier, is_regressor

from stackgen.data.task import Task
from stackgen.methods import metalearners
from stackgen.methods.integrated import NetworkHead
from stackgen.methods.metalearners import Combiner, SklearnMeta, takes_weights
from stackgen.trust.errors import StackgenError, StackgenTypeError

ALIASES = {"logistic": "multinomial"}
BASELINES = {
    "average": metalearners.Average,
    "best_member": metalearners.BestMember,
    "weighted_average": metalearners.WeightedAverage,
    "vote": metalearners.MajorityVote,
}


def names(task: Task) -> list[str]:
    """Every name ``final_estimator`` takes for ``task``."""
    kinds = [spec.kind for spec in metalearners.specs_for(task)]
    own = (["logistic"] if task.name == "classification" else []) + kinds
    baselines = [b for b in BASELINES if task.name == "classification" or b in ("average",)]
    return [*own, "network", *baselines]


class NetworkCombiner(Combiner):
    """A ``NetworkHead`` fit like any other meta-learner, seeded and batched by the stack."""

    kind = "network"

    def __init__(self, head: NetworkHead, passthrough: bool, seed: int, batch_size: int):
        self.head, self.passthrough = head, passthrough
        self.seed, self.batch_size = seed, batch_size

    def fit(self, P, y, raw=None, sample_weight=None):
        self.head.fit_stack(
            P,
            y,
            raw,
            passthrough=self.passthrough,
            seed=self.seed,
            batch_size=self.batch_size,
            n_classes=P.shape[2] if np.issubdtype(y.dtype, np.integer) else 1,
            sample_weight=sample_weight,
        )
        return self

    def predict_proba(self, P, raw=None):
        return self.head.predict_proba(P, raw)


def combiner(
    final_estimator, task: Task, *, seed: int, head_seed: int, passthrough: bool, batch_size: int
) -> Combiner:
    """The unfitted meta-learner ``final_estimator`` names or is, for ``task``."""
    if final_estimator is None:
        final_estimator = "auto"
    if isinstance(final_estimator, str):
        return _named(final_estimator, task, seed, head_seed, passthrough, batch_size)
    if isinstance(final_estimator, NetworkHead):
        head = clone(final_estimator)
        head.check()
        return NetworkCombiner(head, passthrough, head_seed, batch_size)
    if isinstance(final_estimator, type):
        raise StackgenTypeError(
            f"final_estimator={final_estimator.__name__} is a class; give an instance, "
            f"{final_estimator.__name__}()"
        )
    if not hasattr(final_estimator, "fit") or not hasattr(final_estimator, "get_params"):
        raise StackgenTypeError(
            f"final_estimator is a {type(final_estimator).__name__}; give a name "
            f"({', '.join(names(task))}) or a scikit-learn estimator"
        )
    label = type(final_estimator).__name__
    if task.name == "classification" and is_regressor(final_estimator):
        raise StackgenError(
            f"final_estimator={label}() is a regressor; a StackingClassifier needs a classifier"
        )
    if task.name == "regression" and is_classifier(final_estimator):
        raise StackgenError(
            f"final_estimator={label}() is a classifier; a StackingRegressor needs a regressor"
        )
    if task.name == "classification" and not hasattr(final_estimator, "predict_proba"):
        raise StackgenError(
            f"final_estimator={label}() gives no class probabilities (no predict_proba), and a "
            "stack's are its meta-learner's: give one that does (SVC(probability=True), or "
            "CalibratedClassifierCV around it)"
        )
    return SklearnMeta("custom", clone(final_estimator), passthrough)


def check_weights(meta: Combiner, sample_weight) -> None:
    """Refuse, before anything trains, weights a meta-learner cannot take."""
    if sample_weight is not None and not takes_weights(meta):
        raise StackgenError(
            f"the {type(meta.estimator).__name__} meta-learner cannot weight its rows (its fit "
            "takes no sample_weight); pick another, or fit without weights"
        )


def _named(name, task, seed, head_seed, passthrough, batch_size) -> Combiner:
    if name == "network":
        return NetworkCombiner(NetworkHead(), passthrough, head_seed, batch_size)
    if name in BASELINES and name in names(task):
        if passthrough:
            raise StackgenError(
                f"final_estimator={name!r} combines the members' outputs only and cannot use "
                "the raw features: set passthrough=False, or pick a meta-learner"
            )
        return BASELINES[name]()
    kind = ALIASES.get(name, name) if task.name == "classification" else name
    allowed = [spec.kind for spec in metalearners.specs_for(task)]
    if kind != "auto" and kind not in allowed:
        raise StackgenError(
            f"final_estimator={name!r} is not a {task.name} meta-learner; use one of "
            f"{', '.join(names(task))}, or a scikit-learn estimator"
        )
    spec = metalearners.spec(kind, task)
    if passthrough and not spec.passthrough:
        raise StackgenError(
            f"final_estimator={name!r} only weights the members' outputs and cannot use the raw "
            "features: set passthrough=False, or pick a meta-learner that takes extra columns"
        )
    return spec.make(seed, passthrough)


def fitted_estimator(meta: Combiner):
    """What ``final_estimator_`` shows of a fitted meta-learner: the scikit-learn estimator
    inside, the fitted ``NetworkHead`` (its Keras head in ``model_``), or stackgen's own
    combiner (weights in ``weights_``, coefficients in ``coef_``)."""
    if isinstance(meta, SklearnMeta):
        return meta.estimator
    if isinstance(meta, NetworkCombiner):
        return meta.head
    return meta
