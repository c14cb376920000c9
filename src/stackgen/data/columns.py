"""Your table's columns: which are numbers, which are categories, which are dropped and why, and
the scikit-learn transformer that turns them into the networks' inputs.

Kinds (``encode_table``), decided at step 1 and printed on one line (``summary``):

* **numeric**: every value given is a decimal number. Missing values are imputed with the
  training rows' median, and a 0/1 column says which were missing (``SimpleImputer`` with
  ``add_indicator``); then every column is standardised (``StandardScaler``, after a
  ``MaxAbsScaler`` so that values near 1e300 or 1e-300 neither overflow nor vanish).
* **categorical**: text (strings, yes/no, true/false), or integer codes named by
  ``--categorical``. One-hot encoded (``OneHotEncoder``); a missing value is a level of its own,
  levels seen in fewer than ``RARE`` training rows are grouped into one, and a level never seen
  in training is read as that rare group (or as no level, when there is none).
* **dropped**, with the reason: ``--drop``; no value in the training rows; one value only
  (constant); every value distinct in a text column (an identifier); the numbers 1..n (or
  0..n-1) down the file's rows, or distinct whole numbers in a column without a name, as pandas
  writes its index (a row number); lists or records in each cell, a Parquet or JSON file's
  nested column (nested: flatten it into columns of their own to use it).

Numbers written as a spreadsheet shows them (``6,683``, ``$1,200``, ``86%``) are numbers, and
step 1 says how one was read.

A column of numbers with a few cells that are not (at most one in ten, such as ``unknown``) stays
numeric with those cells missing, and step 1 warns, naming one; more make it a text column.

Whether a column is numeric is a property of the file (all of its cells); everything else, from
which columns are constant to every median, level and scale, comes from the training rows only.
The fitted transformer is saved with skops beside the split (``trust/skops_files.py``, with
``TRUSTED_TYPES``), and ``predict`` applies it to raw rows with columns matched by name
(``encode_rows``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, OneHotEncoder, StandardScaler

from stackgen.data.numbers import FLOAT32_MAX, canonical, parse_number, spreadsheet_number
from stackgen.trust.errors import StackgenError

NUMERIC, CATEGORICAL, DROPPED = "numeric", "categorical", "dropped"
# A level seen in fewer training rows than this is grouped with the other rare ones.
RARE = 5
# "3,5": a number with a decimal comma, read as such in a table separated by semicolons.
DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+([eE][+-]?\d+)?")
# Types a saved transformer may hold; skops refuses any other instead of running it.
TRUSTED_TYPES = [
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.pipeline.Pipeline",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.impute._base.MissingIndicator",
    "sklearn.preprocessing._data.MaxAbsScaler",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.utils._bunch.Bunch",
    "builtins.slice",
    "numpy.dtype",
]


def brief(cell: str, most: int = 40) -> str:
    """A cell as a message quotes it: ``repr``, cut to ``most`` characters with "..." (a cell
    may be a page long)."""
    return repr(cell) if len(cell) <= most else repr(cell[:most])[:-1] + "...'"


@dataclass(frozen=True)
class Options:
    """How a table's columns are read: its separator (a CSV file's), the columns of integer
    codes to read as categories, the columns to leave out; and how step 1 and the messages name
    those choices (the command line names its flags, ``--categorical`` and ``--drop``)."""

    sep: str | None = None
    categorical: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    said_categorical: str = "asked"  # the reason shown for a column asked to be categories
    said_drop: str = "asked"  # and for one asked to be left out
    # How to read a column of numbers with a few typos as categories instead ({name}: it).
    categories_hint: str = "give column {name!r} the 'category' dtype to read it as categories"

    def as_params(self) -> dict:
        return {"sep": self.sep, "categorical": list(self.categorical), "drop": list(self.drop)}


@dataclass(frozen=True)
class Column:
    """One feature column: its kind, why, and what the training rows hold."""

    name: str
    kind: str  # NUMERIC, CATEGORICAL or DROPPED
    reason: (
        str  # numeric: "numbers"; categorical: "text", or how codes were asked for; dropped: why
    )
    missing: int = 0  # training rows without a value
    levels: int = 0  # categorical: distinct values in the training rows
    rare: int = 0  # categorical: of them, seen in fewer than RARE training rows (grouped)

    def treatment(self) -> str:
        """What is done to the column, as the report and step 1 say it."""
        if self.kind == DROPPED:
            return f"dropped ({self.reason})"
        if self.kind == NUMERIC:
            imputed = f"{self.missing} missing: median + indicator, " if self.missing else ""
            return f"{imputed}standardised"
        rare = f", {self.rare} rare grouped" if self.rare else ""
        missing = f" + missing ({self.missing})" if self.missing else ""
        codes = " (integer codes)" if self.reason != "text" else ""
        return f"one-hot{codes}: {self.levels} levels{rare}{missing}"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Encoded:
    columns: list[Column]
    transformer: object  # the fitted ColumnTransformer
    X: np.ndarray  # every row, float32
    feature_names: list[str]
    warnings: list[str]


def from_params(params: dict) -> list[Column]:
    """The columns a table's split records (``params["columns"]``)."""
    return [Column(**c) for c in params["columns"]]


