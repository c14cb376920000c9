"""Step 4: the meta-learner's input, every meta-learner's file, and what predict serves of it."""

from __future__ import annotations

import dataclasses
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from stackgen.cli.main import run_script
from stackgen.cli.predict import predict
from stackgen.config import Config
from stackgen.data.task import CLASSIFICATION
from stackgen.methods import metalearners
from stackgen.methods.protocols import holdout_rows
from stackgen.trust.errors import CorruptArtifactError, StackgenError
from stackgen.tutorial import step04_stack_logistic, step05_stack_integrated
from stackgen.workdir import metalearner_files
from stackgen.workdir.paths import Paths
from stackgen.workdir.split_files import load_split


def _probs(n_samples, n_members, n_classes):
    # Distinct, recognisable values: member m, class c, row r -> m*100 + c*10 + r/1000.
    rows = np.arange(n_samples)[:, None] / 1000
    return [m * 100 + np.arange(n_classes)[None, :] * 10 + rows for m in range(1, n_members + 1)]


@pytest.mark.parametrize("n_members, n_classes", [(5, 3), (1, 3), (3, 2), (1, 2), (4, 7)])
def test_stacked_inputs_shape_and_member_major_column_order(n_members, n_classes):
    probs = _probs(11, n_members, n_classes)
    X = metalearners.stacked_inputs(probs)
    assert X.shape == (11, n_members * n_classes)
    for m in range(n_members):
        for c in range(n_classes):
            np.testing.assert_array_equal(X[:, m * n_classes + c], probs[m][:, c])
    assert metalearners.column_names(n_members, n_classes)[0] == "member_1:class_0"
    assert len(metalearners.column_names(n_members, n_classes)) == X.shape[1]


def test_tutorial_dstack_gives_classes_before_members():
    """The tutorial says dstack gives [1000, 5, 3]; it gives [1000, 3, 5]."""
    probs = _probs(1000, 5, 3)
    assert np.dstack(probs).shape == (1000, 3, 5)
    ours = metalearners.stacked_inputs(probs)
    tutorial = np.dstack(probs).reshape(1000, 15)
    # Same values, permuted columns: ours runs member by member, the tutorial's class by class.
    assert sorted(ours[0]) == sorted(tutorial[0])
    np.testing.assert_array_equal(ours[:, 1], tutorial[:, 5])  # member 1, class 1


@given(
    st.integers(1, 6).flatmap(
        lambda m: st.lists(
            arrays(np.float64, (4, 3), elements=st.floats(0, 1)), min_size=m, max_size=m
        )
    )
)
def test_stacked_inputs_round_trips_to_each_members_predictions(probs):
    X = metalearners.stacked_inputs(probs)
    restored = X.reshape(len(X), len(probs), 3)
    for m, p in enumerate(probs):
        np.testing.assert_array_equal(restored[:, m, :], p)


def test_stacked_inputs_rejects_mismatched_members():
    with pytest.raises(ValueError, match="share one 2-D shape"):
        metalearners.stacked_inputs([np.zeros((4, 3)), np.zeros((4, 2))])
    with pytest.raises(ValueError, match="at least one member"):
        metalearners.stacked_inputs([])


