"""One writer per work dir, absurd settings, and other ways a run can be misused."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT, TINY, run_script

HOLD_LOCK = """
import sys, time
from pathlib import Path
from stackgen.workdir.lock import workdir_lock
with workdir_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_writer_is_refused_while_a_run_holds_the_work_dir(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        done = run_script("01_make_data.py", workdir=tmp_path)
        assert done.returncode == 1
        assert done.stderr == (
            f"error: another stackgen run (pid {holder.pid}) is writing to "
            f"{tmp_path}; wait for it to finish or use another --workdir\n"
        )
        assert not (tmp_path / "data").exists()
    finally:
        holder.kill()
        holder.wait()
    # A killed holder leaves nothing stuck: the next run goes ahead.
    assert run_script("01_make_data.py", "--quiet", workdir=tmp_path).returncode == 0


def test_absurd_epochs_warn_with_an_estimate_before_training(tmp_path):
    assert run_script("01_make_data.py", "--quiet", workdir=tmp_path).returncode == 0
    proc = subprocess.Popen(
        [
            sys.executable,
            "scripts/02_single_mlp.py",
            "--epochs",
            "1000000000",
            "--quiet",
            "--workdir",
            str(tmp_path),
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = proc.stderr.readline()
    finally:
        proc.kill()
        proc.wait()
    assert line.startswith("warning: --epochs 1000000000 and --meta-epochs 300 mean about ")
    assert "hours of training" in line


def test_tiny_settings_do_not_warn(tmp_path):
    assert run_script("01_make_data.py", "--quiet", workdir=tmp_path).returncode == 0
    done = run_script("02_single_mlp.py", *TINY, workdir=tmp_path)
    assert done.returncode == 0 and done.stderr == ""


@pytest.fixture
def mount_point(tmp_path):
    """A directory we can mount on: needs root (as on CI here); skipped elsewhere."""
    target = tmp_path / "mnt"
    target.mkdir()
    mounted = []

    def mount(*args):
        done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount here: {done.stderr.strip()}")
        mounted.append(target)
        return target

    yield mount
    for m in mounted:
        subprocess.run(["umount", "-l", str(m)], capture_output=True)


def _digests(work):
    import hashlib

    return {
        p.relative_to(work): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in work.rglob("*")
        if p.is_file() and p.name != ".stackgen.lock"
    }


def test_a_full_work_dir_is_one_line_and_loses_nothing(mount_point):
    work = mount_point("-t", "tmpfs", "-o", "size=1m", "tmpfs")
    assert run_script("run", *TINY, "--upto", "3", workdir=work).returncode == 0
    before = _digests(work)
    filler = work / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:  # fill the disk to the last block
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    done = run_script("03_train_members.py", *TINY, "--seed", "5", workdir=work)
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot write or read ")
    assert done.stderr.endswith(": No space left on device\n") and done.stderr.count("\n") == 1
    filler.unlink()
    after = _digests(work)
    assert {k: v for k, v in after.items() if k.name != "filler"} == before


def test_a_read_only_work_dir_is_one_line_and_loses_nothing(mount_point, tmp_path):
    source = tmp_path / "src"
    assert run_script("run", *TINY, "--upto", "3", workdir=source).returncode == 0
    work = mount_point("--bind", str(source))
    subprocess.run(["mount", "-o", "remount,ro,bind", str(work)], check=True)
    before = _digests(work)
    done = run_script("04_stack_logistic.py", *TINY, workdir=work)
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot write or read ")
    assert "Read-only file system" in done.stderr and done.stderr.count("\n") == 1
    assert _digests(work) == before


def test_stderr_arrives_while_the_step_runs_and_survives_a_kill(tmp_path):
    """A --force warning is on stderr while the step is still training, not held back until
    the command ends: a run the kernel kills has already said it."""
    assert run_script("run", *TINY, "--upto", "3", workdir=tmp_path).returncode == 0
    import dataclasses

    import numpy as np

    from stackgen.config import Config
    from stackgen.workdir.paths import Paths
    from stackgen.workdir.split_files import make_split, save_split

    split = make_split(Config(workdir=tmp_path))  # moved a little: the members are now stale
    save_split(
        dataclasses.replace(split, train_X=split.train_X + np.float32(0.01)), Paths(tmp_path).data
    )
    step = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts/05_stack_integrated.py"),
            *TINY,
            "--meta-epochs",
            "3000",
            "--force",
            "--workdir",
            str(tmp_path),
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        first = step.stderr.readline()
        assert first.startswith(
            "warning: data/split.npz changed after models/members.json was made from it"
        )
        assert step.poll() is None  # still training when the warning came through
    finally:
        step.kill()
        step.wait()


def test_a_keras_backend_that_is_not_installed_is_one_line(tmp_path, monkeypatch, capsys):
    import importlib.util

    from stackgen.cli.main import main

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a)
    )
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with pytest.raises(SystemExit) as stopped:
        main(["run", *TINY, "--workdir", str(tmp_path)])
    assert stopped.value.code == 1
    assert capsys.readouterr().err == (
        "error: KERAS_BACKEND=jax, but jax is not installed: make backends, or "
        "pip install -e '.[jax]'\n"
    )
    assert not (tmp_path / "data").exists()
    monkeypatch.setenv("KERAS_BACKEND", "theano")
    with pytest.raises(SystemExit):
        main(["run", *TINY, "--workdir", str(tmp_path)])
    assert "error: KERAS_BACKEND=theano is not one stackgen runs on" in capsys.readouterr().err