def summary(columns: list[Column]) -> str:
    """``features: 4 numeric (2 with missing values: median + indicator), 2 categorical (island:
    3 levels; sex: 2 levels + missing), dropped: rowid (identifier)``"""
    numeric = [c for c in columns if c.kind == NUMERIC]
    categorical = [c for c in columns if c.kind == CATEGORICAL]
    dropped = [c for c in columns if c.kind == DROPPED]
    parts = []
    if numeric:
        imputed = sum(c.missing > 0 for c in numeric)
        extra = f" ({imputed} with missing values: median + indicator)" if imputed else ""
        parts.append(f"{len(numeric)} numeric{extra}")
    if categorical:
        shown = "; ".join(
            f"{c.name}: {c.levels} levels"
            + (f", {c.rare} rare grouped" if c.rare else "")
            + (" + missing" if c.missing else "")
            for c in categorical[:6]
        )
        more = f"; {len(categorical) - 6} more" if len(categorical) > 6 else ""
        parts.append(f"{len(categorical)} categorical ({shown}{more})")
    if dropped:
        shown = ", ".join(f"{c.name} ({c.reason})" for c in dropped[:8])
        more = f", {len(dropped) - 8} more" if len(dropped) > 8 else ""
        parts.append(f"dropped: {shown}{more}")
    return "features: " + ", ".join(parts)


def number(cell: str, decimal_comma: bool) -> float | None:
    """A cell's number (possibly infinite), reading ``3,5`` as 3.5 where ``decimal_comma``, and
    a spreadsheet's ``6,683``, ``$1,200`` or ``86%`` (0.86) as the number it shows."""
    value = parse_number(cell)
    if value is None and decimal_comma and DECIMAL_COMMA.fullmatch(cell):
        value = parse_number(cell.replace(",", "."))
    if value is None:
        value = spreadsheet_number(cell)
    return value


def _numbers(cells, decimal_comma: bool) -> tuple[np.ndarray, list[int]]:
    """(values, NaN where missing or not a number; the positions of cells not numbers)."""
    values = np.full(len(cells), np.nan)
    bad = []
    for i, cell in enumerate(cells):
        if cell is None:
            continue
        value = number(cell, decimal_comma)
        if value is None:
            bad.append(i)
        else:
            values[i] = value
    return values, bad


