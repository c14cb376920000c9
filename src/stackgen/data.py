"""The data: the tutorial's blobs problem or a user's table; make it, save it, load it back.

No TensorFlow here: step 1 must run without paying for its import. Class labels are kept as
integer class indices (one-hot encoding happens where a Keras loss needs it); a regression
target is kept as standardised float32 values. The task is told by that dtype everywhere
downstream (``is_regression``) and recorded in the split's parameters.
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
    def task(self) -> str:
        return self.params.get("task", "classification")

    @property
    def regression(self) -> bool:
        return self.task == "regression"

    @property
    def metric(self) -> str:
        """What results files score with: "accuracy", or "r2" for regression."""
        return "r2" if self.regression else "accuracy"

    @property
    def n_classes(self) -> int:
        """Classes, or 1 (one output column) for regression."""
        if self.regression:
            return 1
        if "class_names" in self.params:
            return len(self.params["class_names"])
        return int(self.params["centers"])

    @property
    def class_names(self) -> list[str]:
        return [str(c) for c in self.params.get("class_names", range(self.n_classes))]

    @property
    def target_scale(self) -> float:
        """A regression target's standard deviation on the training rows (1 for blobs)."""
        return float(self.params.get("target_std", 1.0))

    def labels(self) -> dict:
        """What every results file says of its data: which data, the task, the metric."""
        return {"data": self.describe(), "task": self.task, "metric": self.metric}

    def describe(self) -> str:
        """Which data this is, for printouts, results and the report."""
        p = self.params
        if p.get("source") != "table":
            return (
                f"make_blobs(n_samples={p['n_samples']}, centers={p['centers']}, "
                f"n_features={p['n_features']}, cluster_std={p['cluster_std']}, "
                f"random_state={p['random_state']})"
            )
        what = f"{self.n_classes} classes" if self.task == "classification" else "regression"
        return (
            f"{p['file_name']} (target {p['target']!r}, {what}, {p['rows']} rows, "
            f"{self.n_features} features, sha256 {p['sha256'][:12]})"
        )

    @property
    def n_features(self) -> int:
        return int(self.train_X.shape[1])


def make_split(cfg: Config) -> Split:
    """The user's table (``cfg.data_file``), or make_blobs with the tutorial's arguments: the
    first ``n_train`` rows train, the rest test."""
    if cfg.data_file is not None:
        from stackgen import tables

        arrays, params = tables.load_table(
            Path(cfg.data_file),
            cfg.target,
            cfg.task,
            cfg.test_size,
            cfg.data_random_state,
            cfg.folds if "cv" in cfg.protocols else 2,
        )
        return Split(**arrays, params=params)
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
    """Load ``data/split.npz``, refusing anything a later step could silently mis-train on."""
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
    y_type = np.float32 if params.get("task") == "regression" else np.int64
    return Split(
        arrays["train_X"].astype(np.float32),
        arrays["train_y"].astype(y_type),
        arrays["test_X"].astype(np.float32),
        arrays["test_y"].astype(y_type),
        params,
    )


def _check_arrays(arrays: dict, params: dict) -> str | None:
    for part in ("train", "test"):
        X, y = arrays[f"{part}_X"], arrays[f"{part}_y"]
        if X.ndim != 2 or y.ndim != 1 or len(X) != len(y) or len(X) == 0:
            return f"{part} arrays have shapes {X.shape} and {y.shape}"
        label_type = np.floating if params.get("task") == "regression" else np.integer
        if not np.issubdtype(X.dtype, np.number) or not np.issubdtype(y.dtype, label_type):
            return f"{part} arrays have dtypes {X.dtype} and {y.dtype}"
        if not np.isfinite(X).all():
            return f"{part}_X holds NaN or infinite values"
        if params.get("task") == "regression" and not np.isfinite(y).all():
            return f"{part}_y holds NaN or infinite values"
    if arrays["train_X"].shape[1] != arrays["test_X"].shape[1]:
        return "train and test have different numbers of features"
    if params.get("task") == "regression":
        return None
    n_classes = params.get("centers", len(params.get("class_names", [])))
    if not isinstance(n_classes, int) or n_classes < 2:
        return "params_json has no valid class count"
    labels = np.concatenate([arrays["train_y"], arrays["test_y"]])
    if labels.min() < 0 or labels.max() >= n_classes:
        return f"labels outside 0..{n_classes - 1}"
    return None


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    """The tutorial's to_categorical, in NumPy so step 1 stays free of TensorFlow. A regression
    target (floats) becomes the single output column the network is trained on."""
    if is_regression(y):
        return y.astype(np.float32).reshape(-1, 1)
    return np.eye(n_classes, dtype=np.float32)[y]


def is_regression(y: np.ndarray) -> bool:
    """Regression targets are floats; class labels are integers."""
    return np.issubdtype(np.asarray(y).dtype, np.floating)
