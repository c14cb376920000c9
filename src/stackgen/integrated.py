"""The integrated stacking model: frozen members embedded in one Keras network with a trained head.

One shared input feeds every member. The tutorial instead gives each member its own input layer
and feeds k copies of the same array, a workaround for Keras 2, where a loaded Sequential model
could only be wired in through its own input layer. The two graphs compute the same function:
every member sees the same rows either way, so member ``i``'s output (and hence the concatenated
vector, the head's input) is identical; one input just saves k-1 copies of the data and the
"dense_1_input is used 5 times" name clashes its readers hit.

Names are unique by construction: members are named ``member_i`` with layers ``member_i_*``
(see ``members.build_mlp``), and the head's layers are ``stack_*``.
"""

from __future__ import annotations

import keras
import numpy as np

from stackgen import training
from stackgen.config import Config
from stackgen.data import one_hot


def build_stacked_network(
    members: list[keras.Model], n_classes: int, head_units: int
) -> keras.Model:
    """members (frozen) -> concatenate -> Dense(head_units, relu) -> Dense(n_classes, softmax)."""
    inputs = keras.Input(shape=members[0].input_shape[1:], name="stack_input")
    for member in members:
        member.trainable = False  # freezes every layer inside; only the head learns
    outputs = [member(inputs) for member in members]
    merged = (
        keras.layers.Concatenate(name="stack_concat")(outputs) if len(outputs) > 1 else outputs[0]
    )
    hidden = keras.layers.Dense(head_units, activation="relu", name="stack_hidden")(merged)
    probs = keras.layers.Dense(n_classes, activation="softmax", name="stack_output")(hidden)
    return training.compile_classifier(keras.Model(inputs, probs, name="stacked_network"))


def train_stacked_network(
    members: list[keras.Model], X: np.ndarray, y: np.ndarray, n_classes: int, cfg: Config
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Build the network (head seeded from ``cfg.head_seed``) and fit the head on (X, y)."""
    training.seed_everything(cfg.head_seed)
    model = build_stacked_network(members, n_classes, cfg.head_units)
    history = training.fit(
        model,
        X,
        one_hot(y, n_classes),
        epochs=cfg.meta_epochs,
        batch_size=cfg.batch_size,
        seed=cfg.head_seed,
    )
    return model, history


def trainable_weight_names(model: keras.Model) -> list[str]:
    return [w.path for w in model.trainable_weights]
