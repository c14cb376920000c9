"""Step 1: the data set (the tutorial's blobs, or your table) and its scatter plot.

Script: scripts/01_make_data.py. No Keras here: this step runs without paying for its import.
"""

from __future__ import annotations

import numpy as np

from stackgen import plots
from stackgen.config import Config
from stackgen.data.split import make_split, save_split
from stackgen.step_io import Printer
from stackgen.trust import settings

NUMBER = 1


def run(cfg: Config) -> dict:
    out = Printer(cfg)
    paths = out.paths
    split = make_split(cfg)
    settings.check(cfg, split)  # folds, test size and protocols the later steps will ask for
    out.result(f"{split.train_X.shape} {split.test_X.shape}")
    if split.params.get("source") == "table":
        out.result(f"data: {split.describe()}")
        out.result(f"task: {split.task.name} ({split.params['task_reason']})")
        if split.task.name == "classification":
            counts = np.bincount(
                np.concatenate([split.train_y, split.test_y]), minlength=split.n_classes
            )
            out.result(
                "classes: "
                + ", ".join(f"{n} ({c})" for n, c in zip(split.class_names, counts, strict=True))
            )
        out.info(
            f"features standardised with the mean and standard deviation of the "
            f"{len(split.train_y)} training rows; {len(split.test_y)} rows held out for testing"
        )
    outputs = [save_split(split, paths.data)]
    figure = plots.plot_data(split, paths.figure("blobs.png"))
    outputs += [figure] if figure else []
    out.made(NUMBER, outputs, [])
    return {
        "train_shape": list(split.train_X.shape),
        "test_shape": list(split.test_X.shape),
        **split.labels(),
    }
