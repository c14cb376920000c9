"""The public estimators in memory, as a notebook user calls them: scikit-learn's contract and
machinery, members of every kind, every kind of cv, tables and named inputs, weights, compare,
to_keras, save and load, and errors in the API's own words."""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import warnings
from contextlib import redirect_stdout

import keras
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_diabetes, make_blobs
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    ShuffleSplit,
    TimeSeriesSplit,
    cross_val_score,
)
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import stackgen
from stackgen.methods import fitting
from stackgen.trust.errors import StackgenError

EPOCHS = 20


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=300, centers=3, n_features=2, cluster_std=2.0, random_state=2)
    return X[:150], y[:150], X[150:], y[150:]


def builders(n=2, hidden=8):
    return [stackgen.tutorial_mlp(hidden=hidden)] * n


def stack(**settings):
    settings = {"cv": 3, "epochs": EPOCHS, "random_state": 1, **settings}
    members = settings.pop("members", builders())
    return stackgen.StackingClassifier(members, **settings)


def trained_model(X, y, outputs=3, activation="softmax", seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((X.shape[1],)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(outputs, activation=activation),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X, y, epochs=5, verbose=0)
    return model


# --- scikit-learn's contract -------------------------------------------------------------------


@pytest.mark.xdist_group("api_checks")
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_scikit_learns_own_estimator_checks_pass_but_the_declared_ones(kind):
    cls = stackgen.StackingClassifier if kind == "classifier" else stackgen.StackingRegressor
    estimator = cls([stackgen.tutorial_mlp(hidden=8)], cv=2, epochs=100, random_state=0)
    expected = stackgen.expected_failed_checks(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, expected_failed_checks=expected, on_fail=None)
    by_status: dict[str, list[str]] = {}
    for r in results:
        by_status.setdefault(r["status"], []).append(r["check_name"])
    assert "failed" not in by_status, by_status["failed"]
    # The declared failures do fail (else the declaration would hide nothing and should go).
    assert sorted(set(by_status["xfail"])) == sorted(expected)
    assert len(by_status["passed"]) >= 55
    assert all(reason for reason in expected.values())


def test_init_stores_its_arguments_and_clone_keeps_trained_models(blobs):
    X, y, _, _ = blobs
    model = trained_model(X, y)
    members = [model, stackgen.tutorial_mlp(hidden=5)]
    head = LogisticRegression(C=0.5)
    est = stackgen.StackingClassifier(members, final_estimator=head, cv="prefit")
    assert est.members is members and est.final_estimator is head
    copy = clone(est)
    assert copy.members is not members and copy.members[0] is model  # a model is kept as given
    assert copy.members[1] is not members[1] and copy.members[1].hidden == 5
    assert copy.final_estimator is not head and copy.final_estimator.C == 0.5
    assert copy.get_params()["cv"] == "prefit" and not hasattr(copy, "members_")


def test_cross_val_score_grid_search_and_a_pipeline_after_a_column_transformer(blobs):
    X, y, X_test, y_test = blobs
    scores = cross_val_score(stack(cv=2), X, y, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    grid = GridSearchCV(
        stack(cv=2),
        {"final_estimator": ["logistic", "nnls", LogisticRegression(C=0.1)], "cv": [2, 3]},
        cv=2,
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 6
    assert grid.best_estimator_.score(X_test, y_test) == grid.score(X_test, y_test)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": np.where(y == 0, "x", "z")})
    pipe = make_pipeline(
        make_column_transformer((StandardScaler(), ["a", "b"]), (OneHotEncoder(), ["c"])),
        stack(),
    ).fit(frame, y)
    assert pipe.predict(frame).shape == (len(y),)
    assert pipe[-1].n_features_in_ == 4  # two scaled columns, two levels


def test_the_same_random_state_gives_the_same_bits_and_fit_leaves_the_global_generators(blobs):
    X, y, X_test, _ = blobs
    np.random.seed(123)
    before = np.random.random_sample()
    np.random.seed(123)
    a = stack(random_state=7).fit(X, y).predict_proba(X_test)
    assert np.random.random_sample() == before  # drawn as if fit had not run
    b = stack(random_state=7).fit(X, y).predict_proba(X_test)
    c = stack(random_state=8).fit(X, y).predict_proba(X_test)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    drawn = stack(random_state=None).fit(X, y)
    assert isinstance(drawn.random_state_, int)


def test_a_users_seeded_keras_model_is_the_same_before_and_after_a_fit(blobs, monkeypatch):
    import random

    from keras.src.random import seed_generator

    X, y, _, _ = blobs
    # As in a fresh notebook: Keras draws default seeds from Python's global generator (the
    # command line's steps, run in this process by other tests, leave it a generator of its own).
    monkeypatch.setattr(seed_generator, "python_random", random)

    def users_model():
        keras.utils.set_random_seed(5)
        layers = [keras.Input((2,)), keras.layers.Dense(4), keras.layers.Dense(3)]
        return keras.Sequential(layers).get_weights()[0]

    before = users_model()
    stack().fit(X, y)
    assert np.array_equal(users_model(), before)


def test_fit_prints_nothing_and_writes_no_file_unless_verbose(blobs, tmp_path, monkeypatch):
    X, y, _, _ = blobs
    monkeypatch.chdir(tmp_path)
    quiet, loud = io.StringIO(), io.StringIO()
    with redirect_stdout(quiet):
        stack().fit(X, y)
    with redirect_stdout(loud):
        stack(verbose=1).fit(X, y)
    assert quiet.getvalue() == "" and list(tmp_path.iterdir()) == []
    lines = loud.getvalue().splitlines()
    assert lines[0] == "[stackgen] stacking 2 members, folds: 150 rows"
    assert "[stackgen] fold copies: 6 of 6 trained" in lines


def test_importing_stackgen_imports_neither_the_command_line_nor_keras():
    code = (
        "import sys, stackgen; loaded = set(sys.modules); "
        "print(any(m.startswith('stackgen.cli') for m in loaded), 'keras' in loaded); "
        "stackgen.StackingClassifier; print(any(m.startswith('stackgen.cli') for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.split() == ["False", "False", "False"], done.stderr


# --- members and protocols ---------------------------------------------------------------------


def test_prefit_fits_the_meta_learner_on_the_rows_given_and_never_changes_the_models(blobs):
    X, y, X_test, y_test = blobs
    model = trained_model(X[:75], y[:75])
    weights = [w.copy() for w in model.get_weights()]
    est = stackgen.StackingClassifier([model, model], "network", cv="prefit", random_state=1)
    est.fit(X[75:], y[75:])
    expected = model.predict(X[75:], verbose=0)
    np.testing.assert_allclose(est.oof_predictions_[:, 0], expected, atol=1e-6)
    assert est.meta_rows_.all() and (est.folds_ == -1).all()
    est.to_keras()  # freezes the stack's members inside a network: its own copies
    assert model.trainable and all(layer.trainable for layer in model.layers)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights(), strict=True))
    assert 0 <= est.score(X_test, y_test) <= 1


def test_every_out_of_fold_prediction_comes_from_a_copy_that_did_not_train_on_its_row(
    blobs, monkeypatch
):
    X, y, _, _ = blobs
    trained_on = []  # the rows each model trained on, in the order they trained
    real = fitting.fit_side_by_side

    def recording(models, datasets, **kwargs):
        rows = [d[0][d[2]] if len(d) > 2 else d[0] for d in datasets]  # (X, Y) or (X, Y, rows)
        trained_on.extend({tuple(r) for r in np.round(X, 5)} for X in rows)
        return real(models, datasets, **kwargs)

    monkeypatch.setattr(fitting, "fit_side_by_side", recording)
    est = stack(cv=4).fit(X, y)
    folds = est.folds_
    assert sorted(np.unique(folds)) == [0, 1, 2, 3] and est.meta_rows_.all()
    copies = trained_on[2:]  # the first call trains the two final members on every row
    assert len(copies) == 4 * 2
    for k, rows in enumerate(copies):
        held = {tuple(r) for r in np.round(X[folds == k // 2], 5)}
        assert not rows & held and len(rows) + len(held) == len(X)


def test_a_holdout_fraction_a_time_series_split_groups_and_overlapping_splits(blobs):
    X, y, _, _ = blobs
    half = stack(cv=0.4).fit(X, y)
    assert half.meta_rows_.sum() == 60 and np.isnan(half.oof_predictions_[~half.meta_rows_]).all()
    series = stack(cv=TimeSeriesSplit(n_splits=3)).fit(X, y)
    assert not series.meta_rows_[:30].any() and series.meta_rows_[-30:].all()
    groups = np.arange(len(y)) % 5
    grouped = stack(cv=GroupKFold(n_splits=5)).fit(X, y, groups=groups)
    for g in range(5):  # one group, one fold
        assert len(np.unique(grouped.folds_[groups == g])) == 1
    with pytest.raises(StackgenError, match="holds out row .* more than once"):
        stack(cv=ShuffleSplit(n_splits=3, test_size=0.5, random_state=0)).fit(X, y)
    with pytest.raises(TypeError, match="it takes X, y, sample_weight, groups and order"):
        stack().fit(X, y, epochs=3)


def test_named_inputs_and_images_with_builders_of_the_users_own(blobs):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 120)
    image = rng.normal(0, 0.3, (120, 4, 4, 1)).astype(np.float32)
    image[np.arange(120), y, y, 0] += 2
    extra = np.stack([image.mean((1, 2, 3)), image.max((1, 2, 3))], axis=1)

    def cnn(input_shape, n_outputs, seed):
        inputs = keras.Input(input_shape["image"], name="image")
        x = keras.layers.Conv2D(4, 2, activation="relu")(inputs)
        x = keras.layers.Flatten()(x)
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model

    def both(input_shape, n_outputs):
        image_in = keras.Input(input_shape["image"], name="image")
        extra_in = keras.Input(input_shape["extra"], name="extra")
        x = keras.layers.Concatenate()([keras.layers.Flatten()(image_in), extra_in])
        model = keras.Model([image_in, extra_in], keras.layers.Dense(n_outputs)(x))  # logits
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        model.compile(optimizer="adam", loss=loss)
        return model

    X = {"image": image, "extra": extra}
    est = stackgen.StackingClassifier([cnn, both], cv=2, epochs=3, random_state=1).fit(X, y)
    assert est.member_outputs_ == [
        "one sigmoid unit p made [1 - p, p]",
        "linear output (logits): softmax added",
    ]
    probs = est.predict_proba(X)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    network = est.to_keras()
    np.testing.assert_allclose(network.predict(X, verbose=0), probs, atol=1e-5)
    with pytest.raises(StackgenError, match="X lacks the input 'extra'"):
        est.predict({"image": image})
    with pytest.raises(StackgenError, match="passthrough=True .* is not rows of feature columns"):
        stackgen.StackingClassifier([cnn], cv=2, passthrough=True).fit(X, y)


def test_a_dataframe_is_read_as_a_table_and_later_rows_by_the_same_transformer(blobs):
    X, y, X_test, y_test = blobs
    rng = np.random.default_rng(0)

    def frame(X, start):
        return pd.DataFrame(
            {
                "x1": X[:, 0],
                "x2": X[:, 1],
                "colour": rng.choice(["red", "green", "blue"], len(X)),
                "id": [f"row{start + i}" for i in range(len(X))],
            }
        )

    train, test = frame(X, 0), frame(X_test, 1000)
    train.loc[3, "x1"] = np.nan
    est = stack().fit(train, y)
    assert list(est.feature_names_in_) == ["x1", "x2", "colour", "id"]
    assert est._inputs.feature_names == [
        "x1",
        "x2",
        "x1 missing",
        "colour=blue",
        "colour=green",
        "colour=red",
    ]  # the identifier dropped, the blank imputed and marked, the colours one-hot encoded
    score = est.score(test, y_test)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        assert est.score(test.to_numpy(dtype=object), y_test) == score
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict(test[["x2", "x1", "colour", "id"]])


# --- weights, compare, to_keras, save and load --------------------------------------------------


def test_sample_weights_reach_the_members_and_the_meta_learner(blobs):
    X, y, X_test, y_test = blobs
    plain = stack().fit(X, y).predict_proba(X_test)
    ones = stack().fit(X, y, sample_weight=np.ones(len(y))).predict_proba(X_test)
    assert np.array_equal(plain, ones)  # all ones is no weighting at all
    w = np.where(y == 0, 5.0, 1.0)
    weighted = stack().fit(X, y, sample_weight=w)
    assert not np.allclose(weighted.predict_proba(X_test), plain)
    assert weighted.predict_proba(X_test)[:, 0].mean() > plain[:, 0].mean()
    with pytest.raises(StackgenError, match="cannot weight its rows"):
        stack(final_estimator="knn").fit(X, y, sample_weight=w)


def test_compare_scores_each_member_the_best_the_average_and_the_stack_with_intervals(blobs):
    X, y, X_test, y_test = blobs
    est = stack().fit(X, y)
    table = est.compare(X_test, y_test)
    assert list(table.index) == ["member_1", "member_2", "best member", "average", "stack"]
    assert list(table.columns) == ["accuracy", "ci_low", "ci_high", "rows", "p_vs_best_member"]
    assert table.loc["stack", "accuracy"] == est.score(X_test, y_test)
    assert (table["ci_low"] <= table["accuracy"]).all()
    assert (table["accuracy"] <= table["ci_high"]).all()
    assert np.isnan(table.loc["best member", "p_vs_best_member"])
    assert table.loc[table.attrs["best_member"], "p_vs_best_member"] == 1.0
    assert (table["rows"] == len(y_test)).all()


@pytest.mark.parametrize(
    "final",
    [
        "logistic",
        "nnls",
        "greedy",
        "average",
        "best_member",
        "network",
        MLPClassifier((4,), max_iter=2000),
    ],
)
def test_to_keras_gives_predict_probas_numbers(blobs, final):
    X, y, X_test, _ = blobs
    est = stack(final_estimator=final).fit(X, y)
    network = est.to_keras()
    np.testing.assert_allclose(
        network.predict(X_test, verbose=0), est.predict_proba(X_test), atol=1e-5
    )


def test_to_keras_of_a_binary_logistic_stack_with_passthrough(blobs):
    X, y, X_test, _ = blobs
    est = stack(passthrough=True).fit(X, (y == 0).astype(int))
    np.testing.assert_allclose(
        est.to_keras().predict(X_test, verbose=0), est.predict_proba(X_test), atol=1e-5
    )


def test_to_keras_refuses_a_meta_learner_no_keras_layer_expresses(blobs):
    X, y, _, _ = blobs
    est = stack(final_estimator=RandomForestClassifier(n_estimators=5, random_state=0)).fit(X, y)
    with pytest.raises(StackgenError, match="RandomForestClassifier meta-learner is not a comp"):
        est.to_keras()


@pytest.mark.parametrize("final", ["logistic", "network", "greedy", "mlr"])
def test_save_and_load_give_the_same_bits(blobs, tmp_path, final):
    X, y, X_test, _ = blobs
    est = stack(final_estimator=final, passthrough=final in ("logistic", "mlr")).fit(X, y)
    est.save(tmp_path / "stack.zip")
    loaded = stackgen.load(tmp_path / "stack.zip")
    assert type(loaded) is type(est) and loaded.get_params()["cv"] == 3
    assert np.array_equal(loaded.predict_proba(X_test), est.predict_proba(X_test))
    assert np.array_equal(loaded.oof_predictions_, est.oof_predictions_)
    assert list(loaded.classes_) == list(est.classes_)


def test_a_regressor_stacks_in_the_targets_units_and_saves(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    est = stackgen.StackingRegressor(
        builders(2, 16), final_estimator=Ridge(), cv=3, epochs=30, random_state=1
    ).fit(X[:300], y[:300])
    pred = est.predict(X[300:])
    assert abs(pred.mean() - y[:300].mean()) < 0.5 * y.std()  # back in the target's units
    assert est.score(X[300:], y[300:]) == est.compare(X[300:], y[300:]).loc["stack", "r2"]
    np.testing.assert_allclose(est.to_keras().predict(X[300:], verbose=0).ravel(), pred, atol=1e-3)
    est.save(tmp_path / "r.zip")
    assert np.array_equal(stackgen.load(tmp_path / "r.zip").predict(X[300:]), pred)


def test_load_runs_nothing_from_a_file(blobs, tmp_path):
    X, y, _, _ = blobs
    marker = tmp_path / "ran"
    (tmp_path / "pickle.zip").write_bytes(pickle.dumps(os.system))  # a pickle, renamed
    with pytest.raises(StackgenError, match="not a saved stack"):
        stackgen.load(tmp_path / "pickle.zip")
    est = stack(final_estimator=_Untrusted()).fit(X, y)
    est.save(tmp_path / "custom.zip")
    with pytest.raises(StackgenError, match="holds types that are not trusted .*_Untrusted"):
        stackgen.load(tmp_path / "custom.zip")
    trusted = [f"{_Untrusted.__module__}._Untrusted"]
    loaded = stackgen.load(tmp_path / "custom.zip", trusted=trusted)
    assert np.array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert not marker.exists()


class _Untrusted(LogisticRegression):
    """A custom final estimator: a type skops does not trust by itself."""


# --- errors in the API's words ---------------------------------------------------------------


@pytest.mark.parametrize(
    "settings, error, message",
    [
        ({"members": [3]}, TypeError, r"members\[0\] is a int; a member is a trained keras"),
        ({"members": []}, ValueError, "members must be a list of trained keras.Model"),
        ({"cv": 1}, ValueError, "cv=1: k-fold stacking needs at least 2 folds"),
        ({"cv": "every"}, ValueError, "cv='every': give 'prefit', a number of folds"),
        ({"cv": 1.5}, ValueError, "cv=1.5: a float is the fraction of rows held out"),
        ({"cv": "prefit"}, ValueError, r"members\[0\] is a builder, and cv='prefit'"),
        ({"final_estimator": "nope"}, ValueError, "final_estimator='nope' is not a classif"),
        ({"final_estimator": Ridge()}, ValueError, "final_estimator=Ridge.. is a regressor"),
        (
            {"final_estimator": "nnls", "passthrough": True},
            ValueError,
            "final_estimator='nnls' only weights the members' outputs",
        ),
        ({"random_state": -1}, ValueError, "random_state=-1: give a seed from 0 to"),
        ({"epochs": 0}, ValueError, "epochs=0: give a whole number, at least 1"),
        ({"members": ["missing.keras"]}, ValueError, r"members\[0\]: no such file"),
    ],
)
def test_bad_settings_are_one_plain_exception_in_the_apis_words(blobs, settings, error, message):
    X, y, _, _ = blobs
    with pytest.raises(error, match=message) as caught:
        stack(**settings).fit(X, y)
    assert "--" not in str(caught.value)  # no flag of the command line


def test_bad_data_is_one_plain_exception(blobs):
    X, y, X_test, _ = blobs
    with pytest.raises(ValueError, match="y holds 1 class"):
        stack().fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="Unknown label type"):
        stack().fit(X, X[:, 0])
    est = stack().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but StackingClassifier is expecting 2"):
        est.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="a class the stack was not fit on"):
        est.compare(X_test, np.full(len(X_test), 7))


def test_what_can_be_refused_is_refused_before_anything_trains(blobs, monkeypatch):
    from sklearn.svm import SVC

    X, y, _, _ = blobs

    def no_training(*args, **kwargs):
        raise AssertionError("trained before refusing")

    monkeypatch.setattr(fitting, "final_models", no_training)
    weights = np.ones(len(y)) * 2
    for settings, fit, message in [
        ({"final_estimator": "nope"}, {}, "final_estimator='nope'"),
        ({"final_estimator": "nnls", "passthrough": True}, {}, "only weights"),
        ({"final_estimator": "knn"}, {"sample_weight": weights}, "cannot weight its rows"),
        ({"final_estimator": stackgen.NetworkHead(epochs=0)}, {}, r"NetworkHead\(epochs=0\)"),
        ({"final_estimator": SVC()}, {}, r"SVC\(\) gives no class probabilities"),
        ({"cv": ShuffleSplit(3, random_state=0)}, {}, "more than once"),
    ]:
        with pytest.raises(StackgenError, match=message):
            stack(**settings).fit(X, y, **fit)


def test_a_dense_builder_reading_one_named_input_trains(blobs):
    X, y, X_test, _ = blobs
    named = {"a": X[:, :1], "b": X[:, 1:]}

    def on_b(input_shape, n_outputs, name):
        inputs = keras.Input(input_shape["b"], name="b")
        hidden = keras.layers.Dense(4, activation="relu", name=f"{name}_hidden")(inputs)
        outputs = keras.layers.Dense(n_outputs, activation="softmax")(hidden)
        model = keras.Model(inputs, outputs, name=name)
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        return model

    est = stackgen.StackingClassifier([on_b, on_b], cv=3, epochs=5, random_state=1).fit(named, y)
    probs = est.predict_proba({"a": X_test[:, :1], "b": X_test[:, 1:]})
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_a_category_column_is_one_hot_and_a_table_stack_exports(blobs):
    X, y, X_test, _ = blobs
    rng = np.random.default_rng(1)

    def frame(X):
        codes = pd.Categorical(rng.choice([1, 2, 3], len(X)))
        return pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "code": codes})

    est = stack().fit(frame(X), y)
    assert est.encoded_names_ == ["x1", "x2", "code=1", "code=2", "code=3"]
    test = frame(X_test)
    network = est.to_keras()
    np.testing.assert_allclose(
        network.predict(est.encode(test), verbose=0), est.predict_proba(test), atol=1e-5
    )


def test_settings_held_as_numpy_numbers_save(blobs, tmp_path):
    X, y, X_test, _ = blobs
    est = stack(epochs=np.int64(EPOCHS), cv=np.int64(3), random_state=np.int64(1)).fit(X, y)
    est.save(tmp_path / "s.zip")
    loaded = stackgen.load(tmp_path / "s.zip")
    assert loaded.get_params()["epochs"] == EPOCHS and loaded.get_params()["random_state"] == 1
    assert np.array_equal(loaded.predict_proba(X_test), est.predict_proba(X_test))
