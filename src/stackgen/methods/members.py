"""The members: the tutorial's MLP, and how anything a user gives becomes a member.

A member is given as one of (``member_from``):

* a trained ``keras.Model``, used as it is (a "prefit" member); the stack keeps its own copy, so
  the model given is never changed;
* a path to a ``.keras`` file, loaded in safe mode (a Lambda layer's code never runs), then the
  same;
* a builder: a callable that takes any of the keywords ``input_shape``, ``n_outputs`` and
  ``seed`` (and ``name``, when it wants the member's) and returns a compiled, untrained
  ``keras.Model``. ``tutorial_mlp(hidden=25)`` is the tutorial's member as such a builder.

Each is checked against the data and wrapped to give class probabilities
(``member_checks.py``). Member ``i`` (1-based) is seeded with its own seed, which fixes a
builder's weights, the fresh copies' weights and every shuffle. Every layer of the tutorial's
MLP is named after its member (``member_3_hidden``), so members can be embedded side by side in
one functional model without the "name is used N times" errors the tutorial's readers hit.
Training them is ``fitting.py``'s business.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
from sklearn.base import BaseEstimator

from stackgen.data import inputs
from stackgen.data.task import Classes
from stackgen.methods import compiled_loop, loop_base, member_checks, training
from stackgen.methods.member_checks import OUTPUT_SAID, SOFTMAX, VALUE
from stackgen.trust.errors import StackgenError, StackgenTypeError
from stackgen.trust.safe_load import LAMBDA, legacy_sequential_fixed, member_file_config

BUILDER_KEYWORDS = ("input_shape", "n_outputs", "seed", "name")


def build_mlp(
    name: str,
    n_features: int,
    n_outputs: int,
    hidden: int | tuple[int, ...],
    activation: str = "softmax",
) -> keras.Model:
    """Dense(h, relu) for each hidden width -> Dense(outputs, softmax), or Dense(1, linear) for
    regression; Glorot-uniform weights drawn from the global seed. The tutorial's MLP is
    ``hidden=25``."""
    widths = (hidden,) if isinstance(hidden, int) else tuple(hidden)
    x = inputs = keras.Input(shape=(n_features,), name=f"{name}_input")
    for depth, width in enumerate(widths, start=1):
        suffix = "hidden" if len(widths) == 1 else f"hidden_{depth}"
        x = keras.layers.Dense(width, activation="relu", name=f"{name}_{suffix}")(x)
    outputs = keras.layers.Dense(n_outputs, activation=activation, name=f"{name}_output")(x)
    return keras.Model(inputs, outputs, name=name)


class TutorialMLP(BaseEstimator):
    """A builder of the tutorial's member: Dense(hidden, relu) -> Dense(classes, softmax), or
    Dense(1, linear) for regression, compiled with Keras's default Adam and the tutorial's loss.
    ``hidden`` may be a tuple of widths for a deeper member. Its parameters are scikit-learn's
    (``get_params``), so ``clone`` copies it."""

    def __init__(self, hidden: int | tuple[int, ...] = 25):
        self.hidden = hidden

    def __call__(
        self, input_shape: tuple[int, ...], n_outputs: int, seed: int | None = None, name=None
    ) -> keras.Model:
        widths = (self.hidden,) if isinstance(self.hidden, int | np.integer) else self.hidden
        if not widths or not all(isinstance(w, int | np.integer) and w >= 1 for w in widths):
            raise StackgenError(
                f"tutorial_mlp(hidden={self.hidden!r}): hidden is a whole number of units, or "
                "a tuple of them, each at least 1"
            )
        if isinstance(input_shape, dict) or len(input_shape) != 1:
            raise StackgenError(
                f"tutorial_mlp reads rows of feature columns; the data's rows have shape "
                f"{input_shape}: give members built for it (a CNN for images, say)"
            )
        regression = n_outputs == 1
        model = build_mlp(
            name or "tutorial_mlp",
            int(input_shape[0]),
            n_outputs,
            tuple(int(w) for w in widths) if len(widths) > 1 else int(widths[0]),
            "linear" if regression else "softmax",
        )
        model.compile(
            optimizer=keras.optimizers.Adam(),  # Keras's defaults, as in the tutorial
            loss="mean_squared_error" if regression else "categorical_crossentropy",
            metrics=None if regression else ["accuracy"],
        )
        return model

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        return f"tutorial_mlp(hidden={self.hidden!r})"


def tutorial_mlp(hidden: int | tuple[int, ...] = 25) -> TutorialMLP:
    """The tutorial's member as a builder: ``members=[stackgen.tutorial_mlp()] * 5``."""
    return TutorialMLP(hidden)


