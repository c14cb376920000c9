"""The compiled loop (methods/compiled_loop.py) trains exactly as model.fit does, bit for bit.

Every comparison starts two copies of one model from the same weights, trains one through
``training.fit`` (or the side-by-side trainer) and the other with Keras's own ``model.fit`` on
the same batches (or, for architectures side by side, each architecture alone too), and
requires equal weights and optimizer state: ``np.array_equal``, not a tolerance. The suite runs
this file under TensorFlow, and tests/test_backends.py runs it again under JAX and PyTorch,
whose loops are jax_loop.py and torch_loop.py. Under JAX alone, a network other than a chain of
Dense layers (or a loss other than a plain one) ends within float32 rounding of model.fit
rather than bit for bit: XLA fuses a step inside the loop otherwise than a step jitted alone.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from stackgen.data.task import CLASSIFICATION, REGRESSION
from stackgen.methods import compiled_loop, members, side_by_side, training

pytestmark = pytest.mark.skipif(
    not compiled_loop.available(), reason="this backend has no compiled loop"
)

ROWS = 50


def _data(rows: int = ROWS, features: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features)).astype(np.float32)
    return X, CLASSIFICATION.targets(rng.integers(0, 3, rows), 3)


def _twin_of(model: keras.Model) -> keras.Model:
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin


def _model_fit(model, X, Y, epochs: int, seed: int, task=CLASSIFICATION, optimizer=None, loss=None):
    """Keras's own path: compile and model.fit on the same batches training.fit visits."""
    training.compile_model(model, task, training.STEPS_PER_EXECUTION, optimizer, loss)
    orders = training.epoch_orders(len(Y), epochs, seed)
    stream = training.batch_stream(X, Y, orders, 32)
    model.fit(stream, epochs=1, shuffle=False, verbose=0)


def _assert_same(a: keras.Model, b: keras.Model, bits: bool = True) -> None:
    """Equal weights and optimizer states; with ``bits=False``, under JAX within float32
    rounding (see above)."""

    def same(x, y) -> bool:
        if bits or keras.backend.backend() != "jax":
            return np.array_equal(x, y)
        return np.allclose(x, y, rtol=1e-5, atol=1e-8)

    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        assert same(wa, wb)
    states = zip(a.optimizer.variables, b.optimizer.variables, strict=True)
    for va, vb in states:
        assert same(va.numpy(), vb.numpy()), va.path


@pytest.fixture(autouse=True)
def _fresh_loops():
    compiled_loop.forget()
    yield
    compiled_loop.forget()


def test_members_of_one_shape_share_one_loop_and_end_as_model_fit_leaves_them():
    X, Y = _data()
    for seed in (3, 4):
        training.seed_everything(seed)
        model = members.build_mlp(f"member_{seed}", 2, 3, 7)
        plain = _twin_of(model)
        training.fit(model, X, Y, task=CLASSIFICATION, epochs=4, batch_size=32, seed=seed)
        _model_fit(plain, X, Y, 4, seed)
        _assert_same(model, plain)
        assert int(model.optimizer.iterations.numpy()) == 4 * 2
    assert len(compiled_loop._templates) == 1  # the second member reused the first's loop
    assert len(compiled_loop._fits) == 2
    (loop,) = compiled_loop._templates.values()
    # Adam's update done for all weights at once, and still model.fit's bits (JAX: the
    # optimizer's own stateless update, which XLA fuses)
    assert keras.backend.backend() == "jax" or loop.carried


