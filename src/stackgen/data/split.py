"""The split every step after step 1 reads: train and test rows, their task, what they came from.

No Keras here: step 1 must run without paying for its import. Class labels are kept as integer
class indices (the task one-hot encodes them where a Keras loss needs it); a regression target is
kept as standardised float32 values. The task is recorded in the split's parameters and owned by
``Split.task`` (``data/task.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stackgen import registry
from stackgen.config import Config
from stackgen.data import arrays as npz_arrays
from stackgen.data import blobs, columns, inputs, tables
from stackgen.data.task import Task, task_named
from stackgen.trust.atomic import write_atomic
from stackgen.trust.errors import StackgenError
from stackgen.trust.paths import Paths, corrupt, require

ARRAYS = ("train_X", "train_y", "test_X", "test_y")


@dataclass(frozen=True)
class Split:
    """Train and test rows. X is one array or {input name: array} (``data/inputs.py``); with
    members trained elsewhere there may be no training rows (``has_train``)."""

    train_X: inputs.Inputs
    train_y: np.ndarray
    test_X: inputs.Inputs
    test_y: np.ndarray
    params: dict
    # A table's fitted column transformer (data/columns.py), when step 1 has just made it; a
    # split loaded from disk leaves it in data/preprocess.skops.
    preprocessor: object = field(default=None, compare=False, repr=False)

    @property
    def task(self) -> Task:
        return task_named(self.params.get("task", "classification"))

    @property
    def n_outputs(self) -> int:
        """Units of every network's last layer: the classes, or 1 for regression."""
        return self.task.outputs(self.n_classes)

    @property
    def n_classes(self) -> int:
        """Classes, or 1 (one output column) for regression."""
        if self.task.name == "regression":
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
        labels = {"data": self.describe(), "task": self.task.name, "metric": self.task.metric}
        if "columns" in self.params:  # a table: each column's kind and what was done to it
            labels["table_columns"] = [
                {"name": c.name, "kind": c.kind, "treatment": c.treatment()}
                for c in columns.from_params(self.params)
            ]
        return labels

    def describe(self) -> str:
        """Which data this is, for printouts, results and the report."""
        p = self.params
        what = f"{self.n_classes} classes" if self.task.name == "classification" else "regression"
        if p.get("source") == "arrays":
            return (
                f"{p['file_name']} ({what}, {len(self.train_y)} train and {len(self.test_y)} "
                f"test rows, input {inputs.describe_shapes(self.test_X)}, "
                f"sha256 {p['sha256'][:12]})"
            )
        if p.get("source") != "table":
            return (
                f"make_blobs(n_samples={p['n_samples']}, centers={p['centers']}, "
                f"n_features={p['n_features']}, cluster_std={p['cluster_std']}, "
                f"random_state={p['random_state']})"
            )
        return (
            f"{p['file_name']} (target {p['target']!r}, {what}, {p['rows']} rows, "
            f"{self.n_features} features, sha256 {p['sha256'][:12]})"
        )

    @property
    def feature_names(self) -> list[str]:
        """The columns of your table, or x1, x2, ... for the blobs."""
        names = self.params.get("feature_names")
        return [str(n) for n in names] if names else [f"x{j + 1}" for j in range(self.n_features)]

    @property
    def n_features(self) -> int:
        """Feature columns of flat data; for images, sequences or several inputs, the values in
        one row of all inputs together."""
        return sum(int(np.prod(shape)) for shape in inputs.shapes(self.test_X).values())

    @property
    def flat(self) -> bool:
        """One input of feature columns: what stackgen's own MLPs read."""
        return inputs.is_flat(self.test_X)

    @property
    def has_train(self) -> bool:
        return len(self.train_y) > 0

    @property
    def input_names(self) -> list[str] | None:
        """The names of several inputs, matched to the members' Input layers; None for one."""
        return sorted(self.test_X) if isinstance(self.test_X, dict) else None

    def targets(self, y: np.ndarray) -> np.ndarray:
        """What the networks are trained to output for labels ``y`` (one-hot, or one column)."""
        return self.task.targets(y, self.n_classes)

    def score(self, outputs: np.ndarray, y: np.ndarray) -> float:
        return self.task.score(outputs, y)

    def headline(self, outputs: np.ndarray, y: np.ndarray) -> str:
        """ "0.812" (accuracy), or "0.481 (RMSE 55.02)" (R2; RMSE in the target's units)."""
        return self.task.headline(outputs, y, self.target_scale)

    def numbers(self, outputs: np.ndarray, y: np.ndarray) -> dict:
        return self.task.numbers(outputs, y, self.target_scale)


def make_split(cfg: Config) -> Split:
    """The user's table (``cfg.data_file``), or the tutorial's blobs."""
    preprocessor = None  # a table's fitted column transformer
    if cfg.data_file is not None and Path(cfg.data_file).suffix == ".npz":
        arrays, params = npz_arrays.load_arrays(Path(cfg.data_file), cfg.task)
    elif cfg.data_file is not None:
        arrays, params, preprocessor = tables.load_table(
            Path(cfg.data_file),
            cfg.target,
            cfg.task,
            cfg.test_size,
            cfg.data_random_state,
            columns.Options(cfg.sep, cfg.categorical, cfg.drop),
        )
    else:
        arrays, params = blobs.make_blobs_split(cfg), cfg.data_params()
    problem = _check_arrays(arrays, params)
    if problem:  # never save a split that every later step would refuse
        raise StackgenError(f"step 1 cannot use this data: {problem}; nothing was written")
    return Split(**arrays, params=params, preprocessor=preprocessor)


