"""`python -m stackgen predict`: reading points, and classifying them with the saved stack."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, TINY, run_script
from hypothesis import given
from hypothesis import strategies as st

from stackgen.cli.predict import read_points
from stackgen.trust.errors import StackgenError

pytestmark = pytest.mark.xdist_group("predict")  # one worker makes the trained run

finite = st.floats(allow_nan=False, allow_infinity=False, width=32)
NAMES = ["x1", "x2"]


@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=30), st.booleans())
def test_read_points_round_trips_any_finite_rows(points, header):
    text = ("x1,x2\n" if header else "") + "".join(f"{a!r},{b!r}\n" for a, b in points)
    parsed = read_points(text, NAMES)
    np.testing.assert_array_equal(parsed.X.astype(np.float32), np.asarray(points, np.float32))
    assert parsed.lines == list(range(1 + header, len(points) + 1 + header))


@given(
    st.lists(st.tuples(finite, finite), min_size=1, max_size=10),
    st.permutations(["x1", "x2", "y", "id"]),
)
def test_a_header_is_matched_by_name_in_any_order(points, header):
    """Whatever the columns' order and extra columns, each feature is read from its own."""
    rows = [{"x1": a, "x2": b, "y": "yes", "id": str(i)} for i, (a, b) in enumerate(points)]
    text = (
        ",".join(header)
        + "\n"
        + "".join(",".join(repr(r[c]) if c in NAMES else r[c] for c in header) + "\n" for r in rows)
    )
    parsed = read_points(text, NAMES)
    np.testing.assert_array_equal(parsed.X.astype(np.float32), np.asarray(points, np.float32))
    assert sorted(parsed.unused) == ["id", "y"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("1,2\n3,x\n", "line 2: 'x' is not a number (feature 'x2')"),
        ("1,2,3\n", "line 1: expected 2 comma-separated values, got 3: '1,2,3'"),
        ("x1,x2\n1\n", "line 2: expected 2 comma-separated values, got 1: '1'"),
        ("1,inf\n", "line 1: 'inf' is not a number (feature 'x2')"),
        ("nan,2\n", "line 1: 'nan' is not a number (feature 'x1')"),
        ("1e400,2\n", "line 1: '1e400' is beyond the largest number a float can hold"),
        ("1_000,2\n", "line 1: '1_000' is not a number"),
        ("", "no points to predict"),
        ("x1,x2\n\n", "no points to predict: the input is a header row only"),
        # a first row that is not numbers is never taken for a header it is not
        ("abc,1\n5,6\n", "line 1: 'abc' is not a number (feature 'x1')"),
        ("5;6\n5,6\n", "line 1: '5;6' is one field: predict reads comma-separated values"),
        ("5\t6\n7\t8\n", "line 1: '5\\t6' is one field"),
        # a header must name every feature
        ("x2,q\n2,1\n", "line 1: the header (x2, q) does not name the model's feature x1;"),
        ("x,z\n2,1\n", "does not name the model's features x1, x2; its features are x1, x2"),
        ("x1,x2,x1\n1,2,3\n", "line 1: the header names 'x1' twice"),
    ],
)
def test_malformed_input_is_one_clear_error(text, message):
    with pytest.raises(StackgenError, match=re.escape(message)):
        read_points(text, NAMES)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("predict") / "w"
    done = run_script("run", *TINY, "--upto", "5", workdir=work)
    assert done.returncode == 0, done.stderr[-2000:]
    return work


