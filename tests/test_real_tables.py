"""Tables as people have them: categorical columns, blanks and "NA", identifiers, constant
columns, ``;`` and tab files with decimal commas, byte-order marks, quoted newlines, Parquet; the
transformer fit on training rows only and applied by ``predict`` to raw rows; and whole runs on
two real tables that ship inside packages (palmerpenguins, vega_datasets)."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY, run_script, tiny_config

from stackgen.cli.predict import load_preprocessor
from stackgen.data import columns
from stackgen.data.columns import CATEGORICAL, DROPPED, NUMERIC
from stackgen.data.examples import write_package_table
from stackgen.data.tables import MISSING
from stackgen.trust import skops_files
from stackgen.trust.errors import StackgenError
from stackgen.workdir import table_files as tables
from stackgen.workdir.paths import Paths
from stackgen.workdir.table_files import flag_options

N = 120


def mixed_rows(n: int = N, seed: int = 0) -> tuple[list[str], list[list[str]]]:
    """A table of every column kind, with a learnable target ``y``: ``size`` (numbers with
    blanks), ``weight`` (numbers), ``colour`` (text with a missing level), ``flag`` (yes/no),
    ``code`` (integer codes), ``rowid`` (a row number), ``name`` (an identifier), ``site``
    (constant)."""
    rng = np.random.default_rng(seed)
    header = ["rowid", "name", "size", "weight", "colour", "flag", "code", "site", "y"]
    rows = []
    for i in range(n):
        size, weight = rng.normal(), rng.normal()
        colour = ["red", "green", "blue"][i % 3]
        y = "big" if size + (colour == "red") > 0.5 else "small"
        rows.append(
            [
                str(i + 1),
                f"item {i}",
                "" if i % 10 == 3 else f"{size:.4f}",
                f"{weight:.4f}",
                "NA" if i % 17 == 5 else colour,
                ["yes", "no"][i % 2],
                str(1 + i % 4),
                "north",
                y,
            ]
        )
    return header, rows


def write(path: Path, header, rows, sep=",", encoding="utf-8") -> Path:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def load(path: Path, target="y", options=None, seed=2):
    return tables.load_table(path, target, "auto", 0.25, seed, options)


def kinds(params: dict) -> dict[str, tuple[str, str]]:
    return {c["name"]: (c["kind"], c["reason"]) for c in params["columns"]}


def test_every_column_kind_is_decided_and_printed(tmp_path):
    path = write(tmp_path / "t.csv", *mixed_rows())
    _, params, _ = load(path, options=flag_options(categorical=("code",)))
    assert kinds(params) == {
        "rowid": (DROPPED, "row number"),
        "name": (DROPPED, "identifier: every value distinct"),
        "size": (NUMERIC, "numbers"),
        "weight": (NUMERIC, "numbers"),
        "colour": (CATEGORICAL, "text"),
        "flag": (CATEGORICAL, "text"),
        "code": (CATEGORICAL, "--categorical"),
        "site": (DROPPED, "constant"),
    }
    line = columns.summary([columns.Column(**c) for c in params["columns"]])
    assert line.startswith("features: 2 numeric (1 with missing values: median + indicator), ")
    assert "colour: 3 levels + missing" in line and "flag: 2 levels" in line
    assert "code: 4 levels" in line
    assert line.endswith(
        "dropped: rowid (row number), name (identifier: every value distinct), site (constant)"
    )
    # size, its missing indicator, weight; colour's 3 levels and missing; flag 2; code 4.
    assert params["feature_names"][:3] == ["size", "weight", "size missing"]
    assert "colour=(missing)" in params["feature_names"] and "code=4" in params["feature_names"]
    assert len(params["feature_names"]) == 3 + 4 + 2 + 4
    without, params2, _ = load(path, options=flag_options(drop=("colour", "flag")))
    assert kinds(params2)["colour"] == (DROPPED, "--drop")
    assert kinds(params2)["code"] == (NUMERIC, "numbers")  # integer codes stay numbers unasked
    assert without["train_X"].shape[1] == 4  # size, weight, code, size missing


@pytest.mark.parametrize("spelling", sorted(MISSING) + ["NA", "Null", " n/a "])
def test_every_missing_value_spelling_is_a_missing_value(tmp_path, spelling):
    header, rows = mixed_rows()
    for i in (4, 40, 80):
        rows[i][header.index("weight")] = spelling
    arrays, params, _ = load(write(tmp_path / "t.csv", header, rows))
    weight = next(c for c in params["columns"] if c["name"] == "weight")
    assert weight["kind"] == NUMERIC
    assert weight["missing"] == sum(i in (4, 40, 80) for i in _train_rows(arrays, params))
    assert np.isfinite(arrays["train_X"]).all() and np.isfinite(arrays["test_X"]).all()


def _train_rows(arrays, params) -> list[int]:
    """The file rows (0-based) of the training rows: the split is seeded, so recompute it."""
    from sklearn.model_selection import train_test_split

    y = np.concatenate([arrays["train_y"], arrays["test_y"]])
    index = np.arange(len(y))
    # Stratified as load_table does, on the class indices (big 0, small 1).
    labels = np.array([int(r[-1] == "small") for r in mixed_rows()[1]])
    train, _ = train_test_split(index, test_size=0.25, stratify=labels, random_state=2)
    return sorted(train.tolist())


@pytest.mark.parametrize(
    "sep, encoding",
    [(";", "utf-8"), ("\t", "utf-8"), ("|", "utf-8"), (",", "utf-8-sig"), (",", "utf-16")],
)
def test_separators_and_encodings_read_the_same_table(tmp_path, sep, encoding):
    header, rows = mixed_rows()
    plain, params, _ = load(write(tmp_path / "plain.csv", header, rows))
    if sep == ";":  # exported with decimal commas
        rows = [
            [cell.replace(".", ",") if cell[:1] in "-0123456789" else cell for cell in r]
            for r in rows
        ]
    other, params2, _ = load(write(tmp_path / "other.csv", header, rows, sep, encoding))
    assert params2["separator"] == sep
    assert kinds(params2) == kinds(params)
    np.testing.assert_array_equal(other["train_X"], plain["train_X"])
    np.testing.assert_array_equal(other["test_y"], plain["test_y"])


def test_windows_1252_and_quoted_fields_with_commas_and_newlines(tmp_path):
    header, rows = mixed_rows()
    for i, r in enumerate(rows):
        r[header.index("colour")] = {0: "rot, dunkel", 1: "grün\nhell", 2: "blau"}[i % 3]
    path = write(tmp_path / "t.csv", header, rows, encoding="cp1252")
    _, params, _ = load(path)
    assert params["encoding"] == "Windows-1252"
    colour = next(c for c in params["columns"] if c["name"] == "colour")
    assert colour["kind"] == CATEGORICAL and colour["levels"] == 3
    assert "colour=grün\nhell" in params["feature_names"]


def test_rows_whose_target_is_missing_are_dropped_and_counted(tmp_path):
    header, rows = mixed_rows()
    for i in (0, 7, 9):
        rows[i][-1] = ["", "NA", "?"][i % 3]
    arrays, params, _ = load(write(tmp_path / "t.csv", header, rows))
    assert params["rows_without_target"] == 3 and params["rows"] == N - 3
    assert len(arrays["train_y"]) + len(arrays["test_y"]) == N - 3


def test_no_statistic_of_the_transformer_comes_from_a_test_row(tmp_path):
    """Change every test row's features beyond recognition: the transformer and the encoded
    training rows stay exactly the same."""
    header, rows = mixed_rows()
    arrays, params, fitted = load(write(tmp_path / "a.csv", header, rows))
    train = set(_train_rows(arrays, params))
    for i, r in enumerate(rows):
        if i not in train:
            r[2], r[3] = "1e6", ""  # size, weight
            r[4] = "purple"  # a colour no training row has
            r[6] = "99"
    arrays2, params2, fitted2 = load(write(tmp_path / "b.csv", header, rows))
    np.testing.assert_array_equal(arrays2["train_X"], arrays["train_X"])
    assert params2["feature_names"] == params["feature_names"]
    numeric, numeric2 = (
        fitted.named_transformers_["numeric"],
        fitted2.named_transformers_["numeric"],
    )
    for step in ("impute", "standardise"):
        a, b = numeric.named_steps[step], numeric2.named_steps[step]
        for attribute in ("statistics_", "mean_", "scale_"):
            if hasattr(a, attribute):
                np.testing.assert_array_equal(getattr(a, attribute), getattr(b, attribute))
    encoder = fitted2.named_transformers_["categorical"]
    assert all("purple" not in list(levels) for levels in encoder.categories_)
    # The medians are the training rows' own.
    sizes = [float(rows[i][2]) for i in sorted(train) if rows[i][2]]
    assert numeric2.named_steps["impute"].statistics_[0] == np.median(sizes)


def test_a_mostly_numeric_column_with_a_word_in_it_is_said(tmp_path):
    header, rows = mixed_rows()
    rows[5][header.index("weight")] = "unknown"
    arrays, params, _ = load(write(tmp_path / "t.csv", header, rows))
    weight = next(c for c in params["columns"] if c["name"] == "weight")
    assert (weight["kind"], weight["missing"]) == (NUMERIC, int(5 in _train_rows(arrays, params)))
    assert params["warnings"] == [
        "warning: column 'weight' is numbers but for 1 cell such as 'unknown' (line 7), read as "
        "missing; correct them, or give --categorical weight to read the column as categories"
    ]
    for i in range(0, N, 5):  # one cell in five: a text column, its values all distinct
        rows[i][header.index("weight")] = f"w{i}"
    _, params, _ = load(write(tmp_path / "t.csv", header, rows))
    assert kinds(params)["weight"] == (DROPPED, "identifier: every value distinct")


@pytest.mark.parametrize(
    "edit, options, message",
    [
        (
            lambda h, r: None,
            flag_options(categorical=("colr",)),
            "--categorical 'colr' is not a column",
        ),
        (lambda h, r: None, flag_options(drop=("y",)), "--drop 'y' is the target column"),
        (
            lambda h, r: r[3].__setitem__(3, "1e400"),
            flag_options(),
            "line 5: '1e400' in column 'weight' is beyond the largest number a float can hold",
        ),
        (
            lambda h, r: None,
            flag_options(drop=("size", "weight", "colour", "flag", "code")),
            "no feature column is left to learn from",
        ),
        (lambda h, r: h.__setitem__(3, "size"), flag_options(), "column names used twice: 'size'"),
    ],
)
def test_bad_tables_and_flags_are_one_clear_error(tmp_path, edit, options, message):
    header, rows = mixed_rows()
    edit(header, rows)
    with pytest.raises(StackgenError, match=re.escape(message)):
        load(write(tmp_path / "t.csv", header, rows), options=options)


def test_parquet_is_read_like_csv_and_a_missing_reader_is_one_line(tmp_path, monkeypatch):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    header, rows = mixed_rows()
    csv_arrays, csv_params, _ = load(write(tmp_path / "t.csv", header, rows))
    frame = pd.read_csv(tmp_path / "t.csv", keep_default_na=True)
    frame["flag"] = frame["flag"] == "yes"  # a boolean column
    frame.to_parquet(tmp_path / "t.parquet")
    arrays, params, _ = load(tmp_path / "t.parquet")
    assert kinds(params) == kinds(csv_params)
    np.testing.assert_allclose(arrays["train_X"], csv_arrays["train_X"], atol=1e-6)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(StackgenError, match=re.escape("pip install 'stackgen[parquet]'")):
        load(tmp_path / "t.parquet")


def test_table_flags_need_a_table(tmp_path):
    done = run_script("01_make_data.py", "--drop", "x", workdir=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: --drop applies to a table's columns: give --data FILE.csv --target COLUMN"
    )


# --- predict on raw rows ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def mixed_run(tmp_path_factory):
    """Steps 1, 3, 4 and 5 (tutorial protocol, tiny) on the mixed table, in this process."""
    from stackgen.tutorial import (
        step01_make_data,
        step03_train_members,
        step04_stack_logistic,
        step05_stack_integrated,
    )

    folder = tmp_path_factory.mktemp("mixed")
    header, rows = mixed_rows()
    path = write(folder / "mixed.csv", header, rows)
    cfg = tiny_config(
        folder / "work", data_file=path, target="y", protocols=("tutorial",), categorical=("code",)
    )
    for step in (
        step01_make_data,
        step03_train_members,
        step04_stack_logistic,
        step05_stack_integrated,
    ):
        step.run(cfg)
    return cfg, header, rows


def predict_lines(cfg, text: str, capsys, monkeypatch, ids=()) -> list[str]:
    """predict's long format for ``text``, each row's id columns left out (``ids``: asked)."""
    from stackgen.cli.predict import predict

    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    capsys.readouterr()
    predict(cfg, None, None, ids, long=True)
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    skip = rows[0].index("model")
    return [",".join(row[skip:]) for row in rows]


def csv_text(header, rows, sep=",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@pytest.mark.xdist_group("mixed_run")
def test_predict_reads_raw_rows_in_any_column_order_with_blanks_and_unseen_levels(
    mixed_run, capsys, monkeypatch
):
    cfg, header, rows = mixed_run
    first = rows[:3]
    base = predict_lines(cfg, csv_text(header, first), capsys, monkeypatch)
    assert base[0] == "model,class,p_big,p_small" and len(base) == 1 + 3 * 5
    order = [4, 0, 8, 2, 6, 1, 3, 7, 5]  # every column moved; the target and dropped ones too
    moved = predict_lines(
        cfg,
        csv_text([header[j] for j in order], [[r[j] for j in order] for r in first], sep=";"),
        capsys,
        monkeypatch,
    )
    assert moved == base
    odd = [list(r) for r in first]
    odd[0][header.index("colour")] = "purple"  # never seen in training
    odd[1][header.index("size")] = ""  # blank
    odd[2][header.index("code")] = "3.0"  # the integer code 3, spelled another way
    used = [h for h in header if h not in ("rowid", "name", "site", "y")]
    lines = predict_lines(
        cfg, csv_text(used, [[r[header.index(h)] for h in used] for r in odd]), capsys, monkeypatch
    )
    assert len(lines) == len(base) and lines[1:] != base[1:]
    assert lines[11:16] == base[11:16]  # point 3: "3.0" is code 3


@pytest.mark.xdist_group("mixed_run")
def test_predict_keeps_the_tables_ids_and_counts_what_it_filled_in(mixed_run, capsys, monkeypatch):
    """The columns step 1 dropped as a row number and an identifier come first, as given; a
    blank and an unseen level are each counted on one stderr line for their column, and every
    note is written before the first row of CSV."""
    from stackgen.cli.predict import predict

    cfg, header, rows = mixed_run
    odd = [list(r) for r in rows[:4]]
    odd[0][header.index("colour")] = "purple"
    odd[2][header.index("colour")] = "mauve"
    odd[1][header.index("size")] = ""
    odd[3][header.index("size")] = ""
    monkeypatch.setattr(sys, "stdin", io.StringIO(csv_text(header, odd)))
    capsys.readouterr()
    printed = []
    monkeypatch.setattr(sys.stderr, "write", lambda text: printed.append(("err", text)))
    monkeypatch.setattr(sys.stdout, "write", lambda text: printed.append(("out", text)))
    predict(cfg, None, None)
    kinds = [kind for kind, text in printed if text.strip()]
    assert kinds == sorted(kinds)  # "err" before "out": no note after the first CSV row
    out = "".join(text for kind, text in printed if kind == "out").splitlines()
    err = "".join(text for kind, text in printed if kind == "err").splitlines()
    assert out[0].startswith("rowid,name,class,p_big,p_small,member_1,")
    assert [line.split(",")[:2] for line in out[1:]] == [r[:2] for r in odd]
    assert err[0].startswith("note: serving the tutorial protocol's stack")
    assert (  # red, green and blue are common: there is no rare group to read them as
        "note: filled in: colour: 2 rows with a level not seen in training (such as 'purple'), "
        "read as no level (zero in every one-hot)"
    ) in err
    assert (
        "note: filled in: size: 2 blanks, filled with the training rows' median and flagged "
        "missing" in err
    )
    assert "note: columns not used (not features of the model): site (dropped at step 1: " in (
        "\n".join(err)
    )
    assert "rowid" not in err[-1] and "name" not in err[-1]  # printed, so not "not used"


@pytest.mark.xdist_group("mixed_run")
def test_a_parquet_input_keeps_its_ids_and_answers_as_its_csv(mixed_run, tmp_path, capsys):
    import pandas as pd

    from stackgen.cli.predict import predict

    pytest.importorskip("pyarrow")
    cfg, header, rows = mixed_run
    frame = pd.DataFrame(rows[:3], columns=header)
    frame.to_parquet(tmp_path / "rows.parquet")
    (tmp_path / "rows.csv").write_text(csv_text(header, rows[:3]))
    capsys.readouterr()
    predict(cfg, str(tmp_path / "rows.parquet"), None)
    parquet = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    predict(cfg, str(tmp_path / "rows.csv"), None)
    text = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert parquet[0][:3] == ["rowid", "name", "class"]
    assert [r[:2] for r in parquet[1:]] == [r[:2] for r in rows[:3]]
    assert parquet == text


@pytest.mark.xdist_group("mixed_run")
def test_arrays_are_refused_for_a_work_dir_made_from_a_table(mixed_run, tmp_path, capsys):
    """Raw numbers in an .npz never reach networks trained on the transformer's output."""
    from stackgen.cli.predict import predict

    cfg, _, _ = mixed_run
    np.savez(tmp_path / "points.npz", X=np.zeros((2, 9), np.float32))
    capsys.readouterr()
    with pytest.raises(StackgenError, match=re.escape("this work dir was made from the table ")):
        predict(cfg, str(tmp_path / "points.npz"), None)
    assert capsys.readouterr().out == ""


