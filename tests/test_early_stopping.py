"""Early stopping without leaks: each fit validated on rows of its own training rows only,
never a row it predicts out of fold nor a test row; the epochs chosen and recorded; the final
members trained for the median of their folds' epochs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, run_script

import stackgen
from stackgen.data.examples import write_grouped_table
from stackgen.data.task import CLASSIFICATION, Classes
from stackgen.methods import early_stopping, fitting, protocols, training
from stackgen.methods.members import member_from, tutorial_mlp


def test_the_epoch_chosen_is_the_one_keras_early_stopping_restores():
    # best at epoch 3; patience 2 stops at epoch 5 and restores 3
    assert early_stopping.chosen_epoch([5, 4, 3, 3.5, 3.2, 1.0], patience=2) == 3
    # never two epochs in a row without improving: the best of all
    assert early_stopping.chosen_epoch([5, 4, 4.5, 3, 3.1, 2], patience=2) == 6
    assert early_stopping.chosen_epoch([1, 2, 3], patience=1) == 1


def test_a_shorter_run_is_the_start_of_a_longer_one():
    """Why training again for the chosen epochs gives the weights early stopping would keep:
    the first k epochs' shuffles of a longer run are a k-epoch run's."""
    long, short = training.epoch_orders(50, 9, seed=7), training.epoch_orders(50, 4, seed=7)
    np.testing.assert_array_equal(long[:4], short)


def _grouped_rows(folder):
    frame = pd.read_csv(write_grouped_table(folder, groups=16, rows_each=6))
    X = frame[[f"m{j}" for j in range(1, 7)]].to_numpy(np.float32)
    y = (frame["outcome"] == "ill").to_numpy().astype(np.int64)
    return X, y, frame["patient"].to_numpy()


def test_no_held_out_row_or_group_ever_validates_a_fold_copy(tmp_path):
    X, y, groups = _grouped_rows(tmp_path)
    classes = Classes(CLASSIFICATION, 2, ("0", "1"))
    members = [member_from(tutorial_mlp(8), i, 100 + i, X, classes, f"member {i}") for i in (1, 2)]
    splits = protocols.stacking_cv(4, CLASSIFICATION, 0, grouped=True).split(X, y, groups)
    oof, stopped = fitting.out_of_fold_early_stopped(
        members, X, y, classes, splits, patience=3, epochs=15, batch_size=16, groups=groups
    )
    assert len(stopped) == 8 and not np.isnan(oof).any()
    for record in stopped:
        fit, held = splits[record.split]
        assert set(record.validation_rows) <= set(fit)
        assert not set(record.validation_rows) & set(held)
        # the copy trained on the rest of its fit rows: no group on both sides of that split
        trained = np.setdiff1d(fit, record.validation_rows)
        assert not set(groups[record.validation_rows]) & set(groups[trained])
        assert 1 <= record.epoch <= 15
    models, finals = fitting.final_models_early_stopped(
        members, X, y, classes, stopped, patience=3, epochs=15, batch_size=16
    )
    for member, final in zip(members, finals, strict=True):
        epochs = [s.epoch for s in stopped if s.member == member.index]
        assert final.epoch == max(1, round(float(np.median(epochs))))
    assert len(models) == 2


def test_the_estimator_records_its_epochs_and_refuses_what_it_cannot_stop(tmp_path):
    X, y, groups = _grouped_rows(tmp_path)
    stack = stackgen.StackingClassifier(
        [stackgen.tutorial_mlp(8)], cv=3, epochs=12, early_stopping=2, random_state=0
    ).fit(X, y, groups=groups)
    epochs = stack.stopped_epochs_["member_1"]
    assert len(epochs["folds"]) == 3 and epochs["final"] >= 1
    with pytest.raises(stackgen.StackgenError, match="early_stopping=0"):
        stackgen.StackingClassifier([stackgen.tutorial_mlp()], early_stopping=0).fit(X, y)
    with pytest.raises(stackgen.StackgenError, match="early_stopping with sample_weight"):
        stackgen.StackingClassifier([stackgen.tutorial_mlp()], early_stopping=3).fit(
            X, y, sample_weight=np.arange(len(y)) % 3 + 1.0
        )


def test_step_3_stops_early_and_says_which_epochs(tmp_path):
    path = write_grouped_table(tmp_path, groups=20, rows_each=6)
    work = tmp_path / "work"
    args = ["--data", str(path), "--target", "outcome", "--groups", "patient"]
    stopping = ["--epochs", "20", "--early-stopping", "3", "--upto", "3"]
    done = run_script("run", *args, *TINY, *stopping, workdir=work)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((work / "models/members.json").read_text())
    record = manifest["early_stopping"]
    assert record["patience"] == 3 and len(record["members"]) == 3
    for member in record["members"]:
        assert len(member["fold_epochs"]) == 5
        assert member["final_epochs"] == max(1, round(float(np.median(member["fold_epochs"]))))
    assert "member 1: epochs " in done.stdout and "(their median)" in done.stdout
