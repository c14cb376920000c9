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

from stackgen.config import Config
from stackgen.data import inputs as data_inputs
from stackgen.data.task import Task
from stackgen.methods import training
from stackgen.methods.imported import member_reads
from stackgen.methods.members import member_probabilities
from stackgen.methods.metalearners import stacked_features


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
    features: np.ndarray, y: np.ndarray, n_classes: int, task: Task, cfg: Config
) -> keras.Model:
    """A new head (seeded from ``cfg.head_seed``) fit on (features, y) for ``cfg.meta_epochs``.

    The members are frozen and deterministic (no dropout, no batch normalisation), so what they
    feed the head for each training row is a constant. The head is therefore trained on those
    constants, computed once, rather than through the members at every one of its steps: the
    same optimisation of the same weights, several times faster
    (tests/test_step05_stack_integrated.py).
    """
    training.seed_everything(cfg.head_seed)
    n_outputs = task.outputs(n_classes)
    head = build_head(features.shape[1], n_outputs, cfg.head_width(n_outputs), task)
    training.fit(
        head,
        features,
        task.targets(y, n_classes),
        task=task,
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
    task: Task,
    cfg: Config,
    passthrough: bool = False,
) -> keras.Model:
    """Fit a head on the members' outputs for (X, y) and embed it behind the members."""
    P = np.stack(member_probabilities(members, X), axis=1)
    head = fit_head(stacked_features(P, X, passthrough), y, n_classes, task, cfg)
    return assemble(members, head, task, passthrough, X)


def trainable_weight_names(model: keras.Model) -> list[str]:
    return [w.path for w in model.trainable_weights]
