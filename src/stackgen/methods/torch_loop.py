"""Under PyTorch: every step of a fit in one Python loop over torch tensors, without Keras's
trainer around each step.

Keras's PyTorch trainer takes one step per call, and each step pulls a batch from a tf.data
iterator, runs every layer through Keras's ``Layer.__call__``, updates the metrics and applies
Adam variable by variable: about 3 ms a step on the 2-core machine, for a step whose arithmetic
takes a tenth of that. This loop does Keras's train step, less the metrics, with as little
around it as PyTorch allows:

* the batch is gathered from the rows, held as tensors for the whole chunk, by the chunk's index;
* the forward pass walks the model's graph (``Functional._run_through_graph``, as Keras's own
  call does), with Dense, Activation and Concatenate layers, and models made of them, done as
  the torch operations they are; any other layer is called as Keras calls it;
* the loss is the model's compiled loss: its per-row function averaged over the batch, as Keras
  does, where that is all it does, else ``Model._compute_loss``; its gradients
  ``torch.autograd.grad``'s;
* a plain Adam (``loop_base.plain_adam``) updates all weights at once, on their gradients and
  moments laid end to end: the operations of Keras's PyTorch Adam (``_parallel_update_step``)
  in their order, so the same bits as ``model.fit`` (tests/test_compiled_loop.py, run under
  PyTorch by tests/test_backends.py); any other optimizer is Keras's own ``apply``.

PyTorch with ``torch.use_deterministic_algorithms`` is deterministic on the CPU: the same seed
gives the same weights, to the last bit.
"""

from __future__ import annotations

import keras
import numpy as np
from keras.src.models.functional import Functional, operation_fn

from stackgen.methods import loop_base
from stackgen.methods.stacked_dense import StackedDense