def encode_table(
    table, features: list[str], train: np.ndarray, options: Options, name: str, places
) -> Encoded:
    """Decide every feature column's kind, fit the transformer on the ``train`` rows, and
    encode every row: an ``Encoded``. ``places``: each row's place among the file's rows."""
    columns, values, warnings = [], {}, []
    for feature in features:
        cells = table.cells[feature]
        if feature in options.drop:
            columns.append(Column(feature, DROPPED, options.said_drop))
            continue
        if feature in options.categorical:
            column = np.array([None if c is None else canonical(c) for c in cells], dtype=object)
            columns.append(_categorical(feature, column[train], options.said_categorical))
            values[feature] = column
            continue
        if feature in table.nested:
            columns.append(Column(feature, DROPPED, f"nested: {table.nested[feature]}"))
            continue
        numbers, bad = _numbers(cells, table.decimal_comma)
        given = sum(c is not None for c in cells)
        if len(bad) <= 0.1 * given:  # numbers, but for a few typos: those cells are missing
            infinite = np.flatnonzero(np.isinf(numbers))
            if infinite.size:
                first = int(infinite[0])
                raise StackgenError(
                    f"{name}: {table.where[first]}: {brief(cells[first])} in column {feature!r} is "
                    "beyond the largest number a float can hold"
                )
            if bad:
                warnings.append(
                    f"warning: column {feature!r} is numbers but for {len(bad)} cell"
                    f"{'s' if len(bad) > 1 else ''} such as {brief(cells[bad[0]])} "
                    f"({table.where[bad[0]]}), read as missing; correct them, or "
                    + options.categories_hint.format(name=feature)
                )
            shown = _shown_as_spreadsheet(cells, numbers)
            if shown:
                warnings.append(f"note: column {feature!r} {shown}")
            columns.append(_numeric(feature, numbers, train, places))
            values[feature] = numbers
            continue
        column = np.array(cells, dtype=object)
        columns.append(_categorical(feature, column[train], "text"))
        values[feature] = column
    used = [c for c in columns if c.kind != DROPPED]
    if not used:
        raise StackgenError(
            f"{name}: no feature column is left to learn from ({summary(columns)[10:]})"
        )
    transformer = _transformer(used)
    frame = _frame(used, values)
    with np.errstate(over="ignore", invalid="ignore"):  # scikit-learn's finiteness check
        transformer.fit(frame.iloc[train])  # sums values near 1e308 to inf: harmless
    X = _encode(transformer, frame)
    names = _feature_names(transformer, used)
    too_big = np.flatnonzero(np.abs(X).max(axis=0) > FLOAT32_MAX)
    if too_big.size:
        raise StackgenError(
            f"{name}: column {names[int(too_big[0])]!r} holds values so far from the training "
            "rows' that they do not fit the networks' float32 even after standardising; "
            "rescale it"
        )
    return Encoded(columns, transformer, X.astype(np.float32), names, warnings)


def _shown_as_spreadsheet(cells, numbers: np.ndarray) -> str:
    """How a numeric column's cells written as a spreadsheet shows numbers were read ("holds
    numbers as a spreadsheet shows them, such as '6,683': read as 6683"), or ""."""
    for i, cell in enumerate(cells):
        if cell is not None and parse_number(cell) is None and np.isfinite(numbers[i]):
            if DECIMAL_COMMA.fullmatch(cell) and spreadsheet_number(cell) is None:
                continue  # a decimal comma, as the table's separator says
            return (
                f"holds numbers as a spreadsheet shows them, such as {cell!r}: read as "
                f"{numbers[i]:.15g}"
            )
    return ""


# The name pandas gives a column whose header cell is blank, such as its own index written by
# DataFrame.to_csv ("Unnamed: 0").
UNNAMED = re.compile(r"Unnamed: \d+")


def _numeric(feature: str, numbers: np.ndarray, train: np.ndarray, places) -> Column:
    seen = numbers[train]
    observed = seen[~np.isnan(seen)]
    missing = int(np.isnan(seen).sum())
    if observed.size == 0:
        return Column(feature, DROPPED, "no value in the training rows")
    if np.unique(observed).size == 1 and not missing:
        return Column(feature, DROPPED, "constant")
    places = np.asarray(places)[train]
    if (
        not missing
        and observed.size >= 3
        and (np.array_equal(observed, places) or np.array_equal(observed, places + 1))
    ):  # 0..n-1 or 1..n down the file's rows
        return Column(feature, DROPPED, "row number")
    if (
        UNNAMED.fullmatch(feature)
        and not missing
        and np.unique(observed).size == observed.size
        and np.all(observed == np.round(observed))
    ):  # DataFrame.to_csv's index, of rows since shuffled or filtered
        return Column(feature, DROPPED, "row number: an unnamed column of distinct whole numbers")
    return Column(feature, NUMERIC, "numbers", missing=missing)


