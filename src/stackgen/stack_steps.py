"""What steps 4, 5 and 8 share: one loop over the protocols asked for, each fitting a stack on
its rows and scoring it on its scoring rows; the tutorial protocol's line said as the tutorial
prints it; and only the files this run saved kept, so that ``predict`` can never serve a stack
of an earlier run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stackgen.methods import stats
from stackgen.methods.protocols import MetaRows, baseline_numbers
from stackgen.step_io import TUTORIAL_PROTOCOL_NOTE, Printer


@dataclass(frozen=True)
class Stacked:
    """A stack fit on a protocol's rows: its outputs on the scoring rows, and the file it was
    saved to (None: not saved)."""

    outputs: np.ndarray
    saved: Path | None = None


def each_protocol(protocol_rows: list[MetaRows], fit: Callable[[MetaRows], object]) -> dict:
    """``fit(rows)`` for every protocol's rows, in order: {protocol: what it gave}."""
    return {rows.protocol: fit(rows) for rows in protocol_rows}


def stack_each_protocol(
    out: Printer, split, protocol_rows: list[MetaRows], fit: Callable[[MetaRows], Stacked], saved
) -> tuple[list[dict], dict[str, Path]]:
    """Steps 4 and 5's loop: each protocol's stack, its row of the table (the baselines beside
    it) and its file; files matching the ``saved`` glob pattern that this run did not write are
    removed."""
    made = each_protocol(protocol_rows, fit)
    table, files = [], {}
    for rows in protocol_rows:
        stack = made[rows.protocol]
        baselines = baseline_numbers(rows)
        best = rows.score_P[:, baselines["best_member"] - 1]
        table.append(
            {
                **baselines,
                "stacked_score": rows.score(stack.outputs),
                **uncertainty(rows, stack.outputs, best),
            }
        )
        if rows.protocol == "tutorial":
            name = split.task.score_name
            out.result(
                f"Stacked Test {name}: {split.headline(stack.outputs, rows.score_y, 'test')}"
            )
            out.info(TUTORIAL_PROTOCOL_NOTE.format(n=len(split.test_y)))
        if stack.saved is not None:
            files[rows.protocol] = stack.saved
    for stale in out.paths.models_dir.glob(saved) if saved else ():
        if stale not in files.values():  # only what this run saved may be served
            stale.unlink()
    return table, files


def uncertainty(rows: MetaRows, stacked: np.ndarray, best_out: np.ndarray) -> dict:
    """How sure a protocol's comparison is: the 95% intervals of the stack's and the best
    member's (``best_out``: its outputs) scores on the scored rows, and the paired test of the
    two on those same rows (McNemar's exact test for accuracy, a paired bootstrap for R2), with
    the rows where exactly one of them is right."""
    task, y, w = rows.task, rows.score_y, rows.score_w
    stack, member = stats.scored(task, stacked, y, w), stats.scored(task, best_out, y, w)
    found = {
        "stacked_interval": [stack["ci_low"], stack["ci_high"]],
        "best_member_interval": [member["ci_low"], member["ci_high"]],
        "p_vs_best_member": stats.paired_p(task, stacked, best_out, y, w),
        "test": "McNemar" if task.metric == "accuracy" else "paired bootstrap",
    }
    if task.metric == "accuracy":
        only_stack, only_best = stats.discordant(stacked, best_out, y)
        found["rows_only_stack_right"], found["rows_only_best_right"] = only_stack, only_best
    return found
