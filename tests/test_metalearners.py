"""Baselines and meta-learners, on cases small enough to compute by hand."""

from __future__ import annotations

import numpy as np
import pytest

from stackgen.data.task import CLASSIFICATION, REGRESSION, accuracy, r2
from stackgen.methods import metalearners
from stackgen.trust.errors import StackgenError
from stackgen.workdir import metalearner_files
from stackgen.workdir.paths import Paths


def _P(*members):
    """members: lists of per-row probability vectors -> [rows, members, classes]."""
    return np.stack([np.asarray(m, dtype=float) for m in members], axis=1)


def test_greedy_selection_matches_a_hand_computed_case():
    y = np.array([0, 1])
    a = [[0.9, 0.1], [0.6, 0.4]]  # right on row 0, wrong on row 1
    b = [[0.4, 0.6], [0.1, 0.9]]  # wrong on row 0, right on row 1
    c = [[0.5, 0.5], [0.5, 0.5]]
    P = _P(a, b, c)
    # Round 1, log losses: a: -(ln .9 + ln .4)/2 = 0.511, b: 0.511, c: 0.693 -> a (first on a tie).
    # Round 2: a+a 0.511, a+b: mean probs (.65, .65) -> 0.431, a+c: (.7, .45) -> 0.578 -> b.
    greedy = metalearners.GreedySelection(rounds=2).fit(P, y)
    assert greedy.selected_ == [0, 1]
    np.testing.assert_allclose(greedy.weights_, [0.5, 0.5, 0.0])
    np.testing.assert_allclose(greedy.predict_proba(P), [[0.65, 0.35], [0.35, 0.65]])


def test_greedy_selection_keeps_the_best_round_not_the_last():
    y = np.array([0, 0])
    good, bad = [[0.99, 0.01], [0.99, 0.01]], [[0.2, 0.8], [0.2, 0.8]]
    greedy = metalearners.GreedySelection(rounds=5).fit(_P(good, bad), y)
    # Adding "good" again never hurts and "bad" always does: every round picks good.
    assert greedy.selected_ == [0]  # the first round already scored best; later ties are not kept
    np.testing.assert_allclose(greedy.weights_, [1.0, 0.0])


def test_non_negative_weights_recover_an_exact_mixture_and_clip_a_negative_one():
    y = np.array([0, 1, 1, 0])
    onehot = np.eye(2)[y]
    noise = np.array([[0.5, 0.5]] * 4)
    nnls = metalearners.NonNegativeWeights().fit(_P(onehot, noise), y)
    np.testing.assert_allclose(nnls.weights_, [1.0, 0.0], atol=1e-9)
    anti = 1 - onehot  # a member that is always wrong gets weight 0, not a negative weight
    nnls = metalearners.NonNegativeWeights().fit(_P(onehot, anti), y)
    np.testing.assert_allclose(nnls.weights_, [1.0, 0.0], atol=1e-9)


def test_weighted_average_prefers_the_better_member_and_stays_convex():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    good = 0.7 * np.eye(3)[y] + 0.1
    poor = rng.dirichlet(np.ones(3), 200)
    w = metalearners.WeightedAverage().fit(_P(good, poor), y).weights_
    assert w[0] > 0.9 and np.isclose(w.sum(), 1.0) and (w >= 0).all()


def test_majority_vote_shares_and_ties():
    P = _P([[0.6, 0.4, 0.0]], [[0.1, 0.8, 0.1]], [[0.5, 0.2, 0.3]])
    np.testing.assert_allclose(metalearners.MajorityVote().predict_proba(P), [[2 / 3, 1 / 3, 0]])
    tie = _P([[0.9, 0.1]], [[0.1, 0.9]])
    assert np.argmax(metalearners.MajorityVote().predict_proba(tie)) == 0  # lowest class wins


def test_best_member_is_picked_on_the_fitting_rows():
    y = np.array([0, 0, 1])
    a = [[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]]  # 2/3 right
    b = [[0.9, 0.1], [0.9, 0.1], [0.1, 0.9]]  # 3/3 right
    best = metalearners.BestMember().fit(_P(a, b), y)
    assert best.index_ == 1


def test_multi_response_linear_regression_uses_each_class_own_columns():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    P = np.stack(
        [0.6 * np.eye(3)[y] + 0.4 * rng.dirichlet(np.ones(3), 300) for _ in range(2)], axis=1
    )
    mlr = metalearners.MultiResponseLinear().fit(P, y)
    assert mlr.coef_.shape == (3, 2)  # one row per class, one weight per member
    probs = mlr.predict_proba(P)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert accuracy(probs, y) > 0.95