@pytest.mark.xdist_group("mixed_run")
def test_predict_on_a_table_refuses_bad_rows_in_one_line(mixed_run, capsys, monkeypatch):
    cfg, header, rows = mixed_run
    bad = [list(r) for r in rows[:2]]
    bad[1][header.index("weight")] = "heavy"
    with pytest.raises(
        StackgenError,
        match=re.escape(
            "line 3: 'heavy' is not a number (feature 'weight'); write numbers in decimal"
        ),
    ):
        predict_lines(cfg, csv_text(header, bad), capsys, monkeypatch)
    short = [h for h in header if h != "colour"]
    with pytest.raises(StackgenError, match="does not name the model's feature colour;"):
        predict_lines(
            cfg,
            csv_text(short, [[r[header.index(h)] for h in short] for r in rows[:2]]),
            capsys,
            monkeypatch,
        )


@pytest.mark.xdist_group("mixed_run")
def test_the_transformer_is_saved_with_lineage_and_refused_when_changed(mixed_run):
    cfg, _, _ = mixed_run
    paths = Paths(cfg.workdir)
    store = json.loads(paths.lineage.read_text())
    assert "data/preprocess.skops" in store
    loaded = load_preprocessor(paths)
    assert type(loaded).__name__ == "ColumnTransformer"


