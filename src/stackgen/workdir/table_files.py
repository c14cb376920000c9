"""Your own table file: a CSV or Parquet file with a target column, made into a train/test split
like the blobs (``--data FILE.csv --target COLUMN``).

``python -m stackgen run --data FILE.csv --target COLUMN`` reads the table with pandas (CSV, or
Parquet where pyarrow is installed), and then:

* drops the rows whose target is missing, and says how many;
* decides the task: a non-numeric target is classification; a numeric one is classification when
  it holds whole numbers with at most ``MAX_AUTO_CLASSES`` distinct values, else regression
  (``--task`` overrides, and the choice is printed either way);
* splits the rows into train and test, stratified by class for classification, seeded by the
  data seed (so ``--seed`` changes the networks, never the split);
* turns the feature columns into the networks' inputs with a transformer fit on the training
  rows only (``data/columns.py``): numbers imputed and standardised, categories one-hot encoded,
  identifiers and constants dropped. ``predict`` applies the same fitted transformer;
* maps class labels to 0..C-1 in sorted order and keeps their names for every printout.

Reading (``read_table``): the encoding is UTF-8 (a byte-order mark is skipped; UTF-16 with its
mark is read too), else Windows-1252, and step 1 says so; the separator is ``,``, ``;``, tab or
``|``, whichever gives every one of the first rows the same number of fields (``--sep`` to
choose); quoted fields may hold separators and newlines. A cell is missing when it is blank or
one of ``MISSING``'s spellings, whatever their case. In a file separated by semicolons, a number
may use a decimal comma (``3,5``). Every problem a user can cause is one ``StackgenError`` line
naming the column, row or class at fault. No TensorFlow here: step 1 stays quick.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import hashlib
import importlib.util
import io
import itertools
import lzma
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from stackgen.data import columns as cols
from stackgen.data.numbers import (
    canonical,
    finite_number,
    mean_std,
    spreadsheet_number,
    standardise,
)
from stackgen.data.tables import RawTable, cell, frame_table
from stackgen.data.task import task_named
from stackgen.methods.protocols import two_parts
from stackgen.trust.errors import StackgenError
from stackgen.workdir import image_folders

TASKS = ("auto", "classification", "regression")
MAX_AUTO_CLASSES = 20
# --sep's names for the separators a table may use; without it, one of them is sniffed.
SEPARATORS = {",": ",", ";": ";", "tab": "\t", "\t": "\t", "|": "|"}
SNIFF_ROWS = 50
PARQUET = (".parquet", ".pq")
PARQUET_INSTALL = "pip install 'stackgen[parquet]' (pyarrow)"
JSON = (".json", ".jsonl", ".ndjson")
# Compressed files, read as pandas reads them: by the last suffix.
COMPRESSED = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zip": "zip"}
# A cell may hold a long text (the csv module's own limit is 128 KiB).
csv.field_size_limit(2**31 - 1)


def kind_of(path: Path) -> str:
    """ "parquet", "json" or "csv": what a table file holds, by its suffix under any
    compression's (``table.csv.gz`` is a CSV file)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSED:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    return "parquet" if last in PARQUET else "json" if last in JSON else "csv"


def file_bytes(path: Path, where: str) -> bytes:
    """A file's bytes, decompressed where its suffix is ``.gz``, ``.bz2``, ``.xz`` or ``.zip``
    (an archive of one file); one line for a file that is missing, unreadable or not what its
    suffix says."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise StackgenError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise StackgenError(f"{where}: a folder, not a table file") from None
    except OSError as exc:
        raise StackgenError(f"{where}: cannot read it ({exc.strerror or exc})") from None
    compression = COMPRESSED.get(path.suffix.lower())
    if compression is None:
        return raw
    try:
        if compression == "zip":
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                names = [n for n in archive.namelist() if not n.endswith("/")]
                if len(names) != 1:
                    raise StackgenError(
                        f"{where}: a zip archive of {len(names)} files; give one of one table"
                    )
                return archive.read(names[0])
        return {"gzip": gzip, "bzip2": bz2, "xz": lzma}[compression].decompress(raw)
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise StackgenError(f"{where}: not readable as {compression} ({exc})") from None


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read a block at a time: what the split records of the table
    or arrays it came from; for a folder of images, of every image's path and bytes."""
    if path.is_dir():
        return image_folders.folder_digest(path)
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_table(path: Path, sep: str | None = None, where: str = "--data") -> RawTable:
    """The table in ``path`` (CSV, or Parquet by its suffix); one clear error for a file that
    is missing, unreadable, empty, ragged or has a column name twice."""
    where = f"{where} {path}"
    kind = kind_of(path)
    if kind == "parquet":
        return _read_parquet(path, where)
    if kind == "json":
        return _read_json(path, where)
    text, encoding = decode(file_bytes(path, where), where)
    return read_text(text, sep, where, encoding)


