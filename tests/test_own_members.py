"""Members trained elsewhere (--member-files) on data given as arrays (--data FILE.npz).

The members are built here as a user would build them: plain ``keras.Sequential`` models with
Keras's default names, a CNN, a GRU reading image rows as a sequence, a model with two inputs,
sigmoid, logit and softmax outputs. Steps run in this process through ``python -m stackgen``'s
``main`` (as test_cli_contract does), except where another backend needs its own process.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import ROOT, run_script
from test_backends import need, under

from stackgen.cli.doctor import doctor
from stackgen.cli.main import main
from stackgen.data import inputs
from stackgen.methods import fitting
from stackgen.methods.member_checks import LOGIT, LOGITS, SIGMOID, SOFTMAX
from stackgen.trust.errors import StackgenError
from stackgen.tutorial.step03_train_members import cv_refusal
from stackgen.workdir import own_members
from stackgen.workdir.paths import Paths
from stackgen.workdir.split_files import load_split

TINY = ["--epochs", "2", "--meta-epochs", "2", "--fine-tune-epochs", "2", "--quiet"]


def import_members(files, split):
    """Step 3's import of ``files`` for ``split``: checked and wrapped members."""
    from stackgen.config import Config

    cfg = Config(member_files=tuple(Path(f) for f in files), workdir=Path("."))
    return own_members.imported_members(split, cfg)


SIDE = 4  # images SIDE x SIDE x 1


