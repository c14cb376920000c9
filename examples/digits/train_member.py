"""Train one of the digits demo's members and save it as a .keras file, in its own process.

    .venv/bin/python examples/digits/train_member.py KIND --data digits.npz --out FILE.keras
        [--seed 1] [--epochs 20]

KIND is mlp, cnn, gru or two_inputs (members.py). It trains on the train arrays only: the test
rows stay unseen, as stackgen assumes of members trained elsewhere.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import keras
import numpy as np
from members import KINDS, build

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)
    model = build(args.kind)
    with np.load(args.data) as npz:
        image, extra, y = npz["train_X_image"], npz["train_X_features"], npz["train_y"]
    X = [image, extra] if args.kind == "two_inputs" else image
    model.fit(X, y, epochs=args.epochs, batch_size=32, verbose=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    print(f"trained {args.kind} (seed {args.seed}, {args.epochs} epochs): {args.out}")
