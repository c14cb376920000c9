"""The command line's contract, driven with generated flags and input: exit 0 with sane output,
or exit 1 or 2 with one ``error:`` line, no traceback, and no file changed.

The commands run in this process (``stackgen.cli.main.main``), so each example costs
milliseconds for step 1 and about a second for ``predict``, not a Python start-up and a Keras
import. An exception other than ``SystemExit`` escaping ``main`` is a traceback a user would
see: the test fails on it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from stackgen.cli.main import main
from stackgen.workdir.split_files import load_split

pytestmark = pytest.mark.xdist_group("cli_contract")  # one worker keeps the trained fixture

CONTRACT = dict(
    deadline=None,
    derandomize=True,  # the same examples every run: a test that fails, fails again
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def write_table(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="session")
def tables(tmp_path_factory) -> dict[str, Path]:
    """Tables to point --data at: good ones, odd ones, broken ones."""
    folder = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(0)
    yes = rng.random(60) < 0.5
    a, b = rng.normal(size=60) + yes, rng.normal(size=60)
    return {
        "sixty": write_table(
            folder / "sixty.csv",
            ["a", "b", "y"],
            [
                [f"{x:.3f}", f"{z:.3f}", "yes" if t else "no"]
                for x, z, t in zip(a, b, yes, strict=True)
            ],
        ),
        "huge": write_table(
            folder / "huge.csv",
            ["a", "b", "y"],
            [
                [f"{x * 1e200:.6g}", f"{z:.3f}", ("0", "1", "1.0")[i % 3]]
                for i, (x, z) in enumerate(zip(a, b, strict=True))
            ],
        ),
        "regression": write_table(
            folder / "regression.csv",
            ["a", "b", "t"],
            [[f"{x:.3f}", f"{z:.3f}", f"{(x + z) * 1e200:.6g}"] for x, z in zip(a, b, strict=True)],
        ),
        "tiny": write_table(
            folder / "tiny.csv", ["a", "b", "y"], [[i, i % 3, "yn"[i % 2]] for i in range(8)]
        ),
        "ragged": write_table(folder / "ragged.csv", ["a", "b", "y"], [[1, 2, "x"], [1]]),
        "words": write_table(
            folder / "words.csv", ["a", "b", "y"], [["1_000", "nan", "x"], ["2", "3", "y"]] * 5
        ),
        "missing": folder / "absent.csv",
    }


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (but the lock file, which stays by design) and its hash."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".stackgen.lock"
    }


def call(argv: list[str], capfd, stdin: str | bytes | None = None) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``python -m stackgen ARGV``, run in this process."""
    capfd.readouterr()
    saved = sys.stdin
    if isinstance(stdin, bytes):  # a real standard input: bytes underneath
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    elif stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        main(argv)
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdin = saved
    out, err = capfd.readouterr()
    return status, out, err


def assert_one_line_failure(status: int, err: str) -> None:
    assert status in (1, 2), err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err


usual = st.integers(2, 6).map(str)
numberish = st.one_of(
    usual,
    usual,
    usual,
    st.integers(-3, 12).map(str),
    st.integers(-(2**40), 2**40).map(str),
    st.sampled_from(["x", "1.5", "", "1e3", "4294967295", "-1"]),
)
FLAGS = {
    "--seed": numberish,
    "--members": numberish,
    "--folds": numberish,
    "--epochs": numberish,
    "--test-size": st.one_of(
        st.floats(-0.5, 1.5, allow_nan=False).map(lambda v: f"{v:.3f}"),
        st.sampled_from(["0", "1", "0.02", "0.05", "0.5", "0.9", "abc", "nan"]),
    ),
    "--protocol": st.sampled_from(["tutorial", "holdout", "cv", "all", "leaky"]),
    "--meta": st.sampled_from(["auto", "knn", "nnls", "greedy", "linear", "bogus"]),
    "--task": st.sampled_from(["auto", "classification", "regression", "x"]),
}
DATA = [None, ("sixty", "y"), ("sixty", "zz"), ("huge", "y"), ("regression", "t")]
DATA += [("tiny", "y"), ("ragged", "y"), ("words", "y"), ("missing", "y")]


@st.composite
def command_lines(draw) -> list[str]:
    chosen = draw(st.lists(st.sampled_from(sorted(FLAGS)), unique=True, max_size=4))
    argv = [item for flag in chosen for item in (flag, draw(FLAGS[flag]))]
    if draw(st.booleans()):
        argv.append("--passthrough")
    return argv


@pytest.fixture(scope="session")
def made_before(tmp_path_factory, tables) -> Path:
    """A work dir step 1 already made: what a failing command must leave exactly as it was."""
    work = tmp_path_factory.mktemp("before") / "w"
    done = main(["run", "--upto", "1", "--quiet", "--workdir", str(work)])
    assert done
    return work


