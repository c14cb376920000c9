"""Step 9: decision regions of every member, the stacked meta-learner and the integrated network.

Reads:  data/split.npz (step 1); the members (step 3); results/stack_logistic.json and the
        meta-learner it names, models/meta_learner_holdout.skops or .json (step 4, whichever
        --meta made); models/stacked_network_holdout.keras (step 5).
        With --protocol tutorial or cv, that protocol's stack files instead.
Writes: figures/decision_boundaries.png.

    python scripts/09_decision_boundaries.py [--workdir DIR]
"""

from stackgen.cli.console import main_then_exit
from stackgen.cli.main import run_script


def main(argv: list[str] | None = None) -> dict:
    # The step: src/stackgen/extensions/step09_decision_boundaries.py
    return run_script("stackgen.extensions.step09_decision_boundaries", argv, __doc__)


if __name__ == "__main__":
    main_then_exit(main)
