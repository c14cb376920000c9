"""The fast training path keeps the tutorial's semantics: same batches, updates and weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from conftest import tiny_config

from stackgen.data.task import CLASSIFICATION, REGRESSION
from stackgen.methods import members, side_by_side, training
from stackgen.workdir import split_files as data


def test_epoch_orders_are_permutations_seeded_and_different_each_epoch():
    a = training.epoch_orders(100, 4, seed=3)
    assert a.shape == (4, 100)
    for order in a:
        np.testing.assert_array_equal(np.sort(order), np.arange(100))
    assert not np.array_equal(a[0], a[1])
    np.testing.assert_array_equal(a, training.epoch_orders(100, 4, seed=3))
    assert not np.array_equal(a, training.epoch_orders(100, 4, seed=4))


def test_batches_follow_the_orders_and_never_cross_an_epoch():
    X = np.arange(10, dtype=np.float32)[:, None]
    Y = np.eye(10, dtype=np.float32)
    orders = training.epoch_orders(10, 3, seed=0)
    batches = [b[0].numpy()[:, 0] for b in training.batch_stream(X, Y, orders, 4)]
    assert [len(b) for b in batches] == [4, 4, 2] * 3
    np.testing.assert_array_equal(np.concatenate(batches), orders.ravel())


def _plain_fit_copy(model, X, Y, orders, batch_size, validation=None, task=CLASSIFICATION):
    """The tutorial's path: model.fit on NumPy arrays, epoch by epoch, in the given row order."""
    plain = keras.models.clone_model(model)
    plain.set_weights(model.get_weights())
    training.compile_model(plain, task)
    history = {}
    for order in orders:
        h = plain.fit(
            X[order],
            Y[order],
            batch_size=batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
            validation_data=validation,
        )
        for key, values in h.history.items():
            history.setdefault(key, []).extend(values)
    return plain, history


@pytest.mark.parametrize("validate", [False, True])
def test_fast_path_ends_with_the_same_weights_as_plain_numpy_fit(workdir, validate):
    split = data.make_split(tiny_config(workdir))
    X, Y = split.train_X, CLASSIFICATION.targets(split.train_y, 3)
    epochs, seed = 4, 11
    validation = (split.test_X, CLASSIFICATION.targets(split.test_y, 3)) if validate else None
    training.seed_everything(seed)
    model = members.build_mlp("member_1", 2, 3, 25)
    orders = training.epoch_orders(len(X), epochs, seed)
    plain, plain_history = _plain_fit_copy(model, X, Y, orders, 32, validation)
    history = training.fit(
        model,
        X,
        Y,
        task=CLASSIFICATION,
        epochs=epochs,
        batch_size=32,
        seed=seed,
        validation=validation,
    )
    assert int(model.optimizer.iterations.numpy()) == epochs * 4 == plain.optimizer.iterations
    for fast_w, plain_w in zip(model.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(fast_w, plain_w, rtol=1e-5, atol=1e-6)
    if validate:
        # The learning curves are the ones Keras's own History records, epoch by epoch.
        assert sorted(history) == sorted(plain_history)
        for key in history:
            np.testing.assert_allclose(history[key], plain_history[key], rtol=1e-5, err_msg=key)
    else:
        assert history == {}


def test_members_side_by_side_equal_members_fit_one_by_one(workdir):
    split = data.make_split(tiny_config(workdir))
    X, Y = split.train_X, CLASSIFICATION.targets(split.train_y, 3)
    seeds = [21, 22, 23]
    together, alone = [], []
    for seed in seeds:
        training.seed_everything(seed)
        together.append(members.build_mlp(f"member_{seed}", 2, 3, 25))
        alone.append(keras.models.clone_model(together[-1]))
        alone[-1].set_weights(together[-1].get_weights())
    side_by_side.fit_side_by_side(
        together, [(X, Y)] * 3, task=CLASSIFICATION, epochs=3, batch_size=32, seeds=seeds
    )
    for model, seed in zip(alone, seeds, strict=True):
        training.fit(model, X, Y, task=CLASSIFICATION, epochs=3, batch_size=32, seed=seed)
    for a, b in zip(together, alone, strict=True):
        for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
            np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    assert not np.allclose(together[0].get_weights()[0], together[1].get_weights()[0])


def test_the_weights_actually_move(workdir):
    """Guards the test above against passing because nothing trained."""
    split = data.make_split(tiny_config(workdir))
    training.seed_everything(5)
    model = members.build_mlp("m", 2, 3, 25)
    before = model.get_weights()[0].copy()
    training.fit(
        model,
        split.train_X,
        CLASSIFICATION.targets(split.train_y, 3),
        task=CLASSIFICATION,
        epochs=2,
        batch_size=32,
        seed=5,
    )
    assert np.abs(model.get_weights()[0] - before).max() > 1e-4


def _regression_data(rows: int = 100):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(rows, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=rows)).astype(np.float32)
    return X, y[:, None]


def test_regression_fast_path_and_curves_equal_plain_fit():
    """A linear output trains on mean squared error, on the fast path as with plain fit."""
    X, Y = _regression_data()
    Xv, Yv = _regression_data(40)
    training.seed_everything(7)
    model = members.build_mlp("reg", 3, 1, 25, activation="linear")
    orders = training.epoch_orders(len(X), 4, 7)
    plain, plain_history = _plain_fit_copy(model, X, Y, orders, 32, (Xv, Yv), REGRESSION)
    assert plain.loss == "mean_squared_error"
    history = training.fit(
        model, X, Y, task=REGRESSION, epochs=4, batch_size=32, seed=7, validation=(Xv, Yv)
    )
    for fast_w, plain_w in zip(model.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(fast_w, plain_w, rtol=1e-5, atol=1e-6)
    assert sorted(history) == sorted(plain_history) == ["loss", "val_loss"]
    for key in history:
        np.testing.assert_allclose(history[key], plain_history[key], rtol=1e-5, err_msg=key)


def test_regression_members_side_by_side_equal_members_fit_one_by_one():
    X, Y = _regression_data()
    seeds = [31, 32]
    together, alone = [], []
    for seed in seeds:
        training.seed_everything(seed)
        together.append(members.build_mlp(f"r_{seed}", 3, 1, 25, activation="linear"))
        alone.append(keras.models.clone_model(together[-1]))
        alone[-1].set_weights(together[-1].get_weights())
    side_by_side.fit_side_by_side(
        together, [(X, Y)] * 2, task=REGRESSION, epochs=3, batch_size=32, seeds=seeds
    )
    for model, seed in zip(alone, seeds, strict=True):
        training.fit(model, X, Y, task=REGRESSION, epochs=3, batch_size=32, seed=seed)
    for a, b in zip(together, alone, strict=True):
        for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
            np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