class Loop(loop_base.Loop):
    """One Python loop over every step of a chunk, bound to one compiled model (PyTorch)."""

    def __init__(self, model: keras.Model, features, targets, tail, batch_size: int, validation):
        super().__init__(model, features, targets, tail, batch_size, validation)
        self.adam = loop_base.plain_adam(model)
        self.loss = _plain_loss(model)

    def run(self, features, targets, index, n_rows, steps, *validation):
        import torch

        model, size = self.model, self.batch_size
        n_rows, steps = int(n_rows), int(steps)
        per_epoch = -(-n_rows // size)
        several = isinstance(features, tuple | list)
        features = [torch.from_numpy(a) for a in features] if several else features
        features = features if several else torch.from_numpy(features)
        targets = torch.from_numpy(targets)
        index = torch.from_numpy(np.asarray(index, np.int64))
        forward = _forward(model)  # the weights' tensors, as they are for this chunk
        weights = [w.value for w in model.trainable_weights]
        adam = self.adam and _Adam(model, self.sizes)
        batches, curves = [], []
        for step in range(steps):
            epoch, batch = divmod(step, per_epoch)
            first = epoch * n_rows
            rows = index[first + batch * size : first + min(batch * size + size, n_rows)]
            x = [a[rows] for a in features] if several else features[rows]
            y = targets[rows]
            y_pred = forward(x)
            if self.loss:
                loss = torch.sum(self.loss(y, y_pred)) / len(rows)
            else:
                loss = model._compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            gradients = torch.autograd.grad(
                model.optimizer.scale_loss(loss), weights, allow_unused=True
            )
            with torch.no_grad():
                if adam and all(g is not None for g in gradients):
                    adam.step(weights, gradients)
                else:
                    adam = adam and adam.close()  # Keras's own update from here on
                    model.optimizer.apply(list(gradients), model.trainable_weights)
                if validation:
                    batches.append([float(loss), *_scores(self.classes, y, y_pred, "sum")])
                    if batch == per_epoch - 1:
                        X, Y = (torch.from_numpy(a) for a in validation)
                        curves.append(_scores(self.classes, Y, model(X, training=False), "mean"))
        self.carried = bool(adam)  # Adam's update done here, for all weights at once
        if adam:
            adam.close()
        if not validation:
            return ()
        return np.array(batches, np.float32), np.array(curves, np.float32)


def _plain_loss(model: keras.Model):
    """The per-row loss function that Keras's compiled loss averages over the batch, where that
    is all it does: one loss given by name or as a function, no loss weights, and no layer
    that adds losses of its own (regularisers); else None (``Model._compute_loss``)."""
    loss = model.loss
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    compiled = model._compile_loss
    if not callable(loss) or isinstance(loss, keras.losses.Loss) or compiled is None:
        return None
    if compiled._user_loss_weights is not None:
        return None
    for layer in model._flatten_layers(include_self=False):
        if any(getattr(layer, name, None) is not None for name in _REGULARISERS):
            return None
    return loss


class _Adam:
    """Keras's Adam for every weight at once, on moments laid end to end,
    carried from step to step and written back into the optimizer's variables by ``close``."""

    def __init__(self, model: keras.Model, sizes: list[int]):
        import torch

        self.optimizer, self.weights, self.sizes = model.optimizer, model.trainable_weights, sizes
        self.moments = [
            torch.cat([k.value.reshape(-1) for k in self._kept(which)])
            for which in ("_momentums", "_velocities")
        ]
        self.iterations = int(self.optimizer.iterations.numpy())
        o = self.optimizer
        self.lr = o.learning_rate.value.to(torch.float32)
        self.beta_1 = torch.tensor(o.beta_1, dtype=torch.float32)
        self.beta_2 = torch.tensor(o.beta_2, dtype=torch.float32)

    def _kept(self, which: str) -> list:
        """Adam's ``_momentums`` or ``_velocities``, in the order of the trainable weights."""
        kept = getattr(self.optimizer, which)
        return [kept[self.optimizer._get_variable_index(w)] for w in self.weights]

    def step(self, weights, gradients) -> None:
        """Keras's PyTorch ``Adam._parallel_update_step``, its operations in its order."""
        import torch

        o = self.optimizer
        local_step = torch.tensor(self.iterations + 1, dtype=torch.float32)
        beta_1_power = torch.pow(self.beta_1, local_step)
        beta_2_power = torch.pow(self.beta_2, local_step)
        alpha = self.lr * torch.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        gradient = torch.cat([g.reshape(-1) for g in gradients])
        m, v = self.moments
        m.mul_(o.beta_1).add_(gradient, alpha=1 - o.beta_1)
        v.mul_(o.beta_2).add_(torch.mul(gradient, gradient), alpha=1 - o.beta_2)
        update = torch.div(torch.mul(m, alpha), torch.add(torch.sqrt(v), o.epsilon))
        for weight, part in zip(weights, torch.split(update, self.sizes), strict=True):
            weight.add_(part.view(weight.shape), alpha=-1)
        self.iterations += 1

    def close(self) -> None:
        """The moments and the step count back in the optimizer's variables; returns None."""
        import torch

        for which, flat in zip(("_momentums", "_velocities"), self.moments, strict=True):
            for k, part in zip(self._kept(which), torch.split(flat, self.sizes), strict=True):
                k.assign(part.view(k.shape))
        self.optimizer.iterations.assign(self.iterations)
        return None


def _scores(classes: bool, y, y_pred, reduce: str) -> list[float]:
    """[hits, rows] of a batch ("sum"), or [loss, accuracy] on the validation rows ("mean"), as
    ``EpochCurves`` computes them; no accuracy for a regression."""
    import torch

    rows = float(len(y))
    if not classes:
        loss = torch.mean(keras.losses.mean_squared_error(y, y_pred))
        return [rows] if reduce == "sum" else [float(loss)]
    hits = (torch.argmax(y, dim=1) == torch.argmax(y_pred, dim=1)).to(torch.float32)
    if reduce == "sum":
        return [float(torch.sum(hits)), rows]
    loss = torch.mean(keras.losses.categorical_crossentropy(y, y_pred))
    return [float(loss), float(torch.mean(hits))]


_ACTIVATIONS = {"linear": None, "relu": "relu", "softmax": "softmax", "sigmoid": "sigmoid"}


def _forward(model: keras.Model):
    """``model(x, training=True)``: a chain of plain layers composed directly, any other
    network's graph walked (``Functional._run_through_graph``, as Keras's own call does) with
    its plain layers done directly and the others called as Keras calls them."""
    functional = model if isinstance(model, Functional) else getattr(model, "_functional", None)
    if not isinstance(functional, Functional):
        return lambda x: model(x, training=True)
    layers = loop_base.chain(functional)
    steps = layers and [_fast(layer) for layer in layers]
    if steps and all(steps):

        def chained(x):
            for step in steps:
                x = step(x)
            return x

        return chained
    ops: dict[int, object] = {}

    def fast(op):
        if id(op) not in ops:
            done = _fast(op)
            # A plain layer's call takes no mask and no training flag: a node's are None here.
            ops[id(op)] = (lambda *a, **_: done(*a)) if done else operation_fn(op, training=True)
        return ops[id(op)]

    def walked(x):
        outputs = functional._run_through_graph(keras.tree.flatten(x), operation_fn=fast)
        return outputs[0] if len(outputs) == 1 else outputs

    return walked


def _fast(op):
    """The torch operations of a plain layer, or a model of them, on the weights' tensors as
    they are now (the loop updates them in place); None for any other layer."""
    import torch

    if isinstance(op, keras.layers.InputLayer):
        return lambda x: x
    if isinstance(op, Functional):
        inner = _forward(op)
        return lambda *args: inner(args[0] if len(args) == 1 else list(args))
    if type(op) is keras.layers.Concatenate:
        return lambda xs: torch.cat(list(xs), dim=op.axis)
    activation = _ACTIVATIONS.get(getattr(getattr(op, "activation", None), "__name__", ""), "?")
    if activation == "?" or any(getattr(op, name, None) for name in _REGULARISERS):
        return None
    act = {
        None: lambda x: x,
        "relu": torch.relu,
        "softmax": lambda x: torch.softmax(x, dim=-1),
        "sigmoid": torch.sigmoid,
    }[activation]
    if type(op) is keras.layers.Activation:
        return act
    plain = type(op) is keras.layers.Dense and not op.lora_enabled and not op.quantization_mode
    if plain or type(op) is StackedDense:
        kernel = op.kernel.value
        bias = op.bias.value if getattr(op, "use_bias", True) else None
        if type(op) is StackedDense:
            return lambda x: act(torch.add(_members(op, x, kernel), bias))
        if bias is None:
            return lambda x: act(torch.matmul(x, kernel))
        return lambda x: act(torch.add(torch.matmul(x, kernel), bias))
    return None


_REGULARISERS = ("kernel_regularizer", "bias_regularizer", "activity_regularizer")


def _members(op: StackedDense, x, kernel):
    import torch

    if op.take:
        first, count = op.take
        x = x[:, first : first + count]
    return torch.einsum("bmi,mio->bmo", x, kernel)
