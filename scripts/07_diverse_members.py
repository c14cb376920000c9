"""Step 7: diverse members (different widths and depths) against identical ones.

Reads:  data/split.npz (step 1).
Writes: results/diverse.json.
Prints: best member, average, logistic stack and integrated network, for identical and diverse
        members under every protocol.

    python scripts/07_diverse_members.py [--members 5] [--epochs 500] [--workdir DIR]

Trains its own two sets of members (and their out-of-fold predictions) in memory; it leaves
step 3's members alone. Diverse member i has hidden layers (10,), (25,), (50,), (25, 25),
(25, 25, 25), cycling. To use diverse members throughout the pipeline, give step 3 --diverse.
"""

from stackgen.cli.console import main_then_exit
from stackgen.cli.main import run_script


def main(argv: list[str] | None = None) -> dict:
    # The step: src/stackgen/extensions/step07_diverse_members.py
    return run_script("stackgen.extensions.step07_diverse_members", argv, __doc__)


if __name__ == "__main__":
    main_then_exit(main)
