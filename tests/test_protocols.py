"""Honest protocols: asserted on row indices and on the rows' own feature values."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import tiny_config
from hypothesis import given, settings
from hypothesis import strategies as st

from stackgen.data.task import CLASSIFICATION
from stackgen.methods import fitting, metalearners, protocols, training
from stackgen.tutorial import step04_stack_logistic
from stackgen.workdir import own_members
from stackgen.workdir import split_files as data
from stackgen.workdir.paths import Paths


def _rows_as_set(X):
    return {tuple(row) for row in np.round(X, 6)}


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    return data.make_split(tiny_config(tmp_path_factory.mktemp("p")))


def _tasks(split, n_members=3):
    rng = np.random.default_rng(0)
    test_P = rng.dirichlet(np.ones(3), size=(len(split.test_y), n_members))
    oof_P = rng.dirichlet(np.ones(3), size=(len(split.train_y), n_members))
    return {
        name: protocols.named(name, seed=1, folds=5).rows(split, test_P, oof_P)
        for name in protocols.NAMES
    }


def test_only_the_tutorial_protocol_fits_on_rows_it_scores(split):
    tasks = _tasks(split)
    for name, task in tasks.items():
        (fit_set, fit_idx), (score_set, score_idx) = task.fit_rows, task.score_rows
        overlap = set(fit_idx) & set(score_idx) if fit_set == score_set else set()
        if name == "tutorial":
            assert overlap == set(range(1000))
        else:
            assert overlap == set(), name
        # The arrays really are those rows.
        source = {"train": (split.train_X, split.train_y), "test": (split.test_X, split.test_y)}
        np.testing.assert_array_equal(task.fit_raw, source[fit_set][0][fit_idx])
        np.testing.assert_array_equal(task.fit_y, source[fit_set][1][fit_idx])
        np.testing.assert_array_equal(task.score_y, source[score_set][1][score_idx])
        if name != "tutorial":
            assert not _rows_as_set(task.fit_raw) & _rows_as_set(task.score_raw), name


def test_holdout_halves_are_stratified_seeded_and_cover_the_test_set(split):
    fit, score = protocols.holdout_rows(split.test_y, 1, CLASSIFICATION)
    assert len(fit) == len(score) == 500
    np.testing.assert_array_equal(np.sort(np.concatenate([fit, score])), np.arange(1000))
    counts = np.bincount(split.test_y[fit], minlength=3) - np.bincount(split.test_y[score])
    assert np.abs(counts).max() <= 1
    np.testing.assert_array_equal(fit, protocols.holdout_rows(split.test_y, 1, CLASSIFICATION)[0])
    assert not np.array_equal(fit, protocols.holdout_rows(split.test_y, 2, CLASSIFICATION)[0])


def test_cv_scores_members_and_stacks_on_all_test_rows_and_fits_on_train_rows(split):
    task = _tasks(split)["cv"]
    assert task.fit_rows[0] == "train" and len(task.fit_rows[1]) == 100
    assert task.score_rows[0] == "test" and len(task.score_rows[1]) == 1000


def fold_of(y, folds, seed):
    """Each row's fold under the command line's cv protocol (step 3's out-of-fold splits)."""
    splits = protocols.CrossValidated(folds, seed).stacking_cv(CLASSIFICATION).split(y, y)
    return protocols.fold_ids(splits, len(y))


def test_cv_folds_are_stratified_and_say_when_a_class_is_too_small():
    y = np.array([0] * 10 + [1] * 10 + [2] * 10)
    folds = fold_of(y, 5, 0)
    for f in range(5):
        np.testing.assert_array_equal(np.bincount(y[folds == f]), [2, 2, 2])
    # The command line refuses this at the door (test_settings_checks.py); the splitter warns.
    with pytest.warns(UserWarning, match="least populated class in y has only 3 members"):
        fold_of(np.array([0] * 3 + [1] * 10), 5, 0)
    with pytest.raises(ValueError, match="5 folds cannot split these 4 rows"):
        fold_of(np.array([0, 0, 1, 1]), 5, 0)


def test_every_out_of_fold_prediction_comes_from_a_model_that_did_not_see_its_row(
    split, workdir, monkeypatch
):
    cfg = tiny_config(workdir, members=2, epochs=1, folds=4)
    fits, predictions = [], []  # (trained weights, rows trained on); (those rows, rows predicted)
    real_fit, real_predict = fitting.fit_side_by_side, training.predict_proba

    def recording_fit(models, datasets, **kwargs):
        trained = real_fit(models, datasets, **kwargs)
        # A dataset is (X, Y) or (X, Y, rows): the model trains on X[rows].
        seen = [d[0][d[2]] if len(d) > 2 else d[0] for d in datasets]
        fits.extend((w, _rows_as_set(X)) for w, X in zip(trained, seen, strict=True))
        return trained

    def recording_predict(model, X, rows=None):
        # Which fit's weights the predicting model holds: exactly one.
        held = model.get_weights()
        [trained_on] = [
            seen
            for weights, seen in fits
            if all(np.array_equal(a, b) for a, b in zip(weights, held, strict=True))
        ]
        predictions.append((trained_on, _rows_as_set(X if rows is None else X[rows])))
        return real_predict(model, X, rows)

    monkeypatch.setattr(fitting, "fit_side_by_side", recording_fit)
    monkeypatch.setattr(training, "predict_proba", recording_predict)
    chosen = own_members.tutorial_members(split, cfg)
    oof, fold_of = own_members.out_of_fold(chosen, split, cfg)
    assert len(fits) == len(predictions) == 4 * 2
    every_row = _rows_as_set(split.train_X)
    for trained_on, rows in predictions:
        assert not rows & trained_on  # never predicts a row it trained on
        assert rows | trained_on == every_row  # and trained on all the others
    assert np.isfinite(oof).all() and oof.shape == (100, 2, 3)
    np.testing.assert_allclose(oof.sum(axis=2), 1.0, rtol=1e-5)


def test_step_4_fits_the_meta_learner_only_on_the_protocols_fit_rows(trained, monkeypatch):
    """End to end through step 4: what the meta-learner is fit on never includes a scored row."""
    seen = []
    real = metalearners.meta_learner

    def recording(kind, task, seed, passthrough=False):
        meta = real(kind, task, seed, passthrough)
        fit = meta.fit

        def fit_and_record(P, y, raw=None, sample_weight=None):
            assert sample_weight is None  # no --weights: every row counts the same
            seen.append(_rows_as_set(raw))
            return fit(P, y, raw)

        meta.fit = fit_and_record
        return meta

    monkeypatch.setattr(metalearners, "meta_learner", recording)
    result = step04_stack_logistic.run(trained)
    split = data.load_split(Paths(trained.workdir))
    test_rows, train_rows = _rows_as_set(split.test_X), _rows_as_set(split.train_X)
    tutorial, holdout, cv = seen
    assert tutorial == test_rows
    assert len(holdout) == 500 and holdout < test_rows
    assert cv == train_rows and not cv & test_rows
    assert result["protocols"]["holdout"]["scored_rows"] == {"set": "test", "count": 500}


@given(
    st.lists(st.integers(0, 3), min_size=12, max_size=80).filter(
        lambda ys: min(np.bincount(ys)) >= 3 if len(set(ys)) == 4 else False
    ),
    st.integers(2, 3),
    st.integers(0, 10_000),
)
@settings(max_examples=40, deadline=None)
def test_folds_and_halves_always_partition_the_rows(labels, folds, seed):
    y = np.asarray(labels)
    folds_of = fold_of(y, folds, seed)
    assert set(folds_of) == set(range(folds))  # every row in exactly one fold, every fold used
    for c in range(4):  # stratified: each class spread over the folds as evenly as possible
        counts = np.bincount(folds_of[y == c], minlength=folds)
        assert counts.max() - counts.min() <= 1
    fit, score = protocols.holdout_rows(y, seed, CLASSIFICATION)
    assert not set(fit) & set(score)
    np.testing.assert_array_equal(np.sort(np.concatenate([fit, score])), np.arange(len(y)))