def decode(raw: bytes, where: str) -> tuple[str, str]:
    """(text, encoding name) of a file's bytes: UTF-8 or UTF-16 with a byte-order mark, UTF-8,
    else Windows-1252 (what spreadsheet programs on Windows write)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as exc:
            raise StackgenError(f"{where}: not readable as UTF-16 text ({exc.reason})") from None
    if b"\x00" in raw:
        raise StackgenError(f"{where}: not a text table (it holds NUL bytes); give a CSV file")
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        raise StackgenError(
            f"{where}: neither UTF-8 nor Windows-1252 text (byte {exc.start}); save it as UTF-8"
        ) from None


def sniff_separator(text: str, prefer: str = ",") -> str:
    """The separator that splits the first rows into the same number of fields, most fields
    first, ``prefer`` on a tie; ``prefer`` when none does (one column, or a ragged file: the
    width check says which)."""
    prefer = prefer if prefer in SEPARATORS.values() else ","
    best, widest = prefer, 1
    for sep in dict.fromkeys((prefer, ",", ";", "\t", "|")):
        try:
            first = list(itertools.islice(records(text, sep), SNIFF_ROWS))
        except Unreadable:
            continue
        widths = {len(row) for _, row in first if not _blank(row)}
        if len(widths) == 1 and (width := widths.pop()) > widest:
            best, widest = sep, width
    return best


class Unreadable(Exception):
    """A row the csv module cannot read, with the line it is on."""

    def __init__(self, line: int, why: str):
        super().__init__(f"line {line}: not readable as CSV ({why})")


def records(text: str, sep: str):
    """(line, fields) of each row pandas reads too (both skip a blank or whitespace-only line):
    the line of the file it starts on, and its fields. ``Unreadable`` for a row that is not
    CSV."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Unreadable(max(reader.line_num, line), str(exc)) from None
        start, line = line, reader.line_num + 1
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        yield start, row


def _blank(row: list[str]) -> bool:
    return not any(cell.strip() for cell in row)


def read_text(
    text: str,
    sep: str | None,
    where: str = "",
    encoding: str = "UTF-8",
    names: list[str] | None = None,
) -> RawTable:
    """A CSV table's text read with pandas, every cell as text; ``sep`` None: sniffed. The
    first row is the header, unless ``names`` gives the columns of a table without one. Rows
    whose every cell is blank are skipped. ``where`` starts every error ("--data FILE")."""
    at = f"{where}: " if where else ""
    sep = SEPARATORS[sep] if sep is not None else sniff_separator(text)
    lines, keep = [], []
    try:
        rows = records(text, sep)
        if names is None:
            first = next(rows, None)
            if first is None:
                raise StackgenError(f"{at}the file is empty")
            header = unnamed_named([cell.strip() for cell in first[1]])
        else:
            header = list(names)
        # pandas fills a short row with blanks and stops at a long one: say which row, here.
        for number, (line, row) in enumerate(rows, start=2 if names is None else 1):
            lines.append(line)
            keep.append(not _blank(row))
            if keep[-1] and len(row) != len(header):
                raise StackgenError(
                    f"{at}row {number} has {len(row)} fields, the header {len(header)} (line "
                    f"{line})" + _other_separator(header, sep)
                )
    except Unreadable as exc:
        raise StackgenError(f"{at}{exc}") from None
    _refuse_names_twice(header, at)
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            header=None if names is not None else "infer",
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise StackgenError(f"{at}cannot read it as CSV ({exc})") from None
    if len(frame) != len(lines):  # the two readers disagree: trust neither
        raise StackgenError(f"{at}cannot read it as CSV (rows could not be told apart)")
    rows_kept = [i for i, kept in enumerate(keep) if kept]
    if not rows_kept:
        raise StackgenError(f"{at}a header row and no data rows")
    cells = {
        name: [cell(v) for v in frame.iloc[rows_kept, j].tolist()] for j, name in enumerate(header)
    }
    return RawTable(header, cells, sep, encoding, [f"line {lines[i]}" for i in rows_kept])


