"""One writer per work dir, absurd settings, and other ways a run can be misused."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, TINY, run_script

HOLD_LOCK = """
import sys, time
from pathlib import Path
from stackgen.artifacts import workdir_lock
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
