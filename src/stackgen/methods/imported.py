"""Members trained elsewhere: ``--member-files A.keras B.keras ...`` on step 3 and on ``run``.

Each file is loaded with ``safe_mode`` (a Lambda layer's code never runs), checked against the
data (its inputs by name and shape, its classes), and wrapped in a new model named ``member_i``
whose output is class probabilities:

* a softmax output is used as it is;
* one sigmoid unit (a binary problem) becomes ``[1 - p, p]``;
* a linear output (logits) gets a softmax; one linear unit whose loss is binary cross-entropy is
  a logit and gets a sigmoid, then ``[1 - p, p]``;
* a regression member (one linear unit) is rescaled to the standardised target the split keeps.

The wrapper is built from Keras layers only (Activation, Rescaling, Concatenate), so it saves
and loads safely, and it takes its name from its place in the ensemble: whatever the file's
model and layers are called inside (three ``keras.Sequential`` models with default names), the
members' names cannot clash when the integrated network embeds them. The wrapper's inputs carry
the names of the data's inputs the member reads.

The ``cv`` protocol retrains a fresh copy of each architecture (``keras.models.clone_model``: new
weights drawn from the member's seed) with the file's own optimizer and loss, on the folds of the
training rows, and keeps each copy's predictions for its held-out fold only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from stackgen.config import Config
from stackgen.data import inputs
from stackgen.data.split import Split
from stackgen.methods import training
from stackgen.methods.protocols import cv_folds
from stackgen.trust.errors import StackgenError
from stackgen.trust.safe_load import LAMBDA, keras_archive_config

# Losses whose labels stackgen knows how to give: what a fresh copy is trained on under cv.
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
ASSUMPTION = (
    "note: these members were trained outside stackgen, which cannot check that they never saw "
    "the test rows; every test score below assumes they did not"
)


@dataclass
class Imported:
    """A member file, loaded and checked: its wrapper ``member_i`` and what was done to it."""

    model: keras.Model  # the wrapper: class probabilities (or the standardised target)
    original: keras.Model  # as loaded from the file
    source: Path
    sha256: str
    kind: str  # what its output is: SOFTMAX, SIGMOID, LOGITS, LOGIT or VALUE
    reads: list[str]  # the data inputs it reads, in the order of its own inputs
    training: dict | None  # the file's optimizer and loss, or None (saved uncompiled)
    why_no_training: str | None

    @property
    def output(self) -> str:
        """What was done to the output, as printed."""
        return OUTPUT_SAID[self.kind]

    def record(self) -> dict:
        return {
            "source": str(self.source),
            "sha256": self.sha256,
            "output": self.output,
            "inputs": self.reads,
            "retrainable": self.training is not None,
        }


def import_members(files: tuple[Path, ...], split: Split) -> list[Imported]:
    """Load, check and wrap every member file, or one line naming the file and the problem."""
    return [_import(Path(f), index, split) for index, f in enumerate(files, start=1)]


def _import(path: Path, index: int, split: Split) -> Imported:
    where = f"--member-files {path.name}"
    config = keras_archive_config(path, where)  # also refuses any Lambda layer
    original = _load(path, where)
    if len(original.outputs) != 1:
        raise StackgenError(
            f"{where}: the model has {len(original.outputs)} outputs; a member needs one (its "
            "class probabilities, or its prediction)"
        )
    reads = _match_inputs(original, split, where)
    compile_config = config.get("compile_config") or None
    loss = _loss_name(compile_config)
    kind = _output_kind(original, split, loss, where)
    wrapper = wrap(original, f"member_{index}", kind, split, reads)
    training_config, why = _training(compile_config, loss, kind, original)
    return Imported(
        wrapper, original, path.resolve(), _digest(path), kind, reads, training_config, why
    )


def _load(path: Path, where: str) -> keras.Model:
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for what it refuses
        text = str(exc)
        if "Lambda" in text or "safe_mode" in text:
            raise StackgenError(LAMBDA.format(where=where)) from None
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        raise StackgenError(f"{where}: Keras cannot load it safely: {first[:200]}") from None


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _match_inputs(model: keras.Model, split: Split, where: str) -> list[str]:
    """The data input each of the model's inputs reads: by name when the data has several."""
    problem = reads_problem(model, split, [t.name for t in model.inputs])
    if problem:
        raise StackgenError(f"{where}: the member {problem}")
    return ["X"] if split.input_names is None else [t.name for t in model.inputs]


