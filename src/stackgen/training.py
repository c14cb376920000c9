"""Seeding, determinism and the one training loop every network in the pipeline uses.

Training semantics are the tutorial's ``model.fit(X, y, epochs=E, batch_size=32)``: Adam with
Keras defaults, a fresh shuffle of the training rows every epoch, batches of 32 with the last one
short, batches never spanning two epochs. What differs is how the batches reach Keras, because on
models this small Keras's fixed cost per epoch and per step is nearly all of the run time:

* The shuffles are drawn up front with NumPy (``epoch_orders``: one permutation per epoch from
  ``seed``), so the batch order is explicit, reproducible, and can be fed to plain ``model.fit``
  to check that both paths end with the same weights (tests/test_training.py).
* The batches stream through ``tf.data`` rather than from NumPy arrays, and ``steps_per_execution``
  runs many steps per call into the compiled training function.
* All E epochs are one stream and one Keras "epoch": no per-epoch iterators or callbacks. Where
  the learning curves need per-epoch numbers (step 2), ``EpochCurves`` records them.
* Members train side by side in one compiled loop (``side_by_side.fit_side_by_side``), each on
  its own shuffles; the result is the same as training them one after another.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

# Steps per call into the compiled training function on the one-stream path. Measured on 2 cores
# for a 500-epoch member: 4 -> 0.95 s, 100 -> 0.51 s, 2000 -> 0.49 s.
STEPS_PER_EXECUTION = 128

_determinism_on = False


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend, and make TensorFlow's kernels deterministic."""
    global _determinism_on
    keras.utils.set_random_seed(seed)
    if not _determinism_on and keras.backend.backend() == "tensorflow":
        # Same seed, same machine -> same weights to the last bit, even with threaded kernels.
        tf.config.experimental.enable_op_determinism()
        _determinism_on = True


def epoch_orders(n_rows: int, epochs: int, seed: int) -> np.ndarray:
    """[epochs, n_rows]: the order in which each epoch visits the training rows."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n_rows) for _ in range(epochs)])


def batch_stream(X: np.ndarray, Y: np.ndarray, orders: np.ndarray, batch_size: int):
    """Every epoch's rows in ``orders``, cut into batches that never cross an epoch boundary."""
    Xt, Yt = tf.constant(X, tf.float32), tf.constant(Y, tf.float32)
    per_epoch = math.ceil(orders.shape[1] / batch_size)
    stream = tf.data.Dataset.from_tensor_slices(orders).flat_map(
        lambda idx: tf.data.Dataset.from_tensor_slices(
            (tf.gather(Xt, idx), tf.gather(Yt, idx))
        ).batch(batch_size)
    )
    # flat_map hides the length; Keras needs it to size its last call into the compiled loop.
    return stream.apply(tf.data.experimental.assert_cardinality(per_epoch * len(orders)))


def compile_classifier(
    model: keras.Model,
    steps_per_execution: int = 1,
    with_accuracy: bool = True,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> keras.Model:
    model.compile(
        loss="categorical_crossentropy",
        optimizer=optimizer or keras.optimizers.Adam(),  # Keras defaults, as in the tutorial
        metrics=["accuracy"] if with_accuracy else None,
        steps_per_execution=steps_per_execution,
    )
    return model


class EpochCurves(keras.callbacks.Callback):
    """Per-epoch train and test loss and accuracy while all epochs run as one Keras epoch.

    With ``steps_per_execution`` equal to the steps in one epoch, Keras calls
    ``on_train_batch_end`` once per epoch, with its metrics accumulated over that epoch's batches
    (what ``History`` would record). The metrics are then reset for the next epoch, and the test
    set is scored in one compiled call: what ``validation_data`` gives, without Keras setting up
    an evaluation loop 500 times.
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray):
        super().__init__()
        self.X, self.Y = tf.constant(X, tf.float32), tf.constant(Y, tf.float32)
        self.history: dict[str, list[float]] = {
            "loss": [],
            "accuracy": [],
            "val_loss": [],
            "val_accuracy": [],
        }
        self._score = None

    def on_train_begin(self, logs=None) -> None:
        model = self.model

        @tf.function
        def score(X, Y):
            probs = model(X, training=False)
            loss = keras.ops.mean(keras.losses.categorical_crossentropy(Y, probs))
            hits = keras.ops.argmax(probs, axis=1) == keras.ops.argmax(Y, axis=1)
            return loss, keras.ops.mean(keras.ops.cast(hits, "float32"))

        self._score = score

    def on_train_batch_end(self, batch, logs=None) -> None:
        self.history["loss"].append(float(logs["loss"]))
        self.history["accuracy"].append(float(logs["accuracy"]))
        self.model.reset_metrics()
        val_loss, val_acc = self._score(self.X, self.Y)
        self.history["val_loss"].append(float(val_loss))
        self.history["val_accuracy"].append(float(val_acc))


def fit(
    model: keras.Model,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> dict[str, list[float]]:
    """Compile and train ``model`` in place on (X, one-hot Y), shuffled from ``seed``.

    With ``validation``, returns the per-epoch history Keras would record (loss, accuracy,
    val_loss, val_accuracy); without it, an empty one.
    """
    stream = batch_stream(X, Y, epoch_orders(len(X), epochs, seed), batch_size)
    if validation is None:
        compile_classifier(model, STEPS_PER_EXECUTION, optimizer=optimizer)
        model.fit(stream, epochs=1, shuffle=False, verbose=0)
        return {}
    curves = EpochCurves(*validation)
    # One execution = one epoch.
    compile_classifier(model, math.ceil(len(X) / batch_size), optimizer=optimizer)
    model.fit(stream, epochs=1, shuffle=False, verbose=0, callbacks=[curves])
    return curves.history


def predict_proba(model: keras.Model, X: np.ndarray) -> np.ndarray:
    # A direct call: one batch, no per-call tf.function retracing as model.predict would do.
    return keras.ops.convert_to_numpy(model(X.astype(np.float32), training=False))


def accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(probs, axis=1) == y))