def _predict(work, text, *flags):
    return subprocess.run(
        [sys.executable, "-m", "stackgen", "predict", "--workdir", str(work), *flags],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_predict_prints_every_model_for_every_point_with_long(trained_run):
    done = _predict(trained_run, "x1,x2\n0,-10\n2,0\n", "--long")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "point,model,class,p_class_0,p_class_1,p_class_2"
    assert [line.split(",")[0] for line in lines[1:]] == ["1"] * 5 + ["2"] * 5
    models = [line.split(",")[1] for line in lines[1:]]
    assert (
        models == ["member_1", "member_2", "member_3", "logistic_stack", "integrated_network"] * 2
    )
    for line in lines[1:]:
        probs = [float(v) for v in line.split(",")[3:]]
        assert abs(sum(probs) - 1) < 1e-3 and int(line.split(",")[2]) == int(np.argmax(probs))


def test_predict_prints_one_row_a_point_the_stack_then_each_model_s_class(trained_run):
    """The default, wide: the served stack's class and probabilities, then every other model's
    class; the same numbers as the long format's rows for the stack and each member."""
    wide = _predict(trained_run, "x1,x2\n0,-10\n2,0\n")
    long = _predict(trained_run, "x1,x2\n0,-10\n2,0\n", "--long")
    assert wide.returncode == long.returncode == 0, wide.stderr
    lines = wide.stdout.splitlines()
    assert lines[0] == (
        "point,class,p_class_0,p_class_1,p_class_2,member_1,member_2,member_3,integrated_network"
    )
    by_model = {}
    for row in long.stdout.splitlines()[1:]:
        point, model, label, *probs = row.split(",")
        by_model[point, model] = (label, probs)
    assert len(lines) == 3
    for row in lines[1:]:
        point, label, *rest = row.split(",")
        assert by_model[point, "logistic_stack"] == (label, rest[:3])
        others = ["member_1", "member_2", "member_3", "integrated_network"]
        assert rest[3:] == [by_model[point, m][0] for m in others]


def test_predict_serves_the_most_honest_stack_and_names_it_first(trained_run):
    """Every protocol ran: plain predict serves cv's stack, says so on its first stderr line
    with the score step 4 printed for it, and answers as --protocol cv does."""
    plain = _predict(trained_run, "1,-4\n")
    cv = _predict(trained_run, "1,-4\n", "--protocol", "cv")
    tutorial = _predict(trained_run, "1,-4\n", "--protocol", "tutorial")
    assert plain.stdout == cv.stdout != tutorial.stdout
    summary = json.loads((trained_run / "results/stack_logistic.json").read_text())
    score = summary["protocols"]["cv"]["stacked_score"]
    first = plain.stderr.splitlines()[0]
    assert first.startswith(
        "note: serving the cv protocol's stack: logistic regression (multinomial) "
        f"meta-learner, test accuracy {score:.3f} (95% CI "
    )
    assert first.endswith(
        "fit on out-of-fold predictions of the training rows (--protocol picks: holdout, tutorial)"
    )
    assert (
        tutorial.stderr.splitlines()[0].startswith("note: serving the tutorial protocol's stack")
        and "the tutorial's leak" in tutorial.stderr.splitlines()[0]
    )


def test_every_note_is_out_before_the_first_row_of_csv(trained_run):
    """stdout and stderr on one pipe, as on a terminal: the notes (the stack served, a column
    not used) come first, then the CSV, whole."""
    done = subprocess.run(
        [sys.executable, "-m", "stackgen", "predict", "--workdir", str(trained_run)],
        input="x1,x2,y\n0,-10,a\n2,0,b\n",
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    assert [line.startswith("note: ") for line in lines] == [True, True, False, False, False]
    assert lines[2].startswith("point,class,")


def test_predict_uses_the_protocol_asked_for(trained_run):
    tutorial = _predict(trained_run, "1,-4\n", "--long", "--protocol", "tutorial").stdout
    holdout = _predict(trained_run, "1,-4\n", "--long", "--protocol", "holdout").stdout
    assert tutorial.splitlines()[1:4] == holdout.splitlines()[1:4]  # the same members
    assert tutorial != holdout  # different stacks


def test_predict_keeps_an_id_column_asked_for(trained_run):
    done = _predict(trained_run, 'key,x1,x2\nalpha,0,-10\n"b,2",2,0\n', "--id", "key")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0][:2] == ["key", "class"] and [r[0] for r in rows[1:]] == ["alpha", "b,2"]
    assert "columns not used" not in done.stderr  # the id is used: printed first
    plain = list(csv.reader(io.StringIO(_predict(trained_run, "0,-10\n2,0\n").stdout)))
    assert [r[1:] for r in rows[1:]] == [r[1:] for r in plain[1:]]
    missing = _predict(trained_run, "x1,x2\n0,-10\n", "--id", "key")
    assert missing.returncode == 1 and missing.stderr == (
        "error: --id key: the input has no column 'key'; its columns are x1, x2\n"
    )
    clash = _predict(trained_run, "class,x1,x2\nA,0,-10\n", "--id", "class")
    assert clash.returncode == 1 and clash.stderr.startswith(
        "error: the id column 'class' has the name of one of predict's own columns (class, "
    )


def test_an_array_of_ids_in_an_npz_comes_first(trained_run, tmp_path):
    points = tmp_path / "points.npz"
    np.savez(points, X=np.array([[0, -10], [2, 0]], np.float32), key=np.array(["p", "q"]))
    done = _predict(trained_run, "", "--input", str(points), "--id", "key")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    plain = list(csv.reader(io.StringIO(_predict(trained_run, "0,-10\n2,0\n").stdout)))
    assert rows[0] == ["key", *plain[0][1:]] and [r[0] for r in rows[1:]] == ["p", "q"]
    assert [r[1:] for r in rows[1:]] == [r[1:] for r in plain[1:]]
    np.savez(points, X=np.zeros((0, 2), np.float32))
    empty = _predict(trained_run, "", "--input", str(points))
    assert empty.returncode == 1 and empty.stdout == ""
    assert empty.stderr.endswith(
        f"error: --input {points}: X holds no rows: no points to predict\n"
    )


def test_the_default_skips_a_protocol_step_5_made_no_network_for(trained_run, tmp_path):
    """Step 4 ran every protocol, step 5 only holdout: plain predict serves holdout, whose
    meta-learner and network are both there, and doctor lists it first."""
    work = tmp_path / "w"
    shutil.copytree(trained_run, work)
    done = run_script("05_stack_integrated.py", *TINY, "--protocol", "holdout", workdir=work)
    assert done.returncode == 0, done.stderr
    assert not (work / "models/stacked_network_cv.keras").exists()
    plain = _predict(work, "1,-4\n")
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr.startswith("note: serving the holdout protocol's stack")
    assert plain.stdout == _predict(work, "1,-4\n", "--protocol", "holdout").stdout
    doctor = run_script("doctor", workdir=work)
    assert (
        "predict serves the holdout protocol's stacks: python -m stackgen predict "
        f"--workdir {work}\n" in doctor.stdout
    )


def test_a_librarys_stderr_line_is_out_before_what_comes_next_on_stdout():
    """What a library wrote to stderr just before (through the noise filter's pipe) is on the
    real stderr before the next write to stdout, once drained."""
    code = (
        "import os, sys\n"
        "from stackgen.cli import console\n"
        "with console.backend_noise_filtered():\n"
        "    for i in range(200):\n"
        "        os.write(2, b'a library warning\\n')\n"
        "    os.write(2, b'unfinished')\n"
        "    console.drain()\n"
        "    os.write(1, b'point,class\\n')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        timeout=60,
    )
    lines = done.stdout.decode().splitlines()
    assert done.returncode == 0 and lines == ["a library warning"] * 200 + [
        "unfinished",
        "point,class",
    ]


def test_predict_refuses_bad_rows_with_one_line(trained_run):
    done = _predict(trained_run, "1,2\n3\n")
    assert done.returncode == 1
    assert done.stderr == "error: line 2: expected 2 comma-separated values, got 1: '3'\n"


def test_predict_refuses_a_pickle_in_place_of_the_meta_learner(trained_run, tmp_path):
    import pickle

    work = tmp_path / "w"
    shutil.copytree(trained_run, work)

    class Boom:
        def __reduce__(self):
            return (exec, (f"open({str(tmp_path / 'PWNED')!r}, 'w').write('ran')",))

    (work / "models/meta_learner_cv.skops").write_bytes(pickle.dumps(Boom()))  # served first
    done = _predict(work, "1,2\n")
    assert done.returncode == 1
    assert done.stderr.startswith("error: models/meta_learner_cv.skops could not be read")
    assert not (tmp_path / "PWNED").exists()


def test_predict_serves_the_protocol_step_4_ran_and_doctor_says_how(trained_run, tmp_path):
    """After a run with --protocol holdout only, plain predict serves holdout and says so;
    asking for another protocol names the one there is."""
    work = tmp_path / "w"
    shutil.copytree(trained_run, work)
    done = run_script("04_stack_logistic.py", *TINY, "--protocol", "holdout", workdir=work)
    assert done.returncode == 0, done.stderr
    plain = _predict(work, "1,-4\n")
    asked = _predict(work, "1,-4\n", "--protocol", "holdout")
    assert plain.returncode == 0 and plain.stdout == asked.stdout
    assert plain.stderr.startswith(
        "note: serving the holdout protocol's stack: logistic regression (multinomial) "
        "meta-learner, test accuracy "
    )
    assert plain.stderr.endswith("fit on held-out training rows\n")
    other = _predict(work, "1,-4\n", "--protocol", "cv")
    assert other.returncode == 1 and other.stderr == (
        "error: step 4 last ran without the cv protocol, only with holdout: add --protocol "
        f"holdout, or run scripts/04_stack_logistic.py --workdir {work} --protocol cv (or "
        "--protocol all) first\n"
    )
    doctor = run_script("doctor", workdir=work)
    assert (
        f"ok  predict serves the holdout protocol's stacks: python -m stackgen predict "
        f"--workdir {work}\n"
    ) in doctor.stdout


def test_input_that_is_not_utf8_is_one_line(trained_run):
    done = subprocess.run(
        [sys.executable, "-m", "stackgen", "predict", "--workdir", str(trained_run)],
        input=b"\xff\xfe1,2\n",
        capture_output=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 1
    assert done.stderr == b"error: the input is not UTF-8 text (invalid start byte at byte 0)\n"


def test_features_named_with_numbers_are_never_mistaken_for_a_point():
    names = ["0", "1"]
    with pytest.raises(StackgenError, match="is both the features' names and a point"):
        read_points("0,1\n5,6\n", names)
    parsed = read_points("1,0,y\n6,5,no\n", names)  # a header: it has a column not a number
    assert parsed.X.tolist() == [[5.0, 6.0]] and parsed.unused == ["y"]
    assert read_points("5,6\n7,8\n", names).X.tolist() == [[5.0, 6.0], [7.0, 8.0]]
