"""The figures say what they show: legends, axis labels, shared scales, counts and intervals.

Each plot is drawn on a Matplotlib ``Figure``; ``_save`` is replaced so the test reads the figure
itself instead of its pixels.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from stackgen import plots


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plots hand to ``_save``, in order."""
    figures = []

    def keep(fig, path):
        figures.append(fig)
        return path

    monkeypatch.setattr(plots, "_save", keep)
    return figures


def two_feature_split(names=("Adelie", "Gentoo", "Chinstrap")):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2)).astype(np.float32)
    y = rng.integers(0, len(names), size=40)
    return SimpleNamespace(
        train_X=X[:10],
        test_X=X[10:],
        train_y=y[:10],
        test_y=y[10:],
        n_classes=len(names),
        params={"class_names": list(names)},
        class_names=list(names),
        feature_names=["bill_length", "flipper_length"],
        source=None,
    )


def test_decision_regions_have_a_legend_of_the_classes_and_the_features_on_the_axes(drawn):
    split = two_feature_split()
    panels = [(f"model {k}", lambda X: np.eye(3)[(X[:, 0] > 0).astype(int)]) for k in range(5)]
    plots.plot_decision_regions(panels, split, Path("unused.png"), resolution=10)
    (fig,) = drawn
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["Adelie", "Gentoo", "Chinstrap"]
    axes = fig.axes
    assert len(axes) == 5
    # Four panels a row: the first of each row names y, the bottom ones name x.
    assert [ax.get_ylabel() for ax in axes] == ["flipper_length", "", "", "", "flipper_length"]
    assert [bool(ax.get_xlabel()) for ax in axes] == [False, True, True, True, True]
    assert "30 test points" in fig._suptitle.get_text()


def test_vary_members_panels_share_one_y_scale(drawn):
    def curve(low):
        return [
            {"mean": low + k / 10, "ci_low": low, "ci_high": low + 0.3, "n": 4} for k in range(3)
        ]

    curves = {
        "tutorial": {"stack": curve(0.9)},
        "holdout": {"stack": curve(0.5)},
        "cv": {"stack": curve(0.2)},
    }
    plots.plot_vary_members(curves, Path("unused.png"))
    (fig,) = drawn
    limits = {ax.get_ylim() for ax in fig.axes}
    assert len(limits) == 1  # one scale: a lower panel is lower on the page
    (low, high) = limits.pop()
    assert low <= 0.2 and high >= 1.2


def test_the_confusion_matrix_counts_each_true_class_against_each_predicted_one(drawn):
    truth = [0, 0, 0, 1, 1, 2]
    guess = [0, 0, 1, 1, 1, 0]
    plots.plot_confusion(truth, guess, ["a", "b", "c"], "stack", Path("unused.png"))
    (fig,) = drawn
    ax = fig.axes[0]
    cells = {
        (round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts
    }
    expected = {(0, 0): "2", (0, 1): "1", (1, 1): "2", (2, 0): "1"}
    for i in range(3):
        for j in range(3):
            assert cells[i, j] == expected.get((i, j), "0"), (i, j)
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert "4 of 6 test rows right" in ax.get_title()


def test_the_methods_figure_draws_each_score_and_its_interval_per_protocol(drawn):
    scores = {"tutorial": {"stack": 0.83, "average": 0.81}, "cv": {"stack": 0.80}}
    intervals = {"tutorial": {"stack": [0.80, 0.86], "average": [0.78, 0.84]}, "cv": {}}
    plots.plot_methods(scores, intervals, "accuracy", Path("unused.png"))
    (fig,) = drawn
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["stack", "average"]
    lines = [line.get_xdata().tolist() for line in ax.get_lines()]
    assert [0.80, 0.86] in lines and [0.78, 0.84] in lines  # the tutorial's bars
    assert [0.83] in lines and [0.81] in lines and [0.80] in lines  # every dot
    assert len([x for x in lines if len(x) == 2]) == 2  # cv's stack has no interval: no bar
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["tutorial", "cv"]
