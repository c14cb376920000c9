"""Train many MLPs at once, each on its own data and shuffles, as if fit one by one.

The weights of members of one architecture are stacked along a leading "member" axis
([M, in, out] kernels), so one einsum does the work of M small matrix products, and Adam updates
a few stacked variables instead of many small ones. Members of other architectures with the
same number of rows (diverse members' folds) are more such branches in the same loop, joined
before the output activation. The result is exactly what fitting each member alone gives:

* Every batch holds one batch per member, drawn from that member's own rows in that member's own
  epoch order; all members take the same number of steps.
* The loss is the sum over members of each member's mean cross-entropy, so the gradient for
  member m's slice is member m's own gradient, at its own scale.
* Adam is element-wise: each weight's update depends on its own gradient history alone (and on
  the step count, the same for every member).

tests/test_training.py checks the equivalence against members fit one by one;
tests/test_compiled_loop.py that several architectures in one loop end as each one alone.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from stackgen.data.task import Task
from stackgen.methods import compiled_loop, training
from stackgen.methods.row_orders import RowOrders
from stackgen.methods.stacked_dense import StackedDense


def _summed_member_losses(y_true, y_pred):
    # Per batch row: the sum over members of their cross-entropies. Keras then averages over the
    # batch rows, giving the sum over members of each member's batch mean.
    return keras.ops.sum(keras.losses.categorical_crossentropy(y_true, y_pred), axis=-1)


def _summed_member_squared_errors(y_true, y_pred):
    # The same for regression members: each member's mean squared error over its outputs.
    return keras.ops.sum(keras.losses.mean_squared_error(y_true, y_pred), axis=-1)


_SUMMED_LOSSES = {
    "categorical_crossentropy": _summed_member_losses,
    "mean_squared_error": _summed_member_squared_errors,
}


def dense_layers(model: keras.Model) -> list[keras.layers.Dense]:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def signature(model: keras.Model) -> tuple:
    """Models with the same signature can share one stacked trainer."""
    return tuple((layer.units, layer.activation.__name__) for layer in dense_layers(model))


def fit_side_by_side(
    models: list[keras.Model],
    datasets: list[tuple],
    *,
    task: Task,
    epochs: int,
    batch_size: int,
    seeds: list[int],
) -> list[list[np.ndarray]]:
    """Train each model on its own (X, one-hot Y) and seed, in as few compiled loops as possible;
    returns each one's trained weights. A dataset may be (X, Y, rows): the given rows of X and
    Y, in that order, without a copy of them for each model (the copies of one fold's members).

    Models whose datasets have the same row count train together in one loop, whatever their
    architectures (the folds of diverse members), when each architecture is listed more than
    once; a model with no other listing of its architecture and row count (a diverse member, a
    fold of unequal size) trains alone, as the Keras model it is, which gives other bits than a
    stack of one. One model may be listed more than once, to be trained from its weights on
    several datasets (one member's folds): it ends with the weights of its last listing, and the
    returned list has every listing's.
    """
    starts = [model.get_weights() for model in models]
    shared: dict[tuple, list[int]] = {}
    for i, (model, rows) in enumerate(zip(models, datasets, strict=True)):
        shared.setdefault((signature(model), _count(rows)), []).append(i)
    alone = [i for listings in shared.values() if len(listings) == 1 for i in listings]
    groups: dict[int, list[int]] = {}  # row count -> listings that train side by side
    for (_, n_rows), listings in shared.items():
        if len(listings) > 1:
            groups.setdefault(n_rows, []).extend(listings)
    trained: list[list[np.ndarray]] = [[] for _ in models]
    for i in alone:
        models[i].set_weights(starts[i])
        training.fit(
            models[i],
            *_materialized(datasets[i]),
            task=task,
            epochs=epochs,
            batch_size=batch_size,
            seed=seeds[i],
        )
        trained[i] = models[i].get_weights()
    for members in groups.values():
        for i in members:
            models[i].set_weights(starts[i])
        weights = fit_stacked(
            [models[i] for i in members],
            [datasets[i] for i in members],
            task=task,
            epochs=epochs,
            batch_size=batch_size,
            seeds=[seeds[i] for i in members],
        )
        for i, own in zip(members, weights, strict=True):
            trained[i] = own
    last = {id(model): i for i, model in enumerate(models)}  # a model listed twice: its last
    for i in last.values():
        models[i].set_weights(trained[i])
    return trained


def fit_stacked(
    models: list[keras.Model],
    datasets: list[tuple],
    *,
    task: Task,
    epochs: int,
    batch_size: int,
    seeds: list[int],
) -> list[list[np.ndarray]]:
    """Train ``models`` in place, model i on ``datasets[i]`` shuffled from seed i, all in one
    loop; returns each one's trained weights (a model listed twice ends with its last listing's).

    All datasets must have the same number of rows. Models of one signature are stacked into one
    branch of StackedDense layers; models of other signatures (diverse members' folds) are more
    branches beside it, and the branches' outputs are joined before the output activation. A
    branch's loss and gradients do not depend on the others', so each model trains as it would
    with its own signature alone.
    """
    by_signature: dict[tuple, list[int]] = {}
    for i, model in enumerate(models):
        by_signature.setdefault(signature(model), []).append(i)
    order = [i for listings in by_signature.values() for i in listings]  # the trainer's members
    branches = [
        _stacked_weights([models[i] for i in listings]) for listings in by_signature.values()
    ]
    names = [[f"branch_{b}_stacked_{k}" for k in range(len(w[0]))] for b, w in enumerate(branches)]
    (output_activation,) = {dense_layers(m)[-1].activation.__name__ for m in models}
    n_rows, n_features = _count(datasets[0]), datasets[0][0].shape[1]

    def side_by_side() -> keras.Model:  # its twin too: the loop overwrites the weights
        inputs = keras.Input(shape=(len(models), n_features), name="rows")
        outputs, first = [], 0
        for b, (kernels, biases, activations) in enumerate(branches):
            count = len(kernels[0])
            take = (first, count) if len(branches) > 1 else None  # this branch's members
            y = inputs
            for k, activation in enumerate(activations):
                last = k == len(activations) - 1
                y = StackedDense(
                    kernels[k],
                    biases[k],
                    "linear" if last else activation,
                    take=take if k == 0 else None,
                    name=names[b][k],
                )(y)
            outputs.append(y)
            first += count
        joined = (
            outputs[0]
            if len(outputs) == 1
            else keras.layers.Concatenate(axis=1, name="joined")(outputs)
        )
        y = keras.layers.Activation(output_activation, name="output")(joined)
        return keras.Model(inputs, y, name="side_by_side")

    trainer = side_by_side()
    trainer.compile(
        loss=_SUMMED_LOSSES[task.loss],
        optimizer=keras.optimizers.Adam(),
        steps_per_execution=training.execution_steps(training.STEPS_PER_EXECUTION),
    )
    ordered = [datasets[i] for i in order]
    seeds_in_order = [seeds[i] for i in order]
    if compiled_loop.available():
        # Each distinct (X, Y) once, laid end to end; member m's rows found in them by place.
        distinct: dict[tuple[int, int], int] = {}  # (id X, id Y) -> where its rows start
        laid = []
        for X, Y, *_ in ordered:
            if (id(X), id(Y)) not in distinct:
                distinct[id(X), id(Y)] = sum(len(x) for x, _ in laid)
                laid.append((X, Y))
        starts = [distinct[id(d[0]), id(d[1])] for d in ordered]
        lookups = [d[2] if len(d) > 2 else None for d in ordered]
        orders = RowOrders.together(n_rows, epochs, seeds_in_order, starts, lookups)
        compiled_loop.train(
            trainer,
            np.concatenate([X for X, _ in laid]) if len(laid) > 1 else laid[0][0],
            np.concatenate([Y for _, Y in laid]) if len(laid) > 1 else laid[0][1],
            orders,
            batch_size,
            twin=side_by_side,
        )
    else:
        orders = RowOrders.together(n_rows, epochs, seeds_in_order)
        stream = _stream([_materialized(d) for d in ordered], orders, batch_size)
        trainer.fit(stream, epochs=1, shuffle=False, verbose=0)
    weights: list[list[np.ndarray]] = [[] for _ in models]
    for b, listings in enumerate(by_signature.values()):
        layers = [trainer.get_layer(name) for name in names[b]]
        trained = [(layer.kernel.numpy(), layer.bias.numpy()) for layer in layers]
        for m, i in enumerate(listings):
            weights[i] = [w[m] for pair in trained for w in pair]
    for model, own in zip(models, weights, strict=True):
        model.set_weights(own)
    return weights


def _count(dataset: tuple) -> int:
    """Rows in a dataset: (X, Y), or (X, Y, rows) for the given rows of X and Y."""
    return len(dataset[2]) if len(dataset) > 2 else len(dataset[0])


def _materialized(dataset: tuple) -> tuple[np.ndarray, np.ndarray]:
    if len(dataset) > 2:
        X, Y, rows = dataset
        return X[rows], Y[rows]
    return dataset[0], dataset[1]


def _stacked_weights(models: list[keras.Model]) -> tuple[list, list, list[str]]:
    """Same-signature ``models``' kernels and biases stacked along a leading member axis, layer
    by layer, and the layers' activations."""
    layers = [dense_layers(m) for m in models]
    kernels = [np.stack([ls[k].kernel.numpy() for ls in layers]) for k in range(len(layers[0]))]
    biases = [np.stack([ls[k].bias.numpy() for ls in layers]) for k in range(len(layers[0]))]
    return kernels, biases, [layer.activation.__name__ for layer in layers[0]]


def _stream(datasets, orders: RowOrders, batch_size: int) -> tf.data.Dataset:
    """Epoch e, row i, member m: member m's row i of epoch e's order, in batches of rows."""
    Xs = tf.constant(np.stack([X for X, _ in datasets]), tf.float32)  # [M, n, f]
    Ys = tf.constant(np.stack([Y for _, Y in datasets]), tf.float32)  # [M, n, C]

    def epoch(idx):  # idx: [n, M]
        per_member = tf.transpose(idx)  # [M, n]
        X = tf.transpose(tf.gather(Xs, per_member, batch_dims=1), [1, 0, 2])
        Y = tf.transpose(tf.gather(Ys, per_member, batch_dims=1), [1, 0, 2])
        return tf.data.Dataset.from_tensor_slices((X, Y)).batch(batch_size)

    return training.epochs_stream(orders, epoch, batch_size)
