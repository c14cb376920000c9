"""Rows that are not independent: groups, a time order and weights, from the splits up.

No group on two sides of any split (step 1's, the holdout halves, the cv folds, an estimator's
folds); a series split forward in time; weights in every score; the leak audit beside them.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, run_script, tiny_config

import stackgen
from stackgen.data.examples import write_grouped_table, write_series_table
from stackgen.data.task import CLASSIFICATION, REGRESSION
from stackgen.methods import leak_audit, metalearners, protocols, stats
from stackgen.methods.members import member_probabilities
from stackgen.trust.errors import StackgenError
from stackgen.workdir import member_files
from stackgen.workdir import table_files as tables
from stackgen.workdir.paths import Paths
from stackgen.workdir.split_files import load_split, make_split

# --- the splits ----------------------------------------------------------------------------------


def _grouped(n_groups=24, each=5, seed=0):
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"g{i}" for i in range(n_groups)], each)
    y = np.repeat(np.arange(n_groups) % 3, each)
    order = rng.permutation(len(y))
    return y[order], groups[order]


@pytest.mark.parametrize("task", [CLASSIFICATION, REGRESSION])
def test_group_wise_folds_keep_every_group_on_one_side(task):
    y, groups = _grouped()
    y = y if task is CLASSIFICATION else y.astype(np.float32)
    folds = protocols.stacking_cv(4, task, seed=3, grouped=True)
    splits = folds.split(np.zeros((len(y), 2)), y, groups)
    assert len(splits) == 4
    held = np.concatenate([out for _, out in splits])
    assert sorted(held) == list(range(len(y)))  # every row predicted once
    for fit, out in splits:
        assert not set(groups[fit]) & set(groups[out])


def test_row_wise_folds_would_have_split_the_groups():
    """Guards the test above: the same rows under plain folds do share groups."""
    y, groups = _grouped()
    splits = protocols.stacking_cv(4, CLASSIFICATION, seed=3).split(np.zeros((len(y), 2)), y)
    assert any(set(groups[fit]) & set(groups[out]) for fit, out in splits)


def test_a_splitter_blind_to_groups_is_refused():
    from sklearn.model_selection import KFold

    y, groups = _grouped()
    folds = protocols.stacking_cv(KFold(3), CLASSIFICATION, seed=0)
    with pytest.raises(StackgenError, match="puts group 'g[0-9]+' on both sides"):
        folds.split(np.zeros((len(y), 2)), y, groups)


def test_one_split_of_whole_groups_and_one_of_the_latest_rows():
    y, groups = _grouped()
    rest, part = protocols.two_parts(y, 0.25, 1, CLASSIFICATION, groups)
    assert not set(groups[rest]) & set(groups[part])
    assert 0.15 < len(part) / len(y) < 0.35
    assert set(y[rest]) == set(y[part]) == {0, 1, 2}  # stratified where the groups allow
    times = np.random.default_rng(0).permutation(len(y)).astype(float)
    rest, part = protocols.two_parts(y, 0.25, 1, CLASSIFICATION, order=times)
    assert times[rest].max() < times[part].min() and len(part) == 30


def test_forward_chaining_folds_predict_only_from_the_past():
    rng = np.random.default_rng(1)
    times = rng.permutation(60).astype(float)  # rows given out of time order
    y = rng.integers(0, 2, 60)
    splits = protocols.stacking_cv(4, CLASSIFICATION, seed=0, ordered=True).split(
        np.zeros((60, 1)), y, order=times
    )
    assert len(splits) == 4
    for fit, out in splits:
        assert times[fit].max() < times[out].min()
    never = np.setdiff1d(np.arange(60), np.concatenate([out for _, out in splits]))
    assert times[never].max() < times[np.concatenate([o for _, o in splits])].min()


def test_a_split_that_looks_ahead_is_refused():
    from sklearn.model_selection import KFold

    times = np.arange(30.0)
    folds = protocols.stacking_cv(KFold(3), CLASSIFICATION, seed=0)
    with pytest.raises(StackgenError, match="fits on rows later"):
        folds.split(np.zeros((30, 1)), np.arange(30) % 2, order=times)


# --- a table's groups, time and weights ----------------------------------------------------------


def _load(path, target, **roles):
    return tables.load_table(path, target, "auto", 0.25, 2, None, tables.Roles(**roles))


def test_a_grouped_table_is_split_by_whole_groups_and_the_group_is_no_feature(tmp_path):
    path = write_grouped_table(tmp_path)
    arrays, params, _ = _load(path, "outcome", groups="patient")
    assert not set(arrays["train_groups"]) & set(arrays["test_groups"])
    assert "patient" not in params["feature_names"] and params["group_count"] == 40
    assert len(arrays["train_groups"]) == len(arrays["train_y"])


def test_a_time_column_puts_the_latest_rows_last_and_in_order(tmp_path):
    """The table's feature ``copy`` is its time: standardised, it keeps the order, so the split's
    rows can be read back in time."""
    times = np.random.default_rng(0).permutation(80)
    path = tmp_path / "t.csv"
    path.write_text("when,copy,y\n" + "".join(f"{t},{t},{t % 3 % 2}\n" for t in times))
    arrays, params, _ = _load(path, "y", time="when")
    train, test = arrays["train_X"][:, 0], arrays["test_X"][:, 0]
    assert params["feature_names"] == ["copy"] and len(test) == 20
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    assert train.max() < test.min()


def test_weights_are_kept_per_row_and_a_bad_weight_is_one_line(tmp_path):
    path = tmp_path / "w.csv"
    rows = [f"{i % 7},{i % 2},{1 + i % 3}" for i in range(40)]
    path.write_text("x,y,w\n" + "\n".join(rows) + "\n")
    arrays, params, _ = _load(path, "y", weights="w")
    assert params["feature_names"] == ["x"]
    assert sorted(np.concatenate([arrays["train_weights"], arrays["test_weights"]]).tolist()) == (
        sorted(float(1 + i % 3) for i in range(40))
    )
    path.write_text("x,y,w\n" + "\n".join(rows + ["3,1,-2"]) + "\n")
    with pytest.raises(StackgenError, match="weights must be 0 or more"):
        _load(path, "y", weights="w")


@pytest.mark.parametrize(
    ("roles", "message"),
    [
        ({"groups": "nope"}, "--groups 'nope' is not a column"),
        ({"groups": "outcome"}, "--groups 'outcome' is the target column"),
        ({"groups": "m1", "weights": "m1"}, "given to both --groups and --weights"),
        ({"groups": "patient", "time": "m1"}, "--groups and --time together are not supported"),
    ],
)
def test_role_columns_are_checked(tmp_path, roles, message):
    path = write_grouped_table(tmp_path)
    with pytest.raises(StackgenError, match=message):
        _load(path, "outcome", **roles)


def test_a_blank_group_or_an_unreadable_time_names_its_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("t,g,x,y\n1,a,0.1,0\n2,,0.2,1\n3,b,0.3,0\n4,b,0.4,1\n")
    with pytest.raises(StackgenError, match="line 3: --groups column 'g' is blank"):
        _load(path, "y", groups="g")
    path.write_text("t,g,x,y\n1,a,0.1,0\nsoon,a,0.2,1\n3,b,0.3,0\n4,b,0.4,1\n")
    with pytest.raises(StackgenError, match="'soon' in --time column 't' is neither"):
        _load(path, "y", time="t")


def test_group_and_weight_arrays_of_an_npz_reach_the_split_and_a_shared_group_is_warned(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "a.npz"
    np.savez(
        path,
        train_X=rng.normal(size=(20, 3)),
        train_y=np.arange(20) % 2,
        test_X=rng.normal(size=(8, 3)),
        test_y=np.arange(8) % 2,
        train_groups=np.repeat(np.arange(5), 4),
        test_groups=np.array([4, 4, 5, 5, 6, 6, 7, 7]),
        train_weights=np.ones(20),
        test_weights=np.full(8, 2.0),
    )
    cfg = tiny_config(tmp_path / "w", data_file=path)
    split = make_split(cfg)
    assert split.grouped and split.params["shared_groups"] == 1
    assert split.test_weights.tolist() == [2.0] * 8
    done = run_script("01_make_data.py", "--data", str(path), workdir=tmp_path / "w")
    assert done.returncode == 0, done.stderr
    assert "warning: 1 groups have rows in both" in done.stdout
    again = load_split(Paths(tmp_path / "w"))
    assert again.train_groups.tolist() == [str(g) for g in np.repeat(np.arange(5), 4)]


# --- whole runs ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grouped_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grouped")
    path = write_grouped_table(folder)
    work = folder / "work"
    args = ["--data", str(path), "--target", "outcome", "--groups", "patient"]
    done = run_script("run", *args, *TINY, "--epochs", "30", "--upto", "4", workdir=work)
    assert done.returncode == 0, done.stderr
    return work, done.stdout


def test_a_grouped_run_keeps_groups_apart_in_every_protocol(grouped_run):
    work, stdout = grouped_run
    split = load_split(Paths(work))
    assert not set(split.train_groups) & set(split.test_groups)
    fit, score = protocols.Holdout(1).split(split)
    assert not set(split.test_groups[fit[1]]) & set(split.test_groups[score[1]])
    with np.load(work / "models/oof_predictions.npz") as oof:
        honest, rowwise = oof["fold_of"], oof["rowwise_fold_of"]
    for f in np.unique(honest):
        assert not set(split.train_groups[honest == f]) & set(split.train_groups[honest != f])
    # the audit's row-wise folds are what they say: blind to the groups
    assert any(
        set(split.train_groups[rowwise == f]) & set(split.train_groups[rowwise != f])
        for f in np.unique(rowwise)
    )
    assert "groups: column 'patient', 40 groups" in stdout
    assert "out-of-fold group-wise" in stdout


def test_the_leak_audit_is_printed_and_recorded_on_the_same_rows(grouped_run):
    work, stdout = grouped_run
    result = json.loads((work / "results/stack_logistic.json").read_text())
    audit = result["leak_audit"]
    assert audit["rows"] == 270 and audit["honest_folds"] == "group-wise"
    for side in ("rowwise", "honest"):
        assert set(audit[side]) == {"stack", "best_member", "average", "stack_interval"}
        low, high = audit[side]["stack_interval"]
        assert (low, high) == pytest.approx(stats.wilson(audit[side]["stack"], 270))
    assert "row-wise (blind to the groups)" in stdout
    gap = audit["rowwise"]["stack"] - audit["honest"]["stack"]
    assert f"row-wise folds would have reported the stack {gap:+.3f}" in stdout


def test_the_leak_audit_tells_flattering_predictions_from_honest_ones():
    """On out-of-fold predictions that are right on every row (a member that learnt the groups)
    against ones right on half, the audit reports the first higher, on the same rows."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 80)
    perfect = np.eye(2)[y][:, None, :].repeat(2, axis=1) * 0.8 + 0.1
    noisy = np.eye(2)[rng.integers(0, 2, 80)][:, None, :].repeat(2, axis=1) * 0.8 + 0.1
    folds = np.arange(80) % 4

    def make():
        return metalearners.meta_learner("auto", CLASSIFICATION, 0)

    found = leak_audit.audit(make, CLASSIFICATION, y, (noisy, folds), (perfect, folds))
    assert found["rows"] == 80
    assert found["rowwise"]["stack"] == 1.0 and found["honest"]["stack"] < 0.7