def test_a_regression_member_and_another_optimizer_end_as_model_fit_leaves_them():
    X, _ = _data()
    y = (X[:, :1] * 2.0 - X[:, 1:]).astype(np.float32)
    training.seed_everything(8)
    model = members.build_mlp("member_1", 2, 1, (6, 4), activation="linear")
    plain = _twin_of(model)
    fit = dict(task=REGRESSION, epochs=3, batch_size=32, seed=8)
    training.fit(model, X, y, optimizer=keras.optimizers.Adam(1e-4), **fit)
    _model_fit(plain, X, y, 3, 8, REGRESSION, optimizer=keras.optimizers.Adam(1e-4))
    _assert_same(model, plain)


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda: keras.optimizers.Adam(amsgrad=True),
        lambda: keras.optimizers.Adam(clipnorm=0.5),
        lambda: keras.optimizers.SGD(0.05, momentum=0.9),
    ],
    ids=["amsgrad", "clipnorm", "sgd"],
)
def test_an_optimizer_other_than_plain_adam_updates_through_keras_and_ends_as_model_fit(
    optimizer,
):
    """Plain Adam's update is done for all weights at once (``_Loop._adam``); any other
    optimizer, or Adam with anything around it, keeps Keras's own ``apply_gradients``."""
    X, Y = _data()
    training.seed_everything(6)
    model = members.build_mlp("member_1", 2, 3, 5)
    plain = _twin_of(model)
    fit = dict(task=CLASSIFICATION, epochs=3, batch_size=32, seed=6)
    training.fit(model, X, Y, optimizer=optimizer(), **fit)
    assert not compiled_loop.plain_adam(model)
    _model_fit(plain, X, Y, 3, 6, optimizer=optimizer())
    _assert_same(model, plain)
    adam = _twin_of(model)
    training.compile_model(adam, CLASSIFICATION, 1)
    assert compiled_loop.plain_adam(adam)


def test_a_sparse_gradient_keeps_keras_adam_and_ends_as_model_fit():
    """An Embedding's gradient is sparse: Keras's Adam squares each looked-up row's slice, so
    rows repeated in a batch must not be summed first. The loop leaves such a model to Keras's
    own update."""
    rng = np.random.default_rng(4)
    X = rng.integers(0, 4, size=(ROWS, 3)).astype(np.float32)  # few ids: repeated in a batch
    _, Y = _data()
    inputs = keras.Input(shape=(3,))
    x = keras.layers.Flatten()(keras.layers.Embedding(4, 2)(inputs))
    training.seed_everything(5)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    plain = _twin_of(model)
    training.fit(model, X, Y, task=CLASSIFICATION, epochs=3, batch_size=32, seed=5)
    _model_fit(plain, X, Y, 3, 5)
    _assert_same(model, plain)


