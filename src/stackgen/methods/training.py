"""Seeding, determinism and the one training loop every network in the pipeline uses.

Training semantics are the tutorial's ``model.fit(X, y, epochs=E, batch_size=32)``: Adam with
Keras defaults, a fresh shuffle of the training rows every epoch, batches of 32 with the last one
short, batches never spanning two epochs. What differs is how the batches reach Keras, because on
models this small Keras's fixed cost per epoch and per step is nearly all of the run time:

* The shuffles are drawn with NumPy (``row_orders.RowOrders``: one permutation per epoch from
  ``seed``), so the batch order is explicit, reproducible, and can be fed to plain ``model.fit``
  to check that both paths end with the same weights (tests/test_training.py). They are drawn a
  few epochs at a time as training reaches them, so memory does not grow with the epochs.
* The batches stream through ``tf.data`` rather than from NumPy arrays (Keras reads a tf.data
  stream under every backend), and ``steps_per_execution`` runs many steps per call into the
  compiled training function (TensorFlow and JAX; PyTorch takes one step per call).
* All E epochs are one stream and one Keras "epoch": no per-epoch iterators or callbacks. Where
  the learning curves need per-epoch numbers (step 2), ``EpochCurves`` records them.
* A fit skips ``model.fit`` altogether: every step of Keras's own train step runs in the
  backend's own loop (``compiled_loop.train``: one compiled call per chunk of epochs under
  TensorFlow and JAX, a bare Python loop over torch tensors under PyTorch), and the learning
  curves are recorded inside it, with the same weights as a result. Weighted rows and inputs
  mapped from disk take the ``model.fit`` path described above.
* Members train side by side in one compiled loop (``side_by_side.fit_side_by_side``), each on
  its own shuffles; the result is the same as training them one after another.
"""

from __future__ import annotations

import math
import random

import keras
import numpy as np
import tensorflow as tf
from keras.src.random import seed_generator as keras_seeds

from stackgen.data import inputs
from stackgen.data.task import Task
from stackgen.methods import compiled_loop
from stackgen.methods.row_orders import RowOrders

# Steps per call into the compiled training function on the one-stream path. Measured on 2 cores
# for a 500-epoch member: 4 -> 0.95 s, 100 -> 0.51 s, 2000 -> 0.49 s.
STEPS_PER_EXECUTION = 128
# Rows per call when predicting: above the tutorial's 1,000 test rows, so its numbers keep their
# single call; bounds the memory a large set of images takes.
PREDICT_CHUNK = 8192
# And at most this many bytes of inputs: a CNN's activations take many times more.
PREDICT_BYTES = 4 * 1024 * 1024


def execution_steps(wanted: int) -> int:
    """``wanted``, or 1 under PyTorch, whose Keras trainer runs one step per call."""
    return 1 if keras.backend.backend() == "torch" else wanted


_determinism_on = False


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend, and make the backend's kernels deterministic."""
    keras.utils.set_random_seed(seed)
    # Keras draws every seed it is not given (each initialiser's, its global SeedGenerator's)
    # from Python's global ``random``, which other threads may draw from in between: a Dask
    # worker's own threads do, and the weights would change. Keras gets a generator of its own,
    # seeded alike: the same draws, taken by no one else.
    keras_seeds.python_random = random.Random(seed)
    deterministic()


def deterministic() -> None:
    """Make the backend's kernels deterministic, once per process."""
    global _determinism_on
    if _determinism_on:
        return
    # Same seed, same machine -> same weights to the last bit, even with threaded kernels.
    # JAX on the CPU is deterministic already.
    backend = keras.backend.backend()
    if backend == "tensorflow":
        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        torch.use_deterministic_algorithms(True)
    _determinism_on = True


def epoch_orders(n_rows: int, epochs: int, seed: int) -> np.ndarray:
    """[epochs, n_rows]: the order in which each epoch visits the training rows, all at once
    (what ``RowOrders.of(n_rows, epochs, seed)`` draws chunk by chunk)."""
    return RowOrders.of(n_rows, epochs, seed).array()


def batch_stream(X, Y: np.ndarray, orders: np.ndarray | RowOrders, batch_size: int, weights=None):
    """Every epoch's rows in ``orders`` ([epochs, n_rows], or ``RowOrders`` drawn one epoch at a
    time as the stream reaches it), cut into batches that never cross an epoch boundary. ``X``
    is one array, or a tuple of arrays for a model with several inputs; ``weights`` (one per
    row) go with their rows, as Keras's ``sample_weight``."""
    Xt = tf.nest.map_structure(lambda a: tf.constant(a, tf.float32), X)
    Yt = tf.constant(Y, tf.float32)
    Wt = None if weights is None else tf.constant(np.asarray(weights, np.float32))

    def epoch(idx):
        rows = (tf.nest.map_structure(lambda a: tf.gather(a, idx), Xt), tf.gather(Yt, idx))
        if Wt is not None:
            rows = (*rows, tf.gather(Wt, idx))
        return tf.data.Dataset.from_tensor_slices(rows).batch(batch_size)

    return epochs_stream(orders, epoch, batch_size)