class SmallCNN(BaseEstimator):
    """A builder of a small CNN for images [height, width, channels] of pixel values 0-255 (what
    a folder of images gives, ``--data DIR``): Rescaling(1/255) -> Conv2D(filters, 3, relu,
    same padding) -> MaxPooling2D(2) -> Flatten -> Dense(classes, softmax), or Dense(1, linear)
    for regression; compiled with Keras's default Adam and the task's loss, as the tutorial's
    MLP is. What step 3 trains when the data is images and no ``--member-files`` are given."""

    def __init__(self, filters: int = 16):
        self.filters = filters

    def __call__(
        self, input_shape: tuple[int, ...], n_outputs: int, seed: int | None = None, name=None
    ) -> keras.Model:
        if not isinstance(self.filters, int | np.integer) or self.filters < 1:
            raise StackgenError(f"small_cnn(filters={self.filters!r}): a whole number, 1 or more")
        if isinstance(input_shape, dict) or len(input_shape) != 3 or min(input_shape[:2]) < 2:
            raise StackgenError(
                f"small_cnn reads images [height, width, channels], each side 2 or more; the "
                f"data's rows have shape {input_shape}"
            )
        name = name or "small_cnn"
        regression = n_outputs == 1
        x = image = keras.Input(shape=tuple(int(s) for s in input_shape), name=f"{name}_input")
        x = keras.layers.Rescaling(1 / 255, name=f"{name}_rescale")(x)
        x = keras.layers.Conv2D(
            int(self.filters), 3, padding="same", activation="relu", name=f"{name}_conv"
        )(x)
        x = keras.layers.MaxPooling2D(2, name=f"{name}_pool")(x)
        x = keras.layers.Flatten(name=f"{name}_flatten")(x)
        activation = "linear" if regression else "softmax"
        outputs = keras.layers.Dense(n_outputs, activation=activation, name=f"{name}_output")(x)
        model = keras.Model(image, outputs, name=name)
        model.compile(
            optimizer=keras.optimizers.Adam(),
            loss="mean_squared_error" if regression else "categorical_crossentropy",
            metrics=None if regression else ["accuracy"],
        )
        return model

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        return f"small_cnn(filters={self.filters!r})"


def small_cnn(filters: int = 16) -> SmallCNN:
    """A small CNN for images as a builder: ``members=[stackgen.small_cnn()] * 3``."""
    return SmallCNN(filters)


def member_name(index: int) -> str:
    return f"member_{index}"


@dataclass
class Member:
    """One member, whatever it was given as: its place and seed, what it reads and outputs,
    how a fresh copy is made and trained, and (for one trained elsewhere) the model itself."""

    index: int  # 1-based place in the ensemble: it is called member_<index>
    seed: int
    where: str  # the caller's name for it, for messages
    kind: str  # what its output is (member_checks: SOFTMAX, SIGMOID, LOGITS, LOGIT, VALUE)
    reads: list[str]  # the data inputs it reads, in the order of its own inputs
    settings: dict | None  # the optimizer and loss a fresh copy trains with; None: cannot
    why_not: str | None  # why no fresh copy can be trained
    given: keras.Model | None = None  # trained elsewhere: used as it is
    builder: Callable | None = None
    build_args: dict = field(default_factory=dict)
    plain: bool = False  # one input of features, Dense layers, default Adam, the task's loss
    own_units: bool = False  # a regression member that predicts in the target's own units
    source: Path | None = None
    sha256: str | None = None
    first: keras.Model | None = field(default=None, repr=False)  # a builder's first model

    @property
    def name(self) -> str:
        return member_name(self.index)

    @property
    def output(self) -> str:
        """What was done to the output, as printed."""
        return OUTPUT_SAID[self.kind]

    def start(self) -> keras.Model:
        """An untrained model to train as the final member: the builder's first model."""
        model, self.first = self.first, None
        return model if model is not None else self.fresh()

    def fresh(self) -> keras.Model:
        """A new untrained copy, its weights drawn from the member's seed: the builder called
        again, or the given model's architecture cloned."""
        training.seed_everything(self.seed)
        if self.builder is not None:
            return call_builder(self.builder, self.build_args, self.where)
        return keras.models.clone_model(self.given)

    def wrapped(self, model: keras.Model, target: tuple[float, float] | None) -> keras.Model:
        """``model`` (this member's, or a copy's) as the stack uses it: ``member_<index>``,
        giving class probabilities (or the standardised target). A model built as that
        already is used as it is."""
        already = self.kind == SOFTMAX or (self.kind == VALUE and not self.own_units)
        if already and model.name == self.name and self.given is None:
            return model
        return member_checks.wrap(
            model, self.name, self.kind, self.reads, target if self.own_units else None
        )

    def targets(self, y: np.ndarray, classes: Classes, target) -> np.ndarray:
        """What this member (or a copy) is trained to output for labels ``y``."""
        if self.plain:
            return classes.task.targets(y, classes.n_classes)
        return member_checks.native_targets(
            self.settings,
            self.given if self.given is not None else self.build_args["model"],
            classes.task,
            y,
            classes.n_classes,
            target if self.own_units else None,
        )

    def record(self) -> dict:
        """What the manifest and the report say of a member trained elsewhere."""
        return {
            "source": str(self.source) if self.source else None,
            "sha256": self.sha256,
            "output": self.output,
            "inputs": self.reads,
            "retrainable": self.settings is not None,
        }


