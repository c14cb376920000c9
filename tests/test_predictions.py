"""Members trained anywhere, stacked from their saved predictions: ``from_predictions`` in the
API and ``--predictions FILE.npz`` on the command line; every array checked in one line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, run_script
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import StratifiedKFold, cross_val_predict

import stackgen
from stackgen.data.task import CLASSIFICATION
from stackgen.methods import metalearners
from stackgen.trust.errors import StackgenError


def _made_elsewhere(seed=0, n_train=240, n_test=120):
    """Two scikit-learn models' out-of-fold and test probabilities, as another framework would
    save them, with string labels and each row's fold."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_train + n_test, 5))
    y = (X[:, 0] + X[:, 1] ** 2 + 0.5 * rng.normal(size=len(X)) > 1).astype(int)
    y = y + (X[:, 2] > 1)  # three classes
    Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    folds = np.zeros(n_train, int)
    splitter = StratifiedKFold(4, shuffle=True, random_state=seed)
    for f, (_, out) in enumerate(splitter.split(Xtr, ytr)):
        folds[out] = f
    cv = [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in range(4)]
    models = [RandomForestClassifier(30, random_state=0), LogisticRegression(max_iter=500)]
    oof = np.stack(
        [cross_val_predict(m, Xtr, ytr, cv=cv, method="predict_proba") for m in models], axis=1
    )
    test = np.stack([m.fit(Xtr, ytr).predict_proba(Xte) for m in models], axis=1)
    names = np.array(["low", "mid", "high"])
    return {
        "oof": oof,
        "train_y": names[ytr],
        "test": test,
        "test_y": names[yte],
        "members": np.array(["forest", "logistic"]),
        "folds": folds,
    }


def test_the_meta_learner_is_fit_on_the_out_of_fold_predictions_and_serves_them():
    given = _made_elsewhere()
    stack = stackgen.StackingClassifier.from_predictions(
        given["oof"], given["train_y"], names=given["members"], folds=given["folds"], random_state=0
    )
    assert list(stack.classes_) == ["high", "low", "mid"]
    reference = metalearners.meta_learner("auto", CLASSIFICATION, 0)
    reference.fit(given["oof"], np.searchsorted(stack.classes_, given["train_y"]))
    np.testing.assert_allclose(
        stack.predict_proba(given["test"]), reference.predict_proba(given["test"]), atol=1e-12
    )
    assert stack.score(given["test"], given["test_y"]) == pytest.approx(
        np.mean(stack.predict(given["test"]) == given["test_y"])
    )
    table = stack.compare(given["test"], given["test_y"])
    assert list(table.index) == ["forest", "logistic", "best member", "average", "stack"]
    forest = np.mean(stack.classes_[given["test"][:, 0].argmax(axis=1)] == given["test_y"])
    assert table.loc["forest", "accuracy"] == pytest.approx(forest)


def test_any_final_estimator_and_a_regressor_take_predictions():
    given = _made_elsewhere()
    stack = stackgen.StackingClassifier.from_predictions(
        given["oof"], given["train_y"], final_estimator=LogisticRegression(C=0.1)
    )
    assert stack.final_estimator_.C == 0.1
    rng = np.random.default_rng(1)
    y = rng.normal(size=100)
    oof = np.stack([y + rng.normal(0, s, 100) for s in (0.3, 1.0)], axis=1)  # [rows, members]
    reg = stackgen.StackingRegressor.from_predictions(oof, y, final_estimator=Ridge(alpha=0))
    direct = LinearRegression().fit(oof, y)
    np.testing.assert_allclose(reg.predict(oof), direct.predict(oof), atol=1e-8)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda g: {**g, "oof": g["oof"] * 2}, "oof holds values outside 0..1"),
        (lambda g: {**g, "oof": g["oof"][:, :, :2]}, "do not sum to one"),
        (lambda g: {**g, "train_y": g["train_y"][:-1]}, "train_y has shape"),
        (lambda g: {**g, "test": g["test"][:, :1]}, "the same members, in the same order"),
        (lambda g: {**g, "test_y": None}, "give test and test_y together"),
        (lambda g: {**g, "folds": g["folds"][:-1]}, "one fold id per training row"),
        (lambda g: {**g, "folds": np.zeros_like(g["folds"])}, "fewer than 2 folds"),
        (lambda g: {**g, "members": np.array(["a", "a"])}, "name each of the 2 members once"),
        (lambda g: {**g, "groups": np.arange(240) % 9}, "group 0 is in folds"),
    ],
)
def test_every_array_is_checked_in_one_line(change, message):
    given = change(_made_elsewhere())
    with pytest.raises(StackgenError, match=message):
        stackgen.StackingClassifier.from_predictions(
            given["oof"],
            given["train_y"],
            test=given["test"],
            test_y=given["test_y"],
            names=given["members"],
            folds=given["folds"],
            groups=given.get("groups"),
        )


