"""The integrated stacking model: frozen members embedded in one Keras network with a trained head.

One shared input feeds every member. The tutorial instead gives each member its own input layer
and feeds k copies of the same array, a workaround for Keras 2, where a loaded Sequential model
could only be wired in through its own input layer. The two graphs compute the same function:
every member sees the same rows either way, so member ``i``'s output (and hence the concatenated
vector, the head's input) is identical; one input just saves k-1 copies of the data and the
"dense_1_input is used 5 times" name clashes its readers hit.

Names are unique by construction: members are named ``member_i`` with layers ``member_i_*``
(see ``members.build_mlp``, ``member_checks.wrap``); the head is a small model ``stack_head``
with layers ``stack_*``.

``NetworkHead`` is the head as a meta-learner (``final_estimator="network"``): fit on the
members' outputs like any other, and ``assemble`` puts it behind the members.
"""

from __future__ import annotations

import keras
import numpy as np
from sklearn.base import BaseEstimator

from stackgen.data import inputs as data_inputs
from stackgen.data.task import Task, task_of
from stackgen.methods import training
from stackgen.methods.member_checks import member_reads
from stackgen.methods.metalearners import stacked_features
from stackgen.trust.errors import StackgenError

HEAD_UNITS = 10  # the tutorial's Dense(10, relu) head
HEAD_EPOCHS = 300  # and its 300 epochs


def head_width(hidden: int, n_outputs: int) -> int:
    """The head's hidden units for ``n_outputs`` outputs: at least 2 x outputs + 4, so that ten
    classes are not squeezed through the tutorial's ten units. Three classes keep its 10."""
    return max(hidden, 2 * n_outputs + 4)


def build_head(n_inputs: int, n_outputs: int, head_units: int, task: Task) -> keras.Model:
    """The meta-learner: Dense(head_units, relu) -> Dense(n_classes, softmax), or Dense(1,
    linear) for regression."""
    inputs = keras.Input(shape=(n_inputs,), name="stack_head_input")
    hidden = keras.layers.Dense(head_units, activation="relu", name="stack_hidden")(inputs)
    probs = keras.layers.Dense(n_outputs, activation=task.activation, name="stack_output")(hidden)
    return keras.Model(inputs, probs, name="stack_head")


def assemble(
    members: list[keras.Model],
    head: keras.Model,
    task: Task,
    passthrough: bool = False,
    X: data_inputs.Inputs | None = None,
) -> keras.Model:
    """One shared input -> every member (frozen) -> concatenated outputs -> the head.

    Data of several named inputs (``X`` a dict, or rows of it) gets one ``Input`` per name that
    some member reads, and each member is wired to the inputs it names. With ``passthrough``
    the raw input is concatenated after the members' outputs, so the head sees the features too.
    """
    for member in members:
        member.trainable = False  # freezes every layer inside; only the head learns
    if isinstance(X, dict):
        shapes = data_inputs.shapes(X)
        used = sorted({name for member in members for name in member_reads(member)})
        named = {name: keras.Input(shape=shapes[name], name=name) for name in used}
        outputs = [
            member([named[n] for n in member_reads(member)])
            if len(member.inputs) > 1
            else member(named[member_reads(member)[0]])
            for member in members
        ]
        inputs = [named[name] for name in used]
    else:
        inputs = keras.Input(shape=members[0].input_shape[1:], name="stack_input")
        outputs = [member(inputs) for member in members] + ([inputs] if passthrough else [])
    merged = (
        keras.layers.Concatenate(name="stack_concat")(outputs) if len(outputs) > 1 else outputs[0]
    )
    network = keras.Model(inputs, head(merged), name="stacked_network")
    # Compiled so that a user who loads the saved network can evaluate() it straight away, with
    # its optimizer built: a saved optimizer without its variables makes load_model warn that
    # it is "skipping variable loading for optimizer".
    training.compile_model(network, task)
    network.optimizer.build(network.trainable_variables)
    return network


def fit_head(
    features: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    task: Task,
    *,
    seed: int,
    epochs: int,
    batch_size: int,
    hidden: int = HEAD_UNITS,
    sample_weight: np.ndarray | None = None,
) -> keras.Model:
    """A new head (seeded from ``seed``) fit on (features, y) for ``epochs``.

    The members are frozen and deterministic (no dropout, no batch normalisation), so what they
    feed the head for each training row is a constant. The head is therefore trained on those
    constants, computed once, rather than through the members at every one of its steps: the
    same optimisation of the same weights, several times faster
    (tests/test_step05_stack_integrated.py).
    """
    training.seed_everything(seed)
    n_outputs = task.outputs(n_classes)
    head = build_head(features.shape[1], n_outputs, head_width(hidden, n_outputs), task)
    training.fit(
        head,
        features,
        task.targets(y, n_classes),
        task=task,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        sample_weight=sample_weight,
    )
    return head


class NetworkHead(BaseEstimator):
    """The integrated network's head as a meta-learner: Dense(hidden, relu) -> Dense(classes,
    softmax) (Dense(1) for regression) on the members' outputs, trained with Keras's Adam for
    ``epochs`` in batches of ``batch_size`` (None: the stack's). ``hidden=None`` is the
    tutorial's 10 units, widened to 2 x classes + 4 for many classes. The stack's
    ``to_keras()`` puts it behind the frozen members: the tutorial's integrated network."""

    kind = "network"

    def __init__(self, hidden: int | None = None, epochs: int = HEAD_EPOCHS, batch_size=None):
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size

    def check(self) -> None:
        """Refuse settings the head cannot train with, in one line."""
        for name in ("hidden", "epochs", "batch_size"):
            value = getattr(self, name)
            if value is None and name != "epochs":
                continue
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise StackgenError(
                    f"NetworkHead({name}={value!r}): {name} must be a whole number, at least 1"
                )

    def fit_stack(self, P, y, raw, *, passthrough, seed, batch_size, n_classes, sample_weight=None):
        """Fit the head on members' outputs P [rows, members, classes] (and the raw features
        with ``passthrough``); ``seed`` fixes its weights and shuffles."""
        self.check()
        self.passthrough_ = passthrough
        task = task_of(y)
        self.model_ = fit_head(
            stacked_features(P, raw, passthrough),
            y,
            n_classes,
            task,
            seed=seed,
            epochs=self.epochs,
            batch_size=self.batch_size or batch_size,
            hidden=self.hidden or HEAD_UNITS,
            sample_weight=sample_weight,
        )
        return self

    def predict_proba(self, P, raw=None) -> np.ndarray:
        features = stacked_features(P, raw, self.passthrough_)
        return training.predict_proba(self.model_, features)


def trainable_weight_names(model: keras.Model) -> list[str]:
    return [w.path for w in model.trainable_weights]


def network_score(members, head_settings: dict):
    """A scorer of the integrated network for ``experiments.evaluate``: for a protocol's rows,
    a head (``fit_head`` with ``head_settings``) fit on the fitting rows' member outputs, put
    behind the frozen ``members``, scored on the scoring rows."""

    def score(rows) -> float:
        head = fit_head(
            stacked_features(rows.fit_P, rows.fit_raw, False),
            rows.fit_y,
            rows.score_P.shape[2],
            rows.task,
            **head_settings,
            sample_weight=rows.fit_w,
        )
        network = assemble(members, head, rows.task, X=rows.score_raw)
        return rows.score(training.predict_proba(network, rows.score_raw))

    return score
