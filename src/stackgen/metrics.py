"""The numbers every step reports: accuracy for classification, R² and RMSE for regression.

Combiners and networks return [rows, classes] probabilities, or [rows, 1] predicted values for
regression; labels are integer class indices, regression targets floats (``data.is_regression``).
"""

from __future__ import annotations

import numpy as np

from stackgen.data import is_regression


def accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(probs, axis=1) == y))


def r2(pred: np.ndarray, y: np.ndarray) -> float:
    """Coefficient of determination: 1 - SSE / total sum of squares about the mean of ``y``."""
    pred = np.asarray(pred, dtype=np.float64).reshape(len(y))
    y = np.asarray(y, dtype=np.float64)
    total = np.sum((y - y.mean()) ** 2)
    return float(1.0 - np.sum((y - pred) ** 2) / total) if total > 0 else float("nan")


def rmse(pred: np.ndarray, y: np.ndarray, scale: float = 1.0) -> float:
    """Root mean squared error, times ``scale`` (the target's training standard deviation) to
    read in the target's own units."""
    pred = np.asarray(pred, dtype=np.float64).reshape(len(y))
    return float(np.sqrt(np.mean((np.asarray(y, dtype=np.float64) - pred) ** 2)) * scale)


def score(outputs: np.ndarray, y: np.ndarray) -> float:
    """The headline number, higher is better: accuracy for class labels, R² for regression."""
    return r2(outputs, y) if is_regression(y) else accuracy(outputs, y)
