"""Stack four different members on scikit-learn's digits with stackgen's estimators, under all
three protocols, and (with --seeds N) ask over N seeds whether stacking them beats the best one.

    .venv/bin/python examples/digits/walkthrough.py                # one run, seed 1
    .venv/bin/python examples/digits/walkthrough.py --seeds 10     # and the 10-seed study

What it does, as a notebook user of stackgen would, all in this process:

1. the digits as two named inputs, ``image`` and ``features`` (members.py);
2. trains an MLP, a CNN, a GRU and a two-input member with Keras's own ``fit``, on the train
   rows only, each seeded;
3. stacks them with ``stackgen.StackingClassifier``, a logistic meta-learner and the integrated
   network's head: ``cv="prefit"`` fit on the test rows (the tutorial's protocol) and on half of
   them (holdout), and ``cv=5`` on the train rows (fresh copies of the four architectures
   retrained on the folds). ``compare`` scores the best member, the average and the stack.

The study repeats 2-3 for seeds 1..N, the split fixed, and writes runs/digits/study.json: per
protocol, the mean and 95% interval of the best member, the average, the logistic stack and the
integrated network, and each stack's paired difference from the best member. A seed already done
(runs/digits/study/seed_S.json) is read back, not rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ log lines, before its import

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import stackgen  # noqa: E402
from stackgen.methods.stats import format_p, paired, summary  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from members import KINDS, build, split  # noqa: E402

METHODS = ("best member", "average", "logistic stack", "integrated network")
PROTOCOLS = ("tutorial", "holdout", "cv")


def train_members(train_X: dict, train_y: np.ndarray, seed: int, epochs: int) -> list:
    """The four members, each trained with Keras's fit on the train rows, seeded. TensorFlow's
    deterministic kernels are on from the start (stackgen turns them on when it first trains),
    so every seed's members are the same whether a stack was fit before them or not."""
    tf.config.experimental.enable_op_determinism()
    trained = []
    for kind in KINDS:
        keras.utils.set_random_seed(seed)
        model = build(kind)
        X = [train_X["image"], train_X["features"]] if kind == "two_inputs" else train_X["image"]
        model.fit(X, train_y, epochs=epochs, batch_size=32, verbose=0)
        trained.append(model)
    return trained


def seed_scores(trained: list, data, seed: int, epochs: int, show: bool = False) -> dict:
    """{protocol: {method: test accuracy}} for one set of trained members."""
    train_X, train_y, test_X, test_y = data
    fit_rows, scored_rows = (
        np.sort(rows)
        for rows in train_test_split(
            np.arange(len(test_y)), test_size=0.5, stratify=test_y, random_state=seed
        )
    )

    def rows(X, y, at):
        return {name: a[at] for name, a in X.items()}, y[at]

    protocol_rows = {  # (cv, the rows fit on, the rows scored on)
        "tutorial": ("prefit", (test_X, test_y), (test_X, test_y)),
        "holdout": ("prefit", rows(test_X, test_y, fit_rows), rows(test_X, test_y, scored_rows)),
        "cv": (5, (train_X, train_y), (test_X, test_y)),
    }
    scores = {}
    for protocol, (cv, fit_on, scored_on) in protocol_rows.items():
        scores[protocol] = {}
        for label, final in (
            ("logistic stack", "logistic"),
            ("integrated network", stackgen.NetworkHead()),
        ):
            stack = stackgen.StackingClassifier(
                trained, final, cv=cv, epochs=epochs, random_state=seed
            ).fit(*fit_on)
            table = stack.compare(*scored_on)
            scores[protocol][label] = float(table.loc["stack", "accuracy"])
            scores[protocol]["best member"] = float(table.loc["best member", "accuracy"])
            scores[protocol]["average"] = float(table.loc["average", "accuracy"])
            if show and label == "logistic stack" and protocol == "cv":
                print(f"\nseed {seed}, cv (fresh copies on 5 folds), each member and the stack:")
                print(table.round(3).to_string())
    return scores


def print_run(scores: dict) -> None:
    print(f"\n{'protocol':<9} " + "".join(f"{m:>20}" for m in METHODS))
    for protocol in PROTOCOLS:
        cells = [f"{scores[protocol][m]:>20.3f}" for m in METHODS]
        print(f"{protocol:<9} " + "".join(cells))


def study(data, out: Path, seeds: int, epochs: int) -> dict:
    per_seed = {}
    for seed in range(1, seeds + 1):
        done = out / "study" / f"seed_{seed}.json"
        if done.is_file():
            per_seed[seed] = json.loads(done.read_text())
        else:
            trained = train_members(data[0], data[1], seed, epochs)
            per_seed[seed] = seed_scores(trained, data, seed, epochs)
            done.parent.mkdir(parents=True, exist_ok=True)
            done.write_text(json.dumps(per_seed[seed]))
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
    args = parser.parse_args()
    began = time.perf_counter()
    data = split()
    print(f"digits: {len(data[1])} train and {len(data[3])} test rows, inputs image and features")
    trained = train_members(data[0], data[1], args.seed, args.epochs)
    for kind, model in zip(KINDS, trained, strict=True):
        X = [data[2]["image"], data[2]["features"]] if kind == "two_inputs" else data[2]["image"]
        accuracy = np.mean(np.argmax(model.predict(X, verbose=0), axis=1) == data[3])
        print(f"{kind}: test accuracy {accuracy:.3f}")
    print_run(seed_scores(trained, data, args.seed, args.epochs, show=True))
    print(f"one run: {time.perf_counter() - began:.0f} s", flush=True)
    if args.seeds:
        study(data, args.out, args.seeds, args.epochs)
    print(f"walkthrough finished in {time.perf_counter() - began:.0f} s")
