"""A run killed with SIGKILL at any moment leaves nothing a later step would load half-made."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import keras
import pytest
from conftest import ROOT, TINY, run_script, step_here

FAULTS = [
    "before-rename:member_1.keras",  # a model fully written to its temporary file, not renamed
    "after-member:1",  # member 1 replaced, members 2 and 3 still the old ones
    "before-rename:oof_predictions.npz",
    "before-rename:members.json",  # every member new, the manifest not yet written
]


@pytest.fixture(scope="session")
def finished(tmp_path_factory):
    work = tmp_path_factory.mktemp("crash") / "w"
    done = run_script("run", *TINY, "--upto", "4", workdir=work)
    assert done.returncode == 0, done.stderr[-2000:]
    return work


def _visible_files_load(work):
    for path in (work / "models").glob("*.keras"):
        keras.saving.load_model(path, compile=False)  # raises on a partial file


def _after_the_crash(work, capfd):
    """Whatever the kill left, step 4 either works or says in one line what to re-run; then a
    clean re-run of step 3 and step 4 both succeed and no temporary file is left. (The steps
    after the kill run in this process: what is tested is the files the kill left.)"""
    _visible_files_load(work)
    flags = [*TINY, "--workdir", str(work)]
    status, _, err = step_here(4, flags, capfd)
    assert "Traceback" not in err
    if status != 0:
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert "scripts/03_train_members.py" in err
    again, _, err = step_here(3, flags, capfd)
    assert again == 0, err
    assert step_here(4, flags, capfd)[0] == 0
    assert not list((work / "models").glob(".*tmp*"))


@pytest.mark.parametrize("fault", FAULTS)
def test_sigkill_at_a_chosen_point_while_saving(finished, tmp_path, fault, capfd):
    work = tmp_path / "w"
    shutil.copytree(finished, work)
    killed = run_script(
        "03_train_members.py", *TINY, "--seed", "9", workdir=work, env={"STACKGEN_FAULT": fault}
    )
    assert killed.returncode == -signal.SIGKILL
    _after_the_crash(work, capfd)


@pytest.mark.parametrize("delay", [1.0, 3.0, 4.5])
def test_sigkill_at_a_moment_in_time(finished, tmp_path, delay, capfd):
    work = tmp_path / "w"
    shutil.copytree(finished, work)
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts/03_train_members.py"),
            "--epochs",
            "200",
            "--members",
            "3",
            "--quiet",
            "--seed",
            "9",
            "--workdir",
            str(work),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    _after_the_crash(work, capfd)
