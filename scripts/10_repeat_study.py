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

from stackgen import cli, repeat


def _flags(parser):
    parser.add_argument(
        "--seeds", type=cli.positive_int, default=30, help="how many seeds (default: %(default)s)"
    )
    parser.add_argument(
        "--jobs",
        type=cli.positive_int,
        default=repeat.default_jobs(),
        help="parallel processes (default: the number of cores, %(default)s)",
    )
    parser.add_argument(
        "--max-members",
        type=cli.positive_int,
        default=10,
        help="members per seed for the accuracy-against-members curve (default: %(default)s)",
    )
    parser.add_argument(
        "--vary-data",
        action="store_true",
        help="draw a new data set for each seed too (default: the tutorial's)",
    )


def main(argv: list[str] | None = None) -> dict:
    return cli.run_step(repeat.repeat_study, argv, __doc__, _flags)


if __name__ == "__main__":
    main()