def unnamed_named(header: list[str]) -> list[str]:
    """A header with each blank name given pandas's ("Unnamed: 0"), as ``DataFrame.to_csv``
    leaves its index's."""
    return [name or f"Unnamed: {j}" for j, name in enumerate(header)]


def _refuse_names_twice(header: list[str], at: str) -> None:
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise StackgenError(f"{at}column names used twice: {', '.join(map(repr, twice))}")


def _other_separator(header: list[str], sep: str) -> str:
    if len(header) == 1 and any(other in header[0] for other in ";\t|" if other != sep):
        return " (the header is one field: is the file separated by ';', tab or '|'?)"
    return ""


def _read_parquet(path: Path, where: str) -> RawTable:
    if importlib.util.find_spec("pyarrow") is None:  # pandas' Parquet reader, an extra
        raise StackgenError(f"{where}: reading Parquet needs pyarrow: {PARQUET_INSTALL}")
    if not path.is_file():
        raise StackgenError(f"{where}: no such file")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - any reader error means the same to the user
        raise StackgenError(f"{where}: cannot read it as Parquet ({exc})") from None
    _refuse_names_twice([str(name) for name in frame.columns], f"{where}: ")
    if len(frame) == 0:
        raise StackgenError(f"{where}: no data rows")
    return frame_table(frame)


def _read_json(path: Path, where: str) -> RawTable:
    """A JSON file of records, as pandas reads it: an array of objects (``.json``), or one
    object a line (``.jsonl``, ``.ndjson``, or a ``.json`` file written so)."""
    text = decode(file_bytes(path, where), where)[0]
    by_line = any(s.lower() in (".jsonl", ".ndjson") for s in path.suffixes)
    frame = None
    for lines in (by_line, not by_line):
        try:
            frame = pd.read_json(io.StringIO(text), lines=lines, dtype=False)
            break
        except ValueError:
            continue
    if frame is None or not isinstance(frame, pd.DataFrame):
        raise StackgenError(
            f"{where}: not a JSON table: give an array of objects, one a row "
            '([{"x": 1, "y": "a"}, ...]), or one object a line'
        )
    _refuse_names_twice([str(name) for name in frame.columns], f"{where}: ")
    if len(frame) == 0 or len(frame.columns) == 0:
        raise StackgenError(f"{where}: no data rows")
    return frame_table(frame, kind="JSON")


def choose_task(values: list[str], asked: str, target: str) -> tuple[str, str]:
    """(task, why) for a target column's raw values."""
    numbers = [finite_number(v) for v in values]
    numeric = all(n is not None for n in numbers)
    distinct = len({canonical(v) for v in values})
    if asked == "regression":
        if not numeric:
            bad = next(v for v, n in zip(values, numbers, strict=True) if n is None)
            raise StackgenError(
                f"--task regression needs a numeric target; column {target!r} holds {bad!r}"
            )
        return "regression", "--task regression"
    if asked == "classification":
        return "classification", "--task classification"
    if not numeric:
        return "classification", f"target {target!r} is not numeric"
    whole = all(float(n).is_integer() for n in numbers)
    if whole and distinct <= MAX_AUTO_CLASSES:
        return "classification", f"target {target!r} holds {distinct} distinct whole numbers"
    return "regression", (
        f"target {target!r} is numeric with {distinct} distinct values; "
        "--task classification to override"
    )


def _class_names(values: list[str]) -> list[str]:
    """Distinct labels, sorted numerically when they are all numbers, else as text."""
    distinct = {canonical(v) for v in values}
    if all(finite_number(v) is not None for v in distinct):
        return sorted(distinct, key=lambda v: (float(v), v))
    return sorted(distinct)


