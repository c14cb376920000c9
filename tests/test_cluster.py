"""Dask clusters (``--scheduler``): for the repeat study, a 2-worker LocalCluster gives every seed
the same numbers, to the last digit, as local processes, and a study cut short resumes the same
way; for step 3, members and fold copies trained on the workers end with the same weights; without
Dask, or with no scheduler at the address, it is one line."""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import run_script
from sklearn.datasets import make_blobs

from stackgen import cluster
from stackgen.trust.errors import StackgenError

STUDY = ["--epochs", "2", "--meta-epochs", "2", "--members", "2", "--max-members", "3"]
STUDY += ["--jobs", "2"]


def seeds_of(work: Path) -> dict[int, dict]:
    """Every saved seed's numbers, without its wall time."""
    found = {}
    for path in sorted(work.glob("results/repeat/*/seed_*.json")):
        numbers = json.loads(path.read_text())
        numbers.pop("seconds")
        found[numbers["seed"]] = numbers
    return found


@pytest.mark.xdist_group("cluster")
def test_a_local_dask_cluster_gives_the_same_seeds_and_resumes(tmp_path):
    pytest.importorskip("distributed")
    here = run_script("10_repeat_study.py", *STUDY, "--seeds", "2", workdir=tmp_path / "here")
    assert here.returncode == 0, here.stderr[-3000:]
    work = tmp_path / "dask"
    there = run_script(
        "10_repeat_study.py", *STUDY, "--seeds", "2", "--scheduler", "local", workdir=work
    )
    assert there.returncode == 0, there.stderr[-3000:]
    assert "2 to run on a local Dask cluster of 2 process workers" in there.stdout
    local, dask = seeds_of(tmp_path / "here"), seeds_of(work)
    assert sorted(dask) == [1, 2] and dask == local  # bit-identical numbers
    study = json.loads((work / "results/repeat_study.json").read_text())
    again = json.loads((tmp_path / "here/results/repeat_study.json").read_text())
    assert study["methods"] == again["methods"]
    # Cut short: seed 2 lost. A longer study on the cluster runs only seeds 2 and 3.
    next(work.glob("results/repeat/*/seed_0002.json")).unlink()
    resumed = run_script(
        "10_repeat_study.py", *STUDY, "--seeds", "3", "--scheduler", "local", workdir=work
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "1 already done" in resumed.stdout and "2 to run" in resumed.stdout
    ran = sorted(int(s) for s in re.findall(r"^  seed (\d+) done in", resumed.stdout, re.M))
    assert ran == [2, 3]
    assert seeds_of(work)[2] == local[2]


def test_without_dask_or_without_a_scheduler_it_is_one_line(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1)
    with pytest.raises(StackgenError, match=r"--scheduler tcp://127\.0\.0\.1:9: nothing answered"):
        list(cluster.run_all(print, [(1,)], 1, "tcp://127.0.0.1:9"))
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(StackgenError, match=re.escape("pip install 'stackgen[cluster]'")):
        list(cluster.run_all(print, [(1,)], 1, "local"))


@pytest.mark.parametrize(
    ("greeting", "said"),
    [(None, "it said nothing in 1 s"), (b"HTTP/1.0 400 Bad request\r\n\r\n", "another service")],
)
def test_a_service_that_is_not_dask_is_named_within_seconds(monkeypatch, greeting, said):
    """A silent port (an HTTP server waits for a request) or another service's greeting is one
    line naming the address, not a hang or Dask's misreading of the bytes."""
    pytest.importorskip("distributed")
    monkeypatch.setattr(cluster, "PROBE_SECONDS", 1)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer():
        conn, _ = server.accept()
        if greeting:
            conn.sendall(greeting)
        threading.Event().wait(3)
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(
        StackgenError, match=re.escape(f"--scheduler {address}: not a Dask sch")
    ) as e:
        list(cluster.run_all(print, [(1,)], 1, address))
    assert said in str(e.value)
    server.close()
    with pytest.raises(StackgenError, match="a web address, not a scheduler's"):
        list(cluster.run_all(print, [(1,)], 1, f"http://127.0.0.1:{port}"))


def test_a_real_scheduler_passes_the_probe():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, processes=False, dashboard_address=None, protocol="tcp"
    ) as local:
        assert list(cluster.run_all(abs, [(-2,)], 1, local.scheduler_address)) == [2]


