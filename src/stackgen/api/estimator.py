"""``StackingClassifier`` and ``StackingRegressor``: stacked generalization of Keras networks as
scikit-learn estimators.

    stack = stackgen.StackingClassifier(
        members=[model_a, "cnn.keras", stackgen.tutorial_mlp()],  # trained, saved or a builder
        final_estimator="logistic",  # a stackgen meta-learner's name, "network" or any estimator
        cv=5,  # "prefit", k folds, a holdout fraction or any scikit-learn splitter
        random_state=1,
    ).fit(X_train, y_train)
    stack.predict_proba(X_test); stack.compare(X_test, y_test); stack.to_keras()

As scikit-learn's own estimators do: ``__init__`` stores its arguments as given; ``fit`` checks
them, does the work and returns the estimator; what it learns ends in ``_``; nothing is printed
(unless ``verbose``) and no file is written. The members, the protocols, the meta-learners and
the training are the same code the command line runs (``methods/``), so the same settings and
seed give the same numbers to the last digit (tests/test_api_matches_cli.py).

What ``fit(X, y)`` does, honestly by default:

1. X is read (an array, a dict of named arrays, or a DataFrame, ``api/data.py``) and y made
   class indices (``classes_``) or a standardised target;
2. each member is checked against the data and wrapped to give class probabilities
   (``methods/members.py``);
3. ``cv`` says which rows the meta-learner learns from (``methods/protocols.py``): with k folds,
   fresh copies of every member train without each fold and predict it (out of fold), and the
   builders' members then train on every row; with ``"prefit"``, the members are used as given
   and their predictions on the rows passed are the meta-learner's inputs;
4. the meta-learner is fit on those predictions (``oof_predictions_``), and the raw features too
   with ``passthrough``.
"""

from __future__ import annotations

import contextlib
import numbers
import random
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
from keras.src.random import seed_generator as keras_seeds
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from stackgen.api import data as api_data
from stackgen.api import export, saving
from stackgen.data import inputs
from stackgen.data.task import CLASSIFICATION, REGRESSION, Classes
from stackgen.methods import (
    final_estimators,
    fitting,
    members,
    predictions,
    protocols,
    seeds,
    stats,
)
from stackgen.methods.metalearners import BestMember
from stackgen.trust.errors import StackgenError, StackgenTypeError

# scikit-learn's own checks (``sklearn.utils.estimator_checks``) that a stack of networks cannot
# meet, with the reason; scikit-learn 1.6 moved such declarations out of the estimator's tags and
# into ``check_estimator(..., expected_failed_checks=...)``, which ``expected_failed_checks`` feeds.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "a weight of 2 is not a repeated row, nor a weight of 0 a removed one, for networks "
        "trained by minibatches: the rows' shuffles and batches differ, so the weights differ "
        "(each row's loss is weighted exactly, as Keras's sample_weight does)"
    ),
}


def expected_failed_checks(estimator) -> dict[str, str]:
    """The checks of ``sklearn.utils.estimator_checks`` this estimator is expected to fail,
    with the reason: ``check_estimator(stack, expected_failed_checks=...)``."""
    return dict(EXPECTED_FAILED_CHECKS)