def epochs_stream(orders: np.ndarray | RowOrders, epoch, batch_size: int) -> tf.data.Dataset:
    """``epoch(order)``'s batches for every epoch's order in ``orders``, one after another."""
    if isinstance(orders, RowOrders):
        n_rows, epochs = orders.n_rows, orders.epochs
        spec = tf.TensorSpec((n_rows, *orders.tail), tf.int64)
        each = tf.data.Dataset.from_generator(orders.each_epoch, output_signature=spec)
    else:
        n_rows, epochs = orders.shape[1], len(orders)
        each = tf.data.Dataset.from_tensor_slices(orders)
    per_epoch = math.ceil(n_rows / batch_size)
    # flat_map hides the length; Keras needs it to size its last call into the compiled loop.
    stream = each.flat_map(epoch)
    return stream.apply(tf.data.experimental.assert_cardinality(per_epoch * epochs))


def compile_model(
    model: keras.Model,
    task: Task,
    steps_per_execution: int = 1,
    optimizer: keras.optimizers.Optimizer | None = None,
    loss=None,
) -> keras.Model:
    """The tutorial's compile: cross-entropy and accuracy for classes; mean squared error for a
    regression target. A member trained elsewhere brings its own ``loss`` (no metrics then)."""
    model.compile(
        loss=loss or task.loss,
        optimizer=optimizer or keras.optimizers.Adam(),  # Keras defaults, as in the tutorial
        metrics=None if loss else list(task.keras_metrics) or None,
        steps_per_execution=execution_steps(steps_per_execution),
    )
    return model


