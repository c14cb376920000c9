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
* Where nobody needs per-epoch numbers (members, the integrated head), all E epochs are one
  stream and one Keras "epoch": no per-epoch callbacks, iterators or metric resets. Where the
  learning curves need them (step 2), Keras still runs E epochs and evaluates the test set after
  each, as one batch (accuracy does not depend on the evaluation batch size).
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


def one_batch(X: np.ndarray, Y: np.ndarray) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((X.astype(np.float32), Y.astype(np.float32))).batch(
        len(X)
    )


def compile_classifier(model: keras.Model, steps_per_execution: int = 1) -> keras.Model:
    model.compile(
        loss="categorical_crossentropy",
        optimizer=keras.optimizers.Adam(),  # Keras defaults, as in the tutorial
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def fit(
    model: keras.Model,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, list[float]]:
    """Compile and train ``model`` in place on (X, one-hot Y), shuffled from ``seed``.

    With ``validation``, returns Keras's per-epoch history (loss, accuracy, val_loss,
    val_accuracy). Without it, trains all epochs as one stream and returns an empty history.
    """
    orders = epoch_orders(len(X), epochs, seed)
    stream = batch_stream(X, Y, orders, batch_size)
    if validation is None:
        compile_classifier(model, STEPS_PER_EXECUTION)
        model.fit(stream, epochs=1, shuffle=False, verbose=0)
        return {}
    per_epoch = math.ceil(len(X) / batch_size)
    compile_classifier(model, per_epoch)
    history = model.fit(
        stream,
        epochs=epochs,
        steps_per_epoch=per_epoch,  # Keras then carries one iterator across the epochs
        validation_data=one_batch(*validation),
        shuffle=False,
        verbose=0,
    )
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}


def predict_proba(model: keras.Model, X: np.ndarray) -> np.ndarray:
    # A direct call: one batch, no per-call tf.function retracing as model.predict would do.
    return keras.ops.convert_to_numpy(model(X.astype(np.float32), training=False))


def accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(probs, axis=1) == y))