@pytest.mark.xdist_group("mixed_run")
def test_a_changed_or_missing_transformer_is_refused_and_doctor_says_so(
    mixed_run, tmp_path, capsys, monkeypatch
):
    import dataclasses
    import shutil

    from stackgen.cli.doctor import doctor

    cfg, header, rows = mixed_run
    work = tmp_path / "copy"
    shutil.copytree(cfg.workdir, work)
    copy = dataclasses.replace(cfg, workdir=work)
    paths = Paths(work)
    fitted = load_preprocessor(paths)
    fitted.transformers_[0][1].named_steps["standardise"].mean_ += 1.0  # another fit
    skops_files.save(fitted, paths.preprocessor)
    with pytest.raises(StackgenError, match="preprocess.skops"):
        predict_lines(copy, csv_text(header, rows[:2]), capsys, monkeypatch)
    paths.preprocessor.unlink()
    with pytest.raises(StackgenError, match=re.escape("data/preprocess.skops is missing: run")):
        predict_lines(copy, csv_text(header, rows[:2]), capsys, monkeypatch)
    capsys.readouterr()
    assert doctor(work) != 0
    assert "FIX data/preprocess.skops is missing: run scripts/01_make_data.py" in (
        capsys.readouterr().out
    )


# --- whole runs on real tables ----------------------------------------------------------------