def check_options(options: cols.Options, header: list[str], target: str) -> None:
    """``--categorical`` and ``--drop`` name columns of the table, other than the target, and
    no column is given to both; or one line."""
    for flag, names in (("--categorical", options.categorical), ("--drop", options.drop)):
        for name in names:
            if name == target:
                raise StackgenError(f"{flag} {name!r} is the target column")
            if name not in header:
                shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
                raise StackgenError(f"{flag} {name!r} is not a column of the table ({shown})")
    both = sorted(set(options.categorical) & set(options.drop))
    if both:
        raise StackgenError(f"column {both[0]!r} is given to both --categorical and --drop")


@dataclass(frozen=True)
class Roles:
    """Columns that say something about the rows rather than the target: each row's group
    (``--groups``), time (``--time``) and weight (``--weights``). None of them is a feature."""

    groups: str | None = None
    time: str | None = None
    weights: str | None = None

    def named(self) -> list[tuple[str, str]]:
        """(flag, column) of each role given."""
        flags = (("--groups", self.groups), ("--time", self.time), ("--weights", self.weights))
        return [(flag, column) for flag, column in flags if column is not None]


def check_roles(roles: Roles, options: cols.Options, header: list[str], target: str) -> None:
    """Each role names a column of the table that is not the target, not given to another role,
    and not read as a feature by ``--categorical`` or ``--drop``; or one line."""
    seen: dict[str, str] = {}
    for flag, name in roles.named():
        if name == target:
            raise StackgenError(f"{flag} {name!r} is the target column")
        if name not in header:
            shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
            raise StackgenError(f"{flag} {name!r} is not a column of the table ({shown})")
        if name in seen:
            raise StackgenError(f"column {name!r} is given to both {seen[name]} and {flag}")
        if name in options.categorical or name in options.drop:
            said = "--categorical" if name in options.categorical else "--drop"
            raise StackgenError(f"{flag} {name!r} is never a feature: drop it from {said}")
        seen[name] = flag


def _check_stratified_parts(rows: int, classes: int, test_size: float, names, task) -> None:
    """A stratified split puts a row of every class in each part: refuse, naming the
    ``--test-size`` that would, a fraction that leaves one part fewer rows than classes (which
    scikit-learn refuses in its own words)."""
    test = math.ceil(test_size * rows)  # as train_test_split counts them
    if min(test, rows - test) >= classes:
        return
    part = "test" if test < classes else "training"
    fits = math.ceil(classes / rows * 100) / 100, math.floor((rows - classes) / rows * 100) / 100
    fix = (
        f"use --test-size between {fits[0]:g} and {fits[1]:g}"
        if fits[0] <= fits[1]
        else "gather more rows"
    )
    raise StackgenError(
        f"--test-size {test_size:g} leaves {_rows_of(min(test, rows - test))} for {part}, "
        f"fewer than the {classes} classes: the stratified split needs one of every class in "
        f"each part; {fix}{_or_values(names, task)}"
    )


def _rows_of(n: int) -> str:
    return f"{n} row" + ("" if n == 1 else "s")


# Offered where the task was guessed and the classes are numbers: they may be values to predict.
VALUES_NOT_CLASSES = "--task regression if the labels are values, not classes"


def _or_values(names: list[str], task: str) -> str:
    if task != "auto" or any(finite_number(name) is None for name in names):
        return ""
    return f", or {VALUES_NOT_CLASSES}"


