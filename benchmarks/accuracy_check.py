"""Does the fast training path change results? Member test accuracy over many seeds, both paths.

For each seed, one member starts from the same initial weights on both paths and is trained for
the full epochs: once with plain ``model.fit`` on NumPy arrays (Keras's own shuffling, as in the
tutorial), once with stackgen's ``training.fit`` (seeded NumPy shuffles, tf.data, many steps per
call). The shuffles differ, so single runs differ; the means over seeds should not.

    python benchmarks/accuracy_check.py --seeds 10 --json OUT [--epochs 500]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from stackgen.config import Config  # noqa: E402
from stackgen.methods import members, training  # noqa: E402
from stackgen.workdir import split_files as data  # noqa: E402


def member_accuracy(split, cfg: Config, seed: int, fast: bool) -> tuple[float, float]:
    training.seed_everything(seed)
    model = members.build_mlp("member_1", split.n_features, split.n_classes, cfg.hidden_units)
    Y = split.targets(split.train_y)
    began = time.perf_counter()
    if fast:
        training.fit(
            model,
            split.train_X,
            Y,
            task=split.task,
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            seed=seed,
        )
    else:
        training.compile_model(model, split.task)
        model.fit(split.train_X, Y, epochs=cfg.epochs, batch_size=cfg.batch_size, verbose=0)
    seconds = time.perf_counter() - began
    return split.score(training.predict_proba(model, split.test_X), split.test_y), seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args()
    cfg = Config(epochs=args.epochs)
    split = data.make_split(cfg)
    rows = []
    for seed in range(1, args.seeds + 1):
        plain, plain_s = member_accuracy(split, cfg, seed, fast=False)
        fast, fast_s = member_accuracy(split, cfg, seed, fast=True)
        rows.append(
            {
                "seed": seed,
                "plain": plain,
                "fast": fast,
                "plain_seconds": plain_s,
                "fast_seconds": fast_s,
            }
        )
        print(
            f"seed {seed:2d}: plain model.fit {plain:.3f} ({plain_s:.1f} s), "
            f"stackgen {fast:.3f} ({fast_s:.1f} s)",
            flush=True,
        )
    args.json.write_text(json.dumps({"epochs": args.epochs, "rows": rows}))


if __name__ == "__main__":
    main()