def _member_files(folder: Path) -> list[Path]:
    """Two members trained elsewhere: one compiled as the tutorial's (Dense, Adam,
    cross-entropy), and one with its own optimizer."""
    import keras

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, optimizer in enumerate(["adam", keras.optimizers.SGD(0.05)], start=1):
        keras.utils.set_random_seed(number)
        inputs = keras.Input((2,))
        hidden = keras.layers.Dense(6, activation="relu")(inputs)
        model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))
        model.compile(optimizer=optimizer, loss="categorical_crossentropy")
        paths.append(folder / f"m{number}.keras")
        model.save(paths[-1])
    return paths


def _trained_arrays(work: Path) -> dict[str, np.ndarray]:
    """Every saved member's weights and the out-of-fold predictions, by name."""
    import keras

    found = {}
    for path in sorted((work / "models").glob("member_*.keras")):
        model = keras.saving.load_model(path, compile=False)
        for k, weights in enumerate(model.get_weights()):
            found[f"{path.name}/{k}"] = weights
    with np.load(work / "models/oof_predictions.npz") as oof:
        found |= {f"oof/{name}": oof[name] for name in oof.files}
    return found


@pytest.mark.xdist_group("cluster")
def test_fold_trainings_on_a_local_cluster_give_the_same_weights(tmp_path):
    """Step 3 under cv with --scheduler local and members trained elsewhere: their fold copies,
    each a task on one of 2 Dask workers (one with Keras's Adam, one with its own SGD), give the
    out-of-fold predictions of the run here, bit for bit."""
    pytest.importorskip("distributed")
    X, y = make_blobs(n_samples=160, centers=3, n_features=2, cluster_std=2, random_state=2)
    data = tmp_path / "blobs.npz"
    np.savez(data, train_X=X[:100], train_y=y[:100], test_X=X[100:], test_y=y[100:])
    files = [str(p) for p in _member_files(tmp_path / "members")]
    flags = ["--data", str(data), "--member-files", *files, "--protocol", "cv", "--folds", "3"]
    flags += ["--epochs", "4", "--upto", "3"]
    here = run_script("run", *flags, workdir=tmp_path / "here")
    assert here.returncode == 0, here.stderr[-3000:]
    there = run_script("run", *flags, "--scheduler", "local", workdir=tmp_path / "dask")
    assert there.returncode == 0, there.stderr[-3000:]
    # A fold copy of a member trained elsewhere trains alone: 2 members x 3 folds; the given
    # members themselves are used as they are.
    assert "6 training tasks ran on a local Dask cluster of 2 process workers" in there.stdout
    assert "training tasks ran" not in here.stdout
    local, dask = _trained_arrays(tmp_path / "here"), _trained_arrays(tmp_path / "dask")
    assert sorted(local) == sorted(dask) and len(local) >= 8
    for name, array in local.items():
        assert np.array_equal(array, dask[name]), name
    assert not np.isnan(local["oof/probs"]).any()


@pytest.mark.xdist_group("cluster")
def test_stackgens_own_members_on_a_local_cluster_give_the_same_weights(tmp_path):
    """run --scheduler local with stackgen's MLPs: the members side by side are one task, all
    their fold copies another, and both end as they do here."""
    pytest.importorskip("distributed")
    flags = ["--members", "2", "--epochs", "3", "--protocol", "cv", "--folds", "2", "--upto", "3"]
    here = run_script("run", *flags, workdir=tmp_path / "here")
    assert here.returncode == 0, here.stderr[-3000:]
    there = run_script("run", *flags, "--scheduler", "local", workdir=tmp_path / "dask")
    assert there.returncode == 0, there.stderr[-3000:]
    assert "2 training tasks ran on a local Dask cluster" in there.stdout
    local, dask = _trained_arrays(tmp_path / "here"), _trained_arrays(tmp_path / "dask")
    assert sorted(local) == sorted(dask) and len(local) == 2 * 4 + 2
    for name, array in local.items():
        assert np.array_equal(array, dask[name]), name


