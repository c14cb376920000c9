"""Keras files a user gives, looked at before Keras reads them.

Keras models load with ``safe_mode`` (a Lambda layer or other deserialisation that would run code
is refused); before that, ``member_file_config`` reads the model's configuration as JSON and
refuses a Lambda layer anywhere in it, whatever it calls: from a ``.keras`` archive's
``config.json``, or from the ``model_config`` attribute of a legacy HDF5 file (``.h5`` /
``.hdf5``, as the tutorial saves its members), where a Lambda layer carries its function's
bytecode. Meta-learners and a table's column transformer load through skops with an explicit
list of trusted types (``trust/skops_files.py``), or from JSON numbers; arrays with
``allow_pickle=False``.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from stackgen.trust.errors import StackgenError

LAMBDA = (
    "{where}: has a Lambda layer, whose code stackgen never runs (safe mode); rebuild the "
    "member with built-in layers"
)
HDF5_SUFFIXES = (".h5", ".hdf5")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
SAVE_AS = "save each member with model.save('name.keras') (or 'name.h5')"


def member_file_config(path: Path, where: str) -> dict:
    """A saved Keras model's configuration, read as JSON (no code, no Keras), as a ``.keras``
    archive's ``config.json`` has it (``config``, ``compile_config``): whether the file is
    there and is such a file at all, and what it holds. A Lambda layer anywhere in it is
    refused here, whatever it calls, before Keras reads it."""
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            raise StackgenError(
                f"{where}: a TensorFlow SavedModel folder ({path}), which Keras 3 loads only "
                "for inference, not as a model to stack: save it as .keras "
                "(model.save('member.keras')) where it was trained"
            )
        raise StackgenError(f"{where}: a folder ({path}), not a .keras or .h5 model file")
    if not path.is_file():
        raise StackgenError(f"{where}: no such file ({path})")
    hdf5 = _is_hdf5(path)
    if hdf5 and path.suffix.lower() not in HDF5_SUFFIXES:
        raise StackgenError(
            f"{where}: an HDF5 file named {path.suffix or 'without a suffix'}; "
            "name it .h5 so that Keras reads it as one"
        )
    config = _hdf5_config(path, where) if hdf5 else _archive_config(path, where)
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise StackgenError(f"{where}: its configuration is not a Keras model's")
    if _has_lambda(config.get("config")):
        raise StackgenError(LAMBDA.format(where=where))
    return config


def _is_hdf5(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE
    except OSError:
        return False


def _archive_config(path: Path, where: str):
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise StackgenError(
            f"{where}: neither a .keras archive nor a Keras HDF5 file; {SAVE_AS}"
        ) from None


def _hdf5_config(path: Path, where: str) -> dict:
    """A legacy HDF5 model's configuration and training settings, read from the file's
    attributes with h5py (plain strings: nothing in them is run), in the ``.keras`` archive's
    shape: ``config`` for the model, ``compile_config`` for its optimizer and loss."""
    import h5py  # noqa: PLC0415 - heavy, and only HDF5 members need it

    try:
        with h5py.File(path, "r") as fh:
            attrs = {k: fh.attrs[k] for k in ("model_config", "training_config") if k in fh.attrs}
    except (OSError, ValueError) as exc:
        raise StackgenError(f"{where}: an HDF5 file h5py cannot read ({str(exc)[:80]})") from None
    if "model_config" not in attrs:
        raise StackgenError(
            f"{where}: this HDF5 file holds no model configuration, weights at most (saved "
            f"with save_weights?); {SAVE_AS}"
        )
    try:
        model = json.loads(_text(attrs["model_config"]))
        training = attrs.get("training_config")
        training = json.loads(_text(training)) if training is not None else None
    except (ValueError, UnicodeDecodeError):
        raise StackgenError(f"{where}: its model configuration is not JSON") from None
    compile_config = None
    if isinstance(training, dict) and training.get("loss") and training.get("optimizer_config"):
        optimizer = _keras3_optimizer(training["optimizer_config"])
        compile_config = {"loss": training["loss"], "optimizer": optimizer}
    if not isinstance(model, dict):
        raise StackgenError(f"{where}: its configuration is not a Keras model's")
    return {**model, "compile_config": compile_config, "hdf5": True}


def _keras3_optimizer(optimizer):
    """A Keras 2 optimizer's configuration in Keras 3's words: ``lr`` is ``learning_rate``, and
    a ``decay`` of 0 (Keras 2's default, which Keras 3 no longer takes) is left out."""
    if not isinstance(optimizer, dict) or not isinstance(optimizer.get("config"), dict):
        return optimizer
    config = dict(optimizer["config"])
    if "lr" in config:
        config.setdefault("learning_rate", config.pop("lr"))
    if config.get("decay") in (0, 0.0):
        del config["decay"]
    return {**optimizer, "config": config}


def legacy_sequential_fixed(config: dict) -> dict | None:
    """The model configuration with an explicit input layer, where a Keras 2 ``Sequential``
    (``Dense(25, input_dim=2)``, as the tutorial builds its members) gave its first layer a
    ``batch_input_shape``, which Keras 3 would read as a shape per row; None where nothing
    needs fixing."""
    inner = config["config"]  # a dict: member_file_config checked
    layers = inner.get("layers")
    if config.get("class_name") != "Sequential" or not isinstance(layers, list):
        return None
    if not layers or not isinstance(layers[0], dict):
        return None
    first = layers[0].get("config")
    if layers[0].get("class_name") == "InputLayer" or not isinstance(first, dict):
        return None
    shape = first.get("batch_input_shape")
    if not isinstance(shape, list):
        return None
    first = {k: v for k, v in first.items() if k != "batch_input_shape"}
    dtype = first.get("dtype") if isinstance(first.get("dtype"), str) else "float32"
    given = {"class_name": "InputLayer", "config": {"batch_shape": shape, "dtype": dtype}}
    layers = [given, {**layers[0], "config": first}, *layers[1:]]
    kept = {k: v for k, v in config.items() if k not in ("compile_config", "hdf5")}
    return {**kept, "config": {**inner, "layers": layers}}


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _has_lambda(config) -> bool:
    """Whether a model's JSON configuration has a Lambda layer anywhere, nested models too."""
    if isinstance(config, dict):
        if config.get("class_name") == "Lambda":
            return True
        return any(_has_lambda(v) for v in config.values())
    if isinstance(config, list):
        return any(_has_lambda(v) for v in config)
    return False