def test_a_network_that_is_not_a_chain_of_dense_layers_trains_as_model_fit_does():
    """Two named inputs, dropout and batch normalisation (state updated while training):
    traced for the model itself, with no template."""
    left = keras.Input(shape=(2,), name="left")
    right = keras.Input(shape=(3,), name="right")
    x = keras.layers.Concatenate()([left, right])
    x = keras.layers.Dense(6, activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dropout(0.3, seed=7)(x)
    training.seed_everything(2)
    model = keras.Model([left, right], keras.layers.Dense(3, activation="softmax")(x))
    assert compiled_loop.dense_chain_twin(model) is None
    plain = _twin_of(model)
    X, Y = _data()
    both = {"left": X, "right": _data(features=3, seed=1)[0]}
    training.fit(model, both, Y, task=CLASSIFICATION, epochs=3, batch_size=32, seed=2)
    _model_fit(plain, (both["left"], both["right"]), Y, 3, 2)
    _assert_same(model, plain, bits=False)
    assert not compiled_loop._templates and not compiled_loop._fits


def test_members_side_by_side_end_as_the_side_by_side_trainer_under_model_fit(monkeypatch):
    datasets = [_data(seed=s) for s in (1, 2, 3)]
    compiled, plain = [], []
    for seed in (11, 12, 13):
        training.seed_everything(seed)
        compiled.append(members.build_mlp(f"member_{seed}", 2, 3, 5))
        plain.append(_twin_of(compiled[-1]))
    fit = dict(task=CLASSIFICATION, epochs=3, batch_size=32, seeds=[11, 12, 13])
    side_by_side.fit_stacked(compiled, datasets, **fit)
    monkeypatch.setattr(compiled_loop, "available", lambda: False)  # the tf.data + fit path
    side_by_side.fit_stacked(plain, datasets, **fit)
    for a, b in zip(compiled, plain, strict=True):
        for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
            assert np.array_equal(wa, wb)
    assert not np.array_equal(compiled[0].get_weights()[0], compiled[1].get_weights()[0])


def test_members_of_different_shapes_side_by_side_in_one_loop_end_as_each_shape_alone(
    monkeypatch,
):
    """Diverse members' folds: two architectures, each listed twice, train as branches of one
    loop, and each model ends with the bits of the same trainer under model.fit; and with what
    it gets beside its own architecture only, to float32 rounding. That loop is another traced
    graph, whose ops TensorFlow may order otherwise on some CPUs: on a 2-core AMD EPYC one bias
    of 3 came out 6 ULP (4e-11) away, on the Xeon machine the same bits. A branch given
    another's rows or weights would be off by the size of the weights themselves."""
    datasets = [_data(seed=s) for s in (1, 2, 3, 4)]
    hidden = {21: 5, 22: (4, 3), 23: 5, 24: (4, 3)}

    def build() -> list[keras.Model]:
        made = []
        for seed, layers in hidden.items():
            training.seed_everything(seed)
            made.append(members.build_mlp(f"member_{seed}", 2, 3, layers))
        return made

    fit = dict(task=CLASSIFICATION, epochs=3, batch_size=32)
    mixed = build()
    side_by_side.fit_stacked(mixed, datasets, seeds=list(hidden), **fit)
    assert len(compiled_loop._templates) == 1  # one loop for both architectures
    side_by_side.fit_stacked(build(), datasets, seeds=list(hidden), **fit)
    # Built again, with Keras's made-up layer names numbered on: the same loop, the same fit.
    assert len(compiled_loop._templates) == 1 and len(compiled_loop._fits) == 1
    monkeypatch.setattr(compiled_loop, "available", lambda: False)  # the tf.data + fit path
    plain = build()
    side_by_side.fit_stacked(plain, datasets, seeds=list(hidden), **fit)
    monkeypatch.undo()
    apart = build()
    for pair in ([0, 2], [1, 3]):
        side_by_side.fit_stacked(
            [apart[i] for i in pair],
            [datasets[i] for i in pair],
            seeds=[list(hidden)[i] for i in pair],
            **fit,
        )
    for a, b, c in zip(mixed, apart, plain, strict=True):
        for wa, wb, wc in zip(a.get_weights(), b.get_weights(), c.get_weights(), strict=True):
            assert np.array_equal(wa, wc)  # the same trainer under model.fit: the same bits
            np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-9)
    assert not np.array_equal(mixed[0].get_weights()[0], mixed[2].get_weights()[0])


def test_a_fit_asked_for_again_returns_the_weights_training_would_give():
    X, Y = _data()

    def fit(seed: int, rows=X) -> list[np.ndarray]:
        training.seed_everything(1)  # the same starting weights every time
        model = members.build_mlp("member_1", 2, 3, 5)
        training.fit(model, rows, Y, task=CLASSIFICATION, epochs=3, batch_size=32, seed=seed)
        return model.get_weights()

    first = fit(seed=5)
    assert len(compiled_loop._fits) == 1
    again = fit(seed=5)
    assert len(compiled_loop._fits) == 1  # remembered, not trained again
    compiled_loop.forget()
    trained = fit(seed=5)
    for a, b, c in zip(first, again, trained, strict=True):
        assert np.array_equal(a, b) and np.array_equal(a, c)
    # Another order of the rows, or other rows, is another fit.
    other_order = fit(seed=6)
    other_rows = fit(seed=5, rows=X + np.float32(0.5))
    assert len(compiled_loop._fits) == 3
    assert not np.array_equal(other_order[0], first[0])
    assert not np.array_equal(other_rows[0], first[0])


