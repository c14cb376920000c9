"""Reading back what the steps saved without running code from the files.

Keras models load with ``safe_mode`` (a Lambda layer or other deserialisation that would run code
is refused); meta-learners and a table's column transformer load through skops with an explicit
list of trusted types (``trust/skops_files.py``), or from JSON numbers
(``methods/metalearner_files.py``); the split is a NumPy archive read with
``allow_pickle=False``. Keras is imported here only when a model is loaded.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from stackgen.trust.errors import StackgenError
from stackgen.trust.paths import Paths, corrupt, require


def load_keras_model(path: Path, paths: Paths):
    """A saved Keras model, uncompiled, or one line naming the step that makes it."""
    import keras  # heavy: only when a model is loaded

    require(path, paths)
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for unreadable archives
        raise corrupt(path, paths, exc) from None


LAMBDA = (
    "{where}: has a Lambda layer, whose code stackgen never runs (safe mode); rebuild the "
    "member with built-in layers"
)


def keras_archive_config(path: Path, where: str) -> dict:
    """The ``config.json`` of a ``.keras`` archive the user gives, read as JSON (no code, no
    Keras): whether the file is there and is such an archive at all, and what it holds. A
    Lambda layer anywhere in it is refused here, whatever it calls, before Keras reads it."""
    if not path.is_file():
        raise StackgenError(f"{where}: no such file ({path})")
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        h5 = path.suffix in (".h5", ".hdf5")
        legacy = " (an HDF5 file: load it and save it again as .keras)" if h5 else ""
        raise StackgenError(
            f"{where}: not a .keras archive{legacy}; save each member with model.save('name.keras')"
        ) from None
    if not isinstance(config, dict):
        raise StackgenError(f"{where}: its config.json is not a Keras model's configuration")
    if _has_lambda(config.get("config")):
        raise StackgenError(LAMBDA.format(where=where))
    return config


def _has_lambda(config) -> bool:
    """Whether a model's JSON configuration has a Lambda layer anywhere, nested models too."""
    if isinstance(config, dict):
        if config.get("class_name") == "Lambda":
            return True
        return any(_has_lambda(v) for v in config.values())
    if isinstance(config, list):
        return any(_has_lambda(v) for v in config)
    return False
