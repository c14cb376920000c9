"""Classification or regression: the one object that knows what the networks output, what they
are trained to minimise, how a prediction is scored, and what the labels look like.

The split carries its task (``Split.task``); everything downstream asks it instead of checking a
``regression`` flag, a label dtype or a layer's activation name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class Task:
    name: str
    metric: str  # the key results files score with
    score_name: str  # as printed: "Model Accuracy: 0.812"
    activation: str  # the networks' last layer
    loss: str
    keras_metrics: tuple[str, ...]
    label_dtype: type

    def outputs(self, n_classes: int) -> int:
        """Units of a network's last layer."""
        raise NotImplementedError

    def targets(self, y: np.ndarray, n_classes: int) -> np.ndarray:
        """What a network is trained to output for labels ``y``."""
        raise NotImplementedError

    def score(self, outputs: np.ndarray, y: np.ndarray, sample_weight=None) -> float:
        """The headline number, higher is better; weighted by ``sample_weight`` if given."""
        raise NotImplementedError

    def numbers(self, outputs: np.ndarray, y: np.ndarray, scale: float, sample_weight=None) -> dict:
        """Every number results files keep for ``outputs`` against ``y``."""
        return {self.metric: self.score(outputs, y, sample_weight)}

    def headline(self, outputs: np.ndarray, y: np.ndarray, scale: float, sample_weight=None) -> str:
        return f"{self.score(outputs, y, sample_weight):.3f}"

    def stratify(self, y: np.ndarray) -> np.ndarray | None:
        """What a split stratifies on, or None."""
        return None

    def __repr__(self) -> str:
        return self.name


class Classification(Task):
    name = "classification"
    metric = "accuracy"
    score_name = "Accuracy"
    activation = "softmax"
    loss = "categorical_crossentropy"
    keras_metrics = ("accuracy",)
    label_dtype = np.int64

    def outputs(self, n_classes: int) -> int:
        return n_classes

    def targets(self, y: np.ndarray, n_classes: int) -> np.ndarray:
        # The tutorial's to_categorical, in NumPy so step 1 stays free of Keras.
        return np.eye(n_classes, dtype=np.float32)[y]

    def score(self, outputs: np.ndarray, y: np.ndarray, sample_weight=None) -> float:
        return accuracy(outputs, y, sample_weight)

    def stratify(self, y: np.ndarray) -> np.ndarray:
        return y


class Regression(Task):
    name = "regression"
    metric = "r2"
    score_name = "R2"
    activation = "linear"
    loss = "mean_squared_error"
    keras_metrics = ()
    label_dtype = np.float32

    def outputs(self, n_classes: int) -> int:
        return 1

    def targets(self, y: np.ndarray, n_classes: int) -> np.ndarray:
        return y.astype(np.float32).reshape(-1, 1)

    def score(self, outputs: np.ndarray, y: np.ndarray, sample_weight=None) -> float:
        return r2(outputs, y, sample_weight)

    def numbers(self, outputs: np.ndarray, y: np.ndarray, scale: float, sample_weight=None) -> dict:
        return {
            "r2": r2(outputs, y, sample_weight),
            "rmse": rmse(outputs, y, scale, sample_weight),
        }

    def headline(self, outputs: np.ndarray, y: np.ndarray, scale: float, sample_weight=None) -> str:
        """ "0.481 (RMSE 55.02)": R2, and the RMSE in the target's own units (weighted, with
        weights)."""
        return (
            f"{r2(outputs, y, sample_weight):.3f} "
            f"(RMSE {rmse(outputs, y, scale, sample_weight):.4g})"
        )


CLASSIFICATION = Classification()
REGRESSION = Regression()
TASKS = {t.name: t for t in (CLASSIFICATION, REGRESSION)}


@dataclass(frozen=True)
class Classes:
    """What the members' outputs are checked against and trained on: the task, the number of
    classes (1 for regression) and their names."""

    task: Task
    n_classes: int
    names: tuple[str, ...] = ()

    @property
    def n_outputs(self) -> int:
        return self.task.outputs(self.n_classes)


def task_named(name: str) -> Task:
    return TASKS[name]


def task_of(y: np.ndarray) -> Task:
    """The task labels ``y`` belong to: float targets are regression, integer labels classes."""
    return REGRESSION if np.issubdtype(np.asarray(y).dtype, np.floating) else CLASSIFICATION


def accuracy(probs: np.ndarray, y: np.ndarray, sample_weight=None) -> float:
    hits = np.argmax(probs, axis=1) == y
    return float(
        np.mean(hits) if sample_weight is None else np.average(hits, weights=sample_weight)
    )


def r2(pred: np.ndarray, y: np.ndarray, sample_weight=None) -> float:
    """Coefficient of determination: 1 - SSE / total sum of squares about the mean of ``y``
    (weighted sums and mean with ``sample_weight``)."""
    pred = np.asarray(pred, dtype=np.float64).reshape(len(y))
    y = np.asarray(y, dtype=np.float64)
    if sample_weight is None:
        total = np.sum((y - y.mean()) ** 2)
        return float(1.0 - np.sum((y - pred) ** 2) / total) if total > 0 else float("nan")
    w = np.asarray(sample_weight, dtype=np.float64)
    total = np.sum(w * (y - np.average(y, weights=w)) ** 2)
    return float(1.0 - np.sum(w * (y - pred) ** 2) / total) if total > 0 else float("nan")


def rmse(pred: np.ndarray, y: np.ndarray, scale: float = 1.0, sample_weight=None) -> float:
    """Root mean squared error (weighted mean with ``sample_weight``), times ``scale`` (the
    target's training standard deviation) to read in the target's own units."""
    pred = np.asarray(pred, dtype=np.float64).reshape(len(y))
    squares = (np.asarray(y, dtype=np.float64) - pred) ** 2
    return float(np.sqrt(np.average(squares, weights=sample_weight)) * scale)
