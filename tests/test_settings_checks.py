"""Settings that cannot work together are refused once, at the door, in one line; k-nearest
neighbours adapts to few rows instead. Each case here once got through to a library's traceback
minutes into a run, or to a silently wrong number."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from conftest import TINY, run_script
from hypothesis import given
from hypothesis import strategies as st

from stackgen.config import HEAD_SEED_OFFSET, MAX_SEED, Config
from stackgen.data.numbers import canonical, finite_number, mean_std, parse_number, standardise
from stackgen.data.split import Split
from stackgen.methods.metalearners import SklearnMeta, meta_learner
from stackgen.trust.errors import StackgenError
from stackgen.workdir import settings


def split_of(train_y, test_y, names=("no", "yes"), table=True, task="classification"):
    train_y, test_y = np.asarray(train_y), np.asarray(test_y)
    params = {"task": task, "source": "table" if table else "blobs"}
    if table:
        params |= {"file": "t.csv", "file_name": "t.csv", "sha256": "0" * 64, "target": "y"}
        params["rows"] = len(train_y) + len(test_y)
    else:
        params |= {"n_samples": 0, "centers": 2, "n_features": 2, "cluster_std": 1.0}
        params["random_state"] = 0
    if task == "classification":
        params["class_names"] = list(names)
    return Split(
        np.zeros((len(train_y), 2), np.float32),
        train_y,
        np.zeros((len(test_y), 2), np.float32),
        test_y,
        params,
    )


def cfg(**kw) -> Config:
    return Config(**kw)


@pytest.mark.parametrize(
    "split, config, message",
    [
        (
            split_of([0] * 40 + [1] * 3, [0, 1] * 5),
            cfg(folds=5),
            "--folds 5 is more than the 3 training rows of class 'yes': the cv protocol's "
            "stratified folds each need a row of every class; use --folds 3 or fewer, a smaller "
            "--test-size, or --protocol holdout",
        ),
        (
            split_of([0] * 40 + [1], [0, 1] * 5),
            cfg(folds=2),
            "class 'yes' has 1 training row: the cv protocol's stratified folds need at least 2",
        ),
        (
            split_of([0, 1] * 20, [0, 0, 0, 1]),
            cfg(),
            "class 'yes' has 1 test row: the holdout protocol halves the test rows class by "
            "class, so every class needs at least 2 there; use a larger --test-size, or "
            "--protocol cv",
        ),
        (
            split_of([0, 1] * 20, [0, 0, 0, 0]),
            cfg(protocols=("tutorial",)),
            "the test rows hold only class 'no': the tutorial protocol fits its meta-learner on "
            "them",
        ),
        (
            split_of([0, 1] * 20, [0, 1] * 5),
            cfg(meta="linear"),
            "--meta linear is not a classification meta-learner; use multinomial, ovr,",
        ),
        (
            split_of(np.zeros(3), np.zeros(10), task="regression"),
            cfg(folds=5),
            "--folds 5 is more than the 3 training rows; use --folds 3 or fewer",
        ),
        (
            split_of(np.zeros(30), np.zeros(3), task="regression"),
            cfg(protocols=("holdout",)),
            "3 test rows: the holdout protocol needs at least 4",
        ),
    ],
)
def test_settings_the_data_cannot_serve_are_one_line(split, config, message):
    with pytest.raises(StackgenError, match=re.escape(message)):
        settings.check(config, split)


def test_settings_the_data_can_serve_pass_and_protocols_not_asked_for_are_not_checked():
    few_in_train = split_of([0] * 40 + [1] * 3, [0, 1] * 5)
    settings.check(cfg(folds=3), few_in_train)
    settings.check(cfg(protocols=("tutorial", "holdout")), few_in_train)  # no cv: no folds
    settings.check(cfg(protocols=("cv",), folds=3), split_of([0, 1] * 20, [0, 0, 0, 1]))


def many_small_classes(train_rows, test_rows, names=None):
    """A split of len(train_rows) classes, class k with train_rows[k] and test_rows[k] rows."""
    names = names or [f"c{k}" for k in range(len(train_rows))]
    train = np.repeat(np.arange(len(names)), train_rows)
    test = np.repeat(np.arange(len(names)), test_rows)
    return split_of(train, test, names)


def with_offered(config: Config, offer: str) -> Config:
    """The config after pasting one offered ``--protocol X [--folds k]``."""
    words = offer.split()
    protocols = (words[1],)
    folds = int(words[3]) if len(words) > 3 else config.folds
    return dataclasses.replace(config, protocols=protocols, folds=folds)


def offered_protocols(message: str) -> list[str]:
    return re.findall(r"--protocol \w+(?: --folds \d+)?", message.split("; use ")[-1])


def test_300_classes_of_6_rows_name_both_limits_and_offer_only_what_runs():
    # Stratified at --test-size 0.25: most classes 4 + 2, some 5 + 1. Refused one protocol at a
    # time, cv said "--protocol holdout" and holdout said "--protocol cv": a circle.
    split = many_small_classes([4] * 250 + [5] * 50, [2] * 250 + [1] * 50)
    with pytest.raises(StackgenError) as info:
        settings.check(cfg(), split)
    message = str(info.value)
    assert message.startswith(
        "--folds 5 is more than the 4 training rows of class 'c0': the cv protocol's "
        "stratified folds each need a row of every class; and class 'c250' has 1 test row: "
        "the holdout protocol halves the test rows class by class"
    )
    assert message.endswith("; use --protocol cv --folds 4")
    settings.check(with_offered(cfg(), "--protocol cv --folds 4"), split)  # and it runs


def test_a_class_of_one_training_and_one_test_row_is_offered_the_tutorial_protocol_alone():
    split = many_small_classes([1, 5], [1, 5], names=["a", "b"])
    with pytest.raises(StackgenError) as info:
        settings.check(cfg(), split)
    assert "; and class 'a' has 1 test row" in str(info.value)
    assert str(info.value).endswith("; use --protocol tutorial")


def test_classes_named_by_numbers_are_offered_task_regression_where_the_task_was_guessed():
    split = many_small_classes([1] + [3] * 20, [1] * 21, names=[str(k) for k in range(21)])
    with pytest.raises(StackgenError) as info:
        settings.check(cfg(data_file="t.csv", target="y"), split)
    assert str(info.value).endswith(
        "use --protocol tutorial, or --task regression if the labels are values, not classes"
    )
    with pytest.raises(StackgenError) as info:
        asked = cfg(task="classification", data_file="t.csv", target="y")
        settings.check(asked, split)  # the task asked for is not second-guessed
    assert "--task" not in str(info.value)


@given(
    st.lists(st.tuples(st.integers(1, 8), st.integers(0, 4)), min_size=2, max_size=6),
    st.sampled_from([("tutorial", "holdout", "cv"), ("cv",), ("holdout",), ("holdout", "cv")]),
    st.integers(2, 6),
)
def test_every_protocol_a_refusal_offers_runs_on_those_rows(rows, protocols, folds):
    split = many_small_classes([r for r, _ in rows], [t for _, t in rows])
    config = cfg(protocols=protocols, folds=folds)
    try:
        settings.check(config, split)
    except StackgenError as error:
        message = str(error)
        for offer in offered_protocols(message):
            settings.check(with_offered(config, offer), split)  # raises if the offer is wrong
        for k in re.findall(r"--folds (\d+) or fewer", message):
            settings.check(dataclasses.replace(config, folds=int(k)), split)
        assert protocols != ("holdout",) or "--protocol holdout" not in message


def test_the_blobs_are_not_told_to_change_a_test_size_they_do_not_have():
    with pytest.raises(StackgenError) as info:
        settings.check(cfg(folds=200), split_of([0, 1, 2] * 32, [0, 1, 2] * 300, "012", False))
    assert "--test-size" not in str(info.value) and "use --folds 32 or fewer" in str(info.value)


def test_k_nearest_neighbours_takes_no_more_neighbours_than_rows_and_says_so():
    rng = np.random.default_rng(0)
    P = rng.random((7, 2, 2))
    y = np.array([0, 1, 0, 1, 0, 1, 1])
    knn = meta_learner("knn", split_of([0], [0]).task, 1, False)
    assert isinstance(knn, SklearnMeta)
    knn.fit(P, y)  # 15 neighbours asked, 7 rows: adapts
    assert knn.estimator.n_neighbors == 7
    assert knn.predict_proba(P).shape == (7, 2)
    notes = settings.knn_notes(cfg(), split_of([0, 1] * 30, [0, 1] * 8))
    assert notes == [
        "note: k-nearest neighbours takes k = 8 under the holdout protocol, not 15: it has "
        "only 8 rows to fit on"
    ]
    assert settings.knn_notes(cfg(), split_of([0, 1] * 30, [0, 1] * 30)) == []


@pytest.mark.parametrize(
    "seed, members",
    [(-1, 5), (99_999_999_999, 5), (4_294_967_295, 1), (MAX_SEED - HEAD_SEED_OFFSET + 1, 5)],
)
def test_seeds_beyond_what_the_libraries_take_are_refused(seed, members):
    with pytest.raises(ValueError, match="--seed must be between 0 and 4294957295"):
        Config(seed=seed, members=members)


def test_the_highest_seed_that_works_is_accepted():
    config = Config(seed=MAX_SEED - HEAD_SEED_OFFSET, members=5)
    assert config.head_seed == MAX_SEED


@given(st.text(max_size=12))
def test_a_number_is_only_what_is_written_as_a_decimal_number(text):
    value = parse_number(text)
    if value is not None:
        assert value == float(text)  # the same value Python reads
        assert "_" not in text and text.strip().lower() not in ("nan", "inf", "infinity")


@pytest.mark.parametrize(
    "cell, value",
    [("1", 1.0), (" -2.5e3 ", -2500.0), (".5", 0.5), ("1.", 1.0), ("+7", 7.0)]
    + [("1_000", None), ("nan", None), ("inf", None), ("0x10", None), ("1,5", None)],
)
def test_numbers_as_written(cell, value):
    assert finite_number(cell) == value


def test_one_value_is_one_class_however_it_is_spelled():
    assert {canonical(v) for v in ["0", "1", "1.0", "+1", "1e0"]} == {"0", "1"}
    assert canonical("0.5") == "0.5" and canonical(" yes ") == "yes"


@pytest.mark.parametrize("scale", [1.0, 1e150, 1e200, 1e300, 1e-300])
def test_standardising_survives_values_whose_squares_overflow(scale):
    rng = np.random.default_rng(1)
    raw = rng.normal(size=(50, 2))
    values = raw * scale
    mean, std = mean_std(values)
    out = standardise(values, mean, std)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, standardise(raw, *mean_std(raw)), rtol=1e-9, atol=1e-9)


def test_values_near_the_largest_float_standardise_too():
    values = np.array([[1.7e308], [-1.7e308], [1.0e308], [0.0]])
    mean, std = mean_std(values)
    out = standardise(values, mean, std)
    assert np.isfinite(out).all() and abs(out.mean()) < 1e-9 and abs(out.std() - 1) < 1e-9


def test_a_seed_out_of_range_is_refused_before_anything_runs(tmp_path):
    work = tmp_path / "w"
    for flags in (["--seed", "-1"], ["--seed", "4294967295", "--members", "1"]):
        done = run_script("01_make_data.py", *flags, workdir=work)
        assert done.returncode == 2
        assert done.stderr.startswith("error: --seed must be between 0 and 4294957295")
        assert len(done.stderr.splitlines()) == 1
    assert not work.exists()


def test_too_many_folds_for_the_blobs_are_refused_before_any_member_trains(tmp_path):
    work = tmp_path / "w"
    assert run_script("01_make_data.py", workdir=work).returncode == 0
    before = sorted(p.name for p in work.rglob("*"))
    done = run_script("03_train_members.py", *TINY, "--folds", "200", workdir=work)
    assert done.returncode == 1
    assert done.stderr == (
        "error: --folds 200 is more than the 32 training rows of class '2': the cv protocol's "
        "stratified folds each need a row of every class; use --folds 32 or fewer, or "
        "--protocol holdout\n"
    )
    assert sorted(p.name for p in work.rglob("*")) == before
    diverse = run_script("07_diverse_members.py", *TINY, "--folds", "200", workdir=work)
    assert diverse.returncode == 1 and diverse.stderr == done.stderr  # step 7 uses folds too
    blobs = run_script("run", *TINY, "--folds", "200", workdir=tmp_path / "fresh")
    assert blobs.returncode == 1 and "--folds 200 is more than the 32" in blobs.stderr
    assert not (tmp_path / "fresh" / "data").exists()


def test_the_repeat_study_refuses_seeds_out_of_range_before_any_seed_runs(tmp_path):
    work = tmp_path / "w"
    done = run_script(
        "10_repeat_study.py", *TINY, "--seed", "4294957000", "--seeds", "300", workdir=work
    )
    assert done.returncode == 1
    assert done.stderr == (
        "error: --seed 4294957000 with --seeds 300 reaches seed 4294957299, and its members and "
        "head use seeds up to 10000 above that; every seed must stay below 2**32: use --seed "
        "4294956996 or lower\n"
    )
    assert not (work / "results").exists()


def test_a_whole_run_on_a_60_row_table_completes(tmp_path):
    """Under about 120 rows k-nearest neighbours (15 neighbours) once crashed step 6 on the
    holdout protocol's few fitting rows; now it takes as many as there are, and says so."""
    rng = np.random.default_rng(5)
    yes = rng.random(60) < 0.5
    rows = [
        f"{a + t:.3f},{b:.3f},{'yes' if t else 'no'}"
        for a, b, t in zip(*rng.normal(size=(2, 60)), yes, strict=True)
    ]
    table = tmp_path / "sixty.csv"
    table.write_text("a,b,y\n" + "\n".join(rows) + "\n")
    done = run_script(
        "run", "--data", str(table), "--target", "y", *TINY[:-1], workdir=tmp_path / "w"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (
        "note: k-nearest neighbours takes k = 7 under the holdout protocol, not 15: it has only "
        "7 rows to fit on"
    ) in done.stdout
    assert (tmp_path / "w/reports/report.md").is_file()


def test_hints_repeat_the_users_flags_so_that_they_parse_back(tmp_path):
    import shlex

    from stackgen.cli.flags import make_parser

    table = tmp_path / "my data.csv"
    config = Config(
        data_file=table,
        target="-y",
        task="regression",
        test_size=0.1234567,
        protocols=("cv",),
        folds=3,
        workdir=tmp_path / "work dir",
    )
    flags = config.identity_flags()
    assert "--target=-y" in flags
    args = make_parser("x", None).parse_args(shlex.split(flags))
    assert (args.data_file.resolve(), args.target, args.task) == (table, "-y", "regression")
    assert (args.test_size, args.protocols, args.folds) == (0.1234567, "cv", 3)
    assert args.workdir.resolve() == (tmp_path / "work dir").resolve()
