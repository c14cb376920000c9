"""Step 8: fine-tune the integrated network, which the tutorial mentions and never does.

Reads:  data/split.npz (step 1); models/members.json, the members, models/oof_predictions.npz
        (step 3).
Writes: results/fine_tune.json.
Prints: per protocol, the network's accuracy with only its head trained, then after training
        everything (members unfrozen) for 100 more epochs at learning rate 1e-4.

    python scripts/08_fine_tune.py [--protocol all] [--seed 1] [--workdir DIR]

Works on copies: step 3's members and step 5's networks are not changed.
"""

from stackgen.cli.console import main_then_exit
from stackgen.cli.main import run_script


def main(argv: list[str] | None = None) -> dict:
    # The step: src/stackgen/extensions/step08_fine_tune.py
    return run_script("stackgen.extensions.step08_fine_tune", argv, __doc__)


if __name__ == "__main__":
    main_then_exit(main)