class EpochCurves(keras.callbacks.Callback):
    """Per-epoch train and test loss and accuracy while all epochs run as one Keras epoch.

    At the end of every ``steps_per_epoch``-th step, Keras's metrics hold that epoch's running
    means over its batches (what ``History`` would record). They are read and reset for the
    next epoch, and the test set is scored in one call: what ``validation_data`` gives, without
    Keras setting up an evaluation loop 500 times. With ``steps_per_execution`` equal to the
    steps in one epoch (TensorFlow, JAX), Keras calls back once per epoch; under PyTorch, once
    per step.
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray, steps_per_epoch: int, task: Task):
        super().__init__()
        self.X, self.Y = X.astype(np.float32), Y.astype(np.float32)
        self.steps_per_epoch = steps_per_epoch
        self.regression = "accuracy" not in task.keras_metrics
        keys = ("loss", "val_loss") + (() if self.regression else ("accuracy", "val_accuracy"))
        self.history: dict[str, list[float]] = {key: [] for key in keys}

    def on_train_batch_end(self, batch, logs=None) -> None:
        if (batch + 1) % self.steps_per_epoch:
            return
        self.history["loss"].append(float(logs["loss"]))
        if not self.regression:
            self.history["accuracy"].append(float(logs["accuracy"]))
        if hasattr(self.model, "jax_state_sync"):  # JAX keeps the state outside the model
            self.model.jax_state_sync()
        self.model.reset_metrics()
        outputs = self.model.predict_on_batch(self.X)
        if self.regression:
            loss = keras.ops.mean(keras.losses.mean_squared_error(self.Y, outputs))
            self.history["val_loss"].append(float(loss))
            return
        loss = keras.ops.mean(keras.losses.categorical_crossentropy(self.Y, outputs))
        hits = np.argmax(keras.ops.convert_to_numpy(outputs), axis=1) == np.argmax(self.Y, axis=1)
        self.history["val_loss"].append(float(loss))
        self.history["val_accuracy"].append(float(np.mean(hits, dtype=np.float32)))


def fit(
    model: keras.Model,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    task: Task,
    epochs: int,
    batch_size: int,
    seed: int,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    optimizer: keras.optimizers.Optimizer | None = None,
    loss=None,
    sample_weight: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> dict[str, list[float]]:
    """Compile and train ``model`` in place on (X, one-hot Y, or a column of regression
    targets), shuffled from ``seed``; each row's loss weighted by ``sample_weight``, if given.
    With ``rows``, on those rows of X (Y and the weights are already theirs).

    With ``validation``, returns the per-epoch history Keras would record (loss, accuracy,
    val_loss, val_accuracy; no accuracies for regression); without it, an empty one.

    Inputs too large to copy whole (``inputs.is_large``: images mapped from disk) are read a
    batch of rows at a time, as Keras's ``model.fit`` takes them: the same batches in the
    same order, never the whole array in memory.
    """
    if inputs.is_large(X):
        orders = RowOrders.of(len(Y), epochs, seed)
        stream = _rows_stream(X, Y, rows, orders, batch_size, sample_weight, model)
        return _keras_fit(model, stream, task, orders, batch_size, validation, optimizer, loss)
    if rows is not None:
        X = inputs.take(X, rows)
    fed = inputs.feed(X, [t.name for t in model.inputs])
    fed = tuple(fed) if isinstance(fed, list) else fed
    orders = RowOrders.of(inputs.count(X), epochs, seed)
    if sample_weight is not None:  # the compiled loop carries no weights: Keras's own fit
        stream = batch_stream(fed, Y, orders, batch_size, sample_weight)
        return _keras_fit(model, stream, task, orders, batch_size, validation, optimizer, loss)
    if compiled_loop.available():
        compile_model(model, task, STEPS_PER_EXECUTION, optimizer=optimizer, loss=loss)
        return compiled_loop.train(
            model, fed, Y, orders, batch_size, compiled_loop.twin(model), validation
        )
    stream = batch_stream(fed, Y, orders, batch_size)
    return _keras_fit(model, stream, task, orders, batch_size, validation, optimizer, loss)


def _keras_fit(model, stream, task, orders, batch_size, validation, optimizer, loss) -> dict:
    """Keras's ``model.fit`` on ``stream``, every epoch one stream; with ``validation``, the
    per-epoch curves (``EpochCurves``; the validation rows unweighted)."""
    if validation is None:
        compile_model(model, task, STEPS_PER_EXECUTION, optimizer=optimizer, loss=loss)
        model.fit(stream, epochs=1, shuffle=False, verbose=0)
        return {}
    steps_per_epoch = math.ceil(orders.n_rows / batch_size)
    curves = EpochCurves(*validation, steps_per_epoch, task)
    # One execution = one epoch.
    compile_model(model, task, steps_per_epoch, optimizer=optimizer, loss=loss)
    model.fit(stream, epochs=1, shuffle=False, verbose=0, callbacks=[curves])
    return curves.history


def _rows_stream(X, Y, rows, orders: RowOrders, batch_size, weights, model) -> tf.data.Dataset:
    """``batch_stream``'s batches, each read from ``X`` (arrays, or memory maps) as the stream
    reaches it: the ``rows`` of X (all of them if None), never the whole of it at once."""
    names = [t.name for t in model.inputs]

    def batches():
        for order in orders.each_epoch():
            for start in range(0, orders.n_rows, batch_size):
                idx = order[start : start + batch_size]
                fed = inputs.feed(inputs.take(X, idx if rows is None else rows[idx]), names)
                batch = (tuple(fed) if isinstance(fed, list) else fed, Y[idx].astype(np.float32))
                yield batch if weights is None else (*batch, weights[idx].astype(np.float32))

    shapes = inputs.shapes(X)
    x_spec = [tf.TensorSpec((None, *shapes[n if n in shapes else "X"]), tf.float32) for n in names]
    signature = (
        tuple(x_spec) if len(x_spec) > 1 else x_spec[0],
        tf.TensorSpec((None, *Y.shape[1:]), tf.float32),
    )
    if weights is not None:
        signature = (*signature, tf.TensorSpec((None,), tf.float32))
    per_epoch = math.ceil(orders.n_rows / batch_size)
    stream = tf.data.Dataset.from_generator(batches, output_signature=signature)
    stream = stream.apply(tf.data.experimental.assert_cardinality(per_epoch * orders.epochs))
    return stream.prefetch(2)


def predict_proba(
    model: keras.Model, X: inputs.Inputs, rows: np.ndarray | None = None
) -> np.ndarray:
    """``model``'s outputs for the rows ``X`` (one array, or {input name: array} fed to the
    model's inputs by name); with ``rows``, for those rows of X, read a chunk at a time."""
    # A direct call: one batch, no per-call tf.function retracing as model.predict would do;
    # many rows (images) in chunks, so that memory stays bounded.
    names = [t.name for t in model.inputs]
    row_bytes = 4 * sum(int(np.prod(shape)) for shape in inputs.shapes(X).values())
    size = max(1, min(PREDICT_CHUNK, PREDICT_BYTES // max(row_bytes, 1)))
    n = inputs.count(X) if rows is None else len(rows)
    outputs = []
    for at in range(0, max(n, 1), size):  # one chunk read at a time; one call for no rows too
        chunk = inputs.take(X, slice(at, at + size) if rows is None else rows[at : at + size])
        outputs.append(keras.ops.convert_to_numpy(model(inputs.feed(chunk, names), training=False)))
    return np.concatenate(outputs)