def _categorical(feature: str, seen: np.ndarray, reason: str) -> Column:
    observed = [v for v in seen if v is not None]
    missing = len(seen) - len(observed)
    if not observed:
        return Column(feature, DROPPED, "no value in the training rows")
    levels, counts = np.unique(np.array(observed, dtype=str), return_counts=True)
    if len(levels) == 1 and not missing:
        return Column(feature, DROPPED, "constant")
    if reason == "text" and len(levels) == len(observed) and len(levels) >= 2:
        return Column(feature, DROPPED, "identifier: every value distinct")
    rare = int((counts < RARE).sum())
    return Column(feature, CATEGORICAL, reason, missing, len(levels), rare)


def _transformer(used: list[Column]):
    """The unfitted ColumnTransformer for the used columns."""
    numeric = [c.name for c in used if c.kind == NUMERIC]
    categorical = [c.name for c in used if c.kind == CATEGORICAL]
    parts = []
    if numeric:
        steps = [
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
            ("bound", MaxAbsScaler()),
            ("standardise", StandardScaler()),
        ]
        parts.append(("numeric", Pipeline(steps), numeric))
    if categorical:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=RARE,
            sparse_output=False,
            dtype=np.float64,
        )
        parts.append(("categorical", encoder, categorical))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)


def _frame(used: list[Column], values: dict):
    """The rows as the transformer reads them: numbers as float64 (NaN: missing), categories
    as text (NaN: missing)."""
    data = {}
    for column in used:
        if column.kind == NUMERIC:
            data[column.name] = np.asarray(values[column.name], dtype=np.float64)
        else:
            data[column.name] = np.array(
                [np.nan if v is None else str(v) for v in values[column.name]], dtype=object
            )
    return pd.DataFrame(data)


def _encode(transformer, frame) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        X = np.asarray(transformer.transform(frame), dtype=np.float64)
    return np.where(np.isnan(X), np.inf, X)  # a NaN left over can only be an overflow


def _feature_names(transformer, used: list[Column]) -> list[str]:
    """The encoded columns' names: ``bill_length``, ``bill_length missing``, ``island=Biscoe``,
    ``island=(rare)``, ``sex=(missing)``."""
    names = [c.name for c in used]
    out = []
    for full in transformer.get_feature_names_out():
        part, _, name = str(full).partition("__")
        if part == "numeric":
            if name.startswith("missingindicator_"):
                name = f"{name[len('missingindicator_') :]} missing"
            out.append(name)
            continue
        column = max((n for n in names if name.startswith(f"{n}_")), key=len, default="")
        level = name[len(column) + 1 :]
        level = {"infrequent_sklearn": "(rare)", "nan": "(missing)"}.get(level, level)
        out.append(f"{column}={level}")
    return out


