"""Every step of a fit in one compiled call: Keras's own train step, looped inside the graph.

On networks this small, ``model.fit`` spends its time around the arithmetic rather than in it:
it traces a new training function for every model it is given (about 1.8 s each on the 2-core
machine), and each step pulls a batch out of a tf.data pipeline and updates metrics (about
0.55 ms a step, three times the step's own work). Under TensorFlow, ``train`` instead:

* runs Keras's TensorFlow ``train_step`` without its metrics: the model called with
  ``training=True``, the compiled loss, the optimizer's loss scaling, ``tape.gradient`` and
  ``optimizer.apply_gradients``. The same operations in the same order give the same weights,
  to the last bit, as ``model.fit`` on the same batches (tests/test_compiled_loop.py);
* gathers each batch inside the graph from the training rows, by an index that holds every
  epoch's order (batches never cross an epoch), and runs all steps in one ``tf.while_loop``;
* traces one loop per shape, not per model. A model that a ``twin`` can rebuild (a chain of
  Dense layers: every member, every head; the side-by-side trainers) trains in a template kept
  for its shape: its weights and a fresh optimizer state are copied in, the loop runs, and the
  weights and optimizer state are copied back;
* does a fit asked for twice in one process once. A fit is a function of the template's shape,
  the starting weights, the rows, their order and the batch size, so its result is kept under a
  digest of those; steps 6-8 re-fit step 3's members and step 5's heads beside other methods,
  and get the very same weights back without training them again.

Other backends keep ``model.fit`` (training.py).
"""

from __future__ import annotations

import collections
import hashlib
import json
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

# Shapes kept traced, and fits remembered, per process: enough for a whole run, bounded so a long
# study or a benchmark of many shapes cannot grow without end.
TEMPLATES_KEPT = 32
FITS_KEPT = 128

_templates: collections.OrderedDict[str, _Loop] = collections.OrderedDict()
_fits: collections.OrderedDict[str, tuple[list[np.ndarray], list[np.ndarray]]] = (
    collections.OrderedDict()
)


def available() -> bool:
    """The loop is written for TensorFlow's graphs; other backends keep ``model.fit``."""
    return keras.backend.backend() == "tensorflow"


def train(
    model: keras.Model,
    features,
    targets: np.ndarray,
    index: np.ndarray,
    n_rows: int,
    batch_size: int,
    twin: Callable[[], keras.Model] | None = None,
) -> None:
    """Train compiled ``model`` in place, from a fresh optimizer state.

    ``features`` (an array, or a tuple of arrays for several inputs) and ``targets`` hold rows
    that ``index`` points into: epoch e visits ``index[e * n_rows:(e + 1) * n_rows]`` in order,
    in batches of ``batch_size``, the last one short. ``twin`` builds an untrained model of the
    same shape, when one can; then the traced loop is shared and the fit remembered.
    """
    features = tf.nest.map_structure(lambda a: np.ascontiguousarray(a, np.float32), features)
    targets = np.ascontiguousarray(targets, np.float32)
    index = np.ascontiguousarray(index, np.int32)
    steps = len(index) // n_rows * -(-n_rows // batch_size)
    if twin is None:
        _Loop(model, features, targets, index, batch_size).run(
            features, targets, index, n_rows, steps
        )
        return
    shape = _shape_key(model, features, targets, index, batch_size)
    digest = _digest(shape, model, features, targets, index, n_rows)
    if digest in _fits:
        _fits.move_to_end(digest)
        weights, state = _fits[digest]
    else:
        loop = _templates.get(shape)
        if loop is None:
            template = twin()
            template.compile(
                loss=model.loss,
                optimizer=type(model.optimizer).from_config(model.optimizer.get_config()),
            )
            loop = _Loop(template, features, targets, index, batch_size)
            _remember(_templates, shape, loop)
        _templates.move_to_end(shape)
        template = loop.model
        template.set_weights(model.get_weights())
        for variable, value in zip(template.optimizer.variables, loop.fresh, strict=True):
            variable.assign(value)
        loop.run(features, targets, index, n_rows, steps)
        weights = template.get_weights()
        state = [v.numpy() for v in template.optimizer.variables]
        _remember(_fits, digest, (weights, state))
    model.set_weights(weights)
    model.optimizer.build(model.trainable_variables)
    for variable, value in zip(model.optimizer.variables, state, strict=True):
        variable.assign(value)


def forget() -> None:
    """Drop every traced loop and remembered fit (tests that compare the two paths)."""
    _templates.clear()
    _fits.clear()


