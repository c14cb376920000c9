"""Lineage: an artifact made from inputs that changed since is refused, naming the step."""

from __future__ import annotations

import dataclasses
import re
import shutil

import numpy as np
import pytest
from conftest import TINY, TINY_MEMBERS, run_script, tiny_config

from stackgen.config import Config
from stackgen.extensions import step11_report
from stackgen.trust.errors import MissingArtifactError
from stackgen.tutorial import (
    step01_make_data,
    step03_train_members,
    step04_stack_logistic,
    step05_stack_integrated,
)
from stackgen.workdir import lineage, member_files, metalearner_files, served
from stackgen.workdir import split_files as data
from stackgen.workdir.paths import Paths, made_with


@pytest.fixture
def stacked(trained, tmp_path):
    """A copy of the trained work dir with step 4 run too."""
    work = tmp_path / "w"
    shutil.copytree(trained.workdir, work)
    cfg = dataclasses.replace(trained, workdir=work)
    step04_stack_logistic.run(cfg)
    return cfg


def _perturbed_data(cfg):
    split = data.make_split(cfg)
    moved = dataclasses.replace(split, train_X=split.train_X + np.float32(0.01))
    data.save_split(moved, Paths(cfg.workdir).data)


def test_remaking_the_same_data_is_not_a_change(stacked):
    step01_make_data.run(stacked)  # same parameters: same arrays, new zip timestamps
    paths = Paths(stacked.workdir)
    assert member_files.load_members(paths, data.load_split(paths))


def test_changed_data_stops_every_step_that_uses_the_members(stacked):
    _perturbed_data(stacked)
    message = re.escape(
        "data/split.npz changed after models/members.json was made from it: re-run "
        f"scripts/03_train_members.py --workdir {stacked.workdir}{TINY_MEMBERS} (or add --force "
        "to use it anyway)"
    )
    with pytest.raises(lineage.StaleArtifactError, match=message):
        step04_stack_logistic.run(stacked)
    with pytest.raises(lineage.StaleArtifactError, match=message):
        step05_stack_integrated.run(stacked)


def test_force_uses_them_anyway_with_a_warning(stacked, capfd):
    _perturbed_data(stacked)
    step04_stack_logistic.run(dataclasses.replace(stacked, force=True))
    err = capfd.readouterr().err
    assert (
        "warning: data/split.npz changed after models/members.json was made from it; "
        "using it anyway (--force)" in err
    )


def test_new_members_make_the_old_meta_learner_stale(stacked):
    step03_train_members.run(dataclasses.replace(stacked, seed=7))
    paths = Paths(stacked.workdir)
    with pytest.raises(
        lineage.StaleArtifactError,
        match=r"models/members\.json changed after (models/meta_learner\.skops|results/"
        r"stack_logistic\.json) was made from it: re-run scripts/04_stack_logistic\.py",
    ):
        _, meta_file = served.served_stack(paths, "tutorial")
        metalearner_files.load_served(paths, meta_file, 9)


def test_a_member_edited_by_hand_is_refused(stacked):
    paths = Paths(stacked.workdir)
    split = data.load_split(paths)
    model = member_files.load_members(paths, split)[1]
    model.set_weights([w + 0.5 for w in model.get_weights()])
    member_files.save_model(model, paths.member(2))
    with pytest.raises(
        lineage.StaleArtifactError, match=r"models/member_2\.keras changed after step 3 made it"
    ):
        member_files.load_members(paths, split)


def test_an_artifact_without_a_record_is_refused(stacked):
    paths = Paths(stacked.workdir)
    (paths.workdir / "lineage.json").unlink()
    with pytest.raises(
        lineage.StaleArtifactError, match="models/members.json has no lineage record"
    ):
        member_files.load_members(paths, data.load_split(paths))


