"""What steps 4, 5 and 8 share: one loop over the protocols asked for, each fitting a stack on
its rows and scoring it on its scoring rows; the tutorial protocol's line said as the tutorial
prints it; and only the files this run saved kept, so that ``predict`` can never serve a stack
of an earlier run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
        table.append({**baseline_numbers(rows), "stacked_score": rows.score(stack.outputs)})
        if rows.protocol == "tutorial":
            name = split.task.score_name
            out.result(f"Stacked Test {name}: {split.headline(stack.outputs, rows.score_y)}")
            out.info(TUTORIAL_PROTOCOL_NOTE.format(n=len(split.test_y)))
        if stack.saved is not None:
            files[rows.protocol] = stack.saved
    for stale in out.paths.models_dir.glob(saved):  # only what this run saved may be served
        if stale not in files.values():
            stale.unlink()
    return table, files
