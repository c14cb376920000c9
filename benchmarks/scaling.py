"""How the cost of a run grows with the work: rows, members and folds (part of `make bench`).

Each point is one ``python -m stackgen run --upto 5`` (steps 1-5, all three protocols) in a fresh
process, on a synthetic table of the tutorial's blobs drawn at that many rows (3 classes, 2
features, written as CSV and read like any table), with its wall time and its peak RSS. Rows grow
at 5 members and 5 folds; members and folds grow at the smallest row count. Epochs are cut to
``EPOCHS`` (the head's to ``META_EPOCHS``) so that 100,000 rows take minutes, not hours: what
grows with the rows is the number of steps in an epoch, the same at any epoch count.

Two more points check that memory is bounded by the batch, not by the epochs (``LONG``): 100,000
rows at the tutorial's 500 epochs and 1,000,000 rows at 20, under the cv protocol alone (members
and their fold copies), each to stay under ``LONG_PEAK_MIB``.

    python benchmarks/scaling.py            # the grid alone; make bench runs it too
    python benchmarks/scaling.py --long     # the two long points alone (about 45 minutes)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import make_blobs

ROOT = Path(__file__).resolve().parents[1]
EPOCHS, META_EPOCHS = 20, 10
GRID = {"rows": [1_000, 10_000, 100_000], "members": [5, 20, 50], "folds": [3, 5, 10]}
SMOKE_GRID = {"rows": [300, 600], "members": [3], "folds": [3]}
BASE = {"members": 5, "folds": 5}
LONG = [
    {"rows": 100_000, **BASE, "epochs": 500, "protocol": "cv"},
    {"rows": 1_000_000, **BASE, "epochs": 20, "protocol": "cv"},
]
SMOKE_LONG = [{"rows": 2_000, **BASE, "epochs": 4, "protocol": "cv"}]
LONG_PEAK_MIB = 1536


def write_blobs(rows: int, folder: Path) -> Path:
    """The tutorial's blobs (make_blobs, 3 centres, 2 features, sd 2) at ``rows`` rows."""
    X, y = make_blobs(n_samples=rows, centers=3, n_features=2, cluster_std=2, random_state=2)
    path = folder / f"blobs_{rows}.csv"
    folder.mkdir(parents=True, exist_ok=True)
    table = np.column_stack([X, y])
    np.savetxt(
        path, table, delimiter=",", header="x1,x2,y", comments="", fmt=["%.17g"] * 2 + ["%d"]
    )
    return path


def points(smoke: bool, long: bool = True, grid_too: bool = True) -> list[dict]:
    """Every run of the grid: rows grow at the base members and folds; members and folds grow
    at the smallest row count. The shared point runs once. Then the long points."""
    grid = SMOKE_GRID if smoke else GRID
    epochs = {"epochs": 2 if smoke else EPOCHS, "protocol": "all"}
    small = grid["rows"][0]
    runs = [{"rows": n, **BASE} for n in grid["rows"]]
    runs += [{"rows": small, "members": m, "folds": BASE["folds"]} for m in grid["members"]]
    runs += [{"rows": small, "members": BASE["members"], "folds": f} for f in grid["folds"]]
    unique = []
    for run in runs if grid_too else []:
        if {**run, **epochs} not in unique:
            unique.append({**run, **epochs})
    return unique + ((SMOKE_LONG if smoke else LONG) if long else [])