def test_the_refusal_is_one_line_from_the_command_line(tmp_path):
    assert run_script("run", *TINY, "--upto", "3", workdir=tmp_path).returncode == 0
    _perturbed_data(tiny_config(tmp_path))
    done = run_script("04_stack_logistic.py", *TINY, workdir=tmp_path)
    assert done.returncode == 1
    assert done.stderr == (
        "error: data/split.npz changed after models/members.json was made "
        f"from it: re-run scripts/03_train_members.py --workdir {tmp_path}{TINY_MEMBERS} (or add "
        "--force to use it anyway)\n"
    )
    forced = run_script("04_stack_logistic.py", *TINY, "--force", workdir=tmp_path)
    assert forced.returncode == 0 and "warning: data/split.npz changed" in forced.stderr


def test_doctor_lists_what_is_missing_and_what_is_stale(stacked, tmp_path, capsys):
    from stackgen.cli.doctor import doctor

    # Every file steps 1-5 always write: the split, step 2's result and figure, the members'
    # manifest, steps 4 and 5's results.
    assert doctor(tmp_path / "empty") == 6
    out = capsys.readouterr().out
    empty = f" --workdir {tmp_path / 'empty'}"
    assert (
        f"FIX data/split.npz is missing: run scripts/01_make_data.py{empty} (or python -m "
        f"stackgen run{empty})"
    ) in out
    assert (
        f"FIX results/stack_integrated.json is missing: run scripts/05_stack_integrated.py{empty}"
        in out
    )
    assert f"--- results/methods.json not made yet: run scripts/06_compare_methods.py{empty}" in out

    _perturbed_data(stacked)
    problems = doctor(stacked.workdir)
    out = capsys.readouterr().out
    flags = f" --workdir {stacked.workdir}"
    assert (
        f"FIX data/split.npz changed after step 1 made it: re-run scripts/01_make_data.py{flags}"
    ) in out
    assert (
        "FIX data/split.npz changed after models/member_1.keras was made from it: re-run "
        f"scripts/03_train_members.py{flags}{TINY_MEMBERS} (or python -m stackgen "
        f"run{flags}{TINY_MEMBERS})\n"
    ) in out
    assert problems >= 5 and out.rstrip().endswith(f"python -m stackgen run{flags}{TINY_MEMBERS}")


def test_doctor_notices_a_member_deleted_from_the_work_dir(stacked, capsys):
    from stackgen.cli.doctor import doctor

    before = doctor(stacked.workdir)  # step 5 has not run here: its files are to fix
    assert "models/member_2.keras: ok" in capsys.readouterr().out
    (stacked.workdir / "models/member_2.keras").unlink()
    after = doctor(stacked.workdir)
    out = capsys.readouterr().out
    flags = f" --workdir {stacked.workdir}"
    assert (  # step 3's own line, beside those of the files made from the member
        "FIX models/member_2.keras is missing (models/members.json lists it): re-run "
        f"scripts/03_train_members.py{flags}{TINY_MEMBERS} (or python -m stackgen "
        f"run{flags}{TINY_MEMBERS})\n"
    ) in out
    assert after > before and "models/member_2.keras: ok" not in out


def test_a_hint_of_a_work_dir_named_only_by_workdir_carries_the_flags_that_made_its_members(
    tmp_path,
):
    made = tiny_config(tmp_path, members=2, seed=7, diverse=True, early_stopping=1)
    made = dataclasses.replace(made, protocols=("tutorial",))  # no fold copies: quicker
    step01_make_data.run(made)
    step03_train_members.run(made)
    paths = Paths.of(made_with(tmp_path))  # what doctor, predict and a bare --workdir see
    flags = " --seed 7 --members 2 --epochs 3 --early-stopping 1 --diverse"
    assert paths.member_flags == flags
    (tmp_path / "models" / "member_2.keras").unlink()
    with pytest.raises(MissingArtifactError) as missing:
        member_files.load_members(paths, data.load_split(paths))
    assert str(missing.value).endswith(
        f"run scripts/03_train_members.py{paths.flags}{flags} (or python -m stackgen "
        f"run{paths.flags}{flags})"
    )
    # The command's own settings are the user's latest word: they are not replaced.
    named = Paths.of(dataclasses.replace(made_with(tmp_path), members=4))
    assert named.member_flags == " --members 4"
    # The report's commands carry them too (its paths absolute).
    step11_report.run(Config(workdir=tmp_path, quiet=True))
    report = (tmp_path / "reports" / "report.md").read_text()
    assert (
        f"Steps 2, 4 and 5 have not all run: run python -m stackgen run --workdir "
        f"{tmp_path}{flags}." in report
    )


