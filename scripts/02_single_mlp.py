"""Step 2: train the tutorial's single MLP and plot its learning curves.

Reads:  data/split.npz (step 1).
Writes: figures/learning_curves.png (accuracy and loss per epoch, train and test),
        results/single_mlp.json.
Prints: Train: 0.xxx, Test: 0.xxx

    python scripts/02_single_mlp.py [--epochs 500] [--seed 1] [--workdir DIR] [--quiet]

Dense(25, relu) -> Dense(3, softmax), categorical cross-entropy, Adam, batch 32, 500 epochs, the
test set evaluated after every epoch (as the tutorial does, for the learning curves only).
"""

from stackgen.cli.console import main_then_exit
from stackgen.cli.main import run_script


def main(argv: list[str] | None = None) -> dict:
    # The step: src/stackgen/tutorial/step02_single_mlp.py
    return run_script("stackgen.tutorial.step02_single_mlp", argv, __doc__)


if __name__ == "__main__":
    main_then_exit(main)
