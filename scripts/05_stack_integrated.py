"""Step 5: embed the frozen members in one Keras network and train a new head on top.

Reads:  data/split.npz (step 1), models/members.json and the members it lists (step 3).
Writes: figures/stacked_model.png (needs Graphviz), models/stacked_network.keras,
        results/stack_integrated.json.
Prints: Stacked Test Accuracy: 0.xxx

    python scripts/05_stack_integrated.py [--meta-epochs 300] [--seed 1] [--workdir DIR]

One shared input feeds every member (the tutorial's k copies of the input were a Keras 2
workaround; the graphs compute the same thing), their outputs are concatenated and go through
Dense(10, relu) -> Dense(3, softmax), trained for 300 epochs on the test set, as in the tutorial.
"""

from stackgen.cli.console import main_then_exit
from stackgen.cli.main import run_script


def main(argv: list[str] | None = None) -> dict:
    # The step: src/stackgen/tutorial/step05_stack_integrated.py
    return run_script("stackgen.tutorial.step05_stack_integrated", argv, __doc__)


if __name__ == "__main__":
    main_then_exit(main)