@pytest.mark.xdist_group("cluster")
def test_an_estimator_fit_inside_trainings_on_a_cluster_gives_the_same_stack():
    """In Python: fit inside ``cluster.trainings_on("local")`` sends the fold copies of a model
    of the user's own to the workers, and gives the out-of-fold predictions and the stack's
    predictions of a fit here."""
    pytest.importorskip("distributed")
    import keras

    import stackgen

    X, y = make_blobs(n_samples=120, centers=3, n_features=2, cluster_std=2, random_state=2)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")

    def fitted():
        members = [keras.models.clone_model(model), stackgen.tutorial_mlp(hidden=4)]
        members[0].compile(optimizer=keras.optimizers.SGD(0.1), loss=model.loss)
        members[0].set_weights(model.get_weights())
        return stackgen.StackingClassifier(members, cv=2, epochs=3, random_state=1).fit(X, y)

    here = fitted()
    with cluster.trainings_on("local", workers=2) as there:
        on_dask = fitted()
    # The MLP's final member, its fold copies side by side, the given model's two copies alone.
    assert there.sent == 1 + 1 + 2
    assert np.array_equal(here.oof_predictions_, on_dask.oof_predictions_)
    assert np.array_equal(here.predict_proba(X), on_dask.predict_proba(X))


@pytest.mark.xdist_group("cluster")
def test_early_stopped_trainings_on_a_local_cluster_give_the_same_copies_and_epochs():
    """Under early stopping each fold copy (trained, validated on rows of its own fit rows,
    trained again for its chosen epoch) and each final member is a task on the workers: the
    same out-of-fold predictions, chosen epochs, validation rows and final weights as here,
    with and without folds to choose the final epochs."""
    pytest.importorskip("distributed")
    from stackgen.data.task import CLASSIFICATION, Classes
    from stackgen.methods import fitting, protocols
    from stackgen.methods.members import member_from, tutorial_mlp

    # blobs that overlap: a validation loss that turns, so copies stop early and train again
    X, y = make_blobs(n_samples=90, centers=3, n_features=2, cluster_std=8, random_state=5)
    X = X.astype(np.float32)
    classes = Classes(CLASSIFICATION, 3, ("0", "1", "2"))
    splits = protocols.stacking_cv(3, CLASSIFICATION, 0).split(X, y)
    settings = {"patience": 2, "epochs": 60, "batch_size": 16}

    def stopped():
        members = [member_from(tutorial_mlp(50), i, 50 + i, X, classes, f"m{i}") for i in (1, 2)]
        oof, folds = fitting.out_of_fold_early_stopped(members, X, y, classes, splits, **settings)
        with_folds = fitting.final_models_early_stopped(members, X, y, classes, folds, **settings)
        without = fitting.final_models_early_stopped(members, X, y, classes, None, **settings)
        return oof, folds + with_folds[1] + without[1], with_folds[0] + without[0]

    oof, records, models = stopped()
    with cluster.trainings_on("local", workers=2) as there:
        oof_there, records_there, models_there = stopped()
    assert there.sent == 6 + 2 + (2 + 2)  # fold copies; finals; epochs on own rows, finals
    assert np.array_equal(oof, oof_there) and not np.isnan(oof).any()
    assert sum(r.epoch < 60 for r in records) >= 6  # stopped early, and were trained again
    for here_record, dask_record in zip(records, records_there, strict=True):
        assert (here_record.member, here_record.split) == (dask_record.member, dask_record.split)
        assert here_record.epoch == dask_record.epoch
        assert np.array_equal(here_record.validation_rows, dask_record.validation_rows)
    for model, model_there in zip(models, models_there, strict=True):
        for weights, weights_there in zip(
            model.get_weights(), model_there.get_weights(), strict=True
        ):
            assert np.array_equal(weights, weights_there)