def reads_problem(model: keras.Model, split: Split, names: list[str]) -> str | None:
    """What keeps ``model`` (whose inputs read the data inputs ``names``) from reading the data,
    or None: the number of inputs, a name the data lacks, a row shape (None matches any)."""
    given = inputs.shapes(split.test_X)
    if split.input_names is None:
        if len(model.inputs) != 1:
            return (
                f"has {len(model.inputs)} inputs ({', '.join(names)}) but the data one; give "
                "several inputs as test_X_<name> arrays named like the member's Input layers"
            )
        names = ["X"]
    missing = [n for n in names if n not in given]
    if missing:
        return (
            f"expects input {missing[0]!r}, which the data lacks; its inputs are "
            f"{', '.join(given)} (arrays test_X_<name>)"
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


def _loss_name(compile_config: dict | None) -> str | None:
    if not compile_config:
        return None
    loss = compile_config.get("loss")
    if isinstance(loss, dict):  # a Loss object {"config": {"name": ...}}, or a function's name
        config = loss.get("config")
        name = config.get("name") if isinstance(config, dict) else config
        loss = name or loss.get("class_name")
    return ALIASES.get(loss, loss) if isinstance(loss, str) else None


SOFTMAX, SIGMOID, LOGITS, LOGIT, VALUE = "softmax", "sigmoid", "logits", "logit", "value"
OUTPUT_SAID = {
    SOFTMAX: "softmax output used as it is",
    SIGMOID: "one sigmoid unit p made [1 - p, p]",
    LOGITS: "linear output (logits): softmax added",
    LOGIT: "one linear unit (a logit): sigmoid added, then [1 - p, p]",
    VALUE: "one linear unit: a regression prediction, rescaled as the target was",
}


def _output_kind(model: keras.Model, split: Split, loss: str | None, where: str) -> str:
    """What the member's output is, from its last layer's activation, checked against the task
    and the number of classes."""
    units = model.output_shape[-1]
    activation = _last_activation(model, where)
    n = split.n_classes
    if len(model.output_shape) != 2:
        raise StackgenError(
            f"{where}: the member's output has shape {list(model.output_shape[1:])} per row; a "
            "member gives one row of class probabilities (or one value) per example"
        )
    if split.task.name == "regression":
        if units != 1 or activation != "linear":
            raise StackgenError(
                f"{where}: a regression run needs members with one linear output unit; this "
                f"one has {units} ({activation} activation)"
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
                f"{loss or 'unknown'}) in a classification run"
                + ("" if loss else "; if it outputs a logit, save it compiled with its loss")
            )
        raise StackgenError(f"{where}: its one output unit has a {activation} activation")
    if units != n:
        raise StackgenError(
            f"{where}: the member outputs {units} classes; the data has {n} "
            f"({', '.join(split.class_names[:6])}{', ...' if n > 6 else ''})"
        )
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


def wrap(model: keras.Model, name: str, kind: str, split: Split, reads: list[str]) -> keras.Model:
    """``model`` inside a new model ``name`` whose output is class probabilities (or the
    standardised target); one input per input of ``model``, named after the data input it reads."""
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
    if kind == VALUE:  # the split keeps (y - mean) / std
        mean, std = float(split.params["target_mean"]), split.target_scale
        x = keras.layers.Rescaling(1.0 / std, offset=-mean / std, name=f"{name}_standardise")(x)
    return keras.Model(ins[0] if len(ins) == 1 else ins, x, name=name)


def member_reads(model: keras.Model) -> list[str]:
    """The data inputs a member (or any stackgen network) reads, from its inputs' names."""
    return [t.name for t in model.inputs]


# --- the cv protocol: fresh copies on the folds -------------------------------------------------


def _training(compile_config: dict | None, loss: str | None, kind: str, model: keras.Model):
    """(the optimizer and loss a fresh copy trains with, None) or (None, why it cannot)."""
    if not compile_config or not compile_config.get("loss") or not compile_config.get("optimizer"):
        return None, "it was saved without a training configuration (uncompiled)"
    known = (*SPARSE, *ONE_HOT, *BINARY) if kind != VALUE else VALUES
    if loss not in known:
        return None, f"its loss {loss or 'unknown'} is not one stackgen can give labels to"
    training_config = {"optimizer": compile_config["optimizer"], "loss": compile_config["loss"]}
    try:
        _rebuild(training_config)
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
    return training_config, None


def _rebuild(training_config: dict):
    """A new optimizer and the loss, from a member's saved training configuration."""
    optimizer = keras.optimizers.deserialize(training_config["optimizer"])
    loss = training_config["loss"]
    loss = keras.losses.deserialize(loss) if isinstance(loss, dict) else keras.losses.get(loss)
    return optimizer, loss


def _leaves(model: keras.Model):
    """Every layer of ``model`` that is not itself a model, nested models opened."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaves(layer)
        else:
            yield layer


def cv_refusal(imported: list[Imported], split: Split) -> str | None:
    """Why the cv protocol cannot retrain these members, or None."""
    if not split.has_train:
        return "the data has no train arrays to retrain the members on"
    for item in imported:
        if item.training is None:
            return f"{item.source.name} cannot be retrained: {item.why_no_training}"
    return None


def out_of_fold(
    imported: list[Imported], split: Split, cfg: Config
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities [train rows, members, classes] and each row's fold: for every
    fold, a fresh copy of every member (new weights from the member's seed, the file's optimizer
    and loss, ``cfg.epochs``) trains on the other folds and predicts only the held-out one."""
    fold_of = cv_folds(split.train_y, cfg.folds, cfg.seed, split.task)
    oof = np.full((len(split.train_y), len(imported), split.n_classes), np.nan, dtype=np.float32)
    for fold in range(cfg.folds):
        fit_rows = np.flatnonzero(fold_of != fold)
        held_out = np.flatnonzero(fold_of == fold)
        for m, item in enumerate(imported):
            copy = fit_copy(item, split, fit_rows, cfg.member_seed(m + 1), cfg)
            wrapper = wrap(copy, f"fold_{fold + 1}_member_{m + 1}", item.kind, split, item.reads)
            oof[held_out, m] = training.predict_proba(wrapper, inputs.take(split.train_X, held_out))
    return oof, fold_of


def fit_copy(
    item: Imported,
    split: Split,
    rows: np.ndarray,
    seed: int,
    cfg: Config,
) -> keras.Model:
    """A fresh copy of the member's architecture (new weights from ``seed``) trained on the
    training rows ``rows`` with the file's optimizer and loss."""
    training.seed_everything(seed)
    copy = keras.models.clone_model(item.original)
    optimizer, loss = _rebuild(item.training)
    X = inputs.take(split.train_X, rows)
    training.fit(
        copy,
        X,
        native_targets(item, split, split.train_y[rows]),
        task=split.task,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        seed=seed,
        optimizer=optimizer,
        loss=loss,
    )
    return copy


def native_targets(item: Imported, split: Split, y: np.ndarray):
    """Labels ``y`` as the member's own loss takes them."""
    loss = _loss_name(item.training)
    if split.task.name == "regression":  # the member predicts the target in its own units
        mean, std = float(split.params["target_mean"]), split.target_scale
        return (y.astype(np.float64) * std + mean).astype(np.float32).reshape(-1, 1)
    if loss in SPARSE:
        return y.astype(np.float32)
    if loss in BINARY and item.original.output_shape[-1] == 1:
        return y.astype(np.float32).reshape(-1, 1)
    return split.targets(y)
