"""What a member reads and outputs, checked against the data, and the wrapper that makes its
output class probabilities; the optimizer and loss a fresh copy of it trains with.

Any Keras model can be a member: one trained in a notebook, one loaded from a ``.keras`` file,
one a builder made. Each is checked against the data (its inputs by name and shape, its
classes) and wrapped in a new model named ``member_i`` whose output is class probabilities:

* a softmax output is used as it is;
* one sigmoid unit (a binary problem) becomes ``[1 - p, p]``;
* a linear output (logits) gets a softmax; one linear unit whose loss is binary cross-entropy is
  a logit and gets a sigmoid, then ``[1 - p, p]``;
* a regression member trained elsewhere (one linear unit, in the target's own units) is rescaled
  to the standardised target the stack is fit on.

The wrapper is built from Keras layers only (Activation, Rescaling, Concatenate), so it saves
and loads safely, and it takes its name from its place in the ensemble: whatever the model and
its layers are called inside (three ``keras.Sequential`` models with default names), the
members' names cannot clash when the integrated network embeds them. The wrapper's inputs carry
the names of the data's inputs the member reads.

A fresh copy (``keras.models.clone_model``: new weights drawn from the member's seed) trains with
the member's own optimizer and loss, on labels given as that loss takes them (``native_targets``).

Every message starts with ``where``, the caller's name for the member (``members[2]`` in the
estimator, ``--member-files cnn.keras`` on the command line); none of them names a flag.
"""

from __future__ import annotations

import keras
import numpy as np

from stackgen.data import inputs
from stackgen.data.task import Classes, Task
from stackgen.trust.errors import StackgenError

# Losses whose labels stackgen knows how to give: what a fresh copy is trained on.
SPARSE = ("sparse_categorical_crossentropy",)
ONE_HOT = ("categorical_crossentropy", "categorical_focal_crossentropy", "kl_divergence")
BINARY = ("binary_crossentropy", "binary_focal_crossentropy")
VALUES = (
    "mean_squared_error",
    "mean_absolute_error",
    "huber",
    "log_cosh",
    "mean_squared_logarithmic_error",
)
ALIASES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "kld": "kl_divergence",
    "huber_loss": "huber",
}

SOFTMAX, SIGMOID, LOGITS, LOGIT, VALUE = "softmax", "sigmoid", "logits", "logit", "value"
OUTPUT_SAID = {
    SOFTMAX: "softmax output used as it is",
    SIGMOID: "one sigmoid unit p made [1 - p, p]",
    LOGITS: "linear output (logits): softmax added",
    LOGIT: "one linear unit (a logit): sigmoid added, then [1 - p, p]",
    VALUE: "one linear unit: a regression prediction, rescaled as the target was",
}


def member_reads(model: keras.Model) -> list[str]:
    """The data inputs a member (or any stackgen network) reads, from its inputs' names."""
    return [t.name for t in model.inputs]


def match_inputs(model: keras.Model, X: inputs.Inputs, where: str) -> list[str]:
    """The data input each of the model's inputs reads (``["X"]`` for data of one input),
    or one line naming what does not fit."""
    problem = reads_problem(model, X, [t.name for t in model.inputs])
    if problem:
        raise StackgenError(f"{where}: the member {problem}")
    return ["X"] if not isinstance(X, dict) else [t.name for t in model.inputs]


def truncated_inputs(model: keras.Model, X: inputs.Inputs, reads: list[str]) -> list[str]:
    """What a member would silently lose of the data: each input whose dtype is whole numbers
    (``uint8`` images, say) where the data's values have fractions, which Keras casts away
    (float 0..1 pixels all become 0 or 1). One phrase per such input."""
    found = []
    for tensor, name in zip(model.inputs, reads, strict=True):
        dtype = str(getattr(tensor, "dtype", "float32"))
        if not dtype.startswith(("int", "uint", "bool")):
            continue
        values = X[name] if isinstance(X, dict) else X
        if not np.issubdtype(values.dtype, np.floating):
            continue
        parts = list(inputs.blocks(values))  # views of images mapped from disk, not copies
        if any(np.any(part != np.round(part)) for part in parts):
            low = min(float(part.min()) for part in parts if part.size)
            high = max(float(part.max()) for part in parts if part.size)
            found.append(
                f"its input {tensor.name!r} is {dtype}, and the data's values there have "
                f"fractions ({low:.3g} to {high:.3g}): Keras casts them to whole numbers"
            )
    return found


