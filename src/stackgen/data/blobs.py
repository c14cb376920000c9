"""The tutorial's data: make_blobs(n_samples=1100, centers=3, n_features=2, cluster_std=2.0,
random_state=2); the first 100 rows train, the last 1,000 test."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_blobs

from stackgen.config import Config


def make_blobs_split(cfg: Config) -> dict[str, np.ndarray]:
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
    return {"train_X": X[:n], "train_y": y[:n], "test_X": X[n:], "test_y": y[n:]}