def run_scaling(tmp: Path, smoke: bool, run_child, long: bool = True, grid_too=True) -> list[dict]:
    meta_epochs = 1 if smoke else META_EPOCHS
    results = []
    for point in points(smoke, long, grid_too):
        data = write_blobs(point["rows"], tmp / "scaling-data")
        named = [point[k] for k in ("rows", "members", "folds", "epochs", "protocol")]
        workdir = tmp / ("scaling-" + "-".join(map(str, named)))
        proc = run_child(
            [
                sys.executable,
                "-m",
                "stackgen",
                "run",
                "--quiet",
                "--upto",
                "5",
                "--data",
                str(data),
                "--target",
                "y",
                "--members",
                str(point["members"]),
                "--folds",
                str(point["folds"]),
                "--epochs",
                str(point["epochs"]),
                "--protocol",
                point["protocol"],
                "--meta-epochs",
                str(meta_epochs),
                "--workdir",
                str(workdir),
            ]
        )
        steps = json.loads((workdir / "results/run.json").read_text())["steps"]
        results.append(
            {
                **point,
                "meta_epochs": meta_epochs,
                "seconds": proc["seconds"],
                "peak_rss_mib": proc["peak_rss_mib"],
                "step_seconds": {str(s["number"]): s["seconds"] for s in steps},
            }
        )
        print(
            f"  scaling: {point['rows']} rows, {point['members']} members, {point['folds']} "
            f"folds, {point['epochs']} epochs, protocol {point['protocol']}: "
            f"{proc['seconds']:.1f} s, {proc['peak_rss_mib']:.0f} MiB",
            flush=True,
        )
    return results


def scaling_table(results: list[dict]) -> list[str]:
    lines = [
        "| rows | members | folds | epochs | protocol | wall s | step 2 s | step 3 s | step 5 s "
        "| peak RSS MiB |",
        "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        s = r["step_seconds"]
        lines.append(
            f"| {r['rows']:,} | {r['members']} | {r['folds']} | {r['epochs']} | {r['protocol']} "
            f"| {r['seconds']:.1f} | {s['2']:.1f} | {s['3']:.1f} | {s['5']:.1f} "
            f"| {r['peak_rss_mib']:.0f} |"
        )
    return lines


def long_verdicts(results: list[dict]) -> list[str]:
    """Each long point against ``LONG_PEAK_MIB``."""
    longs = [r for r in results if r["protocol"] == "cv"]
    return [
        f"{r['rows']:,} rows x {r['epochs']} epochs (cv): peak {r['peak_rss_mib']:.0f} MiB "
        f"(goal under {LONG_PEAK_MIB}: {'met' if r['peak_rss_mib'] < LONG_PEAK_MIB else 'not met'})"
        for r in longs
    ]


def plot_scaling(results: list[dict], path: Path) -> Path:
    """Wall time and peak RSS against rows, members and folds (the other two at their base)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = [r for r in results if r["protocol"] == "all"]  # the long points are in the table
    small = min(r["rows"] for r in results)
    axes_of = {
        "rows": [r for r in results if (r["members"], r["folds"]) == tuple(BASE.values())],
        "members": [r for r in results if r["rows"] == small and r["folds"] == BASE["folds"]],
        "folds": [r for r in results if r["rows"] == small and r["members"] == BASE["members"]],
    }
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for column, (name, runs) in enumerate(axes_of.items()):
        runs = sorted(runs, key=lambda r: r[name])
        x = [r[name] for r in runs]
        for row, (key, label) in enumerate((("seconds", "wall s"), ("peak_rss_mib", "peak MiB"))):
            ax = axes[row][column]
            ax.plot(x, [r[key] for r in runs], "o-")
            ax.set_xlabel(name)
            ax.set_ylabel(label)
            if name == "rows":
                ax.set_xscale("log")
                ax.set_yscale("log" if key == "seconds" else "linear")
            ax.grid(alpha=0.3)
    epochs = results[0]["epochs"], results[0]["meta_epochs"]
    fig.suptitle(
        f"python -m stackgen run --upto 5 on the blobs at n rows ({epochs[0]} epochs, head "
        f"{epochs[1]}); base: {BASE['members']} members, {BASE['folds']} folds, {small:,} rows"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


if __name__ == "__main__":
    import argparse
    import tempfile

    from bench import run_child

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny grid, to check it runs")
    parser.add_argument("--long", action="store_true", help="the two long points alone")
    parser.add_argument("--plot", type=Path, default=ROOT / "results/scaling.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stackgen-scaling-") as tmp:
        found = run_scaling(Path(tmp), args.smoke, run_child, grid_too=not args.long)
    print("\n".join(scaling_table(found) + long_verdicts(found)))
    if not args.long:
        print(f"wrote {plot_scaling(found, args.plot)}")
