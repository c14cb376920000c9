"""Step 1's data: the tutorial's blobs, split, saved and loaded back with checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import tiny_config

from stackgen.data.task import CLASSIFICATION
from stackgen.trust.atomic import _umask
from stackgen.trust.errors import CorruptArtifactError, MissingArtifactError
from stackgen.tutorial.step01_make_data import classes_line
from stackgen.workdir import split_files as data
from stackgen.workdir.paths import Paths


def test_split_has_the_tutorials_shapes_and_classes(workdir):
    split = data.make_split(tiny_config(workdir))
    assert split.train_X.shape == (100, 2)
    assert split.test_X.shape == (1000, 2)
    assert split.train_y.shape == (100,) and split.test_y.shape == (1000,)
    assert set(np.unique(split.test_y)) == {0, 1, 2}
    assert split.n_classes == 3 and split.n_features == 2


def test_split_is_the_first_100_rows_of_make_blobs(workdir):
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=1100, centers=3, n_features=2, cluster_std=2.0, random_state=2)
    split = data.make_split(tiny_config(workdir))
    np.testing.assert_allclose(split.train_X, X[:100], rtol=1e-6)
    np.testing.assert_array_equal(split.test_y, y[100:])


def test_data_does_not_depend_on_the_training_seed(workdir):
    a = data.make_split(tiny_config(workdir, seed=1))
    b = data.make_split(tiny_config(workdir, seed=99))
    np.testing.assert_array_equal(a.test_X, b.test_X)


def test_save_and_load_round_trip_keeps_arrays_and_parameters(workdir):
    cfg = tiny_config(workdir)
    paths = Paths(workdir)
    split = data.make_split(cfg)
    data.save_split(split, paths.data)
    loaded = data.load_split(paths)
    np.testing.assert_array_equal(loaded.train_X, split.train_X)
    np.testing.assert_array_equal(loaded.test_y, split.test_y)
    assert loaded.params == {
        "n_samples": 1100,
        "centers": 3,
        "n_features": 2,
        "cluster_std": 2.0,
        "random_state": 2,
        "n_train": 100,
    }
    assert not list(paths.data.parent.glob(".*tmp*")), "temporary file left behind"
    assert paths.data.stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_missing_data_names_the_step_that_makes_it(workdir):
    with pytest.raises(
        MissingArtifactError,
        match=r"data/split\.npz is missing: run "
        r"scripts/01_make_data\.py",
    ):
        data.load_split(Paths(workdir))


def _write_npz(path, **arrays):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        np.savez(fh, **arrays)


def _good_arrays(workdir):
    split = data.make_split(tiny_config(workdir))
    return {
        "train_X": split.train_X,
        "train_y": split.train_y,
        "test_X": split.test_X,
        "test_y": split.test_y,
        "params_json": np.array(json.dumps(split.params)),
    }


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda a: a.update(train_X=np.full((100, 2), np.nan)), "NaN or infinite"),
        (lambda a: a.update(test_X=a["test_X"][:, :1]), "different numbers of features"),
        (lambda a: a.update(train_y=a["train_y"].astype(np.float64)), "dtypes"),
        (lambda a: a.update(train_y=a["train_y"][:50]), "shapes"),
        (lambda a: a.update(test_y=a["test_y"] + 5), "labels outside"),
        (lambda a: a.pop("params_json"), "missing arrays params_json"),
    ],
)
def test_bad_data_files_are_refused_with_the_reason(workdir, change, reason):
    arrays = _good_arrays(workdir)
    change(arrays)
    paths = Paths(workdir)
    _write_npz(paths.data, **arrays)
    with pytest.raises(CorruptArtifactError, match=reason) as info:
        data.load_split(paths)
    assert "run scripts/01_make_data.py" in str(info.value)


def test_a_non_zip_file_is_refused(workdir):
    paths = Paths(workdir)
    paths.data.parent.mkdir(parents=True)
    paths.data.write_bytes(b"")
    with pytest.raises(CorruptArtifactError, match=r"data/split\.npz could not be read"):
        data.load_split(paths)


def test_one_hot_matches_class_indices():
    np.testing.assert_array_equal(
        CLASSIFICATION.targets(np.array([2, 0, 1]), 3), [[0, 0, 1], [1, 0, 0], [0, 1, 0]]
    )


def test_a_long_class_list_is_summarised_with_its_rarest_class():
    assert classes_line(["a", "b"], np.array([3, 4])) == "classes: a (3), b (4)"
    names = [f"c{i}" for i in range(300)]
    counts = np.full(300, 6)
    counts[217] = 2
    line = classes_line(names, counts)
    assert line.startswith("classes: 300: c0 (6), c1 (6),") and "c9 (6), ... 290 more" in line
    assert line.endswith("fewest rows: c217 (2)") and "c10 " not in line