def _files(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_unreadable_lineage_file_is_named_once_and_stops_every_step(stacked, capsys):
    from stackgen.cli.doctor import doctor

    work = stacked.workdir
    (work / "lineage.json").write_text("{not json")
    doctor(work)
    out = capsys.readouterr().out
    named = [line for line in out.splitlines() if "lineage.json" in line or "record" in line]
    assert named == [
        "  FIX lineage.json could not be read (Expecting property name enclosed in double "
        "quotes: line 1 column 2 (char 1)); it records what every file here was made from: "
        f"move it aside, then run python -m stackgen run --workdir {work}{TINY_MEMBERS} to make "
        "every file and its record again"
    ]
    before = _files(work)
    done = run_script("04_stack_logistic.py", *TINY, workdir=work)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: lineage.json could not be read (Expecting property")
    assert done.stderr.count("\n") == 1
    assert {p: b for p, b in _files(work).items() if p.name != ".stackgen.lock"} == before


def test_the_hint_of_a_refusal_works_when_pasted(tmp_path):
    """The command a missing file's error names rebuilds this work dir from this data."""
    import shlex
    import subprocess
    import sys

    from conftest import ROOT

    table = tmp_path / "my table.csv"
    rng = np.random.default_rng(0)
    rows = [f"{a:.3f},{b:.3f},{'yes' if a > 0 else 'no'}" for a, b in rng.normal(size=(40, 2))]
    table.write_text("a,b,y\n" + "\n".join(rows) + "\n")
    work = tmp_path / "work dir"
    made = run_script("01_make_data.py", "--data", str(table), "--target", "y", workdir=work)
    assert made.returncode == 0, made.stderr
    Paths(work).data.unlink()
    done = run_script("02_single_mlp.py", "--data", str(table), "--target", "y", workdir=work)
    assert done.returncode == 1
    hint = re.fullmatch(r"error: data/split\.npz is missing: run (.+?) \(or .*\)\n", done.stderr)
    assert hint, done.stderr
    command = shlex.split(hint.group(1))
    pasted = subprocess.run(
        [sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert pasted.returncode == 0, pasted.stderr
    assert data.load_split(Paths(work)).params["file_name"] == "my table.csv"
    assert not (ROOT / "runs" / "my table").exists()
    # Given only --workdir, a script's and doctor's hints still name the table step 1 read.
    flags = f" --data {shlex.quote(str(table))} --target y --workdir {shlex.quote(str(work))}"
    alone = run_script("04_stack_logistic.py", workdir=work)
    assert alone.stderr == (
        f"error: models/members.json is missing: run scripts/03_train_members.py{flags} (or "
        f"python -m stackgen run{flags})\n"
    )
    doctor = run_script("doctor", workdir=work)
    assert (
        f"FIX results/single_mlp.json is missing: run scripts/02_single_mlp.py{flags} (or "
        f"python -m stackgen run{flags})\n"
    ) in doctor.stdout
    assert (  # the repeat study runs on a table too: its hint carries the table's flags
        f"--- results/repeat_study.json not made yet: run scripts/10_repeat_study.py{flags}\n"
    ) in doctor.stdout
    # With the split gone, the settings lineage recorded for it still name the table.
    Paths(work).data.unlink()
    gone = run_script("02_single_mlp.py", workdir=work)
    assert gone.stderr == (
        f"error: data/split.npz is missing: run scripts/01_make_data.py{flags} (or python -m "
        f"stackgen run{flags})\n"
    )
