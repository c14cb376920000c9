"""What a network is fed: one array of rows, or several named ones (an image and its metadata).

A split's ``train_X`` and ``test_X`` are either one array ``[rows, ...]`` of any shape (the
blobs and tables: ``[rows, features]``; images ``[rows, h, w, c]``; sequences ``[rows, steps,
features]``), or a dict ``{name: array}`` whose names are those of the members' ``Input``
layers. Everything that picks rows, counts them, or feeds a model goes through here, so no step
has to know which of the two it holds. No Keras here.
"""

from __future__ import annotations

import hashlib

import numpy as np

Inputs = np.ndarray | dict[str, np.ndarray]
# Inputs at least this large are memory-mapped from the work dir's split rather than loaded
# (``workdir/mapped_arrays.py``) and fed to training a batch at a time (``is_large``).
LARGE_BYTES = 256 * 1024 * 1024


def count(X: Inputs) -> int:
    """Rows."""
    return len(next(iter(X.values()))) if isinstance(X, dict) else len(X)


def take(X: Inputs, rows: np.ndarray) -> Inputs:
    """The rows ``rows`` of every input."""
    if isinstance(X, dict):
        return {name: a[rows] for name, a in X.items()}
    return X[rows]


def shapes(X: Inputs) -> dict[str, tuple[int, ...]]:
    """Each input's shape of one row: {"X": (8, 8, 1)} for a single unnamed input."""
    if isinstance(X, dict):
        return {name: tuple(a.shape[1:]) for name, a in X.items()}
    return {"X": tuple(X.shape[1:])}


def is_flat(X: Inputs) -> bool:
    """One input of plain feature columns, [rows, features]: what an MLP and a meta-learner's
    raw input (passthrough) take."""
    return not isinstance(X, dict) and X.ndim == 2


def is_images(X: Inputs) -> bool:
    """One input of images, [rows, height, width, channels]: what ``small_cnn`` reads."""
    return not isinstance(X, dict) and X.ndim == 4


def is_large(X: Inputs) -> bool:
    """Inputs too large to copy whole (into a tensor, or for each fold): read in batches."""
    arrays = X.values() if isinstance(X, dict) else [X]
    return sum(a.nbytes for a in arrays) >= LARGE_BYTES


def blocks(a: np.ndarray, block_bytes: int = 4 * 1024 * 1024):
    """``a`` (one array: a memory map, say) a block of whole rows at a time, each about
    ``block_bytes`` (at least one row)."""
    row_bytes = a.itemsize * int(np.prod(a.shape[1:], dtype=np.int64))
    step = max(1, block_bytes // max(row_bytes, 1))
    for start in range(0, len(a), step):
        yield a[start : start + step]


def as_float32(X: Inputs) -> Inputs:
    """float32 inputs; float32 ones as they are (a memory map stays one, uncopied)."""
    if isinstance(X, dict):
        return {name: _float32(a) for name, a in X.items()}
    return _float32(X)


def _float32(a: np.ndarray) -> np.ndarray:
    return a if isinstance(a, np.ndarray) and a.dtype == np.float32 else np.asarray(a, np.float32)


def feed(X: Inputs, names: list[str] | None) -> np.ndarray | list[np.ndarray]:
    """What to call a model with: the single array, or the arrays of ``names`` (the model's
    inputs, in its order)."""
    X = as_float32(X)
    if not isinstance(X, dict):
        return X
    arrays = [X[name] for name in names]
    return arrays[0] if len(arrays) == 1 else arrays


def describe_shapes(X: Inputs) -> str:
    """ "image [8, 8, 1], extra [3]", or "[8, 8, 1]" for a single input."""
    if isinstance(X, dict):
        return ", ".join(f"{name} {list(shape)}" for name, shape in shapes(X).items())
    return str(list(X.shape[1:]))


def row_digests(X: Inputs) -> np.ndarray:
    """One digest per row over every input, to find rows that appear in two sets."""
    arrays = [X[name] for name in sorted(X)] if isinstance(X, dict) else [X]
    flat = [np.ascontiguousarray(a.reshape(len(a), -1)) for a in arrays]
    return np.array(
        [
            hashlib.sha1(b"".join(a[i].tobytes() for a in flat)).hexdigest()
            for i in range(len(flat[0]))
        ]
    )


def shared_rows(train_X: Inputs, test_X: Inputs) -> int:
    """How many test rows are, input for input, identical to some training row."""
    if count(train_X) == 0:
        return 0
    return int(np.isin(row_digests(test_X), row_digests(train_X)).sum())