CLASSIFIERS = [spec.kind for spec in metalearners.specs_for(CLASSIFICATION)]
REGRESSORS = [spec.kind for spec in metalearners.specs_for(REGRESSION)]


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("passthrough", [False, True])
def test_every_meta_learner_fits_and_returns_probabilities(name, passthrough):
    rng = np.random.default_rng(2)
    y = np.arange(60) % 3
    P = np.stack(
        [0.5 * np.eye(3)[y] + 0.5 * rng.dirichlet(np.ones(3), 60) for _ in range(3)], axis=1
    )
    raw = rng.normal(size=(60, 2))
    if passthrough and name in metalearners.NO_PASSTHROUGH:
        with pytest.raises(StackgenError, match=f"^{name} only weights the members' outputs"):
            metalearners.meta_learner(name, CLASSIFICATION, seed=0, passthrough=True)
        return
    meta = metalearners.meta_learner(name, CLASSIFICATION, seed=0, passthrough=passthrough)
    probs = meta.fit(P, y, raw).predict_proba(P, raw)
    assert probs.shape == (60, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    # With passthrough the two raw columns are inputs too: 3 members x 3 classes (+ 2).
    if isinstance(meta, metalearners.SklearnMeta):
        assert meta.estimator.n_features_in_ == 9 + 2 * passthrough
    elif isinstance(meta, metalearners.MultiResponseLinear):
        assert meta.coef_.shape == (3, 3 + 2 * passthrough)  # per class: 3 members (+ 2)
    else:  # weights only: one per member
        assert meta.weights_.shape == (3,) and not passthrough


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_every_meta_learner_saved_by_step_4_loads_without_code_and_predicts_the_same(
    name, tmp_path
):
    """skops refuses a type it is not told to trust: each kind's saved file must load with the
    trusted types, and predict what the fitted one did."""
    rng = np.random.default_rng(4)
    y = np.arange(90) % 3
    P = np.stack([0.6 * np.eye(3)[y] + 0.4 * rng.dirichlet(np.ones(3), 90) for _ in range(2)], 1)
    meta = metalearners.meta_learner(name, CLASSIFICATION, seed=0).fit(P, y)
    path = tmp_path / f"meta{metalearner_files.suffix_of(meta)}"
    metalearner_files.save_meta(meta, path, n_inputs=6)
    loaded, n_inputs = metalearner_files.load_meta(path, Paths(tmp_path, False, None))
    assert n_inputs == 6 and loaded.kind == name
    np.testing.assert_array_equal(loaded.predict_proba(P), meta.predict_proba(P))


def test_every_meta_kind_is_a_choice_with_one_label_per_task():
    assert ("auto", *dict.fromkeys(CLASSIFIERS + REGRESSORS)) == metalearners.KINDS
    for task in (CLASSIFICATION, REGRESSION):
        labels = [spec.label for spec in metalearners.specs_for(task)]
        assert len(set(labels)) == len(labels)
    assert set(metalearners.NO_PASSTHROUGH) == {"nnls", "greedy"}


@pytest.mark.parametrize("name", REGRESSORS)
@pytest.mark.parametrize("passthrough", [False, True])
def test_regression_meta_learners_combine_members_predictions(name, passthrough):
    rng = np.random.default_rng(3)
    y = rng.normal(size=80).astype(np.float32)
    # Member 1 is the truth plus noise, member 2 noise alone, member 3 the negated truth.
    P = np.stack([y + 0.3 * rng.normal(size=80), rng.normal(size=80), -y], axis=1)[:, :, None]
    raw = rng.normal(size=(80, 2))
    if passthrough and name in metalearners.NO_PASSTHROUGH:
        with pytest.raises(StackgenError, match="cannot use the raw features"):
            metalearners.meta_learner(name, REGRESSION, seed=0, passthrough=True)
        return
    meta = metalearners.meta_learner(name, REGRESSION, seed=0, passthrough=passthrough)
    predicted = meta.fit(P, y, raw).predict_proba(P, raw)
    assert predicted.shape == (80, 1)
    assert r2(predicted, y) > 0.9
    coef = meta.estimator.coef_
    assert len(coef) == 3 + 2 * passthrough  # the raw columns are inputs too
    if name == "nnls":
        assert (coef >= 0).all()  # non-negative: member 3 (negated truth) gets no weight
    else:
        assert coef[2] < 0  # a plain linear stack may use it with a negative weight


def test_meta_kind_resolves_auto_and_refuses_the_other_tasks_learners():
    assert metalearners.spec("auto", CLASSIFICATION).kind == "multinomial"
    assert metalearners.spec("auto", REGRESSION).kind == "linear"
    with pytest.raises(StackgenError, match="'multinomial' is not a regression meta-learner"):
        metalearners.spec("multinomial", REGRESSION)
    with pytest.raises(StackgenError, match="'linear' is not a classification meta-learner"):
        metalearners.spec("linear", CLASSIFICATION)