def reads_problem(model: keras.Model, X: inputs.Inputs, names: list[str]) -> str | None:
    """What keeps ``model`` (whose inputs read the data inputs ``names``) from reading rows
    ``X``, or None: the number of inputs, a name the data lacks, a row shape (None matches any)."""
    given = inputs.shapes(X)
    if not isinstance(X, dict):
        if len(model.inputs) != 1:
            return (
                f"has {len(model.inputs)} inputs ({', '.join(names)}) but the data one; give "
                "several inputs as named arrays, named like the member's Input layers"
            )
        names = ["X"]
    missing = [n for n in names if n not in given]
    if missing:
        return (
            f"expects input {missing[0]!r}, which the data lacks; its inputs are {', '.join(given)}"
        )
    for tensor, name in zip(model.inputs, names, strict=True):
        expected, shape = tuple(tensor.shape[1:]), given[name]
        fits = len(expected) == len(shape) and all(
            e is None or e == s for e, s in zip(expected, shape, strict=True)
        )
        if not fits:
            shown = [e if e is not None else "any" for e in expected]
            label = "" if name == "X" else f" {name!r}"
            return f"expects input{label} of shape {shown} per row; the data gives {list(shape)}"
    return None


def loss_name(compile_config: dict | None) -> str | None:
    """The name of the loss in a model's compile settings, or None."""
    if not compile_config:
        return None
    loss = compile_config.get("loss")
    if isinstance(loss, dict):  # a Loss object {"config": {"name": ...}}, or a function's name
        config = loss.get("config")
        name = config.get("name") if isinstance(config, dict) else config
        loss = name or loss.get("class_name")
    elif loss is not None and not isinstance(loss, str):  # a Loss object or a function
        name = getattr(loss, "name", None) or getattr(loss, "__name__", None)
        loss = name
    return ALIASES.get(loss, loss) if isinstance(loss, str) else None


def compile_settings(model: keras.Model) -> dict | None:
    """The optimizer and loss an in-memory model was compiled with, as a saved model's
    ``compile_config`` records them; None for an uncompiled model."""
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        return None
    try:
        config = model.get_compile_config()
    except Exception:  # noqa: BLE001 - compiled with something Keras cannot describe
        config = None
    if config and config.get("loss") is not None and config.get("optimizer") is not None:
        return config
    if getattr(model, "loss", None) is None:
        return None
    return {"optimizer": model.optimizer, "loss": model.loss}


def output_kind(model: keras.Model, classes: Classes, loss: str | None, where: str) -> str:
    """What the member's output is, from its last layer's activation, checked against the task
    and the number of classes."""
    units = model.output_shape[-1]
    n = classes.n_classes
    if len(model.outputs) != 1:
        raise StackgenError(
            f"{where}: the model has {len(model.outputs)} outputs; a member needs one (its "
            "class probabilities, or its prediction)"
        )
    if len(model.output_shape) == 1:  # (None,): one number a row, with no last axis
        raise StackgenError(
            f"{where}: the member's output has shape (None,), one number a row without a last "
            "axis; end the model with keras.layers.Reshape((1,)) (or a Dense layer) so that it "
            "gives [rows, 1]" + ("" if classes.task.name == "regression" else " or [rows, classes]")
        )
    if len(model.output_shape) != 2:
        raise StackgenError(
            f"{where}: the member's output has shape {list(model.output_shape[1:])} per row; a "
            "member gives one row of class probabilities (or one value) per example"
        )
    activation = _last_activation(model, where)
    if classes.task.name == "regression":
        if units != 1 or activation != "linear":
            raise StackgenError(
                f"{where}: a regression stack needs members with one linear output unit; this "
                f"one has {units} ({activation} activation)"
            )
        if loss in BINARY:  # the member's own loss says its one unit is a logit
            raise StackgenError(
                f"{where}: a two-class member (one logit unit, loss {loss}) in a regression "
                "stack: its output is a class's log-odds, not a value of the target"
            )
        return VALUE
    if units == 1:
        if n != 2:
            raise StackgenError(
                f"{where}: the member has one output unit, a regression or a two-class member, "
                f"but the data has {n} classes"
            )
        if activation == "sigmoid":
            return SIGMOID
        if activation == "linear" and loss in BINARY:
            return LOGIT
        if activation == "linear":
            raise StackgenError(
                f"{where}: a regression member (one linear output unit, loss "
                f"{loss or 'unknown'}) in a classification stack"
                + ("" if loss else "; if it outputs a logit, compile it with its loss")
            )
        raise StackgenError(f"{where}: its one output unit has a {activation} activation")
    if units != n:
        names = list(classes.names)
        shown = f" ({', '.join(names[:6])}{', ...' if n > 6 else ''})" if names else ""
        raise StackgenError(f"{where}: the member outputs {units} classes; the data has {n}{shown}")
    if activation == "softmax":
        return SOFTMAX
    if activation == "linear":
        return LOGITS
    raise StackgenError(
        f"{where}: its output layer has a {activation} activation; a member's {units} outputs "
        "must be softmax probabilities or linear logits"
    )


# Layers that pass their input through unchanged at inference: the activation is before them.
PASS_THROUGH = (
    "Dropout",
    "SpatialDropout1D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
    "Identity",
)