@settings(max_examples=60, **CONTRACT)
@given(argv=command_lines(), data=st.sampled_from(DATA))
def test_step_1_with_any_flags_works_or_fails_in_one_line_changing_nothing(
    argv, data, tables, made_before, capfd
):
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch) / "w"
        shutil.copytree(made_before, work)
        before = snapshot(work)
        if data is not None:
            argv = [*argv, "--data", str(tables[data[0]]), "--target", data[1]]
        status, out, err = call(["run", *argv, "--upto", "1", "--workdir", str(work)], capfd)
        event(f"exit {status}")
        if status == 0:
            split = load_split_of(work)  # refuses NaN, a wrong shape, labels out of range
            assert f"{split.train_X.shape} {split.test_X.shape}" in out.splitlines(), out
            assert np.abs(split.train_X).max() < 1e3  # standardised: nothing overflowed to 0
            assert split.train_X.std(axis=0).max() > 0.5 or len(split.train_y) < 4
            if data is not None and data[0] == "huge" and "class_names" in split.params:
                assert split.params["class_names"] == ["0", "1"]  # 1 and 1.0 are one class
        else:
            assert_one_line_failure(status, err)
            assert snapshot(work) == before, err


def load_split_of(work: Path):
    from stackgen.workdir.paths import Paths

    return load_split(Paths(work))


@pytest.fixture(scope="session")
def served(tmp_path_factory, tables) -> Path:
    """A work dir with the tutorial's five steps run on the 60-row table (features a, b)."""
    work = tmp_path_factory.mktemp("served") / "w"
    flags = ["--epochs", "2", "--meta-epochs", "2", "--members", "2", "--quiet"]
    main(
        [
            "run",
            "--data",
            str(tables["sixty"]),
            "--target",
            "y",
            *flags,
            "--upto",
            "5",
            "--workdir",
            str(work),
        ]
    )
    return work


number = st.floats(-1e3, 1e3, allow_nan=False).map(repr)
CELLS = st.one_of(
    *[number] * 12,  # mostly points that work, so that the answers get checked too
    st.integers(-5, 5).map(str),
    st.floats(1e3, 3.4e38).map(repr),  # fits float32, and may still overflow the networks
    st.sampled_from(["1e39", "1e308", "-1e200", "1e400", "nan", "inf", "1_000", "abc", ""]),
    st.sampled_from(["3e38", "-1e37", "1e30"]),
    st.sampled_from(["a", "b", "y", "q", "5;6", "1\t2", " 2 ", "0x1"]),
)
HEADERS = st.one_of(
    st.none(),
    st.none(),
    st.permutations(["a", "b"]).map(list),
    st.permutations(["a", "b", "y"]).map(list),
    st.permutations(["a", "b", "y"]).map(list),
    st.lists(st.sampled_from(["a", "b", "x", "z", "q", "y"]), min_size=1, max_size=3),
)


@st.composite
def predict_inputs(draw) -> str:
    header = draw(HEADERS)
    width = len(header) if header else 2
    ragged = draw(st.integers(0, 7)) == 0
    rows = draw(
        st.lists(
            st.lists(CELLS, min_size=1 if ragged else width, max_size=width + ragged),
            min_size=1,
            max_size=4,
        )
    )
    lines = ([",".join(header)] if header else []) + [",".join(r) for r in rows]
    return "".join(f"{line}\n" for line in lines)


@settings(max_examples=80, **CONTRACT)
@given(text=predict_inputs())
def test_predict_with_any_input_works_or_fails_in_one_line(text, served, capfd):
    before = snapshot(served)
    status, out, err = call(["predict", "--workdir", str(served)], capfd, stdin=text)
    event(f"exit {status}")
    assert snapshot(served) == before  # predict never writes
    if status != 0:
        assert_one_line_failure(status, err)
        return
    lines = out.splitlines()
    assert lines[0] == "point,class,p_no,p_yes,member_1,member_2,integrated_network"
    body = [line.split(",") for line in lines[1:]]
    assert body and [row[0] for row in body] == [
        str(i + 1) for i in range(len(body))
    ]  # a row a point
    for row in body:
        probs = [float(v) for v in row[2:4]]
        assert all(np.isfinite(probs)) and abs(sum(probs) - 1) < 2e-3
        assert row[1] == ("no", "yes")[int(np.argmax(probs))]
        assert set(row[4:]) <= {"no", "yes"}
    assert err.startswith("note: serving the cv protocol's stack: ")
    assert not any(line.startswith("error") for line in err.splitlines())
    # Matched by name: the same points written a, b without a header give the same answers.
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(c.strip() for c in r)]
    header = [c.strip() for c in rows[0]]
    if {"a", "b"} <= set(header):
        plain = "".join(
            f"{r[header.index('a')].strip()},{r[header.index('b')].strip()}\n" for r in rows[1:]
        )
        again = call(["predict", "--workdir", str(served)], capfd, stdin=plain)
        assert again[0] == 0 and again[1] == out, again[2]


