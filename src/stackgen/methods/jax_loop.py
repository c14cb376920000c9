"""Under JAX: every step of a chunk of epochs in one jitted call, as ``compiled_loop`` does under
TensorFlow.

Keras's JAX trainer takes one jitted call per step, fed from a tf.data iterator, and compiles a
new train function for every model it is given (about 0.8 s each on the 2-core machine, most of
a small member's fit). This loop is the trainer's own train step (``compute_loss_and_updates``
under ``jax.value_and_grad``, then ``optimizer.stateless_apply``), less the metrics, inside
``jax.lax.fori_loop``s over a chunk's epochs and their batches, each batch gathered inside the
call from the rows by the chunk's index. One chunk is one call; the model's variables are read
before it and written back after it. Traced once per template (``compiled_loop``) and row count:
a batch's rows are a static shape, so an epoch is its full batches in a loop and its short last
batch after them.

JAX on the CPU is deterministic: the same seed gives the same weights, to the last bit.
"""

from __future__ import annotations

import keras
import numpy as np

from stackgen.methods import loop_base


class Loop(loop_base.Loop):
    """One jitted loop over every step of a chunk, bound to one compiled model (JAX)."""

    def __init__(self, model: keras.Model, features, targets, tail, batch_size: int, validation):
        super().__init__(model, features, targets, tail, batch_size, validation)
        self._chunks: dict[int, object] = {}  # rows per epoch -> the jitted chunk

    def run(self, features, targets, index, n_rows, steps, *validation):
        model = self.model
        n_rows, steps = int(n_rows), int(steps)
        per_epoch = -(-n_rows // self.batch_size)
        if n_rows not in self._chunks:
            self._chunks[n_rows] = self._traced(n_rows)
        state = tuple(
            [v.value for v in variables]
            for variables in (
                model.trainable_variables,
                model.non_trainable_variables,
                model.optimizer.variables,
                model.metrics_variables,
            )
        )
        state, recorded = self._chunks[n_rows](
            state, features, targets, index, steps // per_epoch, *validation
        )
        for variables, values in zip(
            (model.trainable_variables, model.non_trainable_variables, model.optimizer.variables),
            state,
            strict=False,
        ):
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)
        if not validation:
            return ()
        batches, epochs = (np.asarray(r) for r in recorded)
        return batches[:steps], epochs[: steps // per_epoch]

    def _traced(self, n_rows: int):
        import jax
        import jax.numpy as jnp

        model, size = self.model, self.batch_size
        full, short = divmod(n_rows, size)
        per_epoch = full + (short > 0)
        gradient = jax.value_and_grad(model.compute_loss_and_updates, has_aux=True)
        scores = _scores(self.classes)

        def chunk(state, features, targets, index, epochs, *validation):
            def step(carry, start, length: int, at):
                (trainable, non_trainable, optimizer, metrics), batches = carry
                rows = jax.lax.dynamic_slice_in_dim(index, start, length)
                x = keras.tree.map_structure(lambda a: jnp.take(a, rows, axis=0), features)
                y = jnp.take(targets, rows, axis=0)
                (_, (loss, y_pred, non_trainable, _)), grads = gradient(
                    trainable, non_trainable, metrics, x, y, None, True, optimizer
                )
                trainable, optimizer = model.optimizer.stateless_apply(optimizer, grads, trainable)
                if validation:
                    batches = batches.at[at].set(jnp.stack([loss, *scores(y, y_pred, "sum")]))
                return (trainable, non_trainable, optimizer, metrics), batches

            capacity = index.shape[0] // n_rows  # epochs the index holds
            recorded = 3 if self.classes else 2  # [loss, hits, rows] or [loss, rows]
            batches = jnp.zeros((capacity * per_epoch if validation else 0, recorded))
            curves = jnp.zeros((capacity if validation else 0, 2 if self.classes else 1))

            def epoch(e, carry):
                state, batches, curves = carry
                first = e * n_rows

                def batch(b, inner):
                    return step(inner, first + b * size, size, e * per_epoch + b)

                inner = (state, batches)
                if full:  # fewer rows than a batch: the short batch alone
                    inner = jax.lax.fori_loop(0, full, batch, inner)
                if short:
                    inner = step(inner, first + full * size, short, e * per_epoch + full)
                state, batches = inner
                if validation:
                    X, Y = validation
                    trainable, non_trainable = state[0], state[1]
                    y_pred, _ = model.stateless_call(trainable, non_trainable, X, training=False)
                    curves = curves.at[e].set(jnp.stack(scores(Y, y_pred, "mean")))
                return state, batches, curves

            state, batches, curves = jax.lax.fori_loop(0, epochs, epoch, (state, batches, curves))
            return state, (batches, curves)

        return jax.jit(chunk)


def _scores(classes: bool):
    """[hits, rows] of a batch ("sum"), or [loss, accuracy] on the validation rows ("mean"), as
    ``EpochCurves`` computes them; no accuracy for a regression."""
    import jax.numpy as jnp

    def scores(y, y_pred, reduce: str) -> list:
        rows = jnp.asarray(y.shape[0], jnp.float32)
        if not classes:
            loss = jnp.mean(keras.losses.mean_squared_error(y, y_pred))
            return [rows] if reduce == "sum" else [loss]
        hits = (jnp.argmax(y, axis=1) == jnp.argmax(y_pred, axis=1)).astype(jnp.float32)
        if reduce == "sum":
            return [jnp.sum(hits), rows]
        loss = jnp.mean(keras.losses.categorical_crossentropy(y, y_pred))
        return [loss, jnp.mean(hits)]

    return scores
