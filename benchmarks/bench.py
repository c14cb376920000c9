"""`make bench`: the tutorial's code against stackgen, at the same settings, on this machine.

Runs, each in fresh processes and a temporary work dir:
  1. benchmarks/tutorial_baseline.py: the tutorial's code ported to Keras 3 (the baseline);
  2. python -m stackgen run --upto 5 --protocol tutorial: the five steps in one process, doing the
     baseline's work (and again with all three protocols, which does more);
  3. the five numbered scripts, one process each, as a user runs them (tutorial protocol);
  4. benchmarks/accuracy_check.py: mean member test accuracy over seeds, plain fit vs stackgen;
  5. the cv protocol's stacking (five members and their 5-fold out-of-fold predictions, then a
     logistic meta-learner: steps 3 and 4 with --protocol cv) against scikit-learn's own
     StackingClassifier doing the same work on the same rows (examples/sklearn_stacking.py), on
     the blobs and on scikit-learn's digits (written as a CSV table by the benchmark);
  6. the default run (what `make run` runs: steps 1-9 and the report) and the 30-seed repeat
     study (scripts/10_repeat_study.py, one process per core);
  7. how the cost grows with rows, members and folds (benchmarks/scaling.py), with a plot, and
     the peak memory at 100,000 rows x 500 epochs and 1,000,000 rows x 20 epochs.
Prints a table of seconds, ratios and peak memory (RSS) per stage, and writes it with the machine's
description to results/benchmark.json (and the plot to results/scaling.png).

    python benchmarks/bench.py            # tutorial settings: see docs/speed.md for the time
    python benchmarks/bench.py --smoke    # a few epochs: checks the benchmark still runs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean, stdev

import scaling

from stackgen import registry

ROOT = Path(__file__).resolve().parents[1]
# The five tutorial steps, from the registry.
TUTORIAL = [s for s in registry.STEPS if s.package == "tutorial"]
SCRIPTS = [Path(s.script).name for s in TUTORIAL]
# The baseline's own names for the same five stages (benchmarks/tutorial_baseline.py).
STAGES = ["1 data", "2 single MLP", "3 members", "4 logistic stack", "5 integrated stack"]
GOALS = {"one process": 20.0, "separate processes": 5.0, "scikit-learn stack": 3.0}
# Seconds and MiB on 2 cores: the default run, its peak memory, the 30-seed repeat study.
LIMITS = {"default run s": 25.0, "default run MiB": 1024.0, "repeat study s": 75.0}
# The scikit-learn peer's data: the tutorial's blobs, and the digits as a table.
PEER_DATA = ("blobs", "digits")


def run_child(command: list[str]) -> dict:
    """Run ``command``: its wall time, output, and its own peak RSS (wait4, not the parent's)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    began = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        sys.exit(f"benchmark: {' '.join(command[1:3])} failed:\n{stderr[-2000:]}")
    return {"seconds": seconds, "stdout": stdout, "peak_rss_mib": usage.ru_maxrss / 1024}


def settings(smoke: bool) -> list[str]:
    return ["--epochs", "3", "--meta-epochs", "2"] if smoke else []


def run_baseline(tmp: Path, smoke: bool) -> dict:
    out = tmp / "baseline.json"
    proc = run_child(
        [
            sys.executable,
            str(ROOT / "benchmarks/tutorial_baseline.py"),
            "--workdir",
            str(tmp / "baseline"),
            "--json",
            str(out),
            *settings(smoke),
        ]
    )
    stages = json.loads(out.read_text())["stages"]
    return {
        "wall": proc["seconds"],
        "peak_rss_mib": proc["peak_rss_mib"],
        "stages": {s["stage"]: s for s in stages},
        "stdout": proc["stdout"],
    }


def run_stackgen(tmp: Path, smoke: bool, protocol: str) -> dict:
    workdir = tmp / f"stackgen-{protocol}"
    proc = run_child(
        [
            sys.executable,
            "-m",
            "stackgen",
            "run",
            "--quiet",
            "--upto",
            "5",
            "--protocol",
            protocol,
            "--workdir",
            str(workdir),
            *settings(smoke),
        ]
    )
    steps = json.loads((workdir / "results/run.json").read_text())["steps"]
    return {
        "wall": proc["seconds"],
        "peak_rss_mib": proc["peak_rss_mib"],
        "stages": dict(zip(STAGES, steps, strict=True)),
        "stdout": proc["stdout"],
    }


def run_scripts(tmp: Path, smoke: bool) -> dict:
    workdir = tmp / "scripts"  # the tutorial's protocol: the same work as the baseline
    procs = [
        run_child(
            [
                sys.executable,
                str(ROOT / "scripts" / s),
                "--quiet",
                "--protocol",
                "tutorial",
                "--workdir",
                str(workdir),
                *settings(smoke),
            ]
        )
        for s in SCRIPTS
    ]
    return {
        "wall": sum(p["seconds"] for p in procs),
        "peak_rss_mib": max(p["peak_rss_mib"] for p in procs),
        "per_script": [
            {"script": s, "seconds": p["seconds"], "peak_rss_mib": p["peak_rss_mib"]}
            for s, p in zip(SCRIPTS, procs, strict=True)
        ],
    }


def run_accuracy(tmp: Path, smoke: bool, seeds: int) -> dict:
    out = tmp / "accuracy.json"
    epochs = ["--epochs", "3"] if smoke else []
    run_child(
        [
            sys.executable,
            str(ROOT / "benchmarks/accuracy_check.py"),
            "--seeds",
            str(seeds),
            "--json",
            str(out),
            *epochs,
        ]
    )
    rows = json.loads(out.read_text())["rows"]
    summary = {}
    for path in ("plain", "fast"):
        accs = [r[path] for r in rows]
        summary[path] = {"mean": mean(accs), "std": stdev(accs) if len(accs) > 1 else 0.0}
    summary["difference_points"] = 100 * (summary["fast"]["mean"] - summary["plain"]["mean"])
    return {"rows": rows, **summary}


def run_peer(tmp: Path, smoke: bool) -> dict:
    """Per data set: stackgen's cv stacking (steps 3 and 4's seconds from results/run.json)
    and scikit-learn's StackingClassifier fit on the split step 1 made, with their accuracies
    on the same test rows."""
    from stackgen.data.examples import write_table

    rows = {}
    for name in PEER_DATA:
        workdir, data = tmp / f"peer-{name}", []
        if name != "blobs":
            path, target = write_table(name, tmp / "tables")
            data = ["--data", str(path), "--target", target]
        run = [sys.executable, "-m", "stackgen", "run", "--quiet", "--upto", "4"]
        ours = run_child(
            [*run, "--protocol", "cv", "--workdir", str(workdir), *data, *settings(smoke)]
        )
        steps = {
            s["number"]: s for s in json.loads((workdir / "results/run.json").read_text())["steps"]
        }
        stack = json.loads((workdir / "results/stack_logistic.json").read_text())["protocols"]["cv"]
        numbers = tmp / f"peer-{name}.json"
        epochs = ["--epochs", "3"] if smoke else []
        theirs = run_child(
            [
                sys.executable,
                str(ROOT / "examples/sklearn_stacking.py"),
                "--workdir",
                str(workdir),
                "--json",
                str(numbers),
                *epochs,
            ]
        )
        peer = json.loads(numbers.read_text())
        rows[name] = {
            "stackgen_seconds": steps[3]["seconds"] + steps[4]["seconds"],
            "stackgen_peak_rss_mib": ours["peak_rss_mib"],
            "stackgen_accuracy": stack["stacked_score"],
            "stackgen_members": stack["member_scores"],
            "sklearn_seconds": peer["fit_seconds"],
            "sklearn_peak_rss_mib": theirs["peak_rss_mib"],
            "sklearn_accuracy": peer["stacked"],
            "sklearn_members": peer["members"],
        }
    return rows


def run_default(tmp: Path, smoke: bool) -> dict:
    """What `make run` runs: steps 1-9 and the report, default settings, in a fresh work dir."""
    workdir = tmp / "default-run"
    proc = run_child(
        [sys.executable, "-m", "stackgen", "run", "--quiet", "--workdir", str(workdir)]
        + settings(smoke)
        + (["--fine-tune-epochs", "2"] if smoke else [])
    )
    steps = json.loads((workdir / "results/run.json").read_text())["steps"]
    return {
        "wall": proc["seconds"],
        "peak_rss_mib": proc["peak_rss_mib"],
        "step_seconds": {str(s["number"]): s["seconds"] for s in steps},
    }


def run_repeat(tmp: Path, smoke: bool) -> dict:
    """The repeat study at its defaults (30 seeds, one process per core)."""
    small = ["--seeds", "2", "--max-members", "3", *settings(smoke)] if smoke else []
    proc = run_child(
        [
            sys.executable,
            str(ROOT / "scripts/10_repeat_study.py"),
            "--quiet",
            "--workdir",
            str(tmp / "repeat"),
            *small,
        ]
    )
    study = json.loads((tmp / "repeat/results/repeat_study.json").read_text())
    return {
        "wall": proc["seconds"],
        "peak_rss_mib": proc["peak_rss_mib"],
        "seeds": len(study["seeds"]),
        "jobs": study["jobs"],
    }


def goal_lines(base: dict, ours: dict, default: dict, repeat: dict, peer: dict) -> list[str]:
    """Each goal, what was measured, and whether it is met."""

    def line(what: str, measured: str, goal: str, met: bool) -> str:
        return f"| {what} | {measured} | {goal} | {'met' if met else 'not met'} |"

    speed_up = base["wall"] / ours["wall"]
    ratios = {name: r["sklearn_seconds"] / r["stackgen_seconds"] for name, r in peer.items()}
    return [
        "| goal | measured | target | |",
        "|---|---:|---:|---|",
        line(
            "tutorial's five steps, one process, against its code",
            f"{speed_up:.1f}x",
            f"{GOALS['one process']:.0f}x",
            speed_up >= GOALS["one process"],
        ),
        *(
            line(
                f"cv stacking against scikit-learn's, {name}",
                f"{ratio:.1f}x",
                f"{GOALS['scikit-learn stack']:.0f}x",
                ratio >= GOALS["scikit-learn stack"],
            )
            for name, ratio in ratios.items()
        ),
        line(
            "default run (make run: steps 1-9 and the report)",
            f"{default['wall']:.1f} s",
            f"{LIMITS['default run s']:.0f} s",
            default["wall"] <= LIMITS["default run s"],
        ),
        line(
            "default run's peak memory",
            f"{default['peak_rss_mib']:.0f} MiB",
            f"{LIMITS['default run MiB']:.0f} MiB",
            default["peak_rss_mib"] < LIMITS["default run MiB"],
        ),
        line(
            f"repeat study, {repeat['seeds']} seeds on {repeat['jobs']} processes",
            f"{repeat['wall']:.1f} s",
            f"{LIMITS['repeat study s']:.0f} s",
            repeat["wall"] <= LIMITS["repeat study s"],
        ),
    ]


def peer_table(peer: dict) -> list[str]:
    """The cv stacking side by side with scikit-learn's, one row per data set."""
    lines = [
        "| cv stacking (5 members, 5 folds, logistic) | scikit-learn s | stackgen s | ratio "
        "| scikit-learn accuracy | stackgen accuracy | members' spread (sd) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in peer.items():
        spread = stdev([*r["stackgen_members"], *r["sklearn_members"]])
        lines.append(
            f"| {name} | {r['sklearn_seconds']:.1f} | {r['stackgen_seconds']:.1f} | "
            f"{r['sklearn_seconds'] / r['stackgen_seconds']:.1f}x | {r['sklearn_accuracy']:.3f} | "
            f"{r['stackgen_accuracy']:.3f} | {spread:.3f} |"
        )
    return lines


def machine() -> dict:
    import importlib.metadata as md

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    versions = {name: md.version(name) for name in ("tensorflow", "keras", "scikit-learn", "numpy")}
    # skops, which saves step 4's meta-learner, imports PyTorch when it is installed (the test
    # extras install it): seconds and about 200 MiB more for the default run.
    try:
        versions["torch"] = md.version("torch")
    except md.PackageNotFoundError:
        versions["torch"] = None
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
        **versions,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _mib(value: float | None) -> str:
    return f"{value:.0f}" if value is not None else "-"


def table(base: dict, ours: dict, scripts: dict, honest: dict) -> list[str]:
    lines = [
        "| stage | baseline s | stackgen s | ratio | baseline peak RSS MiB "
        "| stackgen peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def row(name, b_s, o_s, b_m, o_m):
        lines.append(
            f"| {name} | {b_s:.1f} | {o_s:.1f} | {b_s / o_s:.1f}x | {_mib(b_m)} | {_mib(o_m)} |"
        )

    row(
        "start-up and imports",
        base["wall"] - sum(s["seconds"] for s in base["stages"].values()),
        ours["wall"] - sum(s["seconds"] for s in ours["stages"].values()),
        None,
        None,
    )
    for stage in STAGES:
        b, o = base["stages"][stage], ours["stages"][stage]
        row(stage, b["seconds"], o["seconds"], b["peak_rss_mib"], o["peak_rss_mib"])
    row(
        "**whole pipeline, one process**",
        base["wall"],
        ours["wall"],
        base["peak_rss_mib"],
        ours["peak_rss_mib"],
    )
    row(
        "**five scripts, one process each**",
        base["wall"],
        scripts["wall"],
        base["peak_rss_mib"],
        scripts["peak_rss_mib"],
    )
    row(
        "whole pipeline, one process, all three protocols (more work)",
        base["wall"],
        honest["wall"],
        base["peak_rss_mib"],
        honest["peak_rss_mib"],
    )
    return lines


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few epochs, to check it runs")
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="seeds for the accuracy check (default: 10, smoke: 2)",
    )
    parser.add_argument("--json", type=Path, default=ROOT / "results/benchmark.json")
    args = parser.parse_args(argv)
    seeds = args.seeds or (2 if args.smoke else 10)
    mode = "smoke (3 epochs, 2 meta-epochs)" if args.smoke else "tutorial settings"
    print(f"benchmark: {mode}; baseline first, this takes a while", flush=True)
    with tempfile.TemporaryDirectory(prefix="stackgen-bench-") as tmp_name:
        tmp = Path(tmp_name)
        base = run_baseline(tmp, args.smoke)
        print(f"  baseline (tutorial's code): {base['wall']:.1f} s", flush=True)
        ours = run_stackgen(tmp, args.smoke, "tutorial")
        print(f"  stackgen, one process: {ours['wall']:.1f} s", flush=True)
        honest = run_stackgen(tmp, args.smoke, "all")
        print(f"  stackgen, one process, all three protocols: {honest['wall']:.1f} s", flush=True)
        scripts = run_scripts(tmp, args.smoke)
        print(f"  stackgen, five scripts: {scripts['wall']:.1f} s", flush=True)
        acc = run_accuracy(tmp, args.smoke, seeds)
        peer = run_peer(tmp, args.smoke)
        print("  scikit-learn's StackingClassifier against the cv protocol: done", flush=True)
        default = run_default(tmp, args.smoke)
        print(f"  stackgen, default run (steps 1-9 and the report): {default['wall']:.1f} s")
        repeat = run_repeat(tmp, args.smoke)
        print(f"  repeat study, {repeat['seeds']} seeds: {repeat['wall']:.1f} s", flush=True)
        grown = scaling.run_scaling(tmp, args.smoke, run_child)
    info = machine()
    lines = [
        f"machine: {info['cores']} cores, {info['cpu']}; Python {info['python']}, backend "
        f"{info['backend']}, TensorFlow {info['tensorflow']}, Keras {info['keras']}, "
        f"scikit-learn {info['scikit-learn']}, NumPy {info['numpy']}, PyTorch "
        f"{info['torch'] or 'not installed'}; {info['date']}; {mode}",
        "",
        *table(base, ours, scripts, honest),
        "",
        f"speed-up, one process: {base['wall'] / ours['wall']:.1f}x "
        f"(goal {GOALS['one process']:.0f}x); five scripts: {base['wall'] / scripts['wall']:.1f}x "
        f"(goal {GOALS['separate processes']:.0f}x)",
        "five scripts, each: "
        + ", ".join(
            f"{p['script'][:2]} {p['seconds']:.1f} s / {p['peak_rss_mib']:.0f} MiB"
            for p in scripts["per_script"]
        ),
        f"member test accuracy over {seeds} seeds: plain model.fit "
        f"{acc['plain']['mean']:.4f} ± {acc['plain']['std']:.4f}, stackgen "
        f"{acc['fast']['mean']:.4f} ± {acc['fast']['std']:.4f} (mean ± sd); difference "
        f"{acc['difference_points']:+.2f} points (goal within ±1)",
        "",
        *peer_table(peer),
        "",
        f"goal: stackgen at least {GOALS['scikit-learn stack']:.0f}x faster than scikit-learn's "
        "stack on both, with accuracies within the spread of single members' accuracies",
        "",
        *goal_lines(base, ours, default, repeat, peer),
        "",
        "default run, steps: "
        + " + ".join(f"{v:.1f}" for v in default["step_seconds"].values())
        + " s",
        "",
        f"how cost grows (head {grown[0]['meta_epochs']} epochs; "
        "python -m stackgen run --upto 5 on the blobs at n rows):",
        *scaling.scaling_table(grown),
        *scaling.long_verdicts(grown),
    ]
    print("\n" + "\n".join(lines))
    report = {
        "machine": info,
        "mode": mode,
        "baseline": base,
        "stackgen": ours,
        "scripts": scripts,
        "stackgen_all_protocols": honest,
        "accuracy": acc,
        "sklearn_peer": peer,
        "default_run": default,
        "repeat_study": repeat,
        "scaling": grown,
        "table": lines,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    figure = scaling.plot_scaling(grown, args.json.with_name("scaling.png"))
    print(f"\nwrote {args.json} and {figure}")
    return report


if __name__ == "__main__":
    main()
