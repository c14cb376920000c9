"""Every step of a fit in one compiled call: Keras's own train step, looped inside the graph.

On networks this small, ``model.fit`` spends its time around the arithmetic rather than in it:
it traces a new training function for every model it is given (about 1.8 s each on the 2-core
machine), and each step pulls a batch out of a tf.data pipeline and updates metrics (about
0.55 ms a step, three times the step's own work). Under TensorFlow, ``train`` instead:

* runs Keras's TensorFlow ``train_step`` without its metrics: the model called with
  ``training=True``, the compiled loss, the optimizer's loss scaling, ``tape.gradient`` and
  ``optimizer.apply_gradients`` (or the same update as below). The same operations in the same
  order give the same weights, to the last bit, as ``model.fit`` on the same batches
  (tests/test_compiled_loop.py);
* does Keras's Adam update (when Adam is all there is: no clipping, decay, schedule...) for all
  weights at once, on their gradients and moments laid end to end and carried from step to
  step: the element-wise operations of ``Adam.update_step`` in the same order, so the same bits,
  in a dozen operations a step instead of about twenty per weight (most of a small step's cost);
* gathers each batch inside the graph from the training rows, by an index that holds the
  chunk's epochs' orders (batches never cross an epoch), and runs the steps of ``CHUNK_EPOCHS``
  epochs (fewer where the rows are many: ``row_orders.INDICES_PER_CHUNK``) in one
  ``tf.while_loop``, chunk after chunk (the optimizer's state carried in its variables, so the
  same bits as one loop), saying each chunk's end to the current ``progress``. The orders are
  drawn chunk by chunk too (``row_orders.RowOrders``), so memory does not grow with the epochs;
* traces one loop per shape, not per model. A model that a ``twin`` can rebuild (a chain of
  Dense layers: every member, every head; the side-by-side trainers) trains in a template kept
  for its shape: its weights and a fresh optimizer state are copied in, the loop runs, and the
  weights and optimizer state are copied back;
* does a fit asked for twice in one process once. A fit is a function of the template's shape,
  the starting weights, the rows, their order and the batch size, so its result is kept under a
  digest of those; steps 6-8 re-fit step 3's members and step 5's heads beside other methods,
  and get the very same weights back without training them again.

That is TensorFlow's loop, below. JAX's (jax_loop.py) is the same idea in ``jax.lax.fori_loop``;
PyTorch's (torch_loop.py) a bare Python loop over torch tensors. All three share the templates
and remembered fits kept here, and ``loop_base.Loop``'s building and learning curves.
"""

from __future__ import annotations

import collections
import hashlib
import json
import threading
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from stackgen import progress
from stackgen.methods import jax_loop, loop_base, torch_loop
from stackgen.methods.loop_base import plain_adam
from stackgen.methods.row_orders import RowOrders

# Shapes kept traced, and fits remembered, per process: enough for a whole run, bounded so a long
# study or a benchmark of many shapes cannot grow without end.
TEMPLATES_KEPT = 32
FITS_KEPT = 128
# Epochs per compiled call: a progress line can come between two calls; the calls' overhead
# (a millisecond or so each) stays far below the steps' own work.
CHUNK_EPOCHS = 25

_templates: collections.OrderedDict[str, _Loop] = collections.OrderedDict()
# digest -> (weights, optimizer state, learning curves) at the end of the fit
_fits: collections.OrderedDict[str, tuple[list, list, dict]] = collections.OrderedDict()
# A template is one model: two threads of one process (a Dask worker given several) take turns.
_lock = threading.RLock()


def available() -> bool:
    """Whether this backend has a loop: TensorFlow's graphs here, JAX's (jax_loop.py) and
    PyTorch's (torch_loop.py); any other backend keeps ``model.fit``."""
    return keras.backend.backend() in ("tensorflow", "jax", "torch")


def _loop_type() -> type[loop_base.Loop]:
    backend = keras.backend.backend()
    return {"jax": jax_loop.Loop, "torch": torch_loop.Loop}.get(backend, _Loop)


def train(
    model: keras.Model,
    features,
    targets: np.ndarray,
    orders: RowOrders,
    batch_size: int,
    twin: Callable[[], keras.Model] | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, list[float]]:
    """Train compiled ``model`` in place, from a fresh optimizer state.

    ``features`` (an array, or a tuple of arrays for several inputs) and ``targets`` hold rows
    that ``orders`` points into, epoch after epoch (drawn as the loop reaches them), in batches
    of ``batch_size``, the last one short. ``twin`` builds an untrained model
    of the same shape, when one can; then the traced loop is shared and the fit remembered.

    With ``validation`` (rows and targets), returns what Keras's ``History`` records with
    ``validation_data``: each epoch's mean training loss (and accuracy, for classes) over its
    batches, and the loss (and accuracy) on the validation rows after it; else an empty dict.
    """
    with _lock:
        history = _train(model, features, targets, orders, batch_size, twin, validation)
    return {key: [float(v) for v in values] for key, values in history.items()}


