"""Figures: the data set, the single MLP's learning curves, the integrated network's graph.

Figures are drawn on ``matplotlib.figure.Figure`` objects, not pyplot, so nothing here touches a
global backend or needs a display.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from stackgen.artifacts import atomic_path
from stackgen.data import Split

GRAPHVIZ_HINT = (
    "Graphviz's 'dot' is not installed, so {name} was not drawn; install it with "
    "'sudo apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' (macOS) "
    "or 'conda install graphviz', then re-run this step"
)


def _save(fig: Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    return path


def plot_blobs(split: Split, path: Path) -> Path:
    """Scatter of all points coloured by class; training points drawn larger, edged in black."""
    fig = Figure(figsize=(6.4, 5.2))
    ax = fig.add_subplot()
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for c in range(split.n_classes):
        color = colors[c % len(colors)]
        test = split.test_X[split.test_y == c]
        train = split.train_X[split.train_y == c]
        ax.scatter(test[:, 0], test[:, 1], s=10, alpha=0.45, color=color, label=f"class {c} test")
        ax.scatter(
            train[:, 0],
            train[:, 1],
            s=38,
            color=color,
            edgecolors="black",
            linewidths=0.9,
            label=f"class {c} train",
        )
    ax.set_title(f"Blobs: {len(split.train_X)} training points (edged), {len(split.test_X)} test")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(fontsize=7, ncol=2, loc="best")
    return _save(fig, path)


def plot_learning_curves(history: dict[str, list[float]], path: Path) -> Path:
    """Accuracy (left) and loss (right) per epoch, on the training and the test set."""
    fig = Figure(figsize=(10, 4))
    epochs = np.arange(1, len(history["accuracy"]) + 1)
    for ax, metric in zip(fig.subplots(1, 2), ("accuracy", "loss"), strict=True):
        ax.plot(epochs, history[metric], label="train")
        ax.plot(epochs, history[f"val_{metric}"], label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"Single MLP: {metric} per epoch")
        ax.legend()
    return _save(fig, path)


def graphviz_available() -> bool:
    return shutil.which("dot") is not None


def plot_network(model, path: Path) -> Path | None:
    """Draw ``model`` with members expanded; return None (and draw nothing) without Graphviz."""
    if not graphviz_available():
        return None
    import keras  # only here: this module must import without TensorFlow for step 1

    with atomic_path(path) as tmp:
        keras.utils.plot_model(
            model,
            to_file=str(tmp),
            show_shapes=True,
            show_layer_names=True,
            expand_nested=True,
            show_trainable=True,
            dpi=80,
        )
    return path