def save_split(split: Split, path: Path) -> Path:
    arrays = {}
    for name in ARRAYS:
        value = getattr(split, name)
        if isinstance(value, dict):  # several inputs: train_X_<name>, test_X_<name>
            arrays.update({f"{name}_{key}": a for key, a in value.items()})
        else:
            arrays[name] = value
    params = np.array(json.dumps(split.params, sort_keys=True))

    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:  # a file object, so numpy does not append ".npz" to the name
            np.savez(fh, params_json=params, **arrays)

    return write_atomic(path, write)


def load_split(paths: Paths) -> Split:
    """Load ``data/split.npz``, refusing anything a later step could silently mis-train on."""
    path = require(paths.data, paths)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "params_json" not in npz.files:
                raise ValueError("missing arrays params_json")
            params = json.loads(str(npz["params_json"]))
            names = params.get("input_names")
            several = [f"{k}_{n}" for k in ARRAYS if k.endswith("_X") for n in names or []]
            expected = [k for k in ARRAYS if not (names and k.endswith("_X"))] + several
            missing = [k for k in expected if k not in npz.files]
            if missing:
                raise ValueError(f"missing arrays {', '.join(missing)}")
            arrays = {}
            for k in ARRAYS:
                if k.endswith("_X") and names:
                    arrays[k] = {n: npz[f"{k}_{n}"] for n in names}
                else:
                    arrays[k] = npz[k]
    except Exception as exc:  # zip, pickle, key and JSON errors all mean the same to the user
        raise corrupt(path, paths, exc) from None
    problem = _check_arrays(arrays, params)
    if problem:
        raise corrupt(path, paths, problem)
    y_type = task_named(params.get("task", "classification")).label_dtype
    return Split(
        inputs.as_float32(arrays["train_X"]),
        arrays["train_y"].astype(y_type),
        inputs.as_float32(arrays["test_X"]),
        arrays["test_y"].astype(y_type),
        params,
    )


def _check_arrays(arrays: dict, params: dict) -> str | None:
    own_arrays = params.get("source") == "arrays"  # any row shape; maybe no training rows
    for part in ("train", "test"):
        X, y = arrays[f"{part}_X"], arrays[f"{part}_y"]
        if isinstance(X, dict) != bool(params.get("input_names")):
            return f"{part}_X does not have the inputs params_json names"
        for a in X.values() if isinstance(X, dict) else [X]:
            if a.ndim < 2 or (a.ndim != 2 and not own_arrays) or y.ndim != 1 or len(a) != len(y):
                return f"{part} arrays have shapes {a.shape} and {y.shape}"
            if not np.issubdtype(a.dtype, np.number):
                return f"{part} arrays have dtypes {a.dtype} and {y.dtype}"
            if not np.isfinite(a).all():
                return f"{part}_X holds NaN or infinite values"
        if len(y) == 0 and not (own_arrays and part == "train"):
            return f"{part} arrays have no rows"
        label_type = np.floating if params.get("task") == "regression" else np.integer
        if not np.issubdtype(y.dtype, label_type):
            x_types = {a.dtype for a in (X.values() if isinstance(X, dict) else [X])}
            return f"{part} arrays have dtypes {', '.join(map(str, x_types))} and {y.dtype}"
        if params.get("task") == "regression" and not np.isfinite(y).all():
            return f"{part}_y holds NaN or infinite values"
    if inputs.shapes(arrays["train_X"]) != inputs.shapes(arrays["test_X"]):
        return "train and test have different numbers of features"
    if params.get("task") == "regression":
        return None
    n_classes = params.get("centers", len(params.get("class_names", [])))
    if not isinstance(n_classes, int) or n_classes < 2:
        return "params_json has no valid class count"
    labels = np.concatenate([arrays["train_y"], arrays["test_y"]]).astype(np.int64)
    if labels.min() < 0 or labels.max() >= n_classes:
        return f"labels outside 0..{n_classes - 1}"
    return None


def check_same_data(cfg: Config) -> None:
    """A later step given --data: refuse if step 1 made the work dir's split from other data."""
    paths = Paths.of(cfg)
    split = load_split(paths)
    p = split.params
    try:
        digest = tables.file_digest(cfg.data_file)
    except OSError:
        digest = None
    source = "arrays" if cfg.target is None else "table"
    if p.get("source") != source or p.get("sha256") != digest or p.get("target") != cfg.target:
        target = "" if cfg.target is None else f" with --target {cfg.target}"
        raise StackgenError(
            f"{paths.rel(paths.data)} was made from {split.describe()}, not "
            f"from {cfg.data_file.name}{target}: run "
            f"{registry.step(1).script}{cfg.identity_flags()} first"
        )
