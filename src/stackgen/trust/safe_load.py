"""Keras files a user gives, looked at before Keras reads them.

Keras models load with ``safe_mode`` (a Lambda layer or other deserialisation that would run code
is refused); before that, ``keras_archive_config`` reads a ``.keras`` archive's configuration as
JSON and refuses a Lambda layer anywhere in it, whatever it calls. Meta-learners and a table's
column transformer load through skops with an explicit list of trusted types
(``trust/skops_files.py``), or from JSON numbers; arrays with ``allow_pickle=False``.
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