def _last_activation(model: keras.Model, where: str) -> str:
    """The name of the activation applied last: a Dense layer's, an Activation or Softmax
    layer's, looking through dropout and noise layers and into a nested model; one line when
    the last layer is of another kind."""
    layer = model.outputs[0]._keras_history[0]
    while type(layer).__name__ in PASS_THROUGH:
        layer = layer._inbound_nodes[0].input_tensors[0]._keras_history[0]
    if isinstance(layer, keras.Model):  # a nested model's output
        return _last_activation(layer, where)
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    name = getattr(getattr(layer, "activation", None), "__name__", None)
    if name is None:
        raise StackgenError(
            f"{where}: its last layer is a {type(layer).__name__}, so stackgen cannot tell "
            "whether it outputs probabilities; end the member with a Dense, Activation or "
            "Softmax layer"
        )
    return name


def wrap(
    model: keras.Model,
    name: str,
    kind: str,
    reads: list[str],
    target: tuple[float, float] | None = None,
) -> keras.Model:
    """``model`` inside a new model ``name`` whose output is class probabilities (or, for a
    regression member in the target's units, the target standardised with ``target``, its
    mean and standard deviation); one input per input of ``model``, named after the data input
    it reads."""
    ins = [
        keras.Input(shape=t.shape[1:], name=f"{name}_input" if read == "X" else read)
        for t, read in zip(model.inputs, reads, strict=True)
    ]
    x = model(ins[0] if len(ins) == 1 else ins)
    if kind == LOGITS:
        x = keras.layers.Activation("softmax", name=f"{name}_softmax")(x)
    if kind == LOGIT:
        x = keras.layers.Activation("sigmoid", name=f"{name}_sigmoid")(x)
    if kind in (SIGMOID, LOGIT):
        other = keras.layers.Rescaling(-1.0, offset=1.0, name=f"{name}_one_minus")(x)
        x = keras.layers.Concatenate(name=f"{name}_two_classes")([other, x])
    if kind == VALUE and target is not None:  # (y - mean) / std
        mean, std = target
        x = keras.layers.Rescaling(1.0 / std, offset=-mean / std, name=f"{name}_standardise")(x)
    return keras.Model(ins[0] if len(ins) == 1 else ins, x, name=name)


# --- fresh copies: the optimizer and loss they train with ---------------------------------------


def training_settings(
    compile_config: dict | None, loss: str | None, kind: str, model: keras.Model
) -> tuple[dict | None, str | None]:
    """(the optimizer and loss a fresh copy trains with, None) or (None, why it cannot)."""
    if not compile_config or not compile_config.get("loss") or not compile_config.get("optimizer"):
        return None, "it was saved without a training configuration (uncompiled)"
    known = (*SPARSE, *ONE_HOT, *BINARY) if kind != VALUE else VALUES
    if loss not in known:
        return None, f"its loss {loss or 'unknown'} is not one stackgen can give labels to"
    settings = {"optimizer": compile_config["optimizer"], "loss": compile_config["loss"]}
    try:
        rebuild(settings)
    except Exception as exc:  # noqa: BLE001 - a custom optimizer or loss Keras does not know
        return None, f"its optimizer or loss cannot be rebuilt ({str(exc)[:80]})"
    if not model.trainable_weights:
        return None, "it has no trainable weights, so a fresh copy would never learn"
    adapted = [layer for layer in _leaves(model) if hasattr(layer, "adapt")]
    if adapted:
        return None, (
            f"its {type(adapted[0]).__name__} layer holds statistics of the rows it was "
            "adapted to, which a fresh copy cannot re-learn on a fold"
        )
    return settings, None


def rebuild(settings: dict):
    """A new optimizer (no state) and the loss, from a member's training settings."""
    optimizer = settings["optimizer"]
    if isinstance(optimizer, keras.optimizers.Optimizer):
        optimizer = type(optimizer).from_config(optimizer.get_config())
    elif isinstance(optimizer, str):
        optimizer = keras.optimizers.get(optimizer)
    else:
        optimizer = keras.optimizers.deserialize(optimizer)
    loss = settings["loss"]
    if isinstance(loss, dict):
        loss = keras.losses.deserialize(loss)
    elif isinstance(loss, str):
        loss = keras.losses.get(loss)
    return optimizer, loss


def _leaves(model: keras.Model):
    """Every layer of ``model`` that is not itself a model, nested models opened."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaves(layer)
        else:
            yield layer


def native_targets(
    settings: dict,
    model: keras.Model,
    task: Task,
    y: np.ndarray,
    n_classes: int,
    target: tuple[float, float] | None = None,
) -> np.ndarray:
    """Labels ``y`` (class indices, or the standardised target) as the member's own loss takes
    them; a regression member trained in the target's units (``target``: mean and standard
    deviation) gets them back in those units."""
    loss = loss_name(settings)
    if task.name == "regression":
        if target is None:
            return y.astype(np.float32).reshape(-1, 1)
        mean, std = target
        return (y.astype(np.float64) * std + mean).astype(np.float32).reshape(-1, 1)
    if loss in SPARSE:
        return y.astype(np.float32)
    if loss in BINARY and model.output_shape[-1] == 1:
        return y.astype(np.float32).reshape(-1, 1)
    return task.targets(y, n_classes)