def member_from(
    item, index: int, seed: int, X: inputs.Inputs, classes: Classes, where: str
) -> Member:
    """The member ``item`` (a trained model, a path to a ``.keras`` file, or a builder) at
    place ``index``, checked against rows ``X`` and the classes; ``where`` names it in errors."""
    if isinstance(item, keras.Model):
        return _given(item, index, seed, X, classes, where, member_checks.compile_settings(item))
    if isinstance(item, str | os.PathLike):
        path = Path(item).expanduser()
        model, config = load_member_file(path, where)
        member = _given(model, index, seed, X, classes, where, config)
        member.source, member.sha256 = path.resolve(), _digest(path)
        return member
    if callable(item) and not isinstance(item, type):
        return _built(item, index, seed, X, classes, where)
    raise StackgenTypeError(
        f"{where} is a {type(item).__name__}; a member is a trained keras.Model, the path of a "
        ".keras file, or a builder (a function that returns a compiled keras.Model)"
    )


def _given(model, index, seed, X, classes, where, compile_config) -> Member:
    reads = member_checks.match_inputs(model, X, where)
    loss = member_checks.loss_name(compile_config)
    kind = member_checks.output_kind(model, classes, loss, where)
    settings, why = member_checks.training_settings(compile_config, loss, kind, model)
    return Member(
        index, seed, where, kind, reads, settings, why, given=model, own_units=kind == VALUE
    )


def _built(builder, index, seed, X, classes, where) -> Member:
    shapes = inputs.shapes(X)
    args = {
        "input_shape": shapes if isinstance(X, dict) else shapes["X"],
        "n_outputs": classes.n_outputs,
        "seed": seed,
        "name": member_name(index),
    }
    training.seed_everything(seed)
    model = call_builder(builder, args, where)
    compile_config = member_checks.compile_settings(model)
    if compile_config is None:
        raise StackgenError(
            f"{where}: the builder returned an uncompiled model; compile it with an optimizer "
            "and a loss (model.compile(optimizer='adam', loss=...)) before returning it"
        )
    reads = member_checks.match_inputs(model, X, where)
    loss = member_checks.loss_name(compile_config)
    kind = member_checks.output_kind(model, classes, loss, where)
    settings, why = member_checks.training_settings(compile_config, loss, kind, model)
    if settings is None:
        raise StackgenError(f"{where}: stackgen cannot train the builder's model: {why}")
    member = Member(
        index,
        seed,
        where,
        kind,
        reads,
        settings,
        None,
        builder=builder,
        build_args={**args, "model": model},
        plain=inputs.is_flat(X) and is_plain(model, classes, kind, compile_config),
        first=model,
    )
    return member


def call_builder(builder, args: dict, where: str) -> keras.Model:
    """``builder`` called with the keywords it takes of ``args``; its model, or one line."""
    try:
        parameters = inspect.signature(builder).parameters
    except (TypeError, ValueError):  # a builtin or C callable: offer every keyword
        parameters = {}
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    given = {
        k: v
        for k, v in args.items()
        if k in BUILDER_KEYWORDS and (takes_all or k in parameters) and k != "model"
    }
    model = builder(**given)
    if not isinstance(model, keras.Model):
        raise StackgenTypeError(
            f"{where}: the builder returned a {type(model).__name__}, not a keras.Model"
        )
    return model


