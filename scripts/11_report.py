"""Step 11: write reports/report.md and a self-contained reports/report.html.

Reads:  results/*.json and figures/*.png from the steps before (whatever exists; a missing one
        becomes a line naming the script that makes it).
Writes: reports/report.md (figures linked), reports/report.html (figures embedded).

    python scripts/11_report.py [--workdir DIR]

Recomputes nothing: every number in the report is one a step printed and saved. Holds the
tutorial's published numbers, this run's, the honest protocols and the leakage gap, every
method, and the repeat study's intervals when scripts/10_repeat_study.py has run.
"""

from stackgen.cli.console import main_then_exit
from stackgen.cli.main import run_script


def main(argv: list[str] | None = None) -> dict:
    # The step: src/stackgen/extensions/step11_report.py
    return run_script("stackgen.extensions.step11_report", argv, __doc__)


if __name__ == "__main__":
    main_then_exit(main)
