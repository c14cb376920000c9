"""Keras models to and from a Dask worker: their architecture, weights and optimizer state.

A training sent to a worker (``fitting.run_trainings`` under ``--scheduler``) carries its
starting models and brings back what training changed. Keras's own pickling of a model does not
survive the trip for every model (a Sequential loses attributes on the way), and saves more
than a training needs, so a model travels as its serialised configuration (rebuilt on the
worker in Keras's safe mode: no code from it runs) and its weights as arrays. What comes back
is the trained weights and the optimizer's variables, put into the caller's own model, compiled
as the training compiled it: the same arrays as if it had trained here.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np


@dataclass
class Shipped:
    """A model on its way: its configuration (None for a trained state coming back), weights,
    and its optimizer's variables (None before training)."""

    config: dict | None
    weights: list[np.ndarray]
    optimizer: list[np.ndarray] | None = None


def ship(value):
    """``value`` with every Keras model in it (alone, or in a list or tuple) made a ``Shipped``."""
    if isinstance(value, keras.Model):
        return Shipped(keras.saving.serialize_keras_object(value), value.get_weights())
    if isinstance(value, list | tuple) and any(isinstance(v, keras.Model) for v in value):
        return type(value)(ship(v) for v in value)
    return value


def unship(value):
    """``ship``'s inverse, on the worker: each ``Shipped`` rebuilt as a model of its weights."""
    if isinstance(value, Shipped):
        model = keras.saving.deserialize_keras_object(value.config, safe_mode=True)
        model.set_weights(value.weights)
        return model
    if isinstance(value, list | tuple) and any(isinstance(v, Shipped) for v in value):
        return type(value)(unship(v) for v in value)
    return value


def trained_state(model: keras.Model) -> Shipped:
    """What a training changed in ``model``: its weights and its optimizer's variables."""
    optimizer = getattr(model, "optimizer", None)
    state = None if optimizer is None else [v.numpy() for v in optimizer.variables]
    return Shipped(None, model.get_weights(), state)


def restore(model: keras.Model, state: Shipped) -> keras.Model:
    """``model`` (compiled as the training compiled its copy) given ``state``'s weights and
    optimizer variables."""
    model.set_weights(state.weights)
    if state.optimizer is not None:
        model.optimizer.build(model.trainable_variables)
        for variable, value in zip(model.optimizer.variables, state.optimizer, strict=True):
            variable.assign(value)
    return model
