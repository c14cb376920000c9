"""The repeat study on a Dask cluster (``--scheduler``): a 2-worker LocalCluster gives every seed
the same numbers, to the last digit, as local processes, and a study cut short resumes the same
way; without Dask, or with no scheduler at the address, it is one line."""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
from pathlib import Path

import pytest
from conftest import run_script

from stackgen import cluster
from stackgen.trust.errors import StackgenError

STUDY = ["--epochs", "2", "--meta-epochs", "2", "--members", "2", "--max-members", "3"]
STUDY += ["--jobs", "2"]


def seeds_of(work: Path) -> dict[int, dict]:
    """Every saved seed's numbers, without its wall time."""
    found = {}
    for path in sorted(work.glob("results/repeat/*/seed_*.json")):
        numbers = json.loads(path.read_text())
        numbers.pop("seconds")
        found[numbers["seed"]] = numbers
    return found


@pytest.mark.xdist_group("cluster")
def test_a_local_dask_cluster_gives_the_same_seeds_and_resumes(tmp_path):
    pytest.importorskip("distributed")
    here = run_script("10_repeat_study.py", *STUDY, "--seeds", "2", workdir=tmp_path / "here")
    assert here.returncode == 0, here.stderr[-3000:]
    work = tmp_path / "dask"
    there = run_script(
        "10_repeat_study.py", *STUDY, "--seeds", "2", "--scheduler", "local", workdir=work
    )
    assert there.returncode == 0, there.stderr[-3000:]
    assert "2 to run on a local Dask cluster of 2 process workers" in there.stdout
    local, dask = seeds_of(tmp_path / "here"), seeds_of(work)
    assert sorted(dask) == [1, 2] and dask == local  # bit-identical numbers
    study = json.loads((work / "results/repeat_study.json").read_text())
    again = json.loads((tmp_path / "here/results/repeat_study.json").read_text())
    assert study["methods"] == again["methods"]
    # Cut short: seed 2 lost. A longer study on the cluster runs only seeds 2 and 3.
    next(work.glob("results/repeat/*/seed_0002.json")).unlink()
    resumed = run_script(
        "10_repeat_study.py", *STUDY, "--seeds", "3", "--scheduler", "local", workdir=work
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "1 already done" in resumed.stdout and "2 to run" in resumed.stdout
    ran = sorted(int(s) for s in re.findall(r"^  seed (\d+) done in", resumed.stdout, re.M))
    assert ran == [2, 3]
    assert seeds_of(work)[2] == local[2]


def test_without_dask_or_without_a_scheduler_it_is_one_line(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1)
    with pytest.raises(StackgenError, match=r"--scheduler tcp://127\.0\.0\.1:9: nothing answered"):
        list(cluster.run_all(print, [(1,)], 1, "tcp://127.0.0.1:9"))
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(StackgenError, match=re.escape("pip install 'stackgen[cluster]'")):
        list(cluster.run_all(print, [(1,)], 1, "local"))


@pytest.mark.parametrize(
    ("greeting", "said"),
    [(None, "it said nothing in 1 s"), (b"HTTP/1.0 400 Bad request\r\n\r\n", "another service")],
)
def test_a_service_that_is_not_dask_is_named_within_seconds(monkeypatch, greeting, said):
    """A silent port (an HTTP server waits for a request) or another service's greeting is one
    line naming the address, not a hang or Dask's misreading of the bytes."""
    pytest.importorskip("distributed")
    monkeypatch.setattr(cluster, "PROBE_SECONDS", 1)
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer():
        conn, _ = server.accept()
        if greeting:
            conn.sendall(greeting)
        threading.Event().wait(3)
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(
        StackgenError, match=re.escape(f"--scheduler {address}: not a Dask sch")
    ) as e:
        list(cluster.run_all(print, [(1,)], 1, address))
    assert said in str(e.value)
    server.close()
    with pytest.raises(StackgenError, match="a web address, not a scheduler's"):
        list(cluster.run_all(print, [(1,)], 1, f"http://127.0.0.1:{port}"))


def test_a_real_scheduler_passes_the_probe():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, processes=False, dashboard_address=None, protocol="tcp"
    ) as local:
        assert list(cluster.run_all(abs, [(-2,)], 1, local.scheduler_address)) == [2]