def test_only_a_plain_chain_of_dense_layers_gets_a_twin():
    training.seed_everything(1)
    mlp = members.build_mlp("member_1", 4, 3, (6, 5))
    twin = compiled_loop.dense_chain_twin(mlp)()
    assert [w.shape for w in twin.weights] == [w.shape for w in mlp.weights]
    assert [lay.get_config()["activation"] for lay in twin.layers[1:]] == [
        "relu",
        "relu",
        "softmax",
    ]

    inputs = keras.Input(shape=(4,))
    shared = keras.layers.Dense(4, activation="relu")
    used_twice = keras.Model(inputs, shared(shared(inputs)))
    assert compiled_loop.dense_chain_twin(used_twice) is None

    normalised = keras.Sequential(
        [keras.Input(shape=(4,)), keras.layers.Dense(3), keras.layers.LayerNormalization()]
    )
    assert compiled_loop.dense_chain_twin(normalised) is None
    sequential = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3)])
    assert compiled_loop.dense_chain_twin(sequential) is not None


def test_integrated_networks_fine_tuned_whole_share_one_loop_and_end_as_model_fit_leaves_them():
    """Step 8's networks: members and a head behind one input, every layer trainable."""
    from stackgen.methods import integrated

    X, Y = _data()
    for seed in (1, 2):
        training.seed_everything(seed)
        parts = [members.build_mlp(members.member_name(i), 2, 3, 4) for i in (1, 2)]
        head = integrated.build_head(6, 3, 5, CLASSIFICATION)
        network = integrated.assemble(parts, head, CLASSIFICATION)
        for part in parts:
            part.trainable = True
        plain = _twin_of(network)
        fine = dict(epochs=3, seed=seed, task=CLASSIFICATION)
        training.fit(network, X, Y, batch_size=32, optimizer=keras.optimizers.Adam(1e-4), **fine)
        _model_fit(plain, X, Y, optimizer=keras.optimizers.Adam(1e-4), **fine)
        _assert_same(network, plain)
    assert len(compiled_loop._templates) == 1


@pytest.mark.parametrize("order", [(True, False), (False, True)])
def test_loss_objects_with_other_settings_are_other_shapes(order):
    """A member trained elsewhere brings its own loss: CategoricalCrossentropy with and without
    from_logits must not share a loop or a remembered fit."""
    X, Y = _data()
    for from_logits in order:
        training.seed_everything(6)
        model = members.build_mlp("member_1", 2, 3, 5, activation="linear")
        plain = _twin_of(model)
        loss = dict(loss=keras.losses.CategoricalCrossentropy(from_logits=from_logits))
        training.fit(model, X, Y, task=CLASSIFICATION, epochs=3, batch_size=32, seed=6, **loss)
        _model_fit(plain, X, Y, 3, 6, **loss)
        _assert_same(model, plain, bits=False)
    assert len(compiled_loop._templates) == 2 and len(compiled_loop._fits) == 2


def test_a_loss_made_inside_a_function_is_never_shared():
    def made_here(scale):
        return lambda y, p: scale * keras.losses.categorical_crossentropy(y, p)

    X, Y = _data()
    training.seed_everything(6)
    model = members.build_mlp("member_1", 2, 3, 5)
    training.fit(
        model, X, Y, task=CLASSIFICATION, epochs=2, batch_size=32, seed=6, loss=made_here(2.0)
    )
    assert not compiled_loop._templates and not compiled_loop._fits


def test_fewer_rows_than_a_batch_train_as_model_fit_does():
    """Every epoch one short batch (a small group's fold): no full batch to loop over, and in
    one epoch's chunk fewer rows than a batch."""
    X, Y = _data(rows=20)
    for epochs in (1, 3):
        training.seed_everything(9)
        model = members.build_mlp("member_1", 2, 3, 5)
        plain = _twin_of(model)
        training.fit(model, X, Y, task=CLASSIFICATION, epochs=epochs, batch_size=32, seed=9)
        _model_fit(plain, X, Y, epochs, 9)
        _assert_same(model, plain)
        assert int(model.optimizer.iterations.numpy()) == epochs