def test_rows_no_fold_predicted_are_nan_with_fold_minus_one_and_left_out():
    given = _made_elsewhere()
    oof, folds = given["oof"].copy(), given["folds"].copy()
    oof[:30], folds[:30] = np.nan, -1
    stack = stackgen.StackingClassifier.from_predictions(oof, given["train_y"], folds=folds)
    assert stack.meta_rows_.sum() == 210 and not stack.meta_rows_[:30].any()
    with pytest.raises(StackgenError, match="-1 exactly for the rows oof leaves NaN"):
        stackgen.StackingClassifier.from_predictions(oof, given["train_y"], folds=given["folds"])


def test_a_stack_of_predictions_has_no_network_to_export_and_checks_what_it_is_given():
    given = _made_elsewhere()
    stack = stackgen.StackingClassifier.from_predictions(given["oof"], given["train_y"])
    with pytest.raises(StackgenError, match="made from predictions"):
        stack.to_keras()
    with pytest.raises(StackgenError, match="made from predictions"):
        stack.save("x.stack")
    with pytest.raises(StackgenError, match="predictions of 2 members of 3 outputs"):
        stack.predict(given["test"][:, :1])


def test_the_command_line_stacks_a_file_of_predictions_without_keras(tmp_path):
    given = _made_elsewhere()
    path = tmp_path / "made elsewhere.npz"
    np.savez(path, **given)
    work = tmp_path / "work"
    done = run_script("run", "--predictions", str(path), "--quiet", workdir=work)
    assert done.returncode == 0, done.stderr
    result = json.loads((work / "results/predictions.json").read_text())
    forest = np.mean(
        np.array(["high", "low", "mid"])[given["test"][:, 0].argmax(axis=1)] == given["test_y"]
    )
    assert result["members"][0]["member"] == "forest"
    assert result["members"][0]["accuracy"] == pytest.approx(forest)
    assert set(result["protocols"]) == {"tutorial", "holdout", "cv"}
    assert result["protocols"]["cv"]["fit_rows"] == {"set": "train", "count": 240}
    assert "member 1 (forest): test accuracy" in done.stdout
    assert "out of fold on 240 training rows" in done.stdout
    # no Keras: the same run in a process that cannot import it
    code = (
        "import sys; sys.modules['keras'] = None; sys.modules['tensorflow'] = None\n"
        "from pathlib import Path\nfrom stackgen.config import Config\n"
        "from stackgen import pipeline\n"
        f"pipeline.run_all(Config(predictions_file=Path({str(path)!r}), "
        f"workdir=Path({str(tmp_path / 'w2')!r}), quiet=True))\n"
    )
    alone = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert alone.returncode == 0, alone.stderr


def test_a_bad_predictions_file_is_one_line_and_nothing_is_written(tmp_path):
    given = _made_elsewhere()
    path = tmp_path / "p.npz"
    np.savez(path, **{**given, "oof": given["oof"] * 3})
    work = tmp_path / "work"
    done = run_script("run", "--predictions", str(path), workdir=work)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"error: --predictions {path}: oof holds values outside 0..1: give class probabilities "
        "(a softmax of logits, a sigmoid's output)"
    ]
    assert not (work / "results/predictions.json").exists()
    clash = run_script("run", "--predictions", str(path), "--passthrough", workdir=work)
    assert clash.returncode != 0 and "--passthrough does not apply to --predictions" in clash.stderr
