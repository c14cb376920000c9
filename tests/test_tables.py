"""Your own data (--data FILE.csv --target COLUMN): reading, splitting, errors, and whole runs on
scikit-learn's breast-cancer (binary), wine (3 classes) and diabetes (regression) tables."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, TINY, run_script

from stackgen.config import Config
from stackgen.data.examples import write_table
from stackgen.trust.errors import StackgenError
from stackgen.workdir import split_files as data
from stackgen.workdir.paths import Paths
from stackgen.workdir.table_files import choose_task, load_table

NUM = r"-?\d\.\d{3}"


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def sklearn_table(tmp_path: Path, name: str) -> tuple[Path, str]:
    """One of scikit-learn's bundled tables written as a user's CSV, string labels included."""
    return write_table(name, tmp_path)


def toy(tmp_path: Path, n: int = 60, labels=None, name="toy.csv") -> Path:
    rng = np.random.default_rng(0)
    labels = labels if labels is not None else ["cat", "dog", "eel"] * (n // 3)
    rows = [
        [f"{a:.4f}", f"{b:.4f}", y]
        for (a, b), y in zip(rng.normal(size=(n, 2)), labels, strict=True)
    ]
    return write_csv(tmp_path / name, ["a", "b", "animal"], rows)


def text_file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def load(path: Path, target="animal", task="auto", test_size=0.25, seed=2):
    """(arrays, params) of a table; its fitted transformer is left out."""
    arrays, params, _ = load_table(path, target, task, test_size, seed)
    return arrays, params


def test_a_table_is_split_stratified_seeded_and_standardised_on_training_rows(tmp_path):
    arrays, params = load(toy(tmp_path, n=120))
    assert params["task"] == "classification"
    assert params["class_names"] == ["cat", "dog", "eel"]  # mapped to 0, 1, 2 in sorted order
    assert len(arrays["train_y"]) == 90 and len(arrays["test_y"]) == 30
    assert np.bincount(arrays["test_y"]).tolist() == [10, 10, 10]  # stratified
    np.testing.assert_allclose(arrays["train_X"].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(arrays["train_X"].std(axis=0), 1, atol=1e-4)
    assert np.abs(arrays["test_X"].mean(axis=0)).max() > 1e-3  # not fit on the test rows
    again, _ = load(toy(tmp_path, n=120))
    other, _ = load(toy(tmp_path, n=120), seed=3)
    np.testing.assert_array_equal(arrays["test_X"], again["test_X"])
    assert not np.array_equal(arrays["test_X"], other["test_X"])


@pytest.mark.parametrize(
    "values, asked, task",
    [
        (["a", "b", "a"], "auto", "classification"),
        (["0", "1", "1", "0"], "auto", "classification"),
        ([str(v) for v in range(25)], "auto", "regression"),  # many distinct numbers
        (["0.5", "1.5", "0.5"], "auto", "regression"),  # fractional values
        ([str(v) for v in range(25)], "classification", "classification"),
        (["0", "1", "1"], "regression", "regression"),
    ],
)
def test_the_task_is_chosen_from_the_target_and_said_why(values, asked, task):
    chosen, why = choose_task(values, asked, "y")
    assert chosen == task and why


def test_a_regression_target_is_standardised_and_its_scale_kept(tmp_path):
    rng = np.random.default_rng(1)
    rows = [[f"{x:.5f}", f"{100 + 30 * x:.5f}"] for x in rng.normal(size=80)]
    arrays, params = load(write_csv(tmp_path / "r.csv", ["x", "y"], rows), target="y")
    assert params["task"] == "regression" and arrays["train_y"].dtype == np.float32
    assert abs(params["target_mean"] - 100) < 10 and abs(params["target_std"] - 30) < 10
    np.testing.assert_allclose(arrays["train_y"].mean(), 0, atol=1e-5)


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (lambda p: toy(p), {"target": "colour"}, "--target 'colour' is not a column of toy.csv"),
        (lambda p: toy(p, labels=["cat"] * 60), {}, "holds a single class ('cat')"),
        (
            lambda p: write_csv(
                p / "t.csv", ["a", "b", "y"], [["1", f"x{i}", str(i % 2)] for i in range(20)]
            ),
            {"target": "y"},
            "no feature column is left to learn from (dropped: a (constant), b (identifier",
        ),
        (lambda p: text_file(p / "e.csv", ""), {}, "the file is empty"),
        (lambda p: text_file(p / "h.csv", "a,animal\n"), {}, "no data rows"),
        (
            lambda p: text_file(p / "r.csv", "a,animal\n1,x\n2\n"),
            {},
            "row 3 has 1 fields, the header 2",
        ),
        (
            lambda p: text_file(p / "m.csv", "a,animal\n1,\n2,NA\n"),
            {},
            "target column 'animal' has no values",
        ),
        (lambda p: toy(p), {"task": "regression"}, "needs a numeric target"),
        (lambda p: p / "absent.csv", {}, "no such file"),
    ],
)
def test_bad_tables_are_one_clear_error(tmp_path, make, kwargs, message):
    with pytest.raises(StackgenError, match=re.escape(message)):
        load(make(tmp_path), **kwargs)


def test_bad_data_on_the_command_line_is_one_line_and_writes_nothing(tmp_path):
    work = tmp_path / "work"
    done = run_script(
        "run", "--data", str(toy(tmp_path)), "--target", "colour", *TINY, workdir=work
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: --target 'colour' is not a column of toy.csv (a, b, animal)"
    ]
    assert not (work / "data").exists() or not any((work / "data").iterdir())
    alone = run_script("run", "--data", str(toy(tmp_path)), *TINY, workdir=work)
    assert alone.returncode != 0 and "--data FILE.csv and --target COLUMN go together" in (
        alone.stderr
    )
    stray = run_script("run", "--task", "regression", *TINY, workdir=work)
    assert stray.returncode != 0 and "add --data FILE.csv" in stray.stderr


def test_the_work_dir_defaults_to_runs_named_after_the_file(tmp_path):
    from stackgen.cli import flags as cli

    parser = cli.make_parser("x", None)
    args = parser.parse_args(["--data", str(tmp_path / "my data.csv"), "--target", "y"])
    cfg = cli.config_from_args(args)
    assert cfg.workdir.parts[-2:] == ("runs", "my data")


@pytest.fixture(params=["breast_cancer", "wine", "diabetes"])
def table_run(request, once, tmp_path_factory):
    """``python -m stackgen run --data <table>.csv`` (every step and the report), tiny epochs;
    once per table."""

    def run(name: str):
        folder = tmp_path_factory.mktemp(name)
        path, target = sklearn_table(folder, name)
        work = folder / "work"
        done = run_script("run", "--data", str(path), "--target", target, *TINY, workdir=work)
        assert done.returncode == 0, done.stderr[-3000:]
        return name, path, target, work, done.stdout

    return once(("table", request.param), lambda: run(request.param))


@pytest.mark.xdist_group("tables")
def test_an_external_table_runs_end_to_end(table_run):
    name, path, target, work, stdout = table_run
    n_rows, n_features, n_classes = {
        "breast_cancer": (569, 30, 2),
        "wine": (178, 13, 3),
        "diabetes": (442, 10, 1),
    }[name]
    n_test = int(np.ceil(n_rows * 0.25))
    assert stdout.startswith(f"({n_rows - n_test}, {n_features}) ({n_test}, {n_features})\n")
    assert f"data: {name}.csv (target '{target}'" in stdout
    split = data.load_split(Paths(work))
    assert split.n_classes == n_classes and split.n_features == n_features
    if name == "diabetes":
        assert "task: regression (target 'progression' is numeric" in stdout
        assert re.search(
            rf"Train: R2 {NUM} \(RMSE [\d.]+\), Test: R2 {NUM} \(RMSE [\d.]+\)", stdout
        )
        assert len(re.findall(rf"Model R2: {NUM} \(RMSE [\d.]+\)", stdout)) == 3
        assert "linear regression" in stdout and "non-negative linear regression" in stdout
        assert "logistic" not in stdout
    else:
        assert f"task: classification (target '{target}' is not numeric)" in stdout
        names = {"breast_cancer": ["benign", "malignant"], "wine": ["class_0", "class_1"]}[name]
        assert all(f"{n} (" in stdout for n in names)  # classes reported by name with counts
        assert len(re.findall(rf"Model Accuracy: {NUM}\n", stdout)) == 3
    for result in ("single_mlp", "stack_logistic", "stack_integrated", "methods", "fine_tune"):
        saved = json.loads((work / f"results/{result}.json").read_text())
        assert saved["data"].startswith(f"{name}.csv (target '{target}'"), result
    manifest = json.loads((work / "models/members.json").read_text())
    # Members are widened for wider data: 2 x (features + outputs) hidden units.
    assert manifest["architectures"][0] == [max(25, 2 * (n_features + n_classes))]
    report = (work / "reports/report.md").read_text()
    assert f"Data: {name}.csv (target '{target}'" in report
    assert "tutorial (its text)" not in report  # the tutorial's blobs numbers do not apply
    figures = {p.name for p in (work / "figures").glob("*.png")}
    assert {"scatter.png", "learning_curves.png", "methods.png"} <= figures  # any data
    assert "blobs.png" not in figures
    # Only the study (not part of run) is "not made yet"; what never applies says why.
    assert report.count("Not made yet") == 1 and "Not made yet: run scripts/10_" in report
    never = "Not made for this data: decision regions are drawn for two-feature classification"
    assert never in report
    if name == "diabetes":
        assert "confusion.png" not in figures
        assert "Not made for this data: a regression has no classes to confuse." in report
        doctor = run_script("doctor", workdir=work)
        assert (
            "--- figures/confusion.png not made for this data: a regression has no classes to "
            "confuse\n"
        ) in doctor.stdout
    else:
        assert "confusion.png" in figures and "confusion.png)" in report


@pytest.mark.xdist_group("tables")
def test_predict_takes_the_original_table_in_its_own_units(table_run, tmp_path):
    name, path, target, work, _ = table_run
    lines = path.read_text().splitlines()
    sample = tmp_path / "rows.csv"
    sample.write_text("\n".join(lines[:4]) + "\n")  # header (target included) and three rows
    done = subprocess.run(
        [sys.executable, "-m", "stackgen", "predict", "--input", str(sample)]
        + ["--workdir", str(work)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout.splitlines()
    assert len(out) == 1 + 3  # a row a point
    models = ["member_1", "member_2", "member_3", "integrated_network"]
    if name == "diabetes":
        assert out[0] == ",".join(["point", "prediction", *models])
        values = [float(v) for line in out[1:] for v in line.split(",")[1:]]
        # In the target's units (about 25 to 346), not standardised ones.
        assert np.mean(values) > 20
    else:
        classes = {
            "breast_cancer": {"benign", "malignant"},
            "wine": {"class_0", "class_1", "class_2"},
        }
        n = len(classes[name])
        assert out[0].startswith("point,class,p_") and out[0].endswith(",".join(models))
        labels = [line.split(",") for line in out[1:]]
        assert {c for row in labels for c in [row[1], *row[2 + n :]]} <= classes[name]


def test_a_table_needs_no_tensorflow_to_be_read(tmp_path):
    """Step 1 on a table stays free of TensorFlow, like step 1 on the blobs."""
    path = toy(tmp_path)
    code = (
        "import sys, pathlib; from stackgen.tutorial import step01_make_data;"
        "from stackgen.config import Config;"
        f"step01_make_data.run(Config(data_file={str(path)!r}, target='animal', "
        "workdir=pathlib.Path(sys.argv[1]),"
        " quiet=True));"
        "assert 'tensorflow' not in sys.modules, 'imported TF'"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "w")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert Config(data_file=path, target="animal").task == "auto"


def test_a_later_step_given_other_data_than_step_1s_refuses(tmp_path):
    wine, _ = sklearn_table(tmp_path, "wine")
    other = toy(tmp_path)
    first = run_script(
        "01_make_data.py",
        "--data",
        str(wine),
        "--target",
        "cultivar",
        "--quiet",
        workdir=tmp_path / "w",
    )
    assert first.returncode == 0, first.stderr
    done = run_script(
        "02_single_mlp.py",
        "--data",
        str(other),
        "--target",
        "animal",
        *TINY,
        workdir=tmp_path / "w",
    )
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and done.stderr.startswith("error: ")
    assert "was made from wine.csv (target 'cultivar'" in done.stderr
    assert (
        f"run scripts/01_make_data.py --data {other} --target animal --workdir {tmp_path / 'w'} "
        "first"
    ) in done.stderr
    assert not (tmp_path / "w/results/single_mlp.json").exists()


def test_one_value_is_one_class_and_a_number_is_written_in_decimal(tmp_path):
    arrays, params = load(toy(tmp_path, labels=["0", "1", "1.0"] * 20))
    assert params["class_names"] == ["0", "1"]  # not 0, 1 and 1.0: three classes
    labels = np.concatenate([arrays["train_y"], arrays["test_y"]])
    assert np.bincount(labels).tolist() == [20, 40]
    underscored = write_csv(tmp_path / "u.csv", ["a", "animal"], [["1_000", "x"], ["2", "y"]] * 9)
    _, params = load(underscored)
    assert params["columns"][0]["kind"] == "categorical"  # text, not the number 1000


def test_values_whose_squares_overflow_are_standardised_not_zeroed(tmp_path):
    rng = np.random.default_rng(3)
    u = rng.uniform(-1, 1, size=(60, 2))
    rows = [[f"{a * 1e200:.6g}", f"{b * 1.7e308:.6g}", "cat" if a > 0 else "dog"] for a, b in u]
    path = write_csv(tmp_path / "big.csv", ["a", "b", "animal"], rows)
    arrays, params, fitted = load_table(path, "animal", "auto", 0.25, 2)
    X = arrays["train_X"]
    assert np.isfinite(X).all() and np.isfinite(arrays["test_X"]).all()
    np.testing.assert_allclose(X.std(axis=0), 1, rtol=1e-4)  # not all zeros, not NaN
    assert fitted.named_transformers_["numeric"].named_steps["bound"].max_abs_[0] > 1e199


def test_a_regression_target_near_1e200_is_predicted_in_its_own_units(tmp_path):
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 80))
    rows = [
        [f"{x:.4f}", f"{z:.4f}", f"{(3 + x + z) * 1e200:.6g}"] for x, z in zip(a, b, strict=True)
    ]
    table = write_csv(tmp_path / "huge_target.csv", ["a", "b", "t"], rows)
    work = tmp_path / "w"
    done = run_script(
        "run",
        "--data",
        str(table),
        "--target",
        "t",
        *TINY,
        "--upto",
        "5",
        "--protocol",
        "tutorial",
        workdir=work,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    split = data.load_split(Paths(work))
    assert np.abs(split.train_y).max() < 10 and split.target_scale > 1e199
    predicted = run_script("predict", workdir=work, input="a,b\n0.5,0.5\n")
    assert predicted.returncode == 0, predicted.stderr
    values = [float(v) for line in predicted.stdout.splitlines()[1:] for v in line.split(",")[1:]]
    assert all(1e199 < v < 1e202 for v in values), values  # in the target's units, not inf or 0