class _BaseStacking(BaseEstimator):
    """What the classifier and the regressor share; see the module docstring."""

    _task = CLASSIFICATION

    def __init__(
        self,
        members,
        final_estimator=None,
        *,
        cv=5,
        passthrough: bool = False,
        epochs: int = 500,
        batch_size: int = 32,
        early_stopping: int | None = None,
        random_state=None,
        verbose: int = 0,
    ):
        self.members = members
        self.final_estimator = final_estimator
        self.cv = cv
        self.passthrough = passthrough
        self.epochs = epochs
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.random_state = random_state
        self.verbose = verbose

    # --- scikit-learn's machinery ---------------------------------------------------------------

    def __sklearn_clone__(self):
        """An unfitted copy with the same parameters. The members list is copied, its trained
        models kept as they are (the stack never changes a model it is given: it works on its
        own copies), its builders cloned."""
        params = self.get_params(deep=False)
        given = params.pop("members")
        copied = (
            [m if _is_model(m) else clone(m, safe=False) for m in given]
            if isinstance(given, list | tuple)
            else clone(given, safe=False)
        )
        params = {k: clone(v, safe=False) for k, v in params.items()}
        return type(self)(
            members=type(given)(copied) if isinstance(given, tuple) else copied, **params
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # images and sequences, for members that read them
        tags.input_tags.dict = True  # several named inputs
        tags.non_deterministic = False  # the same random_state gives the same bits
        return tags

    # --- fitting --------------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Train the members (as ``cv`` says) and the meta-learner on (X, y); returns self.

        ``sample_weight`` weighs each row in every member's loss, the fresh copies' and the
        meta-learner's. ``groups=`` (one group label per row: a patient, a site) keeps every
        group on one side of every split: ``cv=k`` becomes group-wise folds (stratified where
        the groups allow), a float a split of whole groups, and any other splitter is refused
        if it puts a group on both sides. ``order=`` (one time per row: numbers or dates) makes
        the rows a series: ``cv=k`` becomes forward-chaining folds (each fold predicted by
        copies trained on the earlier rows only; the first block gets no out-of-fold
        prediction and the meta-learner is not fit on it), a float holds out the latest rows,
        and a splitter sees the rows in time order. No other fit parameter is taken.
        """
        groups = fit_params.pop("groups", None)
        order = fit_params.pop("order", None)
        if fit_params:
            raise StackgenTypeError(
                f"fit() got {', '.join(sorted(fit_params))}; it takes X, y, sample_weight, "
                "groups and order"
            )
        self._check_settings()
        seed = _seed(self.random_state)
        with _global_random_state_kept():
            return self._fit(X, y, sample_weight, groups, order, seed)

    def _fit(self, X, y, sample_weight, groups, order, seed):
        rows, self._inputs = api_data.fit_inputs(self, X)
        n = inputs.count(rows)
        y_fit, classes = self._targets(y, n)
        weights = api_data.weights(sample_weight, n)
        groups = api_data.groups(groups, n)
        order = api_data.order(order, n)
        if self.passthrough and api_data.raw_features(rows) is None:
            raise StackgenError(
                "passthrough=True gives the meta-learner the raw features, and X is not rows of "
                "feature columns (images, or several inputs): set passthrough=False"
            )
        protocol = protocols.stacking_cv(
            self.cv, self._task, seed, grouped=groups is not None, ordered=order is not None
        )
        # Everything that can be refused is refused before any training: the meta-learner, the
        # members, the splits.
        meta = final_estimators.combiner(
            self.final_estimator,
            self._task,
            seed=seed,
            head_seed=seeds.head_seed(seed),
            passthrough=self.passthrough,
            batch_size=self.batch_size,
        )
        final_estimators.check_weights(meta, weights)
        if self.early_stopping is not None and weights is not None:
            raise StackgenError(
                "early_stopping with sample_weight is not supported yet (the validation loss "
                "is unweighted): drop one of them"
            )
        chosen = self._members(rows, classes, seed, protocol)
        splits = protocol.split(rows, y_fit, groups, order)
        target = self._target_scale()
        say = self._say
        say(f"stacking {len(chosen)} members, {protocol.name}: {n} rows")
        how = {  # how every member and fresh copy trains
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "target": target,
            "sample_weight": weights,
            "progress": self._progress,
        }
        if self.early_stopping is not None:
            oof, models = self._fit_early_stopped(
                chosen, rows, y_fit, classes, splits, protocol, groups, order
            )
        else:
            models = fitting.final_models(chosen, rows, y_fit, classes, **how)
            oof = None
        final = [
            m.wrapped(members.own_copy(model, m.where) if m.given is not None else model, target)
            for m, model in zip(chosen, models, strict=True)
        ]
        if oof is None and protocol.trains_copies:
            oof = fitting.out_of_fold(chosen, rows, y_fit, classes, splits, **how)
        elif oof is None:  # the members as given: their predictions are the meta-learner's
            oof = np.stack(members.member_probabilities(final, rows), axis=1)
        self.folds_ = protocols.fold_ids(splits, n)
        covered = ~np.isnan(oof).any(axis=(1, 2))
        raw = api_data.raw_features(rows)
        if self._task is CLASSIFICATION and np.unique(y_fit[covered]).size < 2:
            raise StackgenError(
                f"the meta-learner's {int(covered.sum())} rows (those the splits held out) hold "
                "one class only: give more rows, or splits whose held-out rows hold several "
                "classes"
            )
        say(f"fitting the meta-learner on {int(covered.sum())} rows")
        meta.fit(
            oof[covered],
            y_fit[covered],
            None if raw is None else raw[covered],
            None if weights is None else weights[covered],
        )
        self.members_ = final
        self._meta = meta
        self.final_estimator_ = final_estimators.fitted_estimator(meta)
        self.oof_predictions_ = self._in_target_units(oof)
        self.meta_rows_ = covered
        self.random_state_ = seed
        self.protocol_ = protocol.name
        self.member_outputs_ = [m.output for m in chosen]
        self.encoded_names_ = self._inputs.feature_names or None
        self._best = BestMember().fit(
            oof[covered],
            y_fit[covered],
            sample_weight=None if weights is None else weights[covered],
        )
        return self

    @classmethod
    def from_predictions(
        cls,
        oof,
        y,
        *,
        test=None,
        test_y=None,
        final_estimator=None,
        names=None,
        folds=None,
        groups=None,
        sample_weight=None,
        random_state=None,
    ):
        """A stack of members trained anywhere (PyTorch, XGBoost, ...), from their saved
        predictions: ``oof`` [training rows, members, outputs] their out-of-fold class
        probabilities (values, for a regressor) and ``y`` those rows' labels; the meta-learner
        is fit on them, as under ``cv``. ``folds`` (each row's fold, -1 where no fold predicted
        it) and ``groups`` (each row's group) are checked: no group may sit in two folds.
        ``test`` and ``test_y``, the members' predictions on untouched rows, are only checked
        against ``oof``: score on them with ``compare(test, test_y)``.

        The fitted stack's ``predict``, ``predict_proba``, ``score`` and ``compare`` take the
        members' predictions [rows, members, outputs] instead of X. No Keras model is involved;
        ``to_keras``, ``encode`` and ``save`` are not available.
        """
        task = cls._task
        given = predictions.check(task, oof, y, test, test_y, names, folds, groups)
        stack = cls(members=list(given.names), final_estimator=final_estimator, cv="prefit")
        stack.random_state = random_state
        seed = _seed(random_state)
        n = len(given.oof)
        weights = api_data.weights(sample_weight, n)
        meta = final_estimators.combiner(
            final_estimator,
            task,
            seed=seed,
            head_seed=seeds.head_seed(seed),
            passthrough=False,
            batch_size=stack.batch_size,
        )
        final_estimators.check_weights(meta, weights)
        covered = given.predicted
        w = None if weights is None else weights[covered]
        with _global_random_state_kept():
            meta.fit(given.oof[covered], given.train_y[covered], None, w)
        if task is CLASSIFICATION:
            stack.classes_ = given.classes
        else:
            stack.target_mean_, stack.target_scale_ = 0.0, 1.0  # the members' own units
        stack._given = given
        stack._meta = meta
        stack.members_ = [_Named(name) for name in given.names]
        stack.final_estimator_ = final_estimators.fitted_estimator(meta)
        stack.oof_predictions_ = given.oof
        stack.meta_rows_ = covered
        stack.folds_ = given.folds
        stack.random_state_ = seed
        stack.protocol_ = "predictions"
        stack.member_outputs_ = ["probabilities" if task is CLASSIFICATION else "values"] * len(
            given.names
        )
        stack._best = BestMember().fit(given.oof[covered], given.train_y[covered], sample_weight=w)
        return stack

    def _fit_early_stopped(self, chosen, rows, y_fit, classes, splits, protocol, groups, order):
        """Out-of-fold predictions (None under "prefit") and final models, each fit
        early-stopped on rows of its own training rows (``methods/early_stopping.py``); the
        epochs chosen in ``stopped_epochs_``."""
        settings = {
            "patience": self.early_stopping,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "groups": groups,
            "order": order,
        }
        oof, stopped = None, []
        if protocol.trains_copies:
            oof, stopped = fitting.out_of_fold_early_stopped(
                chosen, rows, y_fit, classes, splits, progress=self._progress, **settings
            )
        models, finals = fitting.final_models_early_stopped(
            chosen, rows, y_fit, classes, stopped, **settings
        )
        self.stopped_epochs_ = {
            m.name: {
                "folds": [s.epoch for s in stopped if s.member == m.index],
                "final": next((f.epoch for f in finals if f.member == m.index), None),
            }
            for m in chosen
        }
        self._stopped = stopped + finals  # with each fit's validation rows, for checks
        return oof, models

    def _members(self, rows, classes, seed, protocol) -> list[members.Member]:
        given = self.members
        if isinstance(given, str) or _is_model(given) or callable(given):
            given = [given]
        if not isinstance(given, list | tuple) or not given:
            raise StackgenError(
                "members must be a list of trained keras.Model objects, .keras paths or builders "
                "(stackgen.tutorial_mlp()); got "
                + (repr(given)[:60] if given is not None else "None")
            )
        if len(given) > seeds.MAX_MEMBERS:
            raise StackgenError(f"at most {seeds.MAX_MEMBERS} members; got {len(given)}")
        chosen = [
            members.member_from(
                item, i, seeds.member_seed(seed, i), rows, classes, f"members[{i - 1}]"
            )
            for i, item in enumerate(given, start=1)
        ]
        for member in chosen:
            if not protocol.trains_copies and member.given is None:
                raise StackgenError(
                    f"{member.where} is a builder, and cv='prefit' uses members as given: give "
                    "trained models, or a number of folds (cv=5) so that stackgen trains them"
                )
            if protocol.trains_copies and member.settings is None:
                raise StackgenError(
                    f"{member.where} cannot be retrained on the folds: {member.why_not}; "
                    "compile it with its optimizer and loss, or use cv='prefit'"
                )
        return chosen

    def _check_settings(self) -> None:
        es = self.early_stopping
        if es is not None and (
            isinstance(es, bool) or not isinstance(es, numbers.Integral) or es < 1
        ):
            raise StackgenError(
                f"early_stopping={es!r}: give a patience in epochs (a whole number, at least 1), "
                "or None"
            )
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise StackgenError(f"{name}={value!r}: give a whole number, at least 1")
        if not isinstance(self.passthrough, bool | np.bool_):
            raise StackgenTypeError(f"passthrough={self.passthrough!r}: give True or False")

    def _say(self, line: str) -> None:
        if self.verbose:
            print(f"[stackgen] {line}", flush=True)

    def _progress(self, what: str, done: int, total: int) -> None:
        self._say(f"{what}: {done} of {total} trained")

    # --- predicting -----------------------------------------------------------------------------

    def _refuse_from_predictions(self, what: str) -> None:
        if getattr(self, "_given", None) is not None:
            raise StackgenError(
                f"this stack was made from predictions (from_predictions) and has no networks: "
                f"{what} is not available; predict, predict_proba, score and compare take the "
                "members' predictions"
            )

    def encode(self, X):
        """X as the members read it: a DataFrame encoded by the transformer ``fit`` made (its
        imputed, standardised and one-hot columns, named in ``encoded_names_``), an array or a
        dict of arrays as float32. What ``to_keras()``'s network takes."""
        check_is_fitted(self, "members_")
        self._refuse_from_predictions("encode")
        return api_data.later_inputs(self, X, self._inputs)

    def _member_outputs(self, X) -> tuple[np.ndarray, np.ndarray | None]:
        given = getattr(self, "_given", None)
        if given is not None:  # made from predictions: X is the members' predictions
            check_is_fitted(self, "members_")
            return predictions.later_outputs(self._task, X, given), None
        rows = self.encode(X)
        P = np.stack(members.member_probabilities(self.members_, rows), axis=1)
        return P, api_data.raw_features(rows)

    def _stacked(self, X) -> np.ndarray:
        P, raw = self._member_outputs(X)
        return self._meta.predict_proba(P, raw if self.passthrough else None)

    # --- comparing ------------------------------------------------------------------------------

    def compare(self, X, y, sample_weight=None) -> pd.DataFrame:
        """Each member, the best member (picked on the meta-learner's training rows), the average
        of the members and the stack, scored on (X, y): accuracy (R² for a regressor) with its
        95% interval, and, beside the best member, how sure it is that each one differs from it
        on these rows (McNemar's exact test for accuracy, a paired bootstrap for R²)."""
        P, raw = self._member_outputs(X)
        y_true = self._scored_labels(y, len(P))
        weights = api_data.weights(sample_weight, len(P))
        outputs = {
            **{m.name: P[:, i] for i, m in enumerate(self.members_)},
            "best member": self._best.predict_proba(P),
            "average": P.mean(axis=1),
            "stack": self._meta.predict_proba(P, raw if self.passthrough else None),
        }
        outputs = {name: self._in_target_units(out) for name, out in outputs.items()}
        best = outputs["best member"]
        table = []
        for name, out in outputs.items():
            row = stats.scored(self._task, out, y_true, weights)
            row["p_vs_best_member"] = (
                np.nan
                if name == "best member"
                else stats.paired_p(self._task, out, best, y_true, weights)
            )
            table.append({"method": name, **row})
        frame = pd.DataFrame(table).set_index("method")
        frame.attrs["metric"] = self._task.metric
        frame.attrs["best_member"] = self.members_[self._best.index_].name
        return frame

    # --- exporting ------------------------------------------------------------------------------

    def to_keras(self):
        """One ``keras.Model`` that gives ``predict_proba``'s numbers (``predict``'s for a
        regressor): the frozen members behind a head that carries the meta-learner."""
        check_is_fitted(self, "members_")
        self._refuse_from_predictions("to_keras")
        return export.to_keras(self)

    def save(self, path) -> None:
        """Save the fitted stack to ``path`` (one file): its members as ``.keras``, the
        meta-learner and the table transformer with skops (or as JSON numbers), its settings as
        JSON. ``stackgen.load(path)`` reads it back without running code from the file."""
        check_is_fitted(self, "members_")
        self._refuse_from_predictions("save")
        saving.save(self, path)


class StackingClassifier(ClassifierMixin, _BaseStacking):
    """Stacked generalization of Keras networks for classes; see ``stackgen.api.estimator``.

    Parameters
    ----------
    members : list
        Trained ``keras.Model`` objects, paths of ``.keras`` files, or builders: callables
        taking any of ``input_shape``, ``n_outputs`` and ``seed`` that return a compiled
        ``keras.Model`` (``stackgen.tutorial_mlp(hidden=25)`` is the tutorial's member).
    final_estimator : str, scikit-learn classifier or NetworkHead, default None
        The meta-learner: None is multinomial logistic regression; names are
        ``stackgen.final_estimator_names()``; ``"network"`` is the integrated network's head.
    cv : "prefit", int, float or splitter, default 5
        "prefit": members used as given, the meta-learner fit on the rows passed to ``fit``.
        k: out-of-fold predictions from fresh copies trained without each of k stratified
        folds. A float: one split holding out that fraction. Any scikit-learn splitter.
    passthrough : bool, default False
        The meta-learner also sees the raw features.
    epochs, batch_size : int, default 500, 32
        Training of the members stackgen trains (builders' and fresh copies).
    early_stopping : int or None, default None
        A patience in epochs: every member stackgen trains (and every fresh copy) stops once
        its validation loss has not improved for that many epochs, validated on 20% of its own
        training rows (whole groups with ``groups``, the latest rows with ``order``), never on
        a row it predicts out of fold. The final members train on every row for the median of
        their folds' chosen epochs (``stopped_epochs_``). Members built as the tutorial's
        (Dense layers, Adam, the task's loss) only; no sample weights.
    random_state : int, RandomState or None
        Seeds everything: member i uses ``random_state + i``, the network head
        ``random_state + 10000``. None draws one (kept in ``random_state_``).
    verbose : int, default 0
        Print progress lines.
    """

    _task = CLASSIFICATION

    def _targets(self, y, n):
        """y as class indices (``classes_`` set), and the classes the members are checked
        against."""
        self.classes_, encoded = api_data.class_labels(y, n)
        names = tuple(str(c) for c in self.classes_)
        return encoded, Classes(CLASSIFICATION, len(self.classes_), names)

    def _target_scale(self):
        return None

    def _scored_labels(self, y, n):
        """Labels to score against, as indices of ``classes_``; one line for an unknown one."""
        labels = api_data.labels(y, n)
        known = np.isin(labels, self.classes_)
        if not known.all():
            raise StackgenError(
                f"y holds {labels[~known][0]!r}, a class the stack was not fit on "
                f"({', '.join(map(str, self.classes_[:6]))})"
            )
        return np.searchsorted(self.classes_, labels).astype(np.int64)

    def _in_target_units(self, P):
        return P

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities [rows, classes], in the order of ``classes_``; rows sum to one."""
        probs = np.asarray(self._stacked(X), dtype=np.float64)
        return probs / probs.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        probs = self.predict_proba(X)
        return self.classes_[np.argmax(probs, axis=1)]


class StackingRegressor(RegressorMixin, _BaseStacking):
    """Stacked generalization of Keras networks for a numeric target; the parameters are
    ``StackingClassifier``'s, with a regressor (or "linear", "nnls", "network") as the
    final estimator. The target is standardised on the rows passed to ``fit`` for training,
    and predictions are given back in its units."""

    _task = REGRESSION

    def _targets(self, y, n):
        """y standardised (``target_mean_``, ``target_scale_`` set), and the one "class"."""
        values = api_data.target_values(y, n)
        self.target_mean_ = float(values.mean())
        std = float(values.std())
        self.target_scale_ = std if std > 0 else 1.0
        standard = ((values - self.target_mean_) / self.target_scale_).astype(np.float32)
        return standard, Classes(REGRESSION, 1)

    def _target_scale(self):
        return self.target_mean_, self.target_scale_

    def _scored_labels(self, y, n):
        return api_data.target_values(y, n)

    def _in_target_units(self, P):
        return np.asarray(P, dtype=np.float64) * self.target_scale_ + self.target_mean_

    def predict(self, X) -> np.ndarray:
        return self._in_target_units(self._stacked(X)).reshape(-1)


def load(path, trusted: list[str] | None = None):
    """A stack ``StackingClassifier.save`` or ``StackingRegressor.save`` wrote, fitted as it was
    saved, read without running code from the file: Keras's safe mode, skops with trusted types
    (``trusted`` adds the types of a custom final estimator, when you trust the file)."""
    kinds = {"StackingClassifier": StackingClassifier, "StackingRegressor": StackingRegressor}
    return saving.load(path, kinds, trusted)


@dataclass(frozen=True)
class _Named:
    """A member known by its name only: one whose predictions were given (from_predictions)."""

    name: str


def _is_model(item) -> bool:
    return isinstance(item, keras.Model)


def _seed(random_state) -> int:
    """The seed everything derives from: ``random_state`` itself, one drawn from a
    ``RandomState``, or (None) from NumPy's global generator."""
    if random_state is None:
        return int(np.random.randint(0, 2**31 - seeds.HEAD_SEED_OFFSET))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - seeds.HEAD_SEED_OFFSET))
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise StackgenTypeError(
            f"random_state={random_state!r}: give a whole number, a numpy RandomState or None"
        )
    if not 0 <= random_state <= seeds.LARGEST:
        raise StackgenError(
            f"random_state={random_state}: give a seed from 0 to {seeds.LARGEST} (the members "
            f"and the head use seeds up to {seeds.HEAD_SEED_OFFSET} above it)"
        )
    return int(random_state)


@contextlib.contextmanager
def _global_random_state_kept():
    """A fit seeds Python's and NumPy's global generators (``keras.utils.set_random_seed``) and
    gives Keras a generator of its own to draw default seeds from (``training.seed_everything``);
    it gives all three back as it found them, so code around it draws what it would have drawn,
    and ``keras.utils.set_random_seed`` keeps making a user's own models the same after a fit."""
    python, numpy = random.getstate(), np.random.get_state()
    keras_draws = keras_seeds.python_random
    try:
        yield
    finally:
        random.setstate(python)
        np.random.set_state(numpy)
        keras_seeds.python_random = keras_draws


def final_estimator_names(task: str = "classification") -> list[str]:
    """The names ``final_estimator`` takes for a classifier ("classification") or a regressor
    ("regression")."""
    return final_estimators.names(CLASSIFICATION if task == "classification" else REGRESSION)
