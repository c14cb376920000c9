"""Step 4: stack the members with a scikit-learn logistic-regression meta-learner.

Reads:  data/split.npz (step 1), models/members.json and the members it lists (step 3).
Writes: models/meta_learner.skops (scikit-learn meta-learners; loads without unpickling
        arbitrary code) or models/meta_learner.json (mlr, nnls, greedy: numbers only), with
        _holdout and _cv files for those protocols; results/stack_logistic.json, which names them.
Prints: Model Accuracy: 0.xxx for each member, then Stacked Test Accuracy: 0.xxx

    python scripts/04_stack_logistic.py [--meta multinomial|ovr|...] [--passthrough] [--workdir DIR]

The meta-learner's input is every member's class probabilities, flattened member by member to
[n_samples, members x classes]. As in the tutorial, it is fit on the test set and scored on the
same test set, so the stacked accuracy is optimistic. --meta ovr reproduces the one-vs-rest model
the tutorial describes; the default is modern scikit-learn's multinomial model. Whatever --meta
and --passthrough pick is what `python -m stackgen predict` and step 9 serve afterwards.
"""

from stackgen.cli.console import main_then_exit
from stackgen.cli.main import run_script


def main(argv: list[str] | None = None) -> dict:
    # The step: src/stackgen/tutorial/step04_stack_logistic.py
    return run_script("stackgen.tutorial.step04_stack_logistic", argv, __doc__)


if __name__ == "__main__":
    main_then_exit(main)