@pytest.mark.parametrize("kind", ["multinomial", "ovr"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_meta_learner_fits_binary_and_multiclass(kind, n_classes):
    rng = np.random.default_rng(0)
    y = np.arange(90) % n_classes
    probs = [np.eye(n_classes)[y] * 0.6 + rng.random((90, n_classes)) * 0.4 for _ in range(3)]
    meta = metalearners.make_logistic(kind, seed=0).fit(metalearners.stacked_inputs(probs), y)
    assert meta.predict_proba(metalearners.stacked_inputs(probs)).shape == (90, n_classes)
    assert (meta.predict(metalearners.stacked_inputs(probs)) == y).mean() > 0.9


def test_ovr_is_one_binary_model_per_class_and_multinomial_is_one_softmax():
    y = np.arange(60) % 3
    X = np.eye(3)[y] + np.random.default_rng(1).normal(0, 0.3, (60, 3))
    ovr = metalearners.make_logistic("ovr", seed=0).fit(X, y)
    assert len(ovr.estimators_) == 3
    multi = metalearners.make_logistic("multinomial", seed=0).fit(X, y)
    assert multi.coef_.shape == (3, 3)


@pytest.mark.parametrize("kind", [s.kind for s in metalearners.specs_for(CLASSIFICATION)])
@pytest.mark.parametrize("passthrough", [False, True])
def test_every_meta_learner_round_trips_through_its_file(tmp_path, kind, passthrough):
    if passthrough and kind in metalearners.NO_PASSTHROUGH:
        return  # refused before training (test_metalearners.py)
    paths = Paths(tmp_path)
    rng = np.random.default_rng(2)
    y = np.arange(60) % 3
    P = np.stack([0.5 * np.eye(3)[y] + 0.5 * rng.dirichlet(np.ones(3), 60)] * 2, axis=1)
    raw = rng.normal(size=(60, 2))
    meta = metalearners.meta_learner(kind, CLASSIFICATION, seed=0, passthrough=passthrough)
    meta.fit(P, y, raw)
    path = paths.meta_learner_for("tutorial", metalearner_files.suffix_of(meta))
    metalearner_files.save_meta(meta, path, n_inputs=6)
    loaded, n_inputs = metalearner_files.load_meta(path, paths)
    assert (n_inputs, loaded.kind, loaded.passthrough) == (6, kind, passthrough)
    np.testing.assert_array_equal(loaded.predict_proba(P, raw), meta.predict_proba(P, raw))
    if path.suffix == ".json":  # the project's own combiners: numbers only, no code
        assert json.loads(path.read_text())["kind"] == kind


class _Boom:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('ran')",))


def test_a_pickle_renamed_to_the_meta_file_is_refused_and_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paths = Paths(tmp_path)
    paths.meta_learner_for("tutorial", ".skops").parent.mkdir(parents=True)
    paths.meta_learner_for("tutorial", ".skops").write_bytes(pickle.dumps(_Boom()))
    with pytest.raises(CorruptArtifactError, match=r"models/meta_learner\.skops could not be read"):
        metalearner_files.load_meta(paths.meta_learner_for("tutorial", ".skops"), paths)
    assert not (tmp_path / "PWNED").exists()


def _not_ours(x):
    return x


def test_a_skops_file_with_untrusted_types_is_refused(tmp_path):
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    paths = Paths(tmp_path)
    paths.meta_learner_for("tutorial", ".skops").parent.mkdir(parents=True)
    sio.dump(FunctionTransformer(_not_ours), paths.meta_learner_for("tutorial", ".skops"))
    with pytest.raises(StackgenError, match=r"types this project does not trust \(.*_not_ours"):
        metalearner_files.load_meta(paths.meta_learner_for("tutorial", ".skops"), paths)


def test_a_skops_file_with_another_estimator_is_refused(tmp_path):
    import skops.io as sio
    from sklearn.naive_bayes import GaussianNB

    paths = Paths(tmp_path)
    paths.meta_learner_for("tutorial", ".skops").parent.mkdir(parents=True)
    sio.dump(GaussianNB().fit([[0.0], [1.0]], [0, 1]), paths.meta_learner_for("tutorial", ".skops"))
    with pytest.raises(
        StackgenError, match="holds a GaussianNB, not a meta-learner saved by step 4"
    ):
        metalearner_files.load_meta(paths.meta_learner_for("tutorial", ".skops"), paths)


@pytest.fixture(scope="session")
def stacked_network_made(trained, tmp_path_factory):
    """A copy of the trained work dir with step 5's networks, which predict serves too."""
    work = tmp_path_factory.mktemp("with_network") / "w"
    shutil.copytree(trained.workdir, work)
    step05_stack_integrated.run(dataclasses.replace(trained, workdir=work))
    return work


@pytest.mark.parametrize("kind", [s.kind for s in metalearners.specs_for(CLASSIFICATION)])
@pytest.mark.parametrize("passthrough", [False, True])
def test_predict_serves_exactly_the_stack_step_4_scored(
    trained, stacked_network_made, tmp_path, capsys, kind, passthrough
):
    """For every --meta, with and without --passthrough: the stacked probabilities predict
    writes for the test points give the score step 4 printed (tutorial protocol), and for the
    holdout's scoring rows the holdout score; a refused combination never reaches step 4."""
    if passthrough and kind in metalearners.NO_PASSTHROUGH:
        with pytest.raises(SystemExit) as stopped:
            run_script(
                "stackgen.tutorial.step04_stack_logistic",
                ["--meta", kind, "--passthrough", "--workdir", str(tmp_path)],
                None,
            )
        assert stopped.value.code == 2
        assert f"--meta {kind} only weights the members" in capsys.readouterr().err
        return
    work = tmp_path / "w"
    shutil.copytree(stacked_network_made, work)
    cfg = dataclasses.replace(trained, workdir=work, meta=kind, passthrough=passthrough)
    printed = step04_stack_logistic.run(cfg)
    split = load_split(Paths(work))
    points = tmp_path / "test_points.csv"
    points.write_text("\n".join(",".join(repr(float(v)) for v in row) for row in split.test_X))
    for protocol, rows in (
        ("tutorial", np.arange(len(split.test_y))),
        ("holdout", holdout_rows(split.test_y, cfg.seed, CLASSIFICATION)[1]),
        ("cv", np.arange(len(split.test_y))),
    ):
        served = predict(Config(workdir=work), str(points), protocol)
        capsys.readouterr()
        probs = np.asarray(served[metalearners.stack_name(kind)])[rows]
        score = CLASSIFICATION.score(probs, split.test_y[rows])
        assert score == printed["protocols"][protocol]["stacked_score"], protocol
    assert printed["meta"] == kind and printed["passthrough"] == passthrough
    assert len(printed["columns"]) == 9 + 2 * passthrough  # 3 members x 3 classes (+ x1, x2)
    # Only this run's meta-learners are left to serve: one file per protocol.
    assert sorted(p.name for p in (work / "models").glob("meta_learner*")) == sorted(
        Path(f).name for f in printed["meta_files"].values()
    )