def filled_in(table, params: dict, transformer) -> list[str]:
    """What ``encode_rows`` read in place of a value, one line per column that had any: blank
    cells (a number's: the training rows' median, flagged missing where training had blanks; a
    category's: as the fitted encoder reads a blank) and levels never seen in training (the rare
    group where there is one, else no level), as the encoder itself decides:
    ``island: 2 rows with a level not seen in training (such as 'Dreem'), read as its rare
    levels; 1 blank, read as its missing level``."""
    encoder = dict(transformer.named_transformers_).get("categorical")
    read = {}  # column -> (its levels, where an unseen level goes, where a blank goes)
    if encoder is not None and hasattr(encoder, "categories_"):
        rare_groups = getattr(encoder, "infrequent_categories_", [None] * len(encoder.categories_))
        for name, levels, rare in zip(
            encoder.feature_names_in_, encoder.categories_, rare_groups, strict=True
        ):
            rare = [] if rare is None else list(rare)
            unseen = "its rare levels" if rare else "no level (zero in every one-hot)"
            if any(_blank(v) for v in levels) and not any(_blank(v) for v in rare):
                blank = "its missing level"
            elif rare:
                blank = "its rare levels"
            else:
                blank = "no level (none was blank in training)"
            read[str(name)] = ({str(v) for v in levels if not _blank(v)}, unseen, blank)
    lines = []
    for column in from_params(params):
        if column.kind == DROPPED or column.name not in table.cells:
            continue
        cells = table.cells[column.name]
        blanks = sum(c is None for c in cells)
        said = []
        if column.kind == CATEGORICAL and column.name in read:
            levels, unseen_to, blank_to = read[column.name]
            text = column.reason != "text"  # integer codes: one spelling per value
            given = [canonical(c) if text else c for c in cells if c is not None]
            unseen = [c for c in given if str(c) not in levels]
            if unseen:
                rows = f"{len(unseen)} row{'s' if len(unseen) > 1 else ''}"
                said.append(
                    f"{rows} with a level not seen in training (such as {unseen[0]!r}), read as "
                    + unseen_to
                )
            if blanks:
                said.append(f"{blanks} blank{'s' if blanks > 1 else ''}, read as {blank_to}")
        elif column.kind == NUMERIC and blanks:
            flagged = " and flagged missing" if column.missing else ""
            said.append(
                f"{blanks} blank{'s' if blanks > 1 else ''}, filled with the training rows' "
                f"median{flagged}"
            )
        if said:
            lines.append(f"{column.name}: " + "; ".join(said))
    return lines


def _blank(level) -> bool:
    """Whether a fitted encoder's level is the missing value (NaN)."""
    return isinstance(level, float) and level != level


def encode_rows(table, params: dict, transformer, header_at: str):
    """(X, where each row is, columns not used) for raw rows given to ``predict``: the table's
    own columns, matched by name in any order, in the table's own units; a blank cell and a
    level never seen in training are read as step 1 read them. ``header_at``: where the header
    is ("line 1"), for errors."""
    columns = from_params(params)
    used = [c for c in columns if c.kind != DROPPED]
    missing = [c.name for c in used if c.name not in table.header]
    if missing:
        s = "s" if len(missing) > 1 else ""
        raise StackgenError(
            f"{header_at}: the header ({', '.join(table.header)[:80]}) does not name the model's "
            f"feature{s} {', '.join(missing)}; its features are {', '.join(c.name for c in used)}"
            ": name the columns so, in any order, or give rows of the features in that order "
            "without a header"
        )
    values = {}
    for column in used:
        cells = table.cells[column.name]
        if column.kind == CATEGORICAL:
            text = column.reason != "text"  # integer codes: one spelling per value
            values[column.name] = [
                None if c is None else (canonical(c) if text else c) for c in cells
            ]
            continue
        numbers, bad = _numbers(cells, table.decimal_comma)
        infinite = np.flatnonzero(np.isinf(numbers)).tolist()
        if bad or infinite:
            first = min(bad + infinite)
            why = (
                "is not a number"
                if first in bad
                else "is beyond the largest number a float can hold"
            )
            raise StackgenError(
                f"{table.where[first]}: {brief(cells[first])} {why} (feature {column.name!r}); "
                "write numbers in decimal, such as -1.5 or 2e3, or leave the cell blank"
            )
        values[column.name] = numbers
    X = _encode(transformer, _frame(used, values))
    by_kind = {c.name: c for c in columns}
    unused = [
        f"{h} (dropped at step 1: {by_kind[h].reason})" if h in by_kind else h
        for h in table.header
        if h not in {c.name for c in used}
    ]
    return X, table.where, unused
