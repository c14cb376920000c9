"""Figures: the data set, the single MLP's learning curves, the integrated network's graph,
decision regions, the served stack's confusion matrix, every method's score with its interval,
and the scores against the number of members.

Figures are drawn on ``matplotlib.figure.Figure`` objects, not pyplot, so nothing here touches a
global backend or needs a display.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from stackgen.data.split import Split, TableFile
from stackgen.trust.atomic import atomic_path

COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
GRAPHVIZ_HINT = (
    "Graphviz's 'dot' is not installed, so {name} was not drawn; install it with "
    "'sudo apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' (macOS) "
    "or 'conda install graphviz', then re-run this step"
)


def _save(fig: Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    return path


def plot_data(split: Split, path: Path) -> Path | None:
    """Scatter of all points over the first two features, coloured by class (or by the target
    for regression); training points drawn larger, edged in black. None for one feature."""
    if not split.flat or split.n_features < 2:
        return None
    fig = Figure(figsize=(6.4, 5.2))
    ax = fig.add_subplot()
    if split.task.name == "regression":
        _scatter_by_target(fig, ax, split)
    else:
        _scatter_by_class(ax, split)
    table = isinstance(split.source, TableFile)
    title = split.source.file_name if table else "Blobs"
    ax.set_title(f"{title}: {len(split.train_X)} training points (edged), {len(split.test_X)} test")
    names = split.feature_names
    scaled = " (standardised)" if table else ""
    ax.set_xlabel(names[0] + scaled)
    ax.set_ylabel(names[1] + scaled)
    return _save(fig, path)


def _scatter_by_target(fig: Figure, ax, split: Split) -> None:
    for X, y, size, edge in (
        (split.test_X, split.test_y, 10, "none"),
        (split.train_X, split.train_y, 38, "black"),
    ):
        dots = ax.scatter(X[:, 0], X[:, 1], c=y, s=size, cmap="viridis", edgecolors=edge)
    fig.colorbar(dots, ax=ax, label="target (standardised)")


def _scatter_by_class(ax, split: Split) -> None:
    for c in range(split.n_classes):
        color = COLORS[c % len(COLORS)]
        name = split.class_names[c] if "class_names" in split.params else f"class {c}"
        test = split.test_X[split.test_y == c]
        train = split.train_X[split.train_y == c]
        ax.scatter(test[:, 0], test[:, 1], s=10, alpha=0.45, color=color, label=f"{name} test")
        ax.scatter(
            train[:, 0],
            train[:, 1],
            s=38,
            color=color,
            edgecolors="black",
            linewidths=0.9,
            label=f"{name} train",
        )
    ax.legend(fontsize=7, ncol=2, loc="best")


def plot_learning_curves(history: dict[str, list[float]], path: Path) -> Path:
    """Accuracy (left) and loss (right) per epoch, on the training and the test set (the loss
    alone for regression)."""
    shown = ("accuracy", "loss") if "accuracy" in history else ("loss",)
    fig = Figure(figsize=(5 * len(shown), 4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    axes = fig.subplots(1, len(shown)) if len(shown) > 1 else [fig.subplots()]
    for ax, metric in zip(axes, shown, strict=True):
        ax.plot(epochs, history[metric], label="train")
        ax.plot(epochs, history[f"val_{metric}"], label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"Single MLP: {metric} per epoch")
        ax.legend()
    return _save(fig, path)


def class_names(split: Split) -> list[str]:
    """Each class's name as the figures label it: the table's own, else ``class 0`` ..."""
    if "class_names" in split.params:
        return [str(n) for n in split.class_names]
    return [f"class {c}" for c in range(split.n_classes)]


def plot_decision_regions(panels, split: Split, path: Path, resolution: int = 150) -> Path:
    """One panel per (title, predict_proba) over the plane, the test points on top; a legend
    of the classes and the features on the axes."""
    lo = np.minimum(split.train_X.min(0), split.test_X.min(0)) - 1
    hi = np.maximum(split.train_X.max(0), split.test_X.max(0)) + 1
    xx, yy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid = np.c_[xx.ravel(), yy.ravel()].astype(np.float32)
    cols = min(4, len(panels))
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(3.6 * cols, 3.3 * rows + 0.5), layout="constrained")
    cmap = ListedColormap([COLORS[c % len(COLORS)] for c in range(split.n_classes)])
    scaled = " (standardised)" if isinstance(split.source, TableFile) else ""
    x_name, y_name = (f"{n}{scaled}" for n in split.feature_names[:2])
    for k, (title, predict) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, k + 1)
        regions = np.argmax(predict(grid), axis=1).reshape(xx.shape)
        ax.contourf(
            xx, yy, regions, levels=np.arange(split.n_classes + 1) - 0.5, cmap=cmap, alpha=0.3
        )
        ax.scatter(
            split.test_X[:, 0],
            split.test_X[:, 1],
            c=split.test_y,
            cmap=cmap,
            s=4,
            vmin=0,
            vmax=split.n_classes - 1,
        )
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        if k % cols == 0:
            ax.set_ylabel(y_name, fontsize=8)
        if k >= len(panels) - cols:
            ax.set_xlabel(x_name, fontsize=8)
    handles = [
        Patch(color=COLORS[c % len(COLORS)], alpha=0.6, label=name)
        for c, name in enumerate(class_names(split))
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(6, len(handles)), fontsize=8)
    fig.suptitle(
        f"Decision regions (shaded: the class predicted); dots: the {len(split.test_X):,} test "
        "points, coloured by their true class"
    )
    return _save(fig, path)


def plot_confusion(y_true, y_pred, names: list[str], title: str, path: Path) -> Path:
    """How many test rows of each true class (rows) each predicted class (columns) got, with
    each row's share shaded: the diagonal is what the stack got right."""
    n = len(names)
    counts = np.zeros((n, n), dtype=int)
    np.add.at(counts, (np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)), 1)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(4.0, 0.55 * n + 2.5)
    fig = Figure(figsize=(size + 1, size), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, label="share of the true class's rows")
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                str(counts[i, j]),
                ha="center",
                va="center",
                fontsize=8 if n > 6 else 10,
                color="white" if share[i, j] > 0.5 else "black",
            )
    ax.set_xticks(range(n), names, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    right = int(np.trace(counts))
    ax.set_title(f"{title}\n{right} of {counts.sum()} test rows right", fontsize=9)
    return _save(fig, path)


def plot_methods(scores: dict, intervals: dict, metric: str, path: Path) -> Path:
    """Every method's score (a dot) and its 95% interval (a bar) under each protocol (a
    colour), one line per method, in ``scores``' first protocol's order."""
    said = "R²" if metric == "r2" else "accuracy"
    labels = list(dict.fromkeys(label for by in scores.values() for label in by))
    fig = Figure(figsize=(7.5, 0.32 * len(labels) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    protocols = list(scores)
    step = 0.6 / max(len(protocols), 1)
    for k, protocol in enumerate(protocols):
        color = COLORS[k % len(COLORS)]
        offset = (k - (len(protocols) - 1) / 2) * step
        named = False  # the legend names each protocol once, at its first dot
        for i, label in enumerate(labels):
            if label not in scores[protocol]:
                continue
            y, x = i + offset, scores[protocol][label]
            low, high = (intervals.get(protocol) or {}).get(label, (np.nan, np.nan))
            if np.isfinite(low) and np.isfinite(high):
                ax.plot([low, high], [y, y], color=color, lw=1.4, alpha=0.7)
            ax.plot([x], [y], "o", color=color, ms=4, label=None if named else protocol)
            named = True
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(f"test {said} (dot) and its 95% interval (bar)")
    ax.legend(title="protocol", fontsize=8, loc="best")
    ax.set_title(f"Every method of step 6 under each protocol: test {said}", fontsize=10)
    return _save(fig, path)


def plot_vary_members(curves: dict, path: Path, metric: str = "accuracy") -> Path:
    """Accuracy (R2) against the number of members, one panel per protocol, 95% CI bands."""
    said = "R2" if metric == "r2" else "accuracy"
    fig = Figure(figsize=(4.2 * len(curves), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(curves), sharey=True))
    for ax, (protocol, by_label) in zip(axes, curves.items(), strict=True):
        for label, points in by_label.items():
            ks = np.arange(1, len(points) + 1)
            mean = [p["mean"] for p in points]
            ax.plot(ks, mean, marker="o", ms=3, label=label)
            ax.fill_between(
                ks, [p["ci_low"] for p in points], [p["ci_high"] for p in points], alpha=0.2
            )
        ax.set_title(protocol)
        ax.set_xlabel("members")
        ax.set_xticks(ks)
    axes[0].set_ylabel(f"test {said} (the same scale in every panel)")
    ax.legend(fontsize=7, loc="lower right")
    n = curves[next(iter(curves))][next(iter(by_label))][0]["n"]
    fig.suptitle(
        f"{said[0].upper() + said[1:]} against the number of members: mean and 95% CI over "
        f"{n} seeds"
    )
    return _save(fig, path)


def graphviz_available() -> bool:
    return shutil.which("dot") is not None


def plot_network(model, path: Path) -> Path | None:
    """Draw ``model`` with members expanded (or, where Graphviz cannot lay that out, as they
    are); return None (and draw nothing) without Graphviz, or where it fails on both."""
    if not graphviz_available():
        return None
    import keras  # only here: this module must import without TensorFlow for step 1

    for nested in (True, False):  # Graphviz's layout fails on some nested graphs: then flat
        try:  # pydot prints dot's error before raising it: kept off the step's output
            with atomic_path(path) as tmp, contextlib.redirect_stdout(io.StringIO()):
                keras.utils.plot_model(
                    model,
                    to_file=str(tmp),
                    show_shapes=True,
                    show_layer_names=True,
                    expand_nested=nested,
                    show_trainable=True,
                    dpi=80,
                )
            return path
        except AssertionError:  # pydot's word for "dot exited with an error"
            continue
    return None