REAL = {
    # table: (extra flags, a column of each kind the run must report)
    "penguins_raw": (
        ["--drop", "Individual ID"],
        ["Island: 3 levels", "Comments", "Region (constant)", "Individual ID (--drop)"],
    ),
    "cars": (["--categorical", "Cylinders"], ["Cylinders: ", "Name: ", "Year: "]),
}


@pytest.fixture(params=sorted(REAL))
def real_run(request, once, tmp_path_factory):
    pytest.importorskip({"penguins_raw": "palmerpenguins", "cars": "vega_datasets"}[request.param])
    return once(("real", request.param), lambda: _real_run(request.param, tmp_path_factory))


def _real_run(name: str, tmp_path_factory):
    folder = tmp_path_factory.mktemp(name)
    path, target = write_package_table(name, folder)
    work = folder / "work"
    flags, _ = REAL[name]
    done = run_script(
        "run",
        "--data",
        str(path),
        "--target",
        target,
        *flags,
        *TINY,
        "--folds",
        "3",
        workdir=work,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return name, path, target, work, done.stdout


@pytest.mark.xdist_group("real_tables")
def test_a_real_table_runs_end_to_end_and_predict_serves_raw_rows(real_run):
    name, path, target, work, stdout = real_run
    _, expected = REAL[name]
    line = next(x for x in stdout.splitlines() if x.startswith("features: "))
    assert all(part in line for part in expected), line
    if name == "penguins_raw":
        assert "dropped 11 rows whose target 'Sex' is missing" in stdout
    for result in ("single_mlp", "stack_logistic", "stack_integrated", "methods", "fine_tune"):
        saved = json.loads((work / f"results/{result}.json").read_text())
        assert saved["data"].startswith(f"{name}.csv (target '{target}'"), result
        assert {c["kind"] for c in saved["table_columns"]} >= {"numeric", "categorical"}, result
    report = (work / "reports/report.md").read_text()
    assert "## Columns" in report and "| column | kind | what was done |" in report
    if name == "penguins_raw":
        assert "| Region | dropped | dropped (constant) |" in report
    raw = path.read_text("utf-8").splitlines()
    served = run_script("predict", "--input", "-", workdir=work, input="\n".join(raw[:6]) + "\n")
    assert served.returncode == 0, served.stderr
    out = list(csv.reader(io.StringIO(served.stdout)))
    at = out[0].index("class")  # after the id column(s)
    assert len(out) == 1 + 5 and out[0][at + 1].startswith("p_")
    assert out[0][-4:] == ["member_1", "member_2", "member_3", "integrated_network"]


def test_a_missing_example_package_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "vega_datasets", None)
    with pytest.raises(StackgenError, match=re.escape("pip install 'stackgen[examples]'")):
        write_package_table("cars", tmp_path)