def _role_values(table: RawTable, roles: Roles, name: str) -> dict[str, np.ndarray]:
    """Each role's values, one per row: groups as text, times and weights as numbers (times
    may be dates); one line naming the row of a blank or unreadable cell."""
    values = {}
    for flag, column in roles.named():
        cells = table.cells[column]
        blank = [i for i, c in enumerate(cells) if c is None]
        if blank:
            raise StackgenError(
                f"{name}: {table.where[blank[0]]}: {flag} column {column!r} is blank; every row "
                "needs one"
            )
        if flag == "--groups":
            values["groups"] = np.array([canonical(c) for c in cells], dtype=str)
            continue
        numbers = [finite_number(c.replace(",", ".") if table.decimal_comma else c) for c in cells]
        if flag == "--time" and all(n is None for n in numbers):  # dates
            stamps = pd.to_datetime(pd.Series(cells), errors="coerce", format="mixed")
            if stamps.isna().any():
                first = int(np.flatnonzero(stamps.isna().to_numpy())[0])
                raise StackgenError(
                    f"{name}: {table.where[first]}: {cols.brief(cells[first])} in --time column "
                    f"{column!r} is neither a number nor a date"
                )
            values["time"] = stamps.astype("int64").to_numpy().astype(np.float64)
            continue
        bad = [i for i, n in enumerate(numbers) if n is None]
        if bad:
            raise StackgenError(
                f"{name}: {table.where[bad[0]]}: {cols.brief(cells[bad[0]])} in {flag} column "
                f"{column!r} "
                + ("is neither a number nor a date" if flag == "--time" else "is not a number")
            )
        array = np.array(numbers, dtype=np.float64)
        if flag == "--weights" and (array.min() < 0 or array.sum() <= 0):
            first = int(np.argmin(array))
            raise StackgenError(
                f"{name}: {table.where[first]}: --weights column {column!r} holds "
                f"{cols.brief(cells[first])}: weights must be 0 or more, and not all 0"
            )
        values["time" if flag == "--time" else "weights"] = array
    return values


def flag_options(sep: str | None = None, categorical: tuple = (), drop: tuple = ()) -> cols.Options:
    """The command line's reading options, named by its flags in step 1's lines."""
    return cols.Options(
        sep,
        categorical,
        drop,
        said_categorical="--categorical",
        said_drop="--drop",
        categories_hint="give --categorical {name} to read the column as categories",
    )