def _train(model, features, targets, orders: RowOrders, batch_size, twin, validation) -> dict:
    features = tf.nest.map_structure(lambda a: np.ascontiguousarray(a, np.float32), features)
    targets = np.ascontiguousarray(targets, np.float32)
    validation = validation and tuple(np.ascontiguousarray(a, np.float32) for a in validation)
    per_epoch = -(-orders.n_rows // batch_size)
    made = (features, targets, orders.tail, batch_size, validation)
    shape = twin and _shape_key(model, *made)
    digest = shape and _digest(shape, model, features, targets, orders, validation)
    if digest not in _fits:
        loop = shape and (_templates.get(shape) or _template(model, twin, *made))
        if not loop:  # traced for this model alone
            own = _loop_type()(model, *made)
            recorded = _run(own, features, targets, orders, per_epoch, validation)
            return own.history(recorded, per_epoch)
        _templates[shape] = loop
        _templates.move_to_end(shape)
        _forget_oldest(_templates, TEMPLATES_KEPT)
        template = loop.model
        template.set_weights(model.get_weights())
        for variable, value in zip(template.optimizer.variables, loop.fresh, strict=True):
            variable.assign(value)
        recorded = _run(loop, features, targets, orders, per_epoch, validation)
        state = [v.numpy() for v in template.optimizer.variables]
        _fits[digest] = (template.get_weights(), state, loop.history(recorded, per_epoch))
        _forget_oldest(_fits, FITS_KEPT)
    _fits.move_to_end(digest)
    weights, state, history = _fits[digest]
    model.set_weights(weights)
    model.optimizer.build(model.trainable_variables)
    for variable, value in zip(model.optimizer.variables, state, strict=True):
        variable.assign(value)
    return history


def _run(loop: _Loop, features, targets, orders: RowOrders, per_epoch: int, validation):
    """Every epoch of ``orders``, ``CHUNK_EPOCHS`` (or fewer) at a time; what the loop recorded
    (with ``validation``), joined across the chunks."""
    n_rows, together = orders.n_rows, (orders.tail or (1,))[0]
    parts, done = [], 0
    for chunk in orders.index_chunks(CHUNK_EPOCHS):
        epochs = len(chunk) // n_rows
        steps = epochs * per_epoch
        parts.append(loop.run(features, targets, chunk, n_rows, steps, *validation or ()))
        done += epochs
        progress.current().epochs(done, orders.epochs, together)
    if not validation:
        return ()
    return tuple(np.concatenate([np.asarray(p[k]) for p in parts]) for k in range(2))


def _template(model, twin, features, targets, tail, batch_size: int, validation) -> _Loop | None:
    """A loop on a new untrained twin of ``model``, compiled alike; None if the twin does not
    have ``model``'s weights after all."""
    template = twin()
    if _weights(template) != _weights(model):
        return None
    template.compile(
        loss=model.loss,
        optimizer=type(model.optimizer).from_config(model.optimizer.get_config()),
    )
    return _loop_type()(template, features, targets, tail, batch_size, validation)


def forget() -> None:
    """Drop every traced loop and remembered fit (tests that compare the two paths)."""
    with _lock:
        _templates.clear()
        _fits.clear()


class _Loop(loop_base.Loop):
    """One traced loop over every step of a fit, bound to one compiled model (TensorFlow)."""

    def __init__(self, model: keras.Model, features, targets, tail, batch_size: int, validation):
        super().__init__(model, features, targets, tail, batch_size, validation)
        self.adam = plain_adam(model)
        rows = lambda a: tf.TensorSpec((None, *a.shape[1:]), tf.float32)  # noqa: E731
        self.run = tf.function(
            self._steps,
            input_signature=[
                tf.nest.map_structure(rows, features),
                rows(targets),
                tf.TensorSpec((None, *tail), tf.int32),
                tf.TensorSpec((), tf.int32),
                tf.TensorSpec((), tf.int32),
                *[rows(a) for a in validation or ()],
            ],
        )

    def _step(self, x, y, moments):
        # Keras's TensorFlow train_step (keras/src/backend/tensorflow/trainer.py), less the
        # metrics, which no weight depends on. Returns the loss, the outputs the metrics read,
        # and Adam's moments when ``_adam`` carries them.
        model = self.model
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=None, training=True)
            scaled = model.optimizer.scale_loss(loss)
        weights = model.trainable_weights
        gradients = tape.gradient(scaled, weights)
        if moments and all(isinstance(g, tf.Tensor) for g in gradients):
            return loss, y_pred, self._adam(gradients, *moments)
        # A weight with no gradient, or a sparse one (an Embedding's: Keras squares each row's
        # slice, a dense copy would sum them first): the optimizer's own update and state.
        self.carried = False  # traced once
        model.optimizer.apply_gradients(zip(gradients, weights, strict=True))
        return loss, y_pred, moments

    def _adam(self, gradients, m, v):
        """Keras's ``Adam.update_step`` for every weight at once, on the weights' gradients and
        moments laid end to end: the same element-wise operations in the same order, so the same
        bits, in a dozen operations a step instead of about twenty per weight."""
        optimizer, weights = self.model.optimizer, self.model.trainable_weights
        local_step = ops.cast(optimizer.iterations + 1, "float32")
        beta_1_power = ops.power(ops.cast(optimizer.beta_1, "float32"), local_step)
        beta_2_power = ops.power(ops.cast(optimizer.beta_2, "float32"), local_step)
        lr = ops.cast(optimizer.learning_rate, "float32")
        alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        gradient = tf.concat([tf.reshape(g, [-1]) for g in gradients], 0)
        m = m + ops.multiply(ops.subtract(gradient, m), 1 - optimizer.beta_1)
        v = v + ops.multiply(ops.subtract(ops.square(gradient), v), 1 - optimizer.beta_2)
        update = ops.divide(ops.multiply(m, alpha), ops.add(ops.sqrt(v), optimizer.epsilon))
        for weight, part in zip(weights, tf.split(update, self.sizes), strict=True):
            optimizer.assign_sub(weight, tf.reshape(part, weight.shape))
        optimizer.iterations.assign_add(1)
        return m, v

    def _moments(self, which: str) -> list:
        """Adam's ``_momentums`` or ``_velocities``, in the order of the trainable weights."""
        optimizer = self.model.optimizer
        kept = getattr(optimizer, which)
        return [kept[optimizer._get_variable_index(w)] for w in self.model.trainable_weights]

    def _steps(self, features, targets, index, n_rows, steps, *validation):
        size = self.batch_size
        per_epoch = (n_rows + size - 1) // size
        batches = tf.TensorArray(tf.float32, size=steps if validation else 0)
        epochs = tf.TensorArray(tf.float32, size=steps // per_epoch if validation else 0)
        self.carried = self.adam  # Adam's moments carried from step to step, laid end to end
        moments = ()
        if self.adam:
            moments = tuple(
                tf.concat([tf.reshape(k, [-1]) for k in self._moments(which)], 0)
                for which in ("_momentums", "_velocities")
            )
        for step in tf.range(steps):
            epoch, batch = step // per_epoch, step % per_epoch
            start = epoch * n_rows + batch * size
            rows = index[start : epoch * n_rows + tf.minimum(batch * size + size, n_rows)]
            y = tf.gather(targets, rows)
            loss, y_pred, moments = self._step(
                tf.nest.map_structure(lambda a: tf.gather(a, rows), features),  # noqa: B023
                y,
                moments,
            )
            if validation:
                batches = batches.write(step, tf.stack([loss, *self._scores(y, y_pred, "sum")]))
                if batch == per_epoch - 1:
                    X, Y = validation
                    scores = self._scores(Y, self.model(X, training=False), "mean")
                    epochs = epochs.write(epoch, tf.stack(scores))
        if self.carried:
            for which, flat in zip(("_momentums", "_velocities"), moments, strict=True):
                kept = self._moments(which)
                for k, part in zip(kept, tf.split(flat, self.sizes), strict=True):
                    k.assign(tf.reshape(part, k.shape))
        if validation:
            return batches.stack(), epochs.stack()
        return ()

    def _scores(self, y, y_pred, reduce: str) -> list:
        """[hits, rows] of a batch ("sum"), or [loss, accuracy] on the validation rows
        ("mean"), as EpochCurves computes them; no accuracy for a regression."""
        rows = tf.cast(tf.shape(y)[0], tf.float32)
        if not self.classes:
            loss = tf.reduce_mean(keras.losses.mean_squared_error(y, y_pred))
            return [rows] if reduce == "sum" else [loss]
        hits = tf.cast(tf.equal(tf.argmax(y, axis=1), tf.argmax(y_pred, axis=1)), tf.float32)
        if reduce == "sum":
            return [tf.reduce_sum(hits), rows]
        loss = tf.reduce_mean(keras.losses.categorical_crossentropy(y, y_pred))
        return [loss, tf.reduce_mean(hits)]


def _shape_key(model, features, targets, tail, batch_size: int, validation) -> str | None:
    """Everything a traced loop depends on besides the values: layers, their weights' shapes,
    the loss, the optimizer's settings, the rows' shapes past the first and the batch size.
    None where the loss cannot be told apart from another by its description."""

    def layer(lay):
        config = _unnamed(lay.get_config())
        activation = getattr(lay, "activation", None)
        return [
            type(lay).__name__,
            config,
            getattr(activation, "__name__", None),
            [list(w.shape) for w in lay.weights],
        ]

    loss = _loss_key(model.loss)
    if loss is None:
        return None
    described = {
        "layers": [layer(lay) for lay in model.layers],
        # A chain's layers say how they connect; any other network's whole configuration does.
        "wiring": None if loop_base.chain(model) else _uncompiled(_unnamed(model.get_config())),
        "weights": _weights(model),
        "loss": loss,
        "optimizer": _unnamed(model.optimizer.get_config()),
        "rows": [list(a.shape[1:]) for a in tf.nest.flatten(features)] + [list(targets.shape[1:])],
        "index": list(tail),
        "batch_size": batch_size,
        "validation": validation and [list(a.shape[1:]) for a in validation],
    }
    return json.dumps(described, sort_keys=True, default=str)


def _loss_key(loss):
    """A loss's name, or its class and settings (``from_logits`` and all); None for a lambda, a
    function made inside another (settings captured where no key can see them), or several."""
    if isinstance(loss, str):
        return loss
    if isinstance(loss, list | tuple | dict) or "<" in getattr(loss, "__qualname__", ""):
        return None
    try:
        return keras.saving.serialize_keras_object(loss)
    except Exception:  # noqa: BLE001 - not serialisable: trained alone, as any other model
        return None


def _digest(shape: str, model, features, targets, orders: RowOrders, validation) -> str:
    digest = hashlib.sha256(shape.encode())
    for array in [*model.get_weights(), *tf.nest.flatten(features), targets, *(validation or ())]:
        array = np.ascontiguousarray(array)
        digest.update(str((array.dtype, array.shape)).encode())
        digest.update(memoryview(array).cast("B"))  # no copy of a large set of rows
    digest.update(orders.key())
    return digest.hexdigest()


def _forget_oldest(kept: collections.OrderedDict, limit: int) -> None:
    while len(kept) > limit:
        kept.popitem(last=False)


def _weights(model: keras.Model) -> list:
    return [(tuple(w.shape), w.trainable) for w in model.weights]


def _unnamed(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "name"}


def _uncompiled(config):
    """``config`` without the models' compile settings nested in it (members saved compiled
    carry their old optimizer, named ``adam_39``): the loop trains with the outer model's."""
    if isinstance(config, dict):
        return {k: _uncompiled(v) for k, v in config.items() if k != "compile_config"}
    if isinstance(config, list):
        return [_uncompiled(v) for v in config]
    return config


def twin(model: keras.Model) -> Callable[[], keras.Model] | None:
    """A builder of an untrained model of ``model``'s shape, where one can be made safely:
    ``dense_chain_twin``, or ``network_twin``; else None (the model's own loop is traced)."""
    return dense_chain_twin(model) or network_twin(model)


def dense_chain_twin(model: keras.Model) -> Callable[[], keras.Model] | None:
    """A builder of an untrained model of ``model``'s shape, if ``model`` is a chain of Dense
    layers from one input (what ``build_mlp`` and ``build_head`` make), else None."""
    layers = loop_base.chain(model)
    if not layers or not all(type(lay) is keras.layers.Dense for lay in layers):
        return None

    def build() -> keras.Model:
        x = inputs = keras.Input(shape=model.inputs[0].shape[1:])
        for lay in layers:
            x = keras.layers.Dense.from_config(_unnamed(lay.get_config()))(x)
        return keras.Model(inputs, x)

    return build


# Layers whose configuration says all they compute: a network of these (and of models of these)
# is rebuilt exactly by keras.models.clone_model.
PLAIN_LAYERS = (keras.layers.InputLayer, keras.layers.Dense, keras.layers.Concatenate)


def network_twin(model: keras.Model) -> Callable[[], keras.Model] | None:
    """A builder of an untrained copy of a network made of Dense and Concatenate layers and of
    models of them (the integrated network, fine-tuned whole in step 8), else None."""

    def plain(network: keras.Model) -> bool:
        return all(
            isinstance(lay, PLAIN_LAYERS) or (isinstance(lay, keras.Model) and plain(lay))
            for lay in network.layers
        )

    if not plain(model):
        return None

    def build() -> keras.Model:
        copy = keras.models.clone_model(model)
        for original, cloned in zip(model._flatten_layers(), copy._flatten_layers(), strict=True):
            cloned.trainable = original.trainable
        return copy

    return build