def test_old_mac_line_endings_and_a_decimal_comma_target(tmp_path):
    header, rows = mixed_rows()
    plain, _, _ = load(write(tmp_path / "plain.csv", header, rows))
    path = tmp_path / "cr.csv"
    path.write_bytes(csv_text(header, rows).replace("\n", "\r").encode())
    cr, _, _ = load(path)
    np.testing.assert_array_equal(cr["train_X"], plain["train_X"])
    numbers = [[r[2] or "0", f"{3 + 0.5 * (i % 40)}".replace(".", ",")] for i, r in enumerate(rows)]
    arrays, params, _ = load(write(tmp_path / "t.csv", ["x", "t"], numbers, sep=";"), target="t")
    assert params["task"] == "regression"  # 3,5 is the number 3.5, not a class
    assert params["target_mean"] == pytest.approx(
        np.mean([3 + 0.5 * (i % 40) for i in range(N)]), abs=1
    )


@pytest.mark.parametrize(
    "target_cells, message",
    [
        (
            ["a"] * 60 + ["b"] * 59 + ["z"],
            "class 'z' of target 'y' has 1 row: the stratified split",
        ),
        (["1.5"] * 119 + [""], "target 'y' holds a single value: nothing to predict"),
        (
            [str(k) for k in range(15)] * 7 + ["0"] * 14 + ["21"],
            "class '21' of target 'y' has 1 row: the stratified split needs at least 2 of every "
            "class (one to train on, one to test on); drop that row or gather more, or --task "
            "regression if the labels are values, not classes",
        ),
        (
            [f"k{k}" for k in range(40)] * 3,  # 30 test rows for 40 classes
            "--test-size 0.25 leaves 30 rows for test, fewer than the 40 classes: the "
            "stratified split needs one of every class in each part; use --test-size between "
            "0.34 and 0.66",
        ),
    ],
)
def test_a_class_too_rare_to_split_or_a_constant_target_is_named(tmp_path, target_cells, message):
    header, rows = mixed_rows()
    for r, cell in zip(rows, target_cells, strict=True):
        r[-1] = cell
    with pytest.raises(StackgenError, match=re.escape(message)):
        tables.load_table(
            write(tmp_path / "t.csv", header, rows),
            "y",
            "regression" if "single value" in message else "auto",
            0.25,
            2,
        )


