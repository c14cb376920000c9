"""What every backend's compiled loop shares: building the model for its rows, a fresh optimizer
state, and the learning curves from what the loop recorded.

``compiled_loop`` keeps the traced loops and remembered fits and picks the backend's loop:
``compiled_loop._Loop`` under TensorFlow, ``jax_loop.Loop`` under JAX, ``torch_loop.Loop``
under PyTorch. Each trains the same steps: Keras's train step without its metrics, on the
batches that ``orders`` names, for the epochs of one chunk per ``run``.
"""

from __future__ import annotations

import keras
import numpy as np


class Loop:
    """One loop over every step of a fit, bound to one compiled model.

    ``run(features, targets, index, n_rows, steps, *validation)`` trains ``steps`` steps on the
    rows that ``index`` (one chunk of ``RowOrders.index_chunks``) names, updating the model's
    weights and optimizer state in place; with validation rows it returns ``(batches, epochs)``:
    each batch's [loss, hits, rows] ([loss, rows] for a regression) and each epoch's [loss,
    accuracy] ([loss]) on the validation rows, as ``history`` reads them.
    """

    def __init__(self, model: keras.Model, features, targets, tail, batch_size: int, validation):
        self.model = model
        rows = np.zeros((min(batch_size, len(targets)), *tail), np.int32)  # shapes are what count
        first = (keras.tree.map_structure(lambda a: a[rows], features), targets[rows])
        model._symbolic_build(data_batch=first)  # what fit builds before it traces
        model.optimizer.build(model.trainable_variables)
        self.fresh = [v.numpy() for v in model.optimizer.variables]
        self.sizes = [int(np.prod(w.shape)) for w in model.trainable_weights]
        self.batch_size = batch_size
        self.validated = validation is not None
        self.classes = model.loss != "mean_squared_error"

    def history(self, recorded, per_epoch: int) -> dict[str, np.ndarray]:
        """Per-epoch numbers from what the loop recorded: the training means accumulated batch
        by batch in float32, as Keras's metrics do (``total += value``, ``count += rows``)."""
        if not self.validated:
            return {}
        batches, epochs = (np.asarray(r) for r in recorded)
        history: dict[str, list[float]] = {"loss": [], "val_loss": list(epochs[:, 0])}
        if self.classes:
            history.update(accuracy=[], val_accuracy=list(epochs[:, 1]))
        for epoch in batches.reshape(-1, per_epoch, batches.shape[1]):
            total, hits, count = np.float32(0), np.float32(0), np.float32(0)
            for loss, *scores in epoch:
                rows = scores[-1]
                total, count = total + np.float32(loss * rows), count + rows
                hits = hits + scores[0] if self.classes else hits
            history["loss"].append(total / count)
            if self.classes:
                history["accuracy"].append(hits / count)
        return {key: np.array(values, np.float32) for key, values in history.items()}


def plain_adam(model: keras.Model) -> bool:
    """Whether ``model`` trains with Keras's Adam and nothing around it: no AMSGrad, weight
    decay, clipping, moving average, accumulation, loss scaling, schedule or constraint, and
    float32 weights. Then a loop may do Adam's update itself, for all weights at once; else it
    takes Keras's own ``apply_gradients``."""
    optimizer = model.optimizer
    return (
        keras_adam(optimizer)
        and not optimizer.amsgrad
        and not optimizer.weight_decay
        and not (optimizer.clipnorm or optimizer.global_clipnorm or optimizer.clipvalue)
        and not optimizer.use_ema
        and not optimizer.gradient_accumulation_steps
        and optimizer.loss_scale_factor is None
        and isinstance(optimizer._learning_rate, keras.Variable)
        and all(
            w.dtype == "float32" and w.constraint is None and not w.overwrite_with_gradient
            for w in model.trainable_weights
        )
    )


def keras_adam(optimizer) -> bool:
    """Keras's Adam itself, or the class Keras's PyTorch backend makes of it; not a subclass of
    someone else's, whose update may differ."""
    kind = type(optimizer)
    backends = kind.__module__.startswith("keras.src.backend.") and kind.__name__ == "Adam"
    return kind is keras.optimizers.Adam or backends


def chain(model: keras.Model) -> list | None:
    """``model``'s layers past its input if each reads the one before it, once, from one
    input to one output (then the layers say how they connect); else None."""
    layers = [lay for lay in model.layers if not isinstance(lay, keras.layers.InputLayer)]
    if len(model.inputs) != 1 or len(model.outputs) != 1 or not layers:
        return None
    feeds = [model.inputs[0]] + [lay.output for lay in layers]
    for lay, feed in zip(layers, feeds, strict=False):
        if len(lay._inbound_nodes) != 1 or lay.input is not feed:
            return None
    return layers if feeds[-1] is model.outputs[0] else None
