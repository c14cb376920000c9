"""Step 10: the repeat study: every method under every protocol, for many training seeds.

Reads:  nothing (the data is made as in step 1; with --vary-data each seed draws its own).
Writes: results/repeat/<settings>/seed_NNNN.json (one per seed, kept: a re-run with the same
        settings skips finished seeds), results/repeat_study.json, figures/vary_members.png.
Prints: progress, then per protocol one line per method: mean test accuracy with its 95% CI, the
        paired difference from the best member with its 95% CI, the Wilcoxon signed-rank p-value
        and wins/ties/losses against the best member.

    python scripts/10_repeat_study.py --seeds 30 [--jobs 2] [--max-members 10] [--vary-data]

Seeds are --seed, --seed + 1, ...; each trains --max-members members and their out-of-fold
predictions; the table uses the first --members (default 5), the figure 1..--max-members.
Runs in parallel processes with joblib: inside `with joblib.parallel_config(backend="dask")`
(or "ray") it runs on a cluster unchanged.
"""

from stackgen.cli.main import run_script


def main(argv: list[str] | None = None) -> dict:
    # The step: src/stackgen/extensions/step10_repeat_study.py
    return run_script("stackgen.extensions.step10_repeat_study", argv, __doc__)


if __name__ == "__main__":
    main()
