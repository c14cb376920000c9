"""Step 6: every baseline and meta-learner under every protocol, side by side.

Reads:  data/split.npz (step 1); models/members.json, the members, models/oof_predictions.npz
        (step 3).
Writes: results/methods.json.
Prints: one line per method, one accuracy column per protocol (tutorial, holdout, cv).

    python scripts/06_compare_methods.py [--protocol all] [--seed 1] [--workdir DIR]

Methods: each member; the best member (picked on the fitting rows, never the scoring rows);
averaging; a fitted weighted average; majority vote; logistic regression (multinomial and
one-vs-rest); multi-response linear regression; non-negative weights (Super Learner); greedy
ensemble selection (Caruana); random forest; gradient boosting; k-nearest neighbours; a small
MLP; logistic regression with the raw input too; logistic regression on member 1 alone (the
tutorial's "single level-0 model"); and the integrated network.
"""

from stackgen.cli.console import main_then_exit
from stackgen.cli.main import run_script


def main(argv: list[str] | None = None) -> dict:
    # The step: src/stackgen/extensions/step06_compare_methods.py
    return run_script("stackgen.extensions.step06_compare_methods", argv, __doc__)


if __name__ == "__main__":
    main_then_exit(main)