@pytest.mark.parametrize(
    "text, message",
    [
        ("b,q\n2,1\n", "error: line 1: the header (b, q) does not name the model's feature a;"),
        ("x,z\n2,1\n", "error: line 1: the header (x, z) does not name the model's features a, b"),
        ("abc,1\n5,6\n", "error: line 1: 'abc' is not a number (feature 'a')"),
        ("5;6\n5,6\n", "error: row 2 has 2 fields, the header 1 (line 2) (the header is one"),
        ("1e39,1\n", "error: line 1: the point has a value too large for the networks' float32"),
        ("2,1\n1e400,1\n", "error: line 2: '1e400' is beyond the largest number a float"),
        # A cell of any length is read; the message quotes it cut short.
        ("1" * 200_000 + ",1\n", "error: line 1: '" + "1" * 40 + "...' is beyond the largest"),
    ],
)
def test_the_probes_inputs_to_predict_are_one_line(text, message, served, capfd):
    status, out, err = call(["predict", "--workdir", str(served)], capfd, stdin=text)
    assert status == 1 and out == "" and err.startswith(message) and err.count("\n") == 1


def test_columns_in_another_order_give_the_same_answer_and_the_target_is_named(served, capfd):
    ordered = call(["predict", "--workdir", str(served)], capfd, stdin="a,b\n2,1\n")
    swapped = call(["predict", "--workdir", str(served)], capfd, stdin="y,b,a\nno,1,2\n")
    assert ordered[0] == swapped[0] == 0 and ordered[1] == swapped[1]
    assert swapped[2].splitlines()[1:] == [
        "note: columns not used (not features of the model): y (the target)"
    ]


def test_a_point_with_no_finite_member_output_is_one_line(served, capfd, monkeypatch):
    """Before a meta-learner sees it (scikit-learn would raise on NaN): a point the members
    give NaN for is refused naming its line."""
    from stackgen.methods import members

    real = members.member_probabilities

    def nan_for_the_second_point(models, X):
        outputs = [np.array(o, dtype=np.float32) for o in real(models, X)]
        outputs[0][1] = np.nan
        return outputs

    monkeypatch.setattr(members, "member_probabilities", nan_for_the_second_point)
    status, out, err = call(["predict", "--workdir", str(served)], capfd, stdin="1,1\n2,2\n")
    assert status == 1 and out == ""
    assert err == (
        "error: line 2: the point is so far outside the training data that the models' outputs "
        "are not finite numbers\n"
    )


@pytest.mark.parametrize("raw", [b"a,b\r1,2\r3,4\r", b"\xef\xbb\xbfa,b\r\n1,2\r\n3,4\r\n"])
def test_any_line_ending_and_a_byte_order_mark_read_the_same(raw, served, capfd):
    plain = call(["predict", "--workdir", str(served)], capfd, stdin=b"a,b\n1,2\n3,4\n")
    other = call(["predict", "--workdir", str(served)], capfd, stdin=raw)
    assert plain[0] == other[0] == 0 and plain[1] == other[1], other[2]


# --member-files and .npz data: generated members of every output kind stackgen reads, and
# labels in every encoding an array may hold them.
WIDTH = 4  # features a row
MEMBER_KINDS = ("softmax2", "softmax3", "sigmoid", "logit", "logits3", "regression", "uncompiled")
# The members that certainly stack on each data set (labels as classes, or values).
STACKS_ON = {
    2: {"softmax2", "sigmoid", "logit", "uncompiled"},
    3: {"softmax3", "logits3"},
    "values": {"regression"},
}
LABELS = {  # name: (what the labels are, how many rows in train; 0: members trained elsewhere)
    "int2": (2, 60),
    "float2": (2, 60),
    "str2": (2, 60),
    "int3": (3, 60),
    "str3": (3, 60),
    "values": ("values", 60),
    "int2, no train rows": (2, 0),
}


