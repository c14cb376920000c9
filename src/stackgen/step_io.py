"""What every step shares: how it prints, how it records what it wrote, what it was made from.

Result lines always print; the rest (paths written, notes) unless ``--quiet``. Every file a step
writes goes through ``Printer.made``, which records its lineage (``trust/lineage.py``) before
saying it was written, so no output of any step is without a record.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from stackgen import progress
from stackgen.config import Config
from stackgen.methods.stats import effective_rows, format_p, wilson
from stackgen.workdir import lineage
from stackgen.workdir.paths import Paths

TUTORIAL_PROTOCOL_NOTE = (
    "note: like the tutorial, the meta-learner was fit on the same {n} test points it is scored "
    "on, so this accuracy is optimistic"
)
# Settings that say where and how loudly a step runs, not what it computes.
NOT_PARAMS = ("workdir", "quiet", "force", "progress", "scheduler")


class Printer:
    """Result lines always; everything else (paths written, notes) unless ``--quiet``."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.quiet = cfg.quiet
        self.paths = Paths.of(cfg)

    def result(self, line: str) -> None:
        print(line, flush=True)

    def info(self, line: str) -> None:
        if not self.quiet:
            print(line, flush=True)

    def wrote(self, *written: Path) -> None:
        for path in written:
            self.info(f"wrote {self.paths.rel(path)}")

    def made(
        self,
        step: int,
        outputs: list[Path],
        inputs: list[Path],
        already_said: tuple = (),
        **params,
    ) -> None:
        """Record the lineage of ``outputs`` (made by ``step`` from ``inputs``, with this run's
        settings and ``params``) and say what was written, except the paths ``already_said``."""
        settings = {k: v for k, v in self.cfg.as_dict().items() if k not in NOT_PARAMS}
        lineage.record(self.paths, step, outputs, inputs, {**settings, **params})
        self.wrote(*(p for p in outputs if p not in already_said))


@contextlib.contextmanager
def step_progress(cfg: Config, number: int) -> Iterator[progress.Progress]:
    """Step ``number``'s progress lines on stderr, to which its trainings report while inside:
    on a terminal unless ``--quiet``, elsewhere only with ``--progress``."""
    shown = not cfg.quiet and (cfg.progress or progress.stderr_is_terminal())
    with progress.reporting(progress.Progress(f"step {number}", shown)) as reporter:
        yield reporter


def stacking_inputs(paths: Paths, n_members: int, cfg: Config) -> list[Path]:
    """What the stacking steps are made from: the data, step 3's manifest, members and
    out-of-fold predictions (with the cv protocol, where step 3 could make them)."""
    oof = [paths.oof] if cfg.needs_oof and paths.oof.is_file() else []
    return [
        paths.data,
        paths.members_manifest,
        *(paths.member(i) for i in range(1, n_members + 1)),
        *oof,
    ]


def print_protocol_table(out: Printer, rows: list[dict], label: str, metric: str) -> None:
    """Steps 4 and 5's table: per protocol, its rows, the best member, the average, the stack."""
    if metric == "r2":
        out.result("R2 on the scored rows (1: perfect; 0: no better than the mean):")
    width = max(46, *(len(row["rows"]) for row in rows))
    out.result(
        f"{'protocol':<9} {'meta-learner rows':<{width}} {'best member':>11} {'average':>8} "
        f"{label:>8}"
    )
    for row in rows:
        out.result(
            f"{row['protocol']:<9} {row['rows']:<{width}} {row['best_member_score']:>11.3f} "
            f"{row['average_score']:>8.3f} {row['stacked_score']:>8.3f}"
        )
    print_uncertainty(out, rows, label)


def print_uncertainty(out: Printer, rows: list[dict], label: str) -> None:
    """Under a protocol table: each stack's and best member's 95% interval, and the paired test
    of the two on the same scored rows, so that a difference of a handful of rows says so."""
    test = rows[0]["test"]
    counted = " (rows only one of the two gets right)" if test == "McNemar" else ""
    out.result(f"95% intervals; {label} against the best member on the same rows, {test}{counted}:")
    for row in rows:
        (s_low, s_high), (b_low, b_high) = row["stacked_interval"], row["best_member_interval"]
        difference = row["stacked_score"] - row["best_member_score"]
        p = format_p(row["p_vs_best_member"])
        rows_right = (
            f" ({row['rows_only_stack_right']} vs {row['rows_only_best_right']} rows)"
            if "rows_only_stack_right" in row
            else ""
        )
        out.result(
            f"{row['protocol']:<9} {label} {row['stacked_score']:.3f} [{s_low:.3f}, {s_high:.3f}]"
            f"  best member {row['best_member_score']:.3f} [{b_low:.3f}, {b_high:.3f}]  "
            f"{difference:+.3f}, p{'' if p.startswith('<') else '='}{p}{rows_right}"
        )


def print_interval_widths(out: Printer, protocol_rows: list, scores: dict) -> None:
    """Under a table of accuracies, one per protocol column: how wide a 95% interval is at
    that column's median score on its scored rows (Wilson's), so a reader can tell which gaps
    between methods are a handful of rows."""
    if not protocol_rows or protocol_rows[0].task.metric != "accuracy":
        return
    said = []
    for rows in protocol_rows:
        n = len(rows.score_y) if rows.score_w is None else effective_rows(rows.score_w)
        median = float(np.median(list(scores[rows.protocol].values())))
        low, high = wilson(median, n)
        said.append(f"{rows.protocol} ±{(high - low) / 2:.3f} ({n:.0f} rows)")
    out.result(
        "95% intervals at each column's median score (Wilson): "
        + ", ".join(said)
        + "; steps 4 and 5 test the stacks against the best member on the same rows"
    )