def test_a_byte_order_mark_does_not_stick_to_the_first_column(tmp_path):
    header, rows = mixed_rows()
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + csv_text(header, rows).encode())
    _, params, _ = load(path)
    assert params["columns"][0]["name"] == "rowid"


@pytest.mark.parametrize(
    "levels, expected",
    [
        # a rare level and no blank in training: an unseen level and a blank join the rare group
        (["a"] * 10 + ["b"] * 10 + ["r"] * 2, ("its rare levels", "its rare levels")),
        # two blanks in training are themselves rare: a blank joins the rare group
        (["a"] * 10 + ["b"] * 10 + [""] * 2, ("its rare levels", "its rare levels")),
        # six blanks are a level of their own; no rare group, so an unseen level is no level
        (["a"] * 10 + ["b"] * 10 + [""] * 6, ("no level", "its missing level")),
        # neither: both are no level
        (["a"] * 10 + ["b"] * 10, ("no level", "no level")),
    ],
)
def test_what_predict_says_it_filled_in_is_what_the_encoder_did(levels, expected):
    """The note on an unseen level and a blank names where the fitted encoder put them: the
    rare group's column set, or every column of the category zero, or its missing level."""
    rng = np.random.default_rng(0)
    rows = [[c, f"{rng.normal():.3f}", "yes" if i % 2 else "no"] for i, c in enumerate(levels)]
    table = tables.read_text(csv_text(["c", "x", "y"], rows), ",")
    train = np.ones(len(rows), dtype=bool)
    encoded = columns.encode_table(
        table, ["c", "x"], train, columns.Options(), "t.csv", np.arange(len(rows))
    )
    params = {"columns": [c.as_dict() for c in encoded.columns]}
    given = tables.read_text(csv_text(["c", "x"], [["zz", "0.1"], ["", "0.2"]]), ",")
    notes = columns.filled_in(given, params, encoded.transformer)
    X, _, _ = columns.encode_rows(given, params, encoded.transformer, "line 1")
    names = encoded.feature_names
    block = [j for j, n in enumerate(names) if n.startswith("c=")]
    for row, said in zip(X[:, block], expected, strict=True):
        if said == "no level":
            assert not row.any()
        else:
            level = "c=(rare)" if said == "its rare levels" else "c=(missing)"
            assert row.tolist() == [float(names[j] == level) for j in block], (said, names)
    (line,) = notes
    assert line.startswith("c: 1 row with a level not seen in training (such as 'zz'), read as ")
    unseen, blank = line.split("; ")
    assert f"read as {expected[0]}" in unseen and blank.startswith(
        f"1 blank, read as {expected[1]}"
    )