def load_table(
    path: Path,
    target: str,
    task: str,
    test_size: float,
    seed: int,
    options: cols.Options | None = None,
    roles: Roles | None = None,
) -> tuple[dict, dict, object]:
    """(arrays, params, fitted transformer) for a table: the split, encoded, and what
    describes it. With ``roles.groups`` the test rows are whole groups; with ``roles.time`` they
    are the latest rows, and each part is kept in time order."""
    options = options or flag_options()
    roles = roles or Roles()
    table = read_table(path, options.sep)
    if target not in table.header:
        shown = ", ".join(table.header[:12]) + (", ..." if len(table.header) > 12 else "")
        raise StackgenError(f"--target {target!r} is not a column of {path.name} ({shown})")
    check_options(options, table.header, target)
    check_roles(roles, options, table.header, target)
    for flag, column in (("--target", target), *roles.named()):
        if column in table.nested:
            raise StackgenError(
                f"{flag} {column!r} holds {table.nested[column].split(';')[0]}: it needs one "
                "value a row"
            )
    if roles.groups and roles.time:
        raise StackgenError(
            "--groups and --time together are not supported: give --time for one series in time "
            "order, or --groups for rows that come in groups"
        )
    role_columns = {column for _, column in roles.named()}
    features = [h for h in table.header if h != target and h not in role_columns]
    if not features:
        raise StackgenError(f"{path.name}: no feature columns besides the target {target!r}")
    present = np.array([v is not None for v in table.cells[target]])
    if not present.any():
        raise StackgenError(f"target column {target!r} has no values")
    dropped_rows = int((~present).sum())
    kept = np.flatnonzero(present)  # each row's place in the file, for spotting row numbers
    table = table.take(kept)
    raw_target = [
        v.replace(",", ".") if table.decimal_comma and cols.DECIMAL_COMMA.fullmatch(v) else v
        for v in table.cells[target]
    ]
    shown = [spreadsheet_number(v) if finite_number(v) is None else None for v in raw_target]
    if any(n is not None for n in shown) and all(
        n is not None or finite_number(v) is not None
        for v, n in zip(raw_target, shown, strict=True)
    ):  # numbers as a spreadsheet shows them ("6,683", "86%"): their values
        raw_target = [v if n is None else repr(n) for v, n in zip(raw_target, shown, strict=True)]
    chosen, why = choose_task(raw_target, task, target)
    params = {
        "source": "table",
        "file": str(path),
        "file_name": path.name,
        "sha256": file_digest(path),
        "target": target,
        "task": chosen,
        "task_reason": why,
        "rows": table.rows,
        "rows_without_target": dropped_rows,
        "test_size": test_size,
        "random_state": seed,
        "separator": table.sep,
        "encoding": table.encoding,
        **options.as_params(),
        "groups": roles.groups,
        "time": roles.time,
        "weights": roles.weights,
    }
    role = _role_values(table, roles, path.name)
    if chosen == "classification":
        names = _class_names(raw_target)
        if len(names) < 2:
            raise StackgenError(
                f"target {target!r} holds a single class ({names[0]!r}): nothing to classify"
            )
        index = {name: c for c, name in enumerate(names)}
        y = np.array([index[canonical(v)] for v in raw_target], dtype=np.int64)
        params["class_names"] = names
        stratify = y
        counts = np.bincount(y, minlength=len(names))
        if counts.min() < 2 and roles.groups is None and roles.time is None:
            rare = names[int(np.argmin(counts))]
            raise StackgenError(
                f"class {rare!r} of target {target!r} has 1 row: the stratified split needs at "
                "least 2 of every class (one to train on, one to test on); drop that row or "
                f"gather more{_or_values(names, task)}"
            )
        if roles.groups is None and roles.time is None:
            _check_stratified_parts(len(y), len(names), test_size, names, task)
    else:
        y = np.array([float(v) for v in raw_target], dtype=np.float64)
        stratify = None
        if np.unique(y).size < 2:
            raise StackgenError(f"target {target!r} holds a single value: nothing to predict")
    try:
        if "time" in role or "groups" in role:
            task_of = task_named(chosen)
            train, test = two_parts(
                y, test_size, seed, task_of, role.get("groups"), role.get("time"), "--groups"
            )
        else:
            train, test = train_test_split(
                np.arange(table.rows), test_size=test_size, stratify=stratify, random_state=seed
            )
    except ValueError as exc:
        raise StackgenError(
            f"cannot split {path.name} with --test-size {test_size}: {exc}"
        ) from None
    train, test = np.sort(train), np.sort(test)
    if "time" in role:  # each part in time order: the protocols' folds run forward in it
        train = train[np.argsort(role["time"][train], kind="stable")]
        test = test[np.argsort(role["time"][test], kind="stable")]
    if chosen == "classification" and (roles.groups or roles.time):
        _check_classes_on_both_sides(y, train, test, names, roles)
    encoded = cols.encode_table(table, features, train, options, path.name, kept)
    params["columns"] = [c.as_dict() for c in encoded.columns]
    params["feature_names"] = encoded.feature_names
    params["warnings"] = encoded.warnings
    if chosen == "regression":
        y_mean, y_std = mean_std(y[train])
        y = standardise(y, y_mean, y_std).astype(np.float32)
        params["target_mean"], params["target_std"] = float(y_mean), float(y_std)
    X = encoded.X
    arrays = {
        "train_X": X[train],
        "train_y": y[train],
        "test_X": X[test],
        "test_y": y[test],
    }
    if "groups" in role:
        arrays["train_groups"], arrays["test_groups"] = role["groups"][train], role["groups"][test]
        params["group_count"] = int(np.unique(role["groups"]).size)
    if "weights" in role:
        w = role["weights"].astype(np.float32)
        arrays["train_weights"], arrays["test_weights"] = w[train], w[test]
    return arrays, params, encoded.transformer


def _check_classes_on_both_sides(y, train, test, names, roles: Roles) -> None:
    """A split by groups or by time cannot stratify row by row: refuse one that leaves a class
    without training rows (the members could never learn it) or without test rows."""
    how = "--time's latest rows" if roles.time else "--groups' whole groups"
    for part, rows in (("training", train), ("test", test)):
        counts = np.bincount(y[rows], minlength=len(names))
        if counts.min() == 0:
            missing = names[int(np.argmin(counts))]
            raise StackgenError(
                f"class {missing!r} has no {part} rows once the table is split by {how}: "
                "choose another --test-size, or gather more rows of it"
            )
