"""Step 4: stack the members with a scikit-learn logistic-regression meta-learner.

Reads:  data/split.npz (step 1), models/members.json and the members it lists (step 3).
Writes: models/meta_logistic.skops (loads without unpickling arbitrary code),
        results/stack_logistic.json.
Prints: Model Accuracy: 0.xxx for each member, then Stacked Test Accuracy: 0.xxx

    python scripts/04_stack_logistic.py [--meta multinomial|ovr] [--workdir DIR] [--quiet]

The meta-learner's input is every member's class probabilities, flattened member by member to
[n_samples, members x classes]. As in the tutorial, it is fit on the test set and scored on the
same test set, so the stacked accuracy is optimistic. --meta ovr reproduces the one-vs-rest model
the tutorial describes; the default is modern scikit-learn's multinomial model.
"""

from stackgen.cli.main import run_script


def main(argv: list[str] | None = None) -> dict:
    # The step: src/stackgen/tutorial/step04_stack_logistic.py
    return run_script("stackgen.tutorial.step04_stack_logistic", argv, __doc__)


if __name__ == "__main__":
    main()
