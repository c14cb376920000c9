"""The tutorial's own member files: legacy Keras HDF5 (``models/model_1.h5``), stacked with
``--member-files`` as they are, read without running code from them.

``keras2_member`` writes a file the way the tutorial's Keras 2 saved ``model.save('model_1.h5')``
for ``Sequential([Dense(25, input_dim=2, activation='relu'), Dense(3, activation='softmax')])``:
the model's configuration and its training settings as JSON attributes, the weights under
``model_weights``. No Keras 2 is needed to write one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from test_own_members import TINY, call, one_line_failure, snapshot

from stackgen.methods.members import load_member_file
from stackgen.trust.errors import StackgenError
from stackgen.trust.safe_load import member_file_config
from stackgen.workdir.paths import Paths
from stackgen.workdir.split_files import load_split


def _dense(name: str, units: int, activation: str, first: bool) -> dict:
    config = {
        "name": name,
        "trainable": True,
        "dtype": "float32",
        "units": units,
        "activation": activation,
        "use_bias": True,
        "kernel_initializer": {
            "class_name": "VarianceScaling",
            "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None},
        },
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None,
        "bias_regularizer": None,
        "activity_regularizer": None,
        "kernel_constraint": None,
        "bias_constraint": None,
    }
    if first:  # Dense(25, input_dim=2): Keras 2 saved it as the layer's batch_input_shape
        config["batch_input_shape"] = [None, 2]
    return {"class_name": "Dense", "config": config}


def keras2_member(path: Path, seed: int) -> tuple[Path, list[np.ndarray]]:
    """A tutorial member as Keras 2.2.4 saved it, with weights drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(size=(2, 25)).astype("float32"),
        rng.normal(scale=0.1, size=25).astype("float32"),
        rng.normal(size=(25, 3)).astype("float32"),
        rng.normal(scale=0.1, size=3).astype("float32"),
    ]
    model = {
        "class_name": "Sequential",
        "config": {
            "name": f"sequential_{seed}",
            "layers": [_dense("dense_1", 25, "relu", True), _dense("dense_2", 3, "softmax", False)],
        },
    }
    training = {
        "optimizer_config": {
            "class_name": "Adam",
            "config": {"lr": 0.001, "beta_1": 0.9, "beta_2": 0.999, "decay": 0.0, "amsgrad": False},
        },
        "loss": "categorical_crossentropy",
        "metrics": ["accuracy"],
        "sample_weight_mode": None,
        "loss_weights": None,
    }
    with h5py.File(path, "w") as fh:
        fh.attrs["keras_version"] = b"2.2.4"
        fh.attrs["backend"] = b"tensorflow"
        fh.attrs["model_config"] = json.dumps(model).encode()
        fh.attrs["training_config"] = json.dumps(training).encode()
        group = fh.create_group("model_weights")
        group.attrs["layer_names"] = [b"dense_1", b"dense_2"]
        group.attrs["backend"] = b"tensorflow"
        group.attrs["keras_version"] = b"2.2.4"
        for name, (kernel, bias) in (("dense_1", weights[:2]), ("dense_2", weights[2:])):
            layer = group.create_group(name)
            layer.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            layer.create_dataset(f"{name}/kernel:0", data=kernel)
            layer.create_dataset(f"{name}/bias:0", data=bias)
    return path, weights


def _forward(weights: list[np.ndarray], X: np.ndarray) -> np.ndarray:
    hidden = np.maximum(X @ weights[0] + weights[1], 0.0)
    logits = hidden @ weights[2] + weights[3]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.xdist_group("own_members")
def test_the_tutorials_keras_2_h5_members_are_stacked_as_saved(tmp_path, capfd):
    folder = tmp_path / "models"
    folder.mkdir()
    made = [keras2_member(folder / f"model_{i}.h5", seed=i) for i in (1, 2, 3)]
    files = [path for path, _ in made]
    before = [_digest(f) for f in files]
    work = tmp_path / "work"
    argv = ["run", "--member-files", *map(str, files), *TINY, "--upto", "4"]
    status, out, err = call([*argv, "--workdir", str(work)], capfd)
    assert status == 0, err
    for i in (1, 2, 3):
        assert f"member_{i}: model_{i}.h5 (softmax output used as it is)" in out
    assert [_digest(f) for f in files] == before  # the user's files are never changed
    paths = Paths(work)
    manifest = json.loads(paths.members_manifest.read_text())
    assert [r["sha256"] for r in manifest["imported"]] == before
    assert all(r["retrainable"] for r in manifest["imported"])  # Keras 2's Adam(lr=...) rebuilt
    # Each saved member computes what the file's weights compute, per row of two features.
    split = load_split(paths)
    for i, (_, weights) in enumerate(made, start=1):
        saved = keras.saving.load_model(paths.member(i), safe_mode=True, compile=False)
        np.testing.assert_allclose(
            saved(split.test_X).numpy(), _forward(weights, split.test_X), atol=1e-5
        )
    stacked = json.loads(paths.result("stack_logistic.json").read_text())
    assert "cv" in json.dumps(stacked["protocols"])  # the fresh copies trained from the file


def test_a_keras_3_h5_file_loads_with_its_training_settings(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(3)]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="categorical_crossentropy")
    path = tmp_path / "model_1.hdf5"
    model.save(path)
    config = member_file_config(path, "m")
    assert config["compile_config"]["optimizer"]["class_name"] == "SGD"
    assert config["compile_config"]["loss"] == "categorical_crossentropy"
    assert config["config"]["layers"][-1]["config"]["units"] == 3


def _lambda_h5(path: Path) -> Path:
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(3)]
    )
    model.save(path)
    return path


def test_a_lambda_in_an_h5_file_is_refused_before_keras_reads_it(tmp_path, monkeypatch):
    path = _lambda_h5(tmp_path / "lambda.h5")

    def never(*args, **kwargs):
        raise AssertionError("Keras was asked to load a file with a Lambda layer")

    monkeypatch.setattr(keras.saving, "load_model", never)
    with pytest.raises(StackgenError, match="Lambda layer"):
        load_member_file(path, "--member-files lambda.h5")


@pytest.mark.parametrize("case", ["Lambda", "weights only", "HDF5 named .keras", "not a model"])
def test_an_h5_member_that_cannot_be_read_is_one_line_and_nothing_is_written(case, tmp_path, capfd):
    keras.utils.set_random_seed(1)
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="softmax")])
    if case == "Lambda":
        path, message = _lambda_h5(tmp_path / "lambda.h5"), "Lambda layer"
    elif case == "weights only":
        path, message = tmp_path / "only.weights.h5", "holds no model configuration"
        plain.save_weights(path)
    elif case == "HDF5 named .keras":
        path, message = tmp_path / "renamed.keras", "name it .h5"
        plain.save(tmp_path / "renamed.h5")
        (tmp_path / "renamed.h5").rename(path)
    else:
        path, message = tmp_path / "notes.h5", "neither a .keras archive nor a Keras HDF5 file"
        path.write_text("model notes, not a model\n")
    work = tmp_path / "w"
    status, _, err = call(["run", "--upto", "1", "--quiet", "--workdir", str(work)], capfd)
    assert status == 0, err
    before = snapshot(work)
    argv = ["run", "--member-files", str(path), *TINY, "--upto", "3", "--workdir", str(work)]
    line = one_line_failure(*call(argv, capfd)[::2])
    assert message in line and path.name in line, line
    assert snapshot(work) == before