def images(n: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Tiny images whose class is where a bright square sits: learnable in a few epochs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = rng.normal(0, 0.3, (n, SIDE, SIDE, 1)).astype(np.float32)
    for i, c in enumerate(y):
        X[i, c % SIDE, (c // SIDE) % SIDE, 0] += 2.0
    return X, y


def write_npz(path: Path, classes: int = 3, train: bool = True, extra: bool = False, **more):
    X, y = images(150, classes, seed=classes)
    arrays = {"test_y": y[90:]}
    if train:
        arrays["train_y"] = y[:90]
    if extra:  # two inputs: the image and two hand-made features
        feats = np.stack([X.mean((1, 2, 3)), X.max((1, 2, 3))], axis=1)
        arrays |= {"test_X_image": X[90:], "test_X_extra": feats[90:]}
        if train:
            arrays |= {"train_X_image": X[:90], "train_X_extra": feats[:90]}
    else:
        arrays["test_X"] = X[90:]
        if train:
            arrays["train_X"] = X[:90]
    arrays |= more
    np.savez(path, **arrays)
    return path


def save(model: keras.Model, path: Path, loss="sparse_categorical_crossentropy", fit=None):
    if loss is not None:
        model.compile(optimizer="adam", loss=loss)
    if fit is not None:
        model.fit(*fit, epochs=2, verbose=0)
    model.save(path)
    return path


def sequential(out: int, activation: str | None, name: str | None = None) -> keras.Model:
    """A plain Sequential model; with ``name=None`` every layer has Keras's default name."""
    layers = [
        keras.Input((SIDE, SIDE, 1), **({"name": name} if name else {})),
        keras.layers.Flatten(),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(out, activation=activation),
    ]
    return keras.Sequential(layers)


def cnn(classes: int) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((SIDE, SIDE, 1), name="image"),
            keras.layers.Conv2D(4, 2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )


def gru(classes: int) -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((SIDE, SIDE, 1), name="image"),
            keras.layers.Reshape((SIDE, SIDE)),
            keras.layers.GRU(6),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )


def two_inputs(classes: int) -> keras.Model:
    image, extra = keras.Input((SIDE, SIDE, 1), name="image"), keras.Input((2,), name="extra")
    x = keras.layers.Concatenate()([keras.layers.Flatten()(image), extra])
    return keras.Model([image, extra], keras.layers.Dense(classes, activation="softmax")(x))


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".stackgen.lock"
    }


def call(argv: list[str], capfd) -> tuple[int, str, str]:
    capfd.readouterr()
    try:
        main(argv)
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    out, err = capfd.readouterr()
    return status, out, err


def script(step: str, argv: list[str], capfd) -> tuple[int, str, str]:
    """A numbered script's main, in this process."""
    from stackgen.cli.main import run_script as run_step

    module = {
        "1": "stackgen.tutorial.step01_make_data",
        "3": "stackgen.tutorial.step03_train_members",
        "4": "stackgen.tutorial.step04_stack_logistic",
    }[step]
    capfd.readouterr()
    try:
        run_step(module, argv, None)
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    out, err = capfd.readouterr()
    return status, out, err


def one_line_failure(status: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert status in (1, 2) and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture(scope="session")
def default_named(tmp_path_factory) -> dict:
    """Three plain Sequential members with Keras's default names, on three-class images."""
    folder = tmp_path_factory.mktemp("default_named")
    data = write_npz(folder / "images.npz")
    with np.load(data) as npz:
        fit = (npz["train_X"], npz["train_y"])
    keras.utils.set_random_seed(0)
    files = [save(sequential(3, "softmax"), folder / f"m{i}.keras", fit=fit) for i in range(3)]
    return {"data": data, "files": files, "folder": folder}


@pytest.mark.xdist_group("own_members")
def test_three_default_named_sequentials_stack_under_every_protocol(default_named, capfd):
    """The "layer names should be unique" error: three models called "sequential" inside, with
    layers "dense" and "dense_1" each, are stacked side by side."""
    work = default_named["folder"] / "work"
    files = [str(f) for f in default_named["files"]]
    argv = ["run", "--data", str(default_named["data"]), "--member-files", *files]
    status, out, err = call([*argv, *TINY, "--upto", "6", "--workdir", str(work)], capfd)
    assert status == 0, err
    for i in (1, 2, 3):
        assert f"member_{i}: m{i - 1}.keras (softmax output used as it is)" in out
    assert out.count("trained outside stackgen") == 1  # the assumption, said once
    assert "step 2 skipped" in out  # images are not feature columns
    paths = Paths(work)
    manifest = json.loads(paths.members_manifest.read_text())
    sources = [Path(r["source"]).name for r in manifest["imported"]]
    assert sources == ["m0.keras", "m1.keras", "m2.keras"]
    digests = [hashlib.sha256(f.read_bytes()).hexdigest() for f in default_named["files"]]
    assert [r["sha256"] for r in manifest["imported"]] == digests
    lineage = json.loads(paths.lineage.read_text())
    recorded = lineage["models/member_1.keras"]["params"]["member_sources"]
    assert [r["sha256"] for r in recorded] == digests
    network = keras.saving.load_model(paths.stacked_network_for("cv"), safe_mode=True)
    names = [layer.name for layer in network.layers]
    assert len(names) == len(set(names)) and {"member_1", "member_2", "member_3"} <= set(names)
    methods = json.loads(paths.result("methods.json").read_text())
    assert set(methods["protocols"]) == {"tutorial", "holdout", "cv"}
    # What step 3 saved is the file's model: the same probabilities.
    split = load_split(paths)
    for i, f in enumerate(default_named["files"], start=1):
        original = keras.saving.load_model(f, safe_mode=True, compile=False)
        saved = keras.saving.load_model(paths.member(i), safe_mode=True, compile=False)
        np.testing.assert_allclose(
            saved(split.test_X).numpy(), original(split.test_X).numpy(), atol=1e-6
        )
    # Every hint in this work dir carries its members: pasted, it imports them again rather
    # than training stackgen's MLPs in their place.
    copy = default_named["folder"] / "hinted"
    shutil.copytree(work, copy)
    (copy / "models" / "member_2.keras").unlink()
    capfd.readouterr()
    assert doctor(copy) > 0
    out = capfd.readouterr().out
    members = " --epochs 2 --member-files " + " ".join(files)
    assert (
        "FIX models/member_2.keras is missing (models/members.json lists it): re-run "
        f"scripts/03_train_members.py --data {default_named['data']} --workdir {copy}{members} "
        f"(or python -m stackgen run --data {default_named['data']} --workdir {copy}{members})"
    ) in out
    assert out.rstrip().endswith(
        f"python -m stackgen run --data {default_named['data']} --workdir {copy}{members}"
    )


@pytest.mark.xdist_group("own_members")
def test_sigmoid_logit_and_softmax_outputs_become_class_probabilities(tmp_path):
    keras.utils.set_random_seed(1)
    write_npz(tmp_path / "two.npz", classes=2)
    write_npz(tmp_path / "three.npz", classes=3)
    from stackgen.config import Config
    from stackgen.workdir.split_files import make_split

    binary = make_split(Config(data_file=tmp_path / "two.npz", workdir=tmp_path))
    three = make_split(Config(data_file=tmp_path / "three.npz", workdir=tmp_path))
    sigmoid = save(sequential(1, "sigmoid"), tmp_path / "sigmoid.keras", "binary_crossentropy")
    logit = save(
        sequential(1, None),
        tmp_path / "logit.keras",
        keras.losses.BinaryCrossentropy(from_logits=True),
    )
    logits = save(
        sequential(3, None),
        tmp_path / "logits.keras",
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    softmax = save(sequential(3, "softmax"), tmp_path / "softmax.keras")
    dropout = sequential(3, "softmax")  # a Dropout after the softmax: still probabilities
    dropout.add(keras.layers.Dropout(0.5))
    dropout = save(dropout, tmp_path / "dropout.keras")
    as_function = save(  # the loss saved as a function, not a Loss object
        sequential(3, "softmax"),
        tmp_path / "function_loss.keras",
        keras.losses.sparse_categorical_crossentropy,
    )
    (function_loss,) = import_members((as_function,), three)
    assert function_loss.settings is not None  # cv can retrain it
    value = save(sequential(1, None), tmp_path / "value.keras", loss="mse")
    with pytest.raises(StackgenError, match="a regression member .* in a classification stack"):
        import_members((value,), binary)
    rng = np.random.default_rng(2)
    values = write_npz(
        tmp_path / "values.npz", classes=2, train_y=rng.normal(size=90), test_y=rng.normal(size=60)
    )
    regression = make_split(Config(data_file=values, workdir=tmp_path))
    assert regression.task.name == "regression" and import_members((value,), regression)
    with pytest.raises(StackgenError, match="a two-class member .* in a regression stack"):
        import_members((logit,), regression)  # its loss says its unit is a logit
    got = import_members((sigmoid, logit), binary)
    got += import_members((logits, softmax, dropout), three)
    kinds = [item.kind for item in got]
    assert kinds == [SIGMOID, LOGIT, LOGITS] + [SOFTMAX] * 2
    for item in got:
        X = binary.test_X if item.kind in (SIGMOID, LOGIT) else three.test_X
        raw = keras.ops.convert_to_numpy(item.given(X))
        probs = keras.ops.convert_to_numpy(item.wrapped(item.given, None)(X))
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        expected = {
            SIGMOID: np.hstack([1 - raw, raw]),
            LOGIT: np.hstack([1 - _sigmoid(raw), _sigmoid(raw)]),
            LOGITS: _softmax(raw),
            SOFTMAX: raw,
        }[item.kind]
        np.testing.assert_allclose(probs, expected, atol=1e-5)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="session")
def several_inputs(tmp_path_factory) -> dict:
    """An image and two features as named inputs; a CNN and a GRU on the image, a member on both;
    steps 1-5 run, predict's input written."""
    folder = tmp_path_factory.mktemp("several_inputs")
    data = write_npz(folder / "two_inputs.npz", extra=True)
    keras.utils.set_random_seed(2)
    files = [
        save(cnn(3), folder / "cnn.keras"),
        save(gru(3), folder / "gru.keras"),
        save(two_inputs(3), folder / "two.keras"),
    ]
    work = folder / "work"
    return {"data": data, "files": files, "work": work, "folder": folder}


@pytest.mark.xdist_group("own_members")
def test_several_inputs_wire_each_member_to_the_inputs_it_names_and_predict_serves_them(
    several_inputs, capfd
):
    s = several_inputs
    files = [str(f) for f in s["files"]]
    argv = ["run", "--data", str(s["data"]), "--member-files", *files, *TINY, "--folds", "2"]
    status, out, err = call([*argv, "--upto", "8", "--workdir", str(s["work"])], capfd)
    assert status == 0, err
    paths = Paths(s["work"])
    fine = json.loads(paths.result("fine_tune.json").read_text())  # fine-tuning ran on them
    assert set(fine["protocols"]) == {"tutorial", "holdout", "cv"}
    network = keras.saving.load_model(paths.stacked_network_for("holdout"), safe_mode=True)
    assert sorted(t.name for t in network.inputs) == ["extra", "image"]
    split = load_split(paths)
    with np.load(s["data"]) as npz:
        image, extra = npz["test_X_image"][:5], npz["test_X_extra"][:5]
    np.savez(s["folder"] / "points.npz", X_image=image, X_extra=extra)
    points = str(s["folder"] / "points.npz")
    done = run_script("predict", "--input", points, "--long", workdir=s["work"])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "point,model,class,p_0,p_1,p_2"
    assert len(lines) == 1 + 5 * (3 + 2)
    # The two-input member's line for point 1 is the file's model on that point.
    original = keras.saving.load_model(s["files"][2], safe_mode=True, compile=False)
    expected = original([image[:1], extra[:1]]).numpy()[0]
    member_3 = next(line for line in lines if line.startswith("1,member_3,"))
    np.testing.assert_allclose([float(v) for v in member_3.split(",")[3:]], expected, atol=1e-4)
    assert split.input_names == ["extra", "image"]


@pytest.mark.xdist_group("own_members")
def test_cv_never_gives_a_row_a_prediction_from_a_copy_that_trained_on_it(
    several_inputs, monkeypatch
):
    from stackgen.config import Config
    from stackgen.workdir.split_files import make_split

    cfg = Config(data_file=several_inputs["data"], epochs=1, folds=3, workdir=Path("."))
    split = make_split(cfg)
    items = import_members(tuple(several_inputs["files"]), split)
    trained_on: list[np.ndarray] = []  # each fresh copy's training rows, as row digests
    real_fit = fitting.train_one

    def recording(model, X, rows, *args):
        trained_on.append(inputs.row_digests(inputs.take(X, rows)))
        return real_fit(model, X, rows, *args)

    monkeypatch.setattr(fitting, "train_one", recording)
    oof, fold_of = own_members.out_of_fold(items, split, cfg)
    assert len(trained_on) == 3 * len(items)  # a fresh copy per fold and member
    every = inputs.row_digests(split.train_X)
    assert len(set(every)) == len(every)  # rows told apart by their values
    for call_index, rows in enumerate(trained_on):
        fold = call_index // len(items)
        held_out = every[fold_of == fold]
        assert not np.isin(held_out, rows).any()  # never trained on the rows it predicts
        assert sorted([*rows, *held_out]) == sorted(every)
    assert np.isfinite(oof).all() and oof.shape == (90, 3, 3)
    again, _ = own_members.out_of_fold(items, split, cfg)  # same seed: the same predictions
    np.testing.assert_array_equal(again, oof)
    # Fresh copies: new weights drawn from the member's own seed, the same every time.
    first, again = items[0].fresh(), items[0].fresh()
    pairs = zip(first.get_weights(), again.get_weights(), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)
    keras.utils.set_random_seed(999)
    other = keras.models.clone_model(items[0].given)
    assert not np.allclose(other.get_weights()[0], first.get_weights()[0])


@pytest.mark.xdist_group("own_members")
def test_without_train_arrays_the_cv_protocol_is_skipped_in_one_line(
    default_named, tmp_path, capfd
):
    data = write_npz(tmp_path / "test_only.npz", train=False)
    files = [str(f) for f in default_named["files"]]
    argv = ["run", "--data", str(data), "--member-files", *files, *TINY, "--upto", "4"]
    status, out, err = call([*argv, "--workdir", str(tmp_path / "w")], capfd)
    assert status == 0, err
    assert "note: no train arrays" in out
    assert out.count("note: the cv protocol is skipped: the data has no train arrays") == 2
    summary = json.loads((tmp_path / "w" / "results" / "stack_logistic.json").read_text())
    assert sorted(summary["protocols"]) == ["holdout", "tutorial"]
    only_cv = call([*argv, "--protocol", "cv", "--workdir", str(tmp_path / "v")], capfd)
    assert "no train arrays" in one_line_failure(only_cv[0], only_cv[2])


@pytest.mark.xdist_group("own_members")
def test_an_uncompiled_member_skips_cv_and_says_why(default_named, tmp_path, capfd):
    bare = save(sequential(3, "softmax"), tmp_path / "bare.keras", loss=None)
    work = tmp_path / "w"
    data = str(default_named["data"])
    assert script("1", ["--data", data, "--workdir", str(work), "--quiet"], capfd)[0] == 0
    status, out, err = script(
        "3",
        [
            "--data",
            data,
            "--member-files",
            str(bare),
            str(default_named["files"][0]),
            "--workdir",
            str(work),
            *TINY,
        ],
        capfd,
    )
    assert status == 0, err
    assert "bare.keras cannot be retrained: it was saved without a training configuration" in out
    assert not Paths(work).oof.exists()


@pytest.mark.xdist_group("own_members")
def test_cv_refuses_copies_that_could_not_learn_or_would_relearn_seen_statistics(
    default_named, tmp_path
):
    from stackgen.config import Config
    from stackgen.workdir.split_files import make_split

    split = make_split(Config(data_file=default_named["data"], workdir=tmp_path))
    keras.utils.set_random_seed(10)
    norm = keras.layers.Normalization()
    norm.adapt(split.train_X)
    adapted = keras.Sequential(
        [keras.Input((SIDE, SIDE, 1)), norm, keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    frozen = sequential(3, "softmax")
    frozen.trainable = False
    files = (
        save(adapted, tmp_path / "adapted.keras", keras.losses.SparseCategoricalCrossentropy(True)),
        save(frozen, tmp_path / "frozen.keras"),
    )
    items = import_members(files, split)
    assert "Normalization layer holds statistics" in cv_refusal(items[:1], split)
    assert "no trainable weights" in cv_refusal(items[1:], split)


def test_a_missing_member_file_stops_run_before_step_1_writes(default_named, tmp_path, capfd):
    work = tmp_path / "w"
    argv = ["run", "--data", str(default_named["data"]), "--workdir", str(work)]
    status, _, err = call([*argv, "--member-files", str(tmp_path / "gone.keras")], capfd)
    assert "gone.keras: no such file" in one_line_failure(status, err)
    assert not work.exists()


def test_a_csv_table_is_refused_for_members_trained_elsewhere(default_named, tmp_path, capfd):
    table = tmp_path / "t.csv"
    rows = [f"{i % 5},{i % 7},{'ab'[i % 2]}" for i in range(40)]
    table.write_text("a,b,y\n" + "\n".join(rows) + "\n")
    work = tmp_path / "w"
    data = ["--data", str(table), "--target", "y", "--workdir", str(work), "--quiet"]
    assert script("1", data, capfd)[0] == 0
    before = snapshot(work)
    status, _, err = script("3", [*data, "--member-files", str(default_named["files"][0])], capfd)
    assert "standardised this table's columns" in one_line_failure(status, err)
    assert snapshot(work) == before


@pytest.mark.xdist_group("own_members")
def test_test_rows_found_among_the_train_rows_are_a_leak_warning(tmp_path, capfd):
    X, y = images(60, 3, seed=5)
    test_X = np.concatenate([X[:7], X[40:]])  # 7 test rows copied from the train rows
    test_y = np.concatenate([y[:7], y[40:]])
    data = tmp_path / "leaky.npz"
    np.savez(data, train_X=X[:40], train_y=y[:40], test_X=test_X, test_y=test_y)
    status, out, err = call(
        ["run", "--upto", "1", "--data", str(data), "--workdir", str(tmp_path / "w")], capfd
    )
    assert status == 0, err
    assert "warning: 7 of the 27 test rows also appear in the train arrays" in out


def test_string_labels_are_classes_by_name(tmp_path, capfd):
    X, y = images(60, 2, seed=6)
    names = np.array(["cat", "dog"])[y]
    data = tmp_path / "pets.npz"
    np.savez(data, train_X=X[:40], train_y=names[:40], test_X=X[40:], test_y=names[40:])
    status, out, err = call(
        ["run", "--upto", "1", "--data", str(data), "--workdir", str(tmp_path / "w")], capfd
    )
    assert status == 0, err
    assert "task: classification (labels are names)" in out
    counts = {n: int((names == n).sum()) for n in ("cat", "dog")}
    assert f"classes: cat ({counts['cat']}), dog ({counts['dog']})" in out


@pytest.mark.xdist_group("own_members")
def test_a_regression_member_is_served_in_the_targets_units(tmp_path, capfd):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 3)).astype(np.float32)
    y = (X @ np.array([3.0, -2.0, 1.0]) * 40 + 500).astype(np.float64)
    data = tmp_path / "values.npz"
    np.savez(data, train_X=X[:50], train_y=y[:50], test_X=X[50:], test_y=y[50:])
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    member = save(model, tmp_path / "linear.keras", loss="mse")
    work = tmp_path / "w"
    argv = ["run", "--data", str(data), "--member-files", str(member), str(member), *TINY]
    status, out, err = call([*argv, "--upto", "5", "--workdir", str(work)], capfd)
    assert status == 0, err
    assert "member_1: linear.keras (one linear unit: a regression prediction" in out
    points = tmp_path / "points.npz"
    np.savez(points, X=X[50:53])
    done = run_script("predict", "--input", str(points), "--long", workdir=work)
    assert done.returncode == 0, done.stderr
    served = {
        line.split(",")[1]: float(line.split(",")[2])
        for line in done.stdout.splitlines()[1:]
        if line.startswith("1,")
    }
    # float32 standardising and back: a few millionths of the target's scale (about 100)
    np.testing.assert_allclose(served["member_1"], model(X[50:51]).numpy()[0, 0], atol=1e-3)


@pytest.fixture(scope="session")
def bad_members(tmp_path_factory, default_named) -> dict:
    """A work dir where step 1 ran on three-class images, and member files that cannot be
    stacked on it."""
    folder = tmp_path_factory.mktemp("bad_members")
    keras.utils.set_random_seed(4)
    not_keras = folder / "notes.keras"
    not_keras.write_text("not an archive")
    lam = keras.Sequential(
        [
            keras.Input((SIDE, SIDE, 1)),
            keras.layers.Lambda(lambda x: x * 2),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    keras_lambda = keras.Sequential(  # a Lambda that calls Keras's own function: refused too
        [
            keras.Input((SIDE, SIDE, 1)),
            keras.layers.Lambda(keras.ops.abs),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    other_input = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    saved_model = folder / "exported"  # TensorFlow's SavedModel layout, which Keras 3 exports
    saved_model.mkdir()
    (saved_model / "saved_model.pb").write_bytes(b"")
    return {
        "SavedModel": (saved_model, "a TensorFlow SavedModel folder"),
        "no last axis": (
            save(
                keras.Sequential(
                    [
                        keras.Input((SIDE, SIDE, 1)),
                        keras.layers.Flatten(),
                        keras.layers.Dense(1),
                        keras.layers.Reshape(()),
                    ]
                ),
                folder / "squeezed.keras",
                loss="mse",
            ),
            "output has shape (None,), one number a row without a last axis",
        ),
        "custom layer": (unknown_layer_member(folder / "custom.keras"), "uses 'elsewhere>Doubled'"),
        "missing": (folder / "absent.keras", "no such file"),
        "not an archive": (not_keras, "neither a .keras archive nor a Keras HDF5 file"),
        "Lambda": (save(lam, folder / "lambda.keras"), "Lambda layer"),
        "Lambda of a Keras function": (save(keras_lambda, folder / "abs.keras"), "Lambda layer"),
        "shape": (
            save(other_input, folder / "flat.keras"),
            "expects input of shape [5] per row; the data gives [4, 4, 1]",
        ),
        "classes": (save(sequential(5, "softmax"), folder / "five.keras"), "outputs 5 classes"),
        "regression": (
            save(sequential(1, None), folder / "value.keras", loss="mse"),
            "one output unit, a regression or a two-class member, but the data has 3 classes",
        ),
        "input name": (
            save(two_inputs(3), folder / "two.keras"),
            "has 2 inputs (image, extra) but the data one",
        ),
    }


def unknown_layer_member(path: Path) -> Path:
    """A member saved with a registered custom layer that this process then forgets, as a file
    trained in another program arrives."""

    @keras.saving.register_keras_serializable(package="elsewhere")
    class Doubled(keras.layers.Layer):
        def call(self, x):
            return x * 2

    model = keras.Sequential(
        [keras.Input((SIDE, SIDE, 1)), Doubled(), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    save(model, path)
    keras.saving.get_custom_objects().pop("elsewhere>Doubled")
    return path


# Every case of bad_members: those the file alone shows, and those it shows against the data.
BAD_MEMBERS = (
    "SavedModel",
    "custom layer",
    "no last axis",
    "missing",
    "not an archive",
    "Lambda",
    "Lambda of a Keras function",
    "shape",
    "classes",
    "regression",
    "input name",
)


@pytest.mark.xdist_group("own_members")
@pytest.mark.parametrize("case", BAD_MEMBERS)
def test_a_member_that_cannot_be_stacked_is_one_line_and_nothing_is_written(
    case, bad_members, default_named, tmp_path, capfd
):
    work = tmp_path / "w"
    data = str(default_named["data"])
    good = str(default_named["files"][0])
    assert script("1", ["--data", data, "--workdir", str(work), "--quiet"], capfd)[0] == 0
    before = snapshot(work)
    path, message = bad_members[case]
    status, out, err = script(
        "3", ["--data", data, "--member-files", good, str(path), "--workdir", str(work)], capfd
    )
    line = one_line_failure(status, err)
    assert message in line and Path(path).name in line, line
    assert snapshot(work) == before


@pytest.mark.xdist_group("own_members")
@pytest.mark.parametrize("case", list(BAD_MEMBERS))
def test_run_checks_every_member_file_before_step_1_writes(
    case, bad_members, default_named, tmp_path, capfd
):
    """A bad member in a second run leaves the first run's split and stack as they were: the
    checks that need the data run on the split step 1 would make, made in memory."""
    work = tmp_path / "w"
    data = str(default_named["data"])
    assert script("1", ["--data", data, "--workdir", str(work), "--quiet"], capfd)[0] == 0
    before = snapshot(work)
    path, message = bad_members[case]
    good = str(default_named["files"][0])
    argv = ["run", "--data", data, "--member-files", good, str(path), "--workdir", str(work)]
    status, _, err = call([*argv, *TINY], capfd)
    line = one_line_failure(status, err)
    assert message in line and Path(path).name in line, line
    assert snapshot(work) == before


@pytest.mark.xdist_group("own_members")
def test_an_input_the_data_lacks_is_named(several_inputs, tmp_path, capfd):
    keras.utils.set_random_seed(5)
    odd = keras.Sequential([keras.Input((2,), name="metadata"), keras.layers.Dense(3)])
    member = save(odd, tmp_path / "metadata.keras")
    work = tmp_path / "w"
    data = str(several_inputs["data"])
    assert script("1", ["--data", data, "--workdir", str(work), "--quiet"], capfd)[0] == 0
    status, _, err = script(
        "3", ["--data", data, "--member-files", str(member), "--workdir", str(work)], capfd
    )
    line = one_line_failure(status, err)
    assert "expects input 'metadata', which the data lacks; its inputs are extra, image" in line


BAD_ARRAYS = {
    "object": (
        lambda p: np.savez(p, test_X=np.array([[1], [2]], dtype=object), test_y=[0, 1]),
        "holds Python objects",
    ),
    "NaN": (
        lambda p: np.savez(p, test_X=np.array([[1.0], [np.nan]]), test_y=[0, 1]),
        "test_X holds NaN or infinite values",
    ),
    "rows": (
        lambda p: np.savez(p, test_X=np.zeros((3, 2)), test_y=[0, 1]),
        "test arrays have different numbers of rows: test_X 3, test_y 2",
    ),
    "no test": (
        lambda p: np.savez(p, train_X=np.zeros((3, 2)), train_y=[0, 1, 0]),
        "no test arrays",
    ),
    "not npz": (lambda p: p.write_text("a,b\n1,2\n"), "not a NumPy .npz archive"),
    "an .npy renamed": (lambda p: np.save(p.open("wb"), np.zeros(3)), "not a NumPy .npz archive"),
    "one-hot labels": (
        lambda p: np.savez(p, test_X=np.zeros((2, 2)), test_y=np.eye(2)),
        "give one label per row",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ARRAYS))
def test_an_npz_that_cannot_be_used_is_one_line_and_nothing_is_written(case, tmp_path, capfd):
    write, message = BAD_ARRAYS[case]
    data = tmp_path / "bad.npz"
    write(data)
    work = tmp_path / "w"
    status, _, err = call(
        ["run", "--upto", "1", "--data", str(data), "--workdir", str(work)], capfd
    )
    assert message in one_line_failure(status, err)
    assert not (work / "data").exists()


@pytest.mark.xdist_group("backends")
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_import_path_runs_under_other_backends(backend, several_inputs, tmp_path):
    """Members saved under TensorFlow, imported, stacked and fine-tuned under JAX and PyTorch:
    a CNN, a GRU and a two-input member (steps 1-8)."""
    need(backend)
    files = [str(f) for f in several_inputs["files"]]
    done = run_script(
        "run",
        "--data",
        str(several_inputs["data"]),
        "--upto",
        "8",
        "--folds",
        "2",
        *TINY,
        "--member-files",
        *files,
        workdir=tmp_path / "w",
        env=under(backend),
    )
    assert done.returncode == 0, f"{backend}:\n{done.stdout}\n{done.stderr[-3000:]}"
    assert re.search(r"member_3: two\.keras \(softmax output used as it is\)", done.stdout)
    assert "Traceback" not in done.stderr
    fine = json.loads((tmp_path / "w" / "results" / "fine_tune.json").read_text())
    assert set(fine["protocols"]) == {"tutorial", "holdout", "cv"}


def test_member_files_are_refused_by_the_steps_that_do_not_import(tmp_path, capfd):
    status, _, err = script(
        "4", ["--member-files", str(tmp_path / "a.keras"), "--workdir", str(tmp_path)], capfd
    )
    assert status == 2 and "--member-files applies to step 3" in err
    assert not (tmp_path / "models").exists()


@pytest.mark.xdist_group("own_members")
def test_the_digits_demos_members_import_as_its_docs_say(tmp_path):
    """examples/digits: its data has the two named inputs, and each of its four kinds of member
    (untrained here) imports with the output its docs describe."""
    sys.path.insert(0, str(ROOT / "examples" / "digits"))
    try:
        import members as demo
    finally:
        sys.path.pop(0)
    from stackgen.config import Config
    from stackgen.workdir.split_files import make_split

    data = demo.write_data(tmp_path / "digits.npz")
    split = make_split(Config(data_file=data, workdir=tmp_path))
    assert split.input_names == ["features", "image"] and len(split.test_y) == 450
    keras.utils.set_random_seed(7)
    files = tuple(
        save(demo.build(kind), tmp_path / f"{kind}.keras", loss=None) for kind in demo.KINDS
    )
    items = import_members(files, split)
    assert [item.kind for item in items] == [
        SOFTMAX,
        LOGITS,
        SOFTMAX,
        SOFTMAX,
    ]
    assert [item.reads for item in items][3] == ["image", "features"]
    assert all(item.settings is not None for item in items)  # cv can retrain every one


def test_a_member_below_chance_is_named_with_its_interval():
    from types import SimpleNamespace

    from stackgen.data.task import task_named
    from stackgen.tutorial.step04_stack_logistic import below_chance

    split = SimpleNamespace(
        task=task_named("classification"), n_classes=2, class_names=["hi", "lo"]
    )
    swapped = {"accuracy": 0.126, "ci_low": 0.10, "ci_high": 0.15}
    close = {"accuracy": 0.45, "ci_low": 0.40, "ci_high": 0.51}  # chance within its interval
    lines = below_chance(
        split, [{"accuracy": 0.9, "ci_low": 0.88, "ci_high": 0.92}, swapped, close]
    )
    assert lines == [
        "warning: member 2 scores 0.126 on the test rows (95% CI 0.100-0.150), below chance for "
        "2 classes (0.500): are its outputs in another order than the classes' (hi, lo)?"
    ]
    split.task = task_named("regression")
    assert below_chance(split, [swapped]) == []


def test_a_whole_number_input_that_would_truncate_fractions_is_said():
    from stackgen.methods.member_checks import truncated_inputs

    model = keras.Sequential(
        [keras.Input((4,), dtype="uint8", name="pixels"), keras.layers.Dense(2)]
    )
    images = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    (said,) = truncated_inputs(model, images, ["X"])
    assert said.startswith(
        "its input 'pixels' is uint8, and the data's values there have fractions"
    )
    assert truncated_inputs(model, np.round(images * 255), ["X"]) == []  # whole numbers: fine
    floats = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    assert truncated_inputs(floats, images, ["X"]) == []


@pytest.mark.parametrize(
    ("y", "asked", "task", "said"),
    [
        (np.array([0.0, 1.0, 2.0, 1.0]), "auto", "classification", "labels are floats holding 3"),
        (np.array([0.5, 1.0, 2.0, 1.0]), "auto", "regression", "--task classification to"),
        (np.arange(946), "auto", "regression", "946 distinct whole numbers, about 1.0 rows"),
        (np.arange(100).repeat(6), "auto", "classification", "--task regression to override"),
        (np.array([0.0, 1.0, 2.0, 1.0]), "regression", "regression", "--task regression"),
        (np.arange(946), "classification", "classification", "--task classification"),
    ],
)
def test_every_task_guess_for_arrays_says_the_flag_that_overrides_it(y, asked, task, said):
    from stackgen.workdir.array_files import label_task

    found, why = label_task(y, asked, "--data x.npz")
    assert found == task and said in why
    if asked == "auto":
        other = "regression" if task == "classification" else "classification"
        assert f"--task {other} to override" in why
