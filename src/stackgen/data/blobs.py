"""The tutorial's data: make_blobs(n_samples=1100, centers=3, n_features=2, cluster_std=2.0,
random_state=2); the first 100 rows train, the last 1,000 test."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_blobs


def make_blobs_split(
    n_samples: int = 1100,
    centers: int = 3,
    n_features: int = 2,
    cluster_std: float = 2.0,
    random_state: int = 2,
    n_train: int = 100,
) -> dict[str, np.ndarray]:
    """The tutorial's rows (its settings by default): the first ``n_train`` to train on, the
    rest to test on."""
    X, y = make_blobs(
        n_samples=n_samples,
        centers=centers,
        n_features=n_features,
        cluster_std=cluster_std,
        random_state=random_state,
    )
    X = X.astype(np.float32)
    y = y.astype(np.int64)
    n = n_train
    return {"train_X": X[:n], "train_y": y[:n], "test_X": X[n:], "test_y": y[n:]}
