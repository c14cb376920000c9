"""The tutorial's blobs problem: make it, split it, save it, load it back with checks.

No TensorFlow here: step 1 must run without paying for its import. Labels are kept as integer
class indices; one-hot encoding happens where a Keras loss needs it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import make_blobs

from stackgen.artifacts import Paths, corrupt, require, write_atomic
from stackgen.config import Config

ARRAYS = ("train_X", "train_y", "test_X", "test_y")


@dataclass(frozen=True)
class Split:
    train_X: np.ndarray
    train_y: np.ndarray
    test_X: np.ndarray
    test_y: np.ndarray
    params: dict

    @property
    def n_classes(self) -> int:
        return int(self.params["centers"])

    @property
    def n_features(self) -> int:
        return int(self.train_X.shape[1])


def make_split(cfg: Config) -> Split:
    """make_blobs with the tutorial's arguments; the first ``n_train`` rows train, the rest test."""
    X, y = make_blobs(
        n_samples=cfg.n_samples,
        centers=cfg.centers,
        n_features=cfg.n_features,
        cluster_std=cfg.cluster_std,
        random_state=cfg.data_random_state,
    )
    X = X.astype(np.float32)
    y = y.astype(np.int64)
    n = cfg.n_train
    return Split(X[:n], y[:n], X[n:], y[n:], cfg.data_params())


def save_split(split: Split, path: Path) -> Path:
    arrays = {name: getattr(split, name) for name in ARRAYS}
    params = np.array(json.dumps(split.params, sort_keys=True))

    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:  # a file object, so numpy does not append ".npz" to the name
            np.savez(fh, params_json=params, **arrays)

    return write_atomic(path, write)


def load_split(paths: Paths) -> Split:
    """Load ``data/blobs.npz``, refusing anything a later step could silently mis-train on."""
    path = require(paths.data, 1, paths)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in (*ARRAYS, "params_json") if k not in npz.files]
            if missing:
                raise ValueError(f"missing arrays {', '.join(missing)}")
            arrays = {k: npz[k] for k in ARRAYS}
            params = json.loads(str(npz["params_json"]))
    except Exception as exc:  # zip, pickle, key and JSON errors all mean the same to the user
        raise corrupt(path, 1, paths, exc) from None
    problem = _check_arrays(arrays, params)
    if problem:
        raise corrupt(path, 1, paths, problem)
    return Split(
        arrays["train_X"].astype(np.float32),
        arrays["train_y"].astype(np.int64),
        arrays["test_X"].astype(np.float32),
        arrays["test_y"].astype(np.int64),
        params,
    )


def _check_arrays(arrays: dict, params: dict) -> str | None:
    for part in ("train", "test"):
        X, y = arrays[f"{part}_X"], arrays[f"{part}_y"]
        if X.ndim != 2 or y.ndim != 1 or len(X) != len(y) or len(X) == 0:
            return f"{part} arrays have shapes {X.shape} and {y.shape}"
        if not np.issubdtype(X.dtype, np.number) or not np.issubdtype(y.dtype, np.integer):
            return f"{part} arrays have dtypes {X.dtype} and {y.dtype}"
        if not np.isfinite(X).all():
            return f"{part}_X holds NaN or infinite values"
    if arrays["train_X"].shape[1] != arrays["test_X"].shape[1]:
        return "train and test have different numbers of features"
    n_classes = params.get("centers")
    if not isinstance(n_classes, int) or n_classes < 2:
        return "params_json has no valid class count"
    labels = np.concatenate([arrays["train_y"], arrays["test_y"]])
    if labels.min() < 0 or labels.max() >= n_classes:
        return f"labels outside 0..{n_classes - 1}"
    return None


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    """The tutorial's to_categorical, in NumPy so step 1 stays free of TensorFlow."""
    return np.eye(n_classes, dtype=np.float32)[y]
