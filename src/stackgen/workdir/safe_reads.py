"""Reading back what the steps saved without running code from the files, and saying in one
line which step makes a file again when it cannot be read.

Keras models load with ``safe_mode``; meta-learners and a table's column transformer through
skops with an explicit list of trusted types (``trust/skops_files.py``), or from JSON numbers
(``workdir/metalearner_files.py``); the split is a NumPy archive read with ``allow_pickle=False``.
Keras is imported here only when a model is loaded.
"""

from __future__ import annotations

from pathlib import Path

from stackgen.trust import skops_files
from stackgen.trust.errors import StackgenError, UnreadableFileError, UntrustedFileError
from stackgen.workdir.paths import Paths, corrupt, remake_hint, require


def load_keras_model(path: Path, paths: Paths):
    """A saved Keras model, uncompiled, or one line naming the step that makes it."""
    import keras  # heavy: only when a model is loaded

    require(path, paths)
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for unreadable archives
        raise corrupt(path, paths, exc) from None


def load_skops(path: Path, paths: Paths, trusted: list[str]):
    """What a skops file a step saved holds, refused in one line if it holds any type not in
    ``trusted`` (beyond those skops trusts itself), instead of running it."""
    require(path, paths)
    try:
        return skops_files.load(path, trusted)
    except UntrustedFileError as exc:
        raise StackgenError(
            f"{paths.rel(path)} holds types this project does not trust "
            f"({', '.join(exc.types[:3])}); refusing to load it: {remake_hint(path, paths)}"
        ) from None
    except UnreadableFileError as exc:
        raise corrupt(path, paths, exc.reason) from None
