"""Reading back what the steps saved without running code from the files.

Keras models load with ``safe_mode`` (a Lambda layer or other deserialisation that would run code
is refused); meta-learners load through skops with an explicit list of trusted types, or from
JSON numbers (``methods/metalearner_files.py``); the split is a NumPy archive read with
``allow_pickle=False``. Keras is imported here only when a model is loaded.
"""

from __future__ import annotations

from pathlib import Path

from stackgen.trust.paths import Paths, corrupt, require


def load_keras_model(path: Path, paths: Paths):
    """A saved Keras model, uncompiled, or one line naming the step that makes it."""
    import keras  # heavy: only when a model is loaded

    require(path, paths)
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for unreadable archives
        raise corrupt(path, paths, exc) from None
