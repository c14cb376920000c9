"""Stack four different members trained elsewhere on scikit-learn's digits, under all three
protocols, and (with --seeds N) ask over N seeds whether stacking them beats the best one.

    .venv/bin/python examples/digits/walkthrough.py                # one run, seed 1
    .venv/bin/python examples/digits/walkthrough.py --seeds 10     # and the 10-seed study

What it does, as a user of stackgen would:

1. writes runs/digits/digits.npz (members.py): inputs ``image`` and ``features``;
2. trains an MLP, a CNN, a GRU and a two-input member, each in its own process
   (train_member.py), saved as runs/digits/members/seed_S/<kind>.keras;
3. ``python -m stackgen run --data runs/digits/digits.npz --member-files ...``: every step that
   applies, the cv protocol retraining fresh copies of the four architectures on the folds.

The study repeats 2-3 (steps 1-5 only) for seeds 1..N, members and stackgen both seeded by S, the
split fixed, and writes runs/digits/study.json: per protocol, the mean and 95% interval of the
best member, the average, the logistic stack and the integrated network, and each stack's paired
difference from the best member. A seed already done is read back, not rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from members import KINDS, write_data  # noqa: E402

QUIET = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
METHODS = {
    "best member": ("stack_logistic", "best_member_score"),
    "average": ("stack_logistic", "average_score"),
    "logistic stack": ("stack_logistic", "stacked_score"),
    "integrated network": ("stack_integrated", "stacked_score"),
}
PROTOCOLS = ("tutorial", "holdout", "cv")


def train_members(data: Path, folder: Path, seed: int, epochs: int) -> list[Path]:
    files = []
    for kind in KINDS:
        out = folder / f"seed_{seed}" / f"{kind}.keras"
        if not out.is_file():
            command = [sys.executable, str(HERE / "train_member.py"), kind, "--data", str(data)]
            command += ["--out", str(out), "--seed", str(seed), "--epochs", str(epochs)]
            subprocess.run(command, check=True, env=QUIET)
        files.append(out)
    return files


def stackgen(data: Path, files: list[Path], workdir: Path, seed: int, epochs: int, *extra):
    command = [sys.executable, "-m", "stackgen", "run", "--data", str(data), "--seed", str(seed)]
    command += ["--epochs", str(epochs), "--workdir", str(workdir), *extra]
    command += ["--member-files", *map(str, files)]
    subprocess.run(command, check=True, env=QUIET, cwd=ROOT)


def seed_scores(workdir: Path) -> dict:
    """{protocol: {method: score}} from a finished run's results."""
    results = {
        name: json.loads((workdir / "results" / f"{name}.json").read_text())
        for name in ("stack_logistic", "stack_integrated")
    }
    return {
        protocol: {
            method: results[file]["protocols"][protocol][key]
            for method, (file, key) in METHODS.items()
        }
        for protocol in PROTOCOLS
    }


def study(data: Path, out: Path, seeds: int, epochs: int) -> dict:
    from stackgen.methods.stats import format_p, paired, summary

    per_seed = {}
    for seed in range(1, seeds + 1):
        workdir = out / "study" / f"seed_{seed}"
        done = workdir / "results" / "stack_integrated.json"
        if not done.is_file():
            files = train_members(data, out / "members", seed, epochs)
            stackgen(data, files, workdir, seed, epochs, "--upto", "5", "--quiet")
        per_seed[seed] = seed_scores(workdir)
        print(f"seed {seed}: done", flush=True)
    table = {}
    print(f"\n{seeds} seeds: mean accuracy [95% interval]")
    print(f"{'protocol':<9} " + "".join(f"{m:>24}" for m in METHODS))
    for protocol in PROTOCOLS:
        values = {m: [per_seed[s][protocol][m] for s in per_seed] for m in METHODS}
        table[protocol] = {m: summary(v) for m, v in values.items()}
        cells = [
            f"{t['mean']:.3f} [{t['ci_low']:.3f}, {t['ci_high']:.3f}]"
            for t in table[protocol].values()
        ]
        print(f"{protocol:<9} " + "".join(f"{c:>24}" for c in cells))
        for stack in ("logistic stack", "integrated network"):
            d = paired(values[stack], values["best member"])
            table[protocol][f"{stack} - best member"] = d
    print("\npaired difference from the best member (mean [95% interval], wins/ties/losses, p)")
    for protocol in PROTOCOLS:
        for stack in ("logistic stack", "integrated network"):
            d = table[protocol][f"{stack} - best member"]
            print(
                f"{protocol:<9} {stack:<19} {d['mean']:+.4f} [{d['ci_low']:+.4f}, "
                f"{d['ci_high']:+.4f}]  {d['wins']}/{d['ties']}/{d['losses']}  "
                f"p={format_p(d['wilcoxon_p'])}"
            )
    result = {"seeds": seeds, "epochs": epochs, "per_seed": per_seed, "summary": table}
    (out / "study.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {out / 'study.json'}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=0, help="also run the N-seed study")
    parser.add_argument("--epochs", type=int, default=20, help="each member's epochs")
    parser.add_argument("--seed", type=int, default=1, help="the one run's seed")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "digits")
    parser.add_argument("--upto", default="11", help="the one run's last step")
    args = parser.parse_args()
    began = time.perf_counter()
    data = write_data(args.out / "digits.npz")
    print(f"wrote {data}")
    files = train_members(data, args.out / "members", args.seed, args.epochs)
    stackgen(data, files, args.out / "work", args.seed, args.epochs, "--upto", args.upto)
    print(f"one run: {time.perf_counter() - began:.0f} s", flush=True)
    if args.seeds:
        study(data, args.out, args.seeds, args.epochs)
    print(f"walkthrough finished in {time.perf_counter() - began:.0f} s")
