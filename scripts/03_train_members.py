"""Step 3: train the ensemble members and save each one.

Reads:  data/split.npz (step 1).
Writes: models/member_1.keras ... models/member_N.keras (Keras models named member_i),
        models/members.json (the list later steps load; members left over from an earlier,
        larger run are deleted and never picked up).
Prints: >Saved models/member_i.keras, one line per member.

    python scripts/03_train_members.py [--members 5] [--epochs 500] [--seed 1] [--workdir DIR]

Each member is the step-2 MLP with its own initial weights and its own shuffling, both from
seed + i. Re-running replaces the members; there is no directory to delete first.
"""

from stackgen.cli.console import main_then_exit
from stackgen.cli.main import run_script


def main(argv: list[str] | None = None) -> dict:
    # The step: src/stackgen/tutorial/step03_train_members.py
    return run_script("stackgen.tutorial.step03_train_members", argv, __doc__)


if __name__ == "__main__":
    main_then_exit(main)