class _Loop:
    """One traced loop over every step of a fit, bound to one compiled model."""

    def __init__(self, model: keras.Model, features, targets, index, batch_size: int):
        self.model = model
        rows = index[:batch_size]
        first = (tf.nest.map_structure(lambda a: a[rows], features), targets[rows])
        model._symbolic_build(data_batch=first)  # what fit builds before it traces
        model.optimizer.build(model.trainable_variables)
        self.fresh = [v.numpy() for v in model.optimizer.variables]
        rows = lambda a: tf.TensorSpec((None, *a.shape[1:]), tf.float32)  # noqa: E731
        self.run = tf.function(
            self._steps,
            input_signature=[
                tf.nest.map_structure(rows, features),
                rows(targets),
                tf.TensorSpec((None, *index.shape[1:]), tf.int32),
                tf.TensorSpec((), tf.int32),
                tf.TensorSpec((), tf.int32),
            ],
        )
        self.batch_size = batch_size

    def _step(self, x, y) -> None:
        # Keras's TensorFlow train_step (keras/src/backend/tensorflow/trainer.py), less the
        # metrics, which no weight depends on.
        model = self.model
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=None, training=True)
            loss = model.optimizer.scale_loss(loss)
        weights = model.trainable_weights
        model.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))

    def _steps(self, features, targets, index, n_rows, steps) -> None:
        size = self.batch_size
        per_epoch = (n_rows + size - 1) // size
        for step in tf.range(steps):
            epoch, batch = step // per_epoch, step % per_epoch
            start = epoch * n_rows + batch * size
            rows = index[start : epoch * n_rows + tf.minimum(batch * size + size, n_rows)]
            self._step(
                tf.nest.map_structure(lambda a: tf.gather(a, rows), features),  # noqa: B023
                tf.gather(targets, rows),
            )


def _shape_key(model: keras.Model, features, targets, index, batch_size: int) -> str:
    """Everything a traced loop depends on besides the values: layers, their weights' shapes,
    the loss, the optimizer's settings, the rows' shapes past the first and the batch size."""

    def layer(lay):
        config = {k: v for k, v in lay.get_config().items() if k != "name"}
        activation = getattr(lay, "activation", None)
        return [
            type(lay).__name__,
            config,
            getattr(activation, "__name__", None),
            [list(w.shape) for w in lay.weights],
        ]

    loss = model.loss
    described = {
        "layers": [layer(lay) for lay in model.layers],
        "loss": loss if isinstance(loss, str) else f"{loss.__module__}.{loss.__qualname__}",
        "optimizer": {k: v for k, v in model.optimizer.get_config().items() if k != "name"},
        "rows": [list(a.shape[1:]) for a in tf.nest.flatten(features)] + [list(targets.shape[1:])],
        "index": list(index.shape[1:]),
        "batch_size": batch_size,
    }
    return json.dumps(described, sort_keys=True, default=str)


def _digest(shape: str, model: keras.Model, features, targets, index, n_rows: int) -> str:
    digest = hashlib.sha256(shape.encode())
    for array in [*model.get_weights(), *tf.nest.flatten(features), targets, index]:
        digest.update(str((array.dtype, array.shape)).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(str(n_rows).encode())
    return digest.hexdigest()


def _remember(kept: collections.OrderedDict, key: str, value) -> None:
    kept[key] = value
    limit = TEMPLATES_KEPT if kept is _templates else FITS_KEPT
    while len(kept) > limit:
        kept.popitem(last=False)


def dense_chain_twin(model: keras.Model) -> Callable[[], keras.Model] | None:
    """A builder of an untrained model of ``model``'s shape, if ``model`` is a chain of Dense
    layers from one input (what ``build_mlp`` and ``build_head`` make), else None."""
    layers = [lay for lay in model.layers if not isinstance(lay, keras.layers.InputLayer)]
    if len(model.inputs) != 1 or len(model.outputs) != 1 or not layers:
        return None
    feeds = [model.inputs[0]] + [lay.output for lay in layers]
    for lay, feed in zip(layers, feeds, strict=False):
        if type(lay) is not keras.layers.Dense or len(lay._inbound_nodes) != 1:
            return None
        if lay.input is not feed:  # each Dense reads the one before it, once
            return None
    if feeds[-1] is not model.outputs[0]:
        return None

    def build() -> keras.Model:
        x = inputs = keras.Input(shape=model.inputs[0].shape[1:])
        for lay in layers:
            x = keras.layers.Dense.from_config(
                {k: v for k, v in lay.get_config().items() if k != "name"}
            )(x)
        return keras.Model(inputs, x)

    return build
