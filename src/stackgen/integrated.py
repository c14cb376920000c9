"""The integrated stacking model: frozen members embedded in one Keras network with a trained head.

One shared input feeds every member. The tutorial instead gives each member its own input layer
and feeds k copies of the same array, a workaround for Keras 2, where a loaded Sequential model
could only be wired in through its own input layer. The two graphs compute the same function:
every member sees the same rows either way, so member ``i``'s output (and hence the concatenated
vector, the head's input) is identical; one input just saves k-1 copies of the data and the
"dense_1_input is used 5 times" name clashes its readers hit.

Names are unique by construction: members are named ``member_i`` with layers ``member_i_*``
(see ``members.build_mlp``); the head is a small model ``stack_head`` with layers ``stack_*``.
"""

from __future__ import annotations

import keras
import numpy as np

from stackgen import training
from stackgen.config import Config
from stackgen.data import is_regression, one_hot
from stackgen.members import member_probabilities
from stackgen.stacking import stacked_inputs


def build_head(
    n_inputs: int, n_classes: int, head_units: int, regression: bool = False
) -> keras.Model:
    """The meta-learner: Dense(head_units, relu) -> Dense(n_classes, softmax), or Dense(1,
    linear) for regression."""
    inputs = keras.Input(shape=(n_inputs,), name="stack_head_input")
    hidden = keras.layers.Dense(head_units, activation="relu", name="stack_hidden")(inputs)
    probs = keras.layers.Dense(
        n_classes,
        activation="linear" if regression else "softmax",
        name="stack_output",
    )(hidden)
    return keras.Model(inputs, probs, name="stack_head")


def assemble(
    members: list[keras.Model], head: keras.Model, passthrough: bool = False
) -> keras.Model:
    """One shared input -> every member (frozen) -> concatenated outputs -> the head.

    With ``passthrough`` the raw input is concatenated after the members' outputs, so the head
    sees the features too.
    """
    inputs = keras.Input(shape=members[0].input_shape[1:], name="stack_input")
    for member in members:
        member.trainable = False  # freezes every layer inside; only the head learns
    outputs = [member(inputs) for member in members] + ([inputs] if passthrough else [])
    merged = (
        keras.layers.Concatenate(name="stack_concat")(outputs) if len(outputs) > 1 else outputs[0]
    )
    # Compiled so that a user who loads the saved network can evaluate() it straight away.
    return training.compile_model(keras.Model(inputs, head(merged), name="stacked_network"))


def head_inputs(P: np.ndarray, raw: np.ndarray, passthrough: bool) -> np.ndarray:
    """What the head sees for member probabilities P [rows, members, classes]: the members'
    outputs in concatenation order, then the raw features if ``passthrough``."""
    X = stacked_inputs(list(P.transpose(1, 0, 2)))
    return np.hstack([X, raw]).astype(np.float32) if passthrough else X


def fit_head(features: np.ndarray, y: np.ndarray, n_classes: int, cfg: Config) -> keras.Model:
    """A new head (seeded from ``cfg.head_seed``) fit on (features, y) for ``cfg.meta_epochs``.

    The members are frozen and deterministic (no dropout, no batch normalisation), so what they
    feed the head for each training row is a constant. The head is therefore trained on those
    constants, computed once, rather than through the members at every one of its steps: the
    same optimisation of the same weights, several times faster (tests/test_integrated.py).
    """
    training.seed_everything(cfg.head_seed)
    head = build_head(features.shape[1], n_classes, cfg.head_width(n_classes), is_regression(y))
    training.fit(
        head,
        features,
        one_hot(y, n_classes),
        epochs=cfg.meta_epochs,
        batch_size=cfg.batch_size,
        seed=cfg.head_seed,
    )
    return head


def train_stacked_network(
    members: list[keras.Model],
    X: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    cfg: Config,
    passthrough: bool = False,
) -> keras.Model:
    """Fit a head on the members' outputs for (X, y) and embed it behind the members."""
    P = np.stack(member_probabilities(members, X), axis=1)
    head = fit_head(head_inputs(P, X, passthrough), y, n_classes, cfg)
    return assemble(members, head, passthrough)


def trainable_weight_names(model: keras.Model) -> list[str]:
    return [w.path for w in model.trainable_weights]