@pytest.fixture(scope="session")
def member_zoo(tmp_path_factory) -> dict[str, Path]:
    """Untrained members (stacking needs none trained) of each kind, saved as .keras, and an
    .npz for each label encoding, with its test rows' X alone for predict."""
    import keras

    folder = tmp_path_factory.mktemp("member_zoo")
    keras.utils.set_random_seed(0)
    from_logits = keras.losses.BinaryCrossentropy(from_logits=True)
    many_logits = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    kinds = {
        "softmax2": (2, "softmax", "sparse_categorical_crossentropy"),
        "softmax3": (3, "softmax", "sparse_categorical_crossentropy"),
        "sigmoid": (1, "sigmoid", "binary_crossentropy"),
        "logit": (1, None, from_logits),
        "logits3": (3, None, many_logits),
        "regression": (1, None, "mse"),
        "uncompiled": (2, "softmax", None),  # no loss: the cv protocol cannot retrain it
    }
    files = {}
    for name, (units, activation, loss) in kinds.items():
        model = keras.Sequential(
            [
                keras.Input((WIDTH,)),
                keras.layers.Dense(6, activation="relu"),
                keras.layers.Dense(units, activation=activation),
            ]
        )
        if loss is not None:
            model.compile(optimizer="adam", loss=loss)
        files[name] = folder / f"{name}.keras"
        model.save(files[name])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, WIDTH)).astype(np.float32)
    score = X[:, 0] + 0.5 * X[:, 1]
    encodings = {
        "int2": (score > 0).astype(np.int64),
        "float2": (score > 0).astype(np.float64),
        "str2": np.where(score > 0, "yes", "no"),
        "int3": np.digitize(score, [-0.5, 0.5]).astype(np.int64),
        "str3": np.array(["a", "b", "c"])[np.digitize(score, [-0.5, 0.5])],
        "values": score * 3.0 + 10.0,
    }
    for name, (_, train_rows) in LABELS.items():
        y = encodings[name.split(",")[0]]
        arrays = {"test_X": X[60:], "test_y": y[60:]}
        if train_rows:
            arrays |= {"train_X": X[:60], "train_y": y[:60]}
        files[name] = folder / f"{name.replace(', ', '_').replace(' ', '_')}.npz"
        np.savez(files[name], **arrays)
    np.savez(folder / "points.npz", X=X[60:65])
    files["points"] = folder / "points.npz"
    return files


@st.composite
def member_runs(draw) -> tuple[str, list[str], list[str]]:
    labels = draw(st.sampled_from(sorted(LABELS)))
    # Mostly members that fit the labels (so that the answers get checked too), else any.
    fitting = draw(st.sampled_from([True, True, False]))
    kinds = sorted(STACKS_ON[LABELS[labels][0]]) if fitting else MEMBER_KINDS
    members = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=3, unique=True))
    flags = ["--folds", draw(st.sampled_from(["2", "3"]))]
    protocol = draw(st.sampled_from([None, None, "tutorial", "holdout", "cv"]))
    if protocol:
        flags += ["--protocol", protocol]
    task = draw(st.sampled_from([None, None, None, "classification", "regression"]))
    if task:
        flags += ["--task", task]
    return labels, members, flags


def surely_stacks(labels: str, members: list[str], flags: list[str]) -> bool:
    """Whether this run must work: members that stack on these labels, the task left to its
    guess, and a protocol that can run (cv alone needs train rows and members it can retrain)."""
    kind, train_rows = LABELS[labels]
    if "--task" in flags or not set(members) <= STACKS_ON[kind]:
        return False
    cv_alone = flags[-2:] == ["--protocol", "cv"]
    return not (cv_alone and (not train_rows or "uncompiled" in members))


@settings(max_examples=40, **CONTRACT)
@given(case=member_runs())
def test_run_with_any_members_and_arrays_works_or_fails_in_one_line_changing_nothing(
    case, member_zoo, made_before, capfd
):
    labels, members, flags = case
    files = [str(member_zoo[m]) for m in members]
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch) / "w"
        shutil.copytree(made_before, work)
        before = snapshot(work)
        argv = ["run", "--data", str(member_zoo[labels]), "--member-files", *files, *flags]
        argv += ["--epochs", "1", "--meta-epochs", "1", "--upto", "5", "--quiet"]
        status, out, err = call([*argv, "--workdir", str(work)], capfd)
        event(f"exit {status}")
        if status != 0:
            assert_one_line_failure(status, err)
            assert snapshot(work) == before, err
            assert not surely_stacks(labels, members, flags), err
            return
        result = json.loads((work / "results" / "stack_logistic.json").read_text())
        assert len(result["member_scores"]) == len(members)
        assert all(np.isfinite(result["member_scores"]))
        # What is served is what was scored: predict answers for the points, a row each.
        served = call(
            ["predict", "--workdir", str(work), "--input", str(member_zoo["points"])], capfd
        )
        assert served[0] == 0, served[2]
        assert len(served[1].splitlines()) == 1 + 5
