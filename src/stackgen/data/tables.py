"""A table as read: its column names and each column's cells as text (None where missing),
whether it came from a CSV file (``workdir/table_files.py``) or from a pandas DataFrame given to
an estimator (``frame_table``). ``data/columns.py`` decides each column's kind from these cells,
so a table gets the same treatment whichever way it comes. No Keras here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Cells that mean "no value", compared stripped and lower-cased: pandas' default spellings, and
# the "?" of the UCI repository's tables.
MISSING = frozenset(
    {"", "na", "n/a", "nan", "-nan", "null", "none", "<na>", "#n/a", "#n/a n/a", "#na", "?"}
    | {"-1.#ind", "1.#ind", "-1.#qnan", "1.#qnan"}
)


@dataclass(frozen=True)
class RawTable:
    """A table as read: its column names and each column's cells (stripped text, None where
    missing), with how the file was read."""

    header: list[str]
    cells: dict[str, list[str | None]]
    sep: str
    encoding: str
    where: list[str]  # where each row is in the file: "line 5" (CSV), "row 5" (Parquet)
    # Columns of lists or records (a Parquet or JSON file's nested ones): what each cell holds.
    # Their cells are None: a table's cell is one value.
    nested: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(next(iter(self.cells.values()))) if self.cells else 0

    @property
    def decimal_comma(self) -> bool:
        """Numbers may be written 3,5: a table separated by semicolons, as spreadsheets write
        CSV where the comma is the decimal mark."""
        return self.sep == ";"

    def take(self, keep: np.ndarray) -> RawTable:
        return RawTable(
            self.header,
            {name: [cells[i] for i in keep] for name, cells in self.cells.items()},
            self.sep,
            self.encoding,
            [self.where[i] for i in keep],
            self.nested,
        )


def cell(value: str) -> str | None:
    text = value.strip()
    return None if text.lower() in MISSING else text


def frame_cell(value) -> str | None:
    """A Parquet value as the text a CSV file would hold: numbers exactly (``repr``), True and
    False as words, missing as None."""
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return cell(str(value))


def nested_kind(values: list) -> str | None:
    """What a column's cells hold when they are not single values: "a list in each cell" (a
    Parquet list column, a JSON array), "a record in each cell" (a struct, a JSON object)."""
    for value in values:
        if isinstance(value, dict):
            return "a record in each cell; give its fields columns of their own to use them"
        if isinstance(value, list | tuple | set | np.ndarray):
            return "a list in each cell; give its items columns of their own to use them"
    return None


def frame_table(frame: pd.DataFrame, where: str = "row", kind: str = "Parquet") -> RawTable:
    """A DataFrame (a Parquet or JSON file's, or one given as X) as a table: values as the text
    a CSV file would hold, numbers exactly; a column of lists or records is ``nested``.
    ``where`` names its rows in messages ("row 5")."""
    header = [str(name) for name in frame.columns]
    cells, nested = {}, {}
    for j, name in enumerate(header):
        values = frame.iloc[:, j].astype(object).tolist()
        holds = nested_kind(values)
        if holds:
            nested[name] = holds
            cells[name] = [None] * len(values)
        else:
            cells[name] = [frame_cell(v) for v in values]
    rows = [f"{where} {i + 1}" for i in range(len(frame))]
    return RawTable(header, cells, kind.lower(), kind, rows, nested)
