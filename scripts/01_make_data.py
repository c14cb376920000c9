"""Step 1: make the tutorial's blobs data set (or read your table) and plot it.

Reads:  nothing, or your CSV file (--data).
Writes: data/split.npz (train/test arrays and the make_blobs parameters, or your table's
        columns, classes and standardisation), figures/scatter.png.
Prints: the train and test shapes, (100, 2) (1000, 2); for a table also what it is, the task
        and the classes.

    python scripts/01_make_data.py [--workdir DIR] [--quiet]
    python scripts/01_make_data.py --data FILE.csv --target COLUMN [--task T] [--test-size F]

make_blobs(n_samples=1100, centers=3, n_features=2, cluster_std=2.0, random_state=2); the first
100 rows train, the last 1,000 test. Needs no TensorFlow.
"""

from stackgen.cli.console import main_then_exit
from stackgen.cli.main import run_script


def main(argv: list[str] | None = None) -> dict:
    # The step: src/stackgen/tutorial/step01_make_data.py
    return run_script("stackgen.tutorial.step01_make_data", argv, __doc__)


if __name__ == "__main__":
    main_then_exit(main)
