"""The benchmark in smoke mode: it must keep running. No timing is asserted here."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT


def test_benchmark_smoke_mode_prints_the_full_table(tmp_path):
    out = tmp_path / "benchmark.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/bench.py"), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for stage in (
        "start-up and imports",
        "1 data",
        "2 single MLP",
        "3 members",
        "4 logistic stack",
        "5 integrated stack",
        "whole pipeline, one process",
        "five scripts, one process each",
    ):
        assert f"| {stage} |" in done.stdout or f"| **{stage}** |" in done.stdout, stage
    assert "machine: " in done.stdout and "member test accuracy over 2 seeds" in done.stdout
    report = json.loads(out.read_text())
    assert len(report["accuracy"]["rows"]) == 2
    assert len(report["scripts"]["per_script"]) == 5
    # Both sides really ran the pipeline: their result lines are there.
    assert "Stacked Test Accuracy:" in report["baseline"]["stdout"]
    assert report["stackgen"]["stdout"].count("Stacked Test Accuracy:") == 2
    assert "holdout" in report["stackgen_all_protocols"]["stdout"]
    # scikit-learn's StackingClassifier beside the cv protocol, on the blobs and the digits.
    assert sorted(report["sklearn_peer"]) == ["blobs", "digits"]
    for name in ("blobs", "digits"):
        assert f"| {name} | " in done.stdout
        peer = report["sklearn_peer"][name]
        assert len(peer["sklearn_members"]) == 5 and len(peer["stackgen_members"]) == 5
        assert 0 <= peer["sklearn_accuracy"] <= 1 and peer["stackgen_seconds"] > 0
    # The default run, the repeat study and the goals, each measured.
    for goal in (
        "tutorial's five steps",
        "default run (make",
        "default run's peak",
        "repeat study",
    ):
        assert f"| {goal}" in done.stdout, goal
    assert report["default_run"]["wall"] > 0 and report["repeat_study"]["seeds"] == 2
    # How cost grows: every point of the smoke grid ran steps 1-5, and the plot was written; the
    # long point (cv alone) is checked against its memory goal.
    grown = {(r["rows"], r["members"], r["folds"], r["protocol"]) for r in report["scaling"]}
    grid = {(300, 5, 5), (600, 5, 5), (300, 3, 5), (300, 5, 3)}
    assert grown == {(*point, "all") for point in grid} | {(2_000, 5, 5, "cv")}
    assert "2,000 rows x 4 epochs (cv): peak " in done.stdout
    assert all(set(r["step_seconds"]) == {"1", "2", "3", "4", "5"} for r in report["scaling"])
    assert (tmp_path / "scaling.png").stat().st_size > 10_000