def is_plain(model: keras.Model, classes: Classes, kind: str, compile_config: dict) -> bool:
    """Whether ``model`` trains exactly as the tutorial's member does, so that it can train
    side by side with others (``side_by_side.py``): a chain of Dense layers on one input, a
    softmax (or, for regression, linear) output, Keras's default Adam and the task's loss."""
    if compiled_loop.dense_chain_twin(model) is None:
        return False
    if kind != (VALUE if classes.task.name == "regression" else SOFTMAX):
        return False
    optimizer = getattr(model, "optimizer", None)
    if not loop_base.keras_adam(optimizer):
        return False
    defaults = keras.optimizers.Adam().get_config()
    if {k: v for k, v in optimizer.get_config().items() if k != "name"} != {
        k: v for k, v in defaults.items() if k != "name"
    }:
        return False
    loss = model.loss
    if isinstance(loss, str):
        return member_checks.ALIASES.get(loss, loss) == classes.task.loss
    default = {"categorical_crossentropy": keras.losses.CategoricalCrossentropy}.get(
        classes.task.loss, keras.losses.MeanSquaredError
    )()
    return type(loss) is type(default) and loss.get_config() == default.get_config()


def load_member_file(path: Path, where: str) -> tuple[keras.Model, dict | None]:
    """A member saved as a ``.keras`` file or a legacy ``.h5`` one, loaded without running
    code from it, and the compile settings it was saved with."""
    config = member_file_config(path, where)  # also refuses any Lambda layer
    fixed = legacy_sequential_fixed(config) if config.get("hdf5") else None
    try:
        with _readable(path, fixed) as readable:
            model = keras.saving.load_model(readable, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for what it refuses
        text = str(exc)
        if "Lambda" in text or "safe_mode" in text:
            raise StackgenError(LAMBDA.format(where=where)) from None
        unknown = _unknown_custom(config.get("config"))
        if unknown:
            raise StackgenError(
                f"{where}: it uses {unknown!r}, a custom layer or function this process does "
                "not know: import the module that registers it "
                "(@keras.saving.register_keras_serializable) and stack it with the API, or "
                "rebuild the model from Keras's own layers"
            ) from None
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        raise StackgenError(f"{where}: Keras cannot load it safely: {_cut(first)}") from None
    return model, config.get("compile_config") or None


def _unknown_custom(config) -> str | None:
    """The registered name of the first object in a saved model's configuration that is not
    Keras's own and that this process has not registered, or None."""
    if isinstance(config, dict):
        module, name = config.get("module"), config.get("registered_name")
        if (
            isinstance(name, str)
            and "class_name" in config
            and not str(module or "").startswith("keras")
            and keras.saving.get_registered_object(name) is None
        ):
            return name
        found = (_unknown_custom(v) for v in config.values())
    elif isinstance(config, list):
        found = (_unknown_custom(v) for v in config)
    else:
        return None
    return next((f for f in found if f), None)


def _cut(text: str, most: int = 240) -> str:
    """``text`` up to ``most`` characters, cut at a word's end with "..." where it is longer."""
    return text if len(text) <= most else text[:most].rsplit(" ", 1)[0] + " ..."


@contextlib.contextmanager
def _readable(path: Path, fixed: dict | None):
    """``path``, or where ``fixed`` corrects its model configuration (a Keras 2 Sequential), a
    temporary copy of it holding that configuration: the user's file is never changed."""
    if fixed is None:
        yield path
        return
    import h5py  # noqa: PLC0415 - only a legacy HDF5 member needs it

    with tempfile.TemporaryDirectory(prefix="stackgen-h5-") as tmp:
        copy = Path(tmp) / path.name
        shutil.copyfile(path, copy)
        with h5py.File(copy, "r+") as fh:
            fh.attrs["model_config"] = json.dumps(fixed)
        yield copy


def own_copy(model: keras.Model, where: str = "the model") -> keras.Model:
    """A copy of a model, weights and all, so that nothing done to the copy (freezing it inside
    the integrated network, fine-tuning it) changes the original: rebuilt from its
    configuration, or else deep-copied; one line if neither can be done."""
    try:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        return copy
    except Exception:  # noqa: BLE001 - a model clone_model cannot rebuild (subclassed, say)
        pass
    try:
        return deepcopy(model)
    except Exception as exc:  # noqa: BLE001
        raise StackgenError(
            f"{where}: stackgen cannot make a copy of it to work on, so it would change yours "
            f"({str(exc)[:80]}); build it from Keras layers (the functional or Sequential API)"
        ) from None


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def member_probabilities(members: list[keras.Model], X: inputs.Inputs) -> list[np.ndarray]:
    """Each member's class probabilities for ``X``: a list of [n_samples, n_classes] arrays
    ([n_samples, 1] predicted values for regression)."""
    return [training.predict_proba(m, X) for m in members]
