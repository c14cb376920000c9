"""scikit-learn's own StackingClassifier on the split and preprocessing step 1 made, for comparing
with stackgen's stacks on the same rows.

    .venv/bin/python examples/sklearn_stacking.py --workdir runs/penguins_raw [--seed 1] [--json F]

Reads the work dir's ``data/split.npz`` (rows already encoded by the transformer step 1 fit on the
training rows) and ``models/members.json`` (the members' hidden widths), then fits five
``MLPClassifier`` members like stackgen's (ReLU, Adam, batch 32, 500 epochs, no early stopping)
under a ``LogisticRegression`` meta-learner fit on 5-fold out-of-fold predictions of the
training rows: stackgen's ``cv`` protocol. Prints each member's test accuracy and the stack's.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.ensemble import StackingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from stackgen.workdir.paths import Paths
from stackgen.workdir.split_files import load_split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()
    paths = Paths(args.workdir.resolve())
    split = load_split(paths)
    manifest = json.loads(paths.members_manifest.read_text("utf-8"))
    members = [
        (
            f"member_{i}",
            MLPClassifier(
                hidden_layer_sizes=tuple(widths),
                batch_size=32,
                max_iter=args.epochs,
                n_iter_no_change=args.epochs + 1,
                tol=0.0,
                random_state=args.seed + i,
            ),
        )
        for i, widths in enumerate(manifest["architectures"], start=1)
    ]
    stack = StackingClassifier(
        members, final_estimator=LogisticRegression(max_iter=1000), cv=args.folds
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the epoch count
        stack.fit(split.train_X, split.train_y)
    seconds = time.perf_counter() - start
    X, y = split.test_X, split.test_y
    scores = [float(np.mean(m.predict(X) == y)) for m in stack.estimators_]
    stacked = float(np.mean(stack.predict(X) == y))
    print(f"data: {split.describe()}")
    print("member accuracy: " + " / ".join(f"{s:.3f}" for s in scores))
    print(f"StackingClassifier (cv={args.folds}, logistic): {stacked:.3f}")
    print(f"fit in {seconds:.1f} s")
    if args.json:
        numbers = {"members": scores, "stacked": stacked, "fit_seconds": seconds}
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")


if __name__ == "__main__":
    main()