def _frame(n: int = N):
    import pandas as pd

    header, rows = mixed_rows(n)
    return pd.DataFrame(rows, columns=header)


@pytest.mark.parametrize(
    "suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip", ".json", ".jsonl"]
)
def test_compressed_and_json_tables_are_read_as_their_csv(tmp_path, suffix):
    csv_arrays, csv_params, _ = load(write(tmp_path / "t.csv", *mixed_rows()))
    frame, path = _frame(), tmp_path / f"t{suffix}"
    if suffix.startswith(".json"):
        frame.to_json(path, orient="records", lines=suffix == ".jsonl")
    else:
        frame.to_csv(path, index=False)  # pandas compresses by the suffix
    arrays, params, _ = load(path)
    assert kinds(params) == kinds(csv_params)
    np.testing.assert_allclose(arrays["train_X"], csv_arrays["train_X"], atol=1e-6)
    assert params["encoding"] == ("JSON" if "json" in suffix else "UTF-8")


def test_a_broken_archive_or_json_that_is_no_table_is_one_line(tmp_path):
    (tmp_path / "t.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(StackgenError, match=r"t\.csv\.gz: not readable as gzip"):
        load(tmp_path / "t.csv.gz")
    (tmp_path / "t.json").write_text('{"a": [1, 2], "y": ')  # cut short
    with pytest.raises(StackgenError, match=r"t\.json: not a JSON table: give an array"):
        load(tmp_path / "t.json")


def test_nested_parquet_columns_are_their_own_kind_never_their_printed_text(tmp_path):
    pytest.importorskip("pyarrow")
    frame = _frame()
    # Every row's list differs, yet NumPy prints long arrays elided: read as text, they looked
    # constant; short lists looked like categories named "[0 1]".
    frame["long"] = [list(range(i, i + 40)) for i in range(N)]
    frame["short"] = [[0, 1] if i % 2 else [1, 0] for i in range(N)]
    frame["record"] = [{"u": i, "v": "x"} for i in range(N)]
    frame.to_parquet(tmp_path / "t.parquet")
    arrays, params, _ = load(tmp_path / "t.parquet")
    found = kinds(params)
    assert found["long"] == (DROPPED, found["short"][1]) and found["long"][1].startswith(
        "nested: a list in each cell"
    )
    assert found["record"][0] == DROPPED and found["record"][1].startswith("nested: a record")
    csv_arrays, _, _ = load(write(tmp_path / "t.csv", *mixed_rows()))
    np.testing.assert_allclose(arrays["train_X"], csv_arrays["train_X"], atol=1e-6)
    frame["y"] = frame["long"]
    frame.drop(columns="long").to_parquet(tmp_path / "target.parquet")
    with pytest.raises(StackgenError, match=r"--target 'y' holds a list in each cell: it needs"):
        load(tmp_path / "target.parquet")


def test_numbers_as_a_spreadsheet_shows_them_are_numbers_and_said(tmp_path):
    header, rows = mixed_rows()
    plain = load(write(tmp_path / "plain.csv", header, rows))
    shown = [r[:3] + [f"{float(r[3]) * 10000:,.2f}"] + r[4:] for r in rows]  # weight as "12,345.67"
    arrays, params, _ = load(write(tmp_path / "sheet.csv", header, shown))
    assert kinds(params)["weight"] == (NUMERIC, "numbers")
    np.testing.assert_allclose(arrays["train_X"], plain[0]["train_X"], atol=1e-4)
    note = [w for w in params["warnings"] if "'weight'" in w]
    assert len(note) == 1 and note[0].startswith("note: column 'weight' holds numbers as a spre")
    value = next(r[3] for r in shown if "," in r[3])
    assert f"such as {value!r}: read as {float(value.replace(',', ''))!r}"[:-3] in note[0]
    percent = [r[:3] + [f"{abs(float(r[3])) * 10:.0f}%"] + r[4:] for r in rows]
    _, params, _ = load(write(tmp_path / "percent.csv", header, percent))
    assert kinds(params)["weight"] == (NUMERIC, "numbers")
    assert any("read as 0." in w for w in params["warnings"])
    target = [r[:-1] + [f"{1000 * (i % 3) + 1234:,}"] for i, r in enumerate(rows)]
    _, params, _ = load(write(tmp_path / "target.csv", header, target))
    assert params["class_names"] == ["1234", "2234", "3234"]


def test_pandas_unnamed_index_and_a_long_cell_are_read(tmp_path):
    frame = _frame().drop(columns="rowid")
    frame.sample(frac=1, random_state=0).to_csv(tmp_path / "index.csv")  # a blank first name
    _, params, _ = load(tmp_path / "index.csv")
    assert kinds(params)["Unnamed: 0"] == (
        DROPPED,
        "row number: an unnamed column of distinct whole numbers",
    )
    frame["note"] = ["x" * 200_000 + str(i) for i in range(N)]  # beyond the csv module's 128 KiB
    frame.to_csv(tmp_path / "long.csv", index=False)
    _, params, _ = load(tmp_path / "long.csv")
    assert kinds(params)["note"] == (DROPPED, "identifier: every value distinct")