def test_a_time_ordered_run_fits_on_the_past_and_says_so(tmp_path):
    path = write_series_table(tmp_path)
    work = tmp_path / "work"
    done = run_script(
        "run", "--data", str(path), "--target", "up", "--time", "day", *TINY, "--upto", "4",
        workdir=work,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads((work / "results/stack_logistic.json").read_text())
    cv, holdout = result["protocols"]["cv"], result["protocols"]["holdout"]
    # forward-chaining: the first of k + 1 blocks of the 270 training rows is never predicted
    assert cv["fit_rows"]["count"] == 270 - 270 // 6
    assert "forward-chaining" in cv["rows"] and "latest" in holdout["rows"]
    assert result["leak_audit"]["honest_folds"] == "forward-chaining"
    with np.load(work / "models/oof_predictions.npz") as oof:
        fold_of = oof["fold_of"]
    first = np.flatnonzero(fold_of == -1)
    assert first.tolist() == list(range(len(first)))  # the earliest rows, in time order


def test_weights_make_every_printed_score_weighted(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "w.csv"
    x = rng.normal(size=(160, 2))
    y = (x[:, 0] + 0.8 * rng.normal(size=160) > 0).astype(int)
    w = np.where(x[:, 1] > 0, 5.0, 0.2)
    with path.open("w") as fh:
        fh.write("a,b,w,y\n")
        fh.writelines(
            f"{a:.4f},{b:.4f},{ww},{yy}\n" for (a, b), ww, yy in zip(x, w, y, strict=True)
        )
    work = tmp_path / "work"
    args = ["--data", str(path), "--target", "y", "--weights", "w", "--protocol", "holdout"]
    done = run_script("run", *args, *TINY, "--upto", "4", workdir=work)
    assert done.returncode == 0, done.stderr
    split = load_split(Paths(work))
    result = json.loads((work / "results/stack_logistic.json").read_text())
    models = member_files.load_members(Paths(work), split)
    test_P = np.stack(member_probabilities(models, split.test_X), axis=1)
    weighted = [
        CLASSIFICATION.score(test_P[:, m], split.test_y, split.test_weights) for m in range(3)
    ]
    plain = [CLASSIFICATION.score(test_P[:, m], split.test_y) for m in range(3)]
    assert result["member_scores"] == pytest.approx(weighted)
    assert weighted != pytest.approx(plain)  # the weights do change the scores here
    assert "weights: column 'w'; in every member's loss" in done.stdout


def test_early_stopping_with_weights_or_member_files_is_refused_at_the_door(tmp_path):
    path = write_grouped_table(tmp_path)
    done = run_script(
        "run", "--data", str(path), "--target", "outcome", "--weights", "m1",
        "--early-stopping", "5", workdir=tmp_path / "w",
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: --early-stopping with --weights is not supported yet (the validation loss is "
        "unweighted): drop one of them"
    ]


def test_every_protocol_row_says_its_intervals_and_its_paired_test(grouped_run):
    work, stdout = grouped_run
    result = json.loads((work / "results/stack_logistic.json").read_text())
    for name, row in result["protocols"].items():
        low, high = row["stacked_interval"]
        assert low <= row["stacked_score"] <= high
        b_low, b_high = row["best_member_interval"]
        assert b_low <= row["best_member_score"] <= b_high
        assert row["test"] == "McNemar" and 0 <= row["p_vs_best_member"] <= 1
        n = row["scored_rows"]["count"]
        assert stats.wilson(row["stacked_score"], n) == pytest.approx((low, high))
        line = next(x for x in stdout.splitlines() if x.startswith(f"{name:<9} stacked "))
        assert f"[{low:.3f}, {high:.3f}]" in line
        assert f"({row['rows_only_stack_right']} vs {row['rows_only_best_right']} rows)" in line


# --- the estimators --------------------------------------------------------------------------


def test_fit_with_groups_and_with_an_order(tmp_path):
    frame = pd.read_csv(write_grouped_table(tmp_path, groups=12, rows_each=5))
    X = frame[[f"m{j}" for j in range(1, 7)]].to_numpy()
    y, groups = frame["outcome"].to_numpy(), frame["patient"].to_numpy()
    stack = stackgen.StackingClassifier([stackgen.tutorial_mlp(6)], cv=3, epochs=3, random_state=0)
    stack.fit(X, y, groups=groups)
    for f in range(3):
        assert not set(groups[stack.folds_ == f]) & set(groups[stack.folds_ != f])
    times = pd.Series(pd.date_range("2024-01-01", periods=60, freq="D")).sample(
        frac=1, random_state=0
    )
    stack.fit(X, y, order=times.to_numpy())
    first = ~stack.meta_rows_
    assert first.sum() == 15  # the first of 4 blocks: never predicted, never fit on
    assert times.to_numpy()[first].max() < times.to_numpy()[~first].min()
    with pytest.raises(StackgenError, match="order must hold numbers or dates"):
        stack.fit(X, y, order=["x"] * 60)
    with pytest.raises(StackgenError, match="groups has shape"):
        stack.fit(X, y, groups=groups[:-1])


def test_the_repeat_study_runs_on_a_grouped_table(tmp_path):
    path = write_grouped_table(tmp_path, groups=20, rows_each=6)
    work = tmp_path / "work"
    args = ["--data", str(path), "--target", "outcome", "--groups", "patient", "--vary-data"]
    args += ["--protocol", "cv"]
    done = run_script(
        "10_repeat_study.py", *args, *TINY, "--seeds", "2", "--max-members", "3", workdir=work
    )
    assert done.returncode == 0, done.stderr
    study = json.loads((work / "results/repeat_study.json").read_text())
    assert study["seeds"] == [1, 2] and study["vary_data"] is True
    stack = study["methods"]["cv"]["logistic regression (multinomial)"]
    assert stack["n"] == 2 and "wilcoxon_p" in stack["vs_best_member"]
    assert (work / "figures/vary_members.png").is_file()
    # --vary-data redrew the split by whole groups for each seed
    seeds = sorted((work / "results/repeat").glob("*/seed_*.json"))
    assert len(seeds) == 2
    splits = [
        make_split(tiny_config(work, data_file=path, target="outcome", groups="patient",
                               data_random_state=s))
        for s in (1, 2)
    ]  # fmt: skip
    assert set(splits[0].test_groups) != set(splits[1].test_groups)
    for split in splits:
        assert not set(split.train_groups) & set(split.test_groups)


def test_time_arrays_of_an_npz_put_each_part_in_order_and_the_test_rows_last(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "t.npz"
    train_t, test_t = rng.permutation(20).astype(float), 20 + rng.permutation(6).astype(float)
    arrays = {
        "train_X": train_t[:, None],  # the feature is the time: the order can be read back
        "train_y": np.arange(20) % 2,
        "test_X": test_t[:, None],
        "test_y": np.arange(6) % 2,
    }
    np.savez(path, **arrays, train_time=train_t, test_time=test_t)
    split = make_split(tiny_config(tmp_path / "w", data_file=path))
    assert split.ordered
    assert np.all(np.diff(split.train_X[:, 0]) > 0) and np.all(np.diff(split.test_X[:, 0]) > 0)
    np.savez(path, **arrays, train_time=train_t + 10, test_time=test_t)
    with pytest.raises(StackgenError, match="some test rows are earlier than training rows"):
        make_split(tiny_config(tmp_path / "w", data_file=path))


def test_what_the_review_found_is_refused_in_one_line(tmp_path):
    """Groups and times together in an .npz; a meta-learner that cannot weight rows under
    --weights; an estimator's meta-learner left with rows of one class."""
    rng = np.random.default_rng(0)
    path = tmp_path / "both.npz"
    np.savez(
        path,
        train_X=rng.normal(size=(10, 2)),
        train_y=np.arange(10) % 2,
        test_X=rng.normal(size=(4, 2)),
        test_y=np.arange(4) % 2,
        train_groups=np.arange(10) // 2,
        test_groups=np.array([7, 7, 8, 8]),
        train_time=np.arange(10.0),
        test_time=np.arange(10.0, 14.0),
    )
    with pytest.raises(StackgenError, match="has both groups and times"):
        make_split(tiny_config(tmp_path / "w", data_file=path))
    table = tmp_path / "weighted.csv"
    table.write_text("x,w,y\n" + "".join(f"{i % 5},{1 + i % 2},{i % 2}\n" for i in range(40)))
    done = run_script(
        "01_make_data.py", "--data", str(table), "--target", "y", "--weights", "w",
        "--meta", "knn", workdir=tmp_path / "w2",
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.startswith("error: --meta knn cannot weight its rows")
    X = rng.normal(size=(40, 2))
    y = np.r_[np.zeros(30, int), np.ones(10, int)]  # the latest rows are the only ones
    stack = stackgen.StackingClassifier([stackgen.tutorial_mlp(4)], cv=0.2, epochs=2)
    with pytest.raises(StackgenError, match="hold one class only"):
        stack.fit(X, 1 - np.r_[np.ones(32, int), np.zeros(8, int)], order=np.arange(40.0))
    assert y.sum() == 10  # (the labels above: the latest 8 rows, held out, are all one class)
