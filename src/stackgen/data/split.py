"""The split every step after step 1 reads: train and test rows, their task, what they came from.

Made, saved and read back by the steps (``workdir/split_files.py``). No Keras here: step 1 must
run without paying for its import. Class labels are kept as integer
class indices (the task one-hot encodes them where a Keras loss needs it); a regression target is
kept as standardised float32 values. The task is recorded in the split's parameters and owned by
``Split.task`` (``data/task.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stackgen.data import columns, inputs
from stackgen.data.task import Classes, Task, task_named


@dataclass(frozen=True)
class Blobs:
    """The tutorial's make_blobs rows."""

    n_samples: int
    centers: int
    n_features: int
    cluster_std: float
    random_state: int

    def describe(self, split: Split) -> str:
        return (
            f"make_blobs(n_samples={self.n_samples}, centers={self.centers}, "
            f"n_features={self.n_features}, cluster_std={self.cluster_std}, "
            f"random_state={self.random_state})"
        )


@dataclass(frozen=True)
class TableFile:
    """Your CSV or Parquet table, split by step 1 (``workdir/table_files.py``)."""

    file: str
    file_name: str
    sha256: str
    target: str
    rows: int

    def describe(self, split: Split) -> str:
        return (
            f"{self.file_name} (target {self.target!r}, {_what(split)}, {self.rows} rows, "
            f"{split.n_features} features, sha256 {self.sha256[:12]})"
        )


@dataclass(frozen=True)
class ArrayFile:
    """Your .npz of arrays, split as the file splits them (``workdir/array_files.py``)."""

    file: str
    file_name: str
    sha256: str

    def describe(self, split: Split) -> str:
        return (
            f"{self.file_name} ({_what(split)}, {len(split.train_y)} train and "
            f"{len(split.test_y)} test rows, input {inputs.describe_shapes(split.test_X)}, "
            f"sha256 {self.sha256[:12]})"
        )


@dataclass(frozen=True)
class PredictionFile:
    """Members' predictions made anywhere, in an .npz (``--predictions``,
    ``workdir/prediction_files.py``): the split's X is a placeholder, its outputs given."""

    file: str
    file_name: str
    sha256: str
    members: tuple[str, ...]

    def describe(self, split: Split) -> str:
        return (
            f"{self.file_name} ({_what(split)}, {len(self.members)} members' predictions: "
            f"{len(split.train_y)} out-of-fold and {len(split.test_y)} test rows, sha256 "
            f"{self.sha256[:12]})"
        )


DataSource = Blobs | TableFile | ArrayFile | PredictionFile


def kind_of(params: dict) -> type:
    """Which kind of source a split's parameters describe (Blobs for none at all)."""
    kinds = {"table": TableFile, "arrays": ArrayFile, "predictions": PredictionFile}
    return kinds.get(params.get("source"), Blobs)


def source_of(params: dict) -> DataSource:
    """Where a split's rows came from, from its saved parameters; a ``KeyError`` naming what a
    damaged record lacks."""
    kind = params.get("source")
    if kind == "table":
        return TableFile(
            params["file"], params["file_name"], params["sha256"], params["target"], params["rows"]
        )
    if kind == "arrays":
        return ArrayFile(params["file"], params["file_name"], params["sha256"])
    if kind == "predictions":
        return PredictionFile(
            params["file"], params["file_name"], params["sha256"], tuple(params["members"])
        )
    return Blobs(
        params["n_samples"],
        params["centers"],
        params["n_features"],
        params["cluster_std"],
        params["random_state"],
    )


def _what(split: Split) -> str:
    return f"{split.n_classes} classes" if split.task.name == "classification" else "regression"


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
    # What the protocols must respect beyond X and y (--groups, --weights): each row's group
    # (no group is ever on both sides of a split) and weight, or None. A time order (--time) is
    # the rows' own: step 1 sorts them, and the test rows are the latest (``ordered``).
    train_groups: np.ndarray | None = field(default=None, compare=False, repr=False)
    test_groups: np.ndarray | None = field(default=None, compare=False, repr=False)
    train_weights: np.ndarray | None = field(default=None, compare=False, repr=False)
    test_weights: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def grouped(self) -> bool:
        return self.test_groups is not None

    @property
    def ordered(self) -> bool:
        """Rows in time order (``--time``): every test row is later than every training row."""
        return bool(self.params.get("time"))

    def order(self, part: str) -> np.ndarray | None:
        """Each row's place in time, for ``part`` ("train" or "test"), or None: rows with no
        order."""
        return np.arange(len(getattr(self, f"{part}_y"))) if self.ordered else None

    def groups(self, part: str) -> np.ndarray | None:
        return getattr(self, f"{part}_groups")

    def weights(self, part: str) -> np.ndarray | None:
        return getattr(self, f"{part}_weights")

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
    def classes(self) -> Classes:
        """The task and the classes every member is checked against and trained on."""
        return Classes(self.task, self.n_classes, tuple(self.class_names))

    @property
    def target_scale(self) -> float:
        """A regression target's standard deviation on the training rows (1 for blobs)."""
        return float(self.params.get("target_std", 1.0))

    def labels(self) -> dict:
        """What every results file says of its data: which data, the task, the metric."""
        labels = {"data": self.describe(), "task": self.task.name, "metric": self.task.metric}
        roles = {k: self.params[k] for k in ("groups", "time", "weights") if self.params.get(k)}
        if roles:  # what every split and score respected: each row's group, time, weight
            labels["row_roles"] = roles
        if "columns" in self.params:  # a table: each column's kind and what was done to it
            labels["table_columns"] = [
                {"name": c.name, "kind": c.kind, "treatment": c.treatment()}
                for c in columns.from_params(self.params)
            ]
        return labels

    @property
    def source(self) -> DataSource:
        """Where the rows came from: the blobs, your table, or your arrays."""
        return source_of(self.params)

    def describe(self) -> str:
        """Which data this is, for printouts, results and the report."""
        return self.source.describe(self)

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

    def score(self, outputs: np.ndarray, y: np.ndarray, part: str | None = None) -> float:
        """``outputs`` scored against ``y``; weighted by ``part``'s weights ("train" or "test":
        the rows y is of) when the split has weights."""
        return self.task.score(outputs, y, self._weights_of(part, y))

    def headline(self, outputs: np.ndarray, y: np.ndarray, part: str | None = None) -> str:
        """ "0.812" (accuracy), or "0.481 (RMSE 55.02)" (R2; RMSE in the target's units)."""
        return self.task.headline(outputs, y, self.target_scale, self._weights_of(part, y))

    def numbers(self, outputs: np.ndarray, y: np.ndarray, part: str | None = None) -> dict:
        return self.task.numbers(outputs, y, self.target_scale, self._weights_of(part, y))

    def _weights_of(self, part: str | None, y: np.ndarray) -> np.ndarray | None:
        if part is None:
            return None
        w = self.weights(part)
        if w is not None and len(w) != len(y):
            raise ValueError(f"{len(y)} labels scored against the {len(w)} {part} rows' weights")
        return w
