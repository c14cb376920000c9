"""``python -m stackgen predict``: classify new points with the saved members and both stacks.

Reads CSV (a file or standard input): one point per row, the training features as columns, an
optional header row. Prints CSV, one row per point: its id, the served stack's class and
probabilities, then each member's and the integrated network's class:

    point,class,p_class_0,p_class_1,p_class_2,member_1,member_2,member_3,integrated_network

``--long`` prints a row per point and model instead (``point,model,class,p_class_0,...``). The
id is the table's own id column(s), the ones step 1 dropped as an identifier or a row number
(``--id COLUMN`` names others), else the point's number. A regression prints the prediction in
the target's own units in place of a class and its probabilities.

For a model trained on your own table (``--data``), points are given in the table's own units
(they are standardised with the training rows' statistics saved by step 1); with a header row
naming the feature columns, columns are matched by name, so the original table (target column
included) can be fed back. Blank cells and categories never seen in training are read as step 1
would read them, and counted on standard error, a line per column.

The stack served is the most honest one step 4 fit (``cv``, else ``holdout``, else the
tutorial's, which was fit on the test rows; ``--protocol`` picks), and the first line on
standard error names it with the score step 4 printed for it. Every note comes before the
first row of CSV.

What it serves is exactly what steps 4 and 5 saved last and printed the scores of: the
meta-learner ``results/stack_logistic.json`` names for the protocol (whatever ``--meta`` and
``--passthrough`` were), and step 5's network. Everything is loaded safely: Keras models with
``safe_mode`` (no Lambda code runs), the meta-learner through skops with an explicit list of
trusted types or from JSON numbers (no pickle).
"""

from __future__ import annotations

import csv
import io
import math
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer

from stackgen.cli import console
from stackgen.config import Config
from stackgen.data import columns
from stackgen.data.inputs import count, describe_shapes, is_images, shapes
from stackgen.data.numbers import FLOAT32_MAX, parse_number
from stackgen.data.split import TableFile
from stackgen.methods import members, metalearners, training
from stackgen.trust.errors import StackgenError
from stackgen.workdir import image_folders, lineage, member_files, metalearner_files, served
from stackgen.workdir import table_files as tables
from stackgen.workdir.paths import Paths, corrupt
from stackgen.workdir.safe_reads import load_keras_model, load_skops
from stackgen.workdir.split_files import load_split


@dataclass(frozen=True)
class Points:
    """What ``read_points`` read: the values in the model's feature order (float64, the units
    given), the input line of each point, and the header's columns the model does not use; or
    what ``read_arrays`` read: the rows of each input, "row N" for each, the arrays not used.
    ``ids``: the id columns to print first (name -> each point's value); ``filled``: what was
    read in place of blanks and unseen categories, a line per column."""

    X: np.ndarray | dict[str, np.ndarray]
    lines: list[int] | list[str]
    unused: list[str]
    ids: dict[str, list[str]] = field(default_factory=dict)
    filled: list[str] = field(default_factory=list)


def read_points(text: str, names: list[str], ids: tuple[str, ...] = ()) -> Points:
    """Parse CSV text into one row of the features ``names`` per point; one clear error naming
    the line for anything else.

    The first row is a header when none of its cells is a number, or when it names every feature
    and is not all numbers (a row of numbers that also names every feature is refused as
    ambiguous):
    its columns are then matched to the features by name, in any order, and a header that does
    not name every feature is refused. Without a header, columns are the features in training
    order. A cell is a number only as written in decimal (``data/numbers.py``). ``ids``: header
    columns to keep beside each point (``--id``)."""
    reader = csv.reader(io.StringIO(text))
    try:
        rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:  # a field past the csv module's size limit, a NUL byte, ...
        raise StackgenError(f"line {reader.line_num}: not readable as CSV ({exc})") from None
    if not rows:
        raise StackgenError(f"no points to predict: give CSV rows of {len(names)} numbers each")
    pick, unused, width = list(range(len(names))), [], len(names)
    header = [cell.strip() for cell in rows[0][1]]
    numbers = [parse_number(c) is not None for c in header]
    if all(numbers) and set(names) <= set(header):
        raise StackgenError(
            f"line 1: {','.join(header)[:60]!r} is both the features' names and a point: start "
            "with a header that has a column that is not a number (the target's, say), or with "
            "another point"
        )
    if not any(numbers) or set(names) <= set(header):
        pick, unused = _match_header(rows[0][0], header, names)
        rows, width = rows[1:], len(header)
        if not rows:
            raise StackgenError("no points to predict: the input is a header row only")
    elif ids:
        raise StackgenError(
            f"--id {ids[0]}: the input has no header row to name it; start it with one naming "
            f"{', '.join(names)} and {ids[0]}"
        )
    _check_ids(ids, header)
    unused = [c for c in unused if c not in ids]
    X = np.empty((len(rows), len(names)), dtype=np.float64)
    for i, (line, row) in enumerate(rows):
        shown = ",".join(row)[:60]
        if len(row) != width:
            raise StackgenError(
                f"line {line}: expected {width} comma-separated values, got {len(row)}: {shown!r}"
            )
        for j, column in enumerate(pick):
            value = parse_number(row[column])
            if value is None:
                raise StackgenError(
                    f"line {line}: {row[column].strip()!r} is not a number (feature "
                    f"{names[j]!r}); write numbers in decimal, such as -1.5 or 2e3"
                )
            if not math.isfinite(value):
                raise StackgenError(
                    f"line {line}: {row[column].strip()!r} is beyond the largest number a float "
                    f"can hold (feature {names[j]!r})"
                )
            X[i, j] = value
    kept = {name: [row[header.index(name)].strip() for _, row in rows] for name in ids}
    return Points(X, [line for line, _ in rows], unused, kept)


def _check_ids(ids: tuple[str, ...], header: list[str]) -> None:
    """One line for an ``--id`` the input's header does not name."""
    for name in ids:
        if name not in header:
            raise StackgenError(
                f"--id {name}: the input has no column {name!r}; its columns are "
                f"{', '.join(header)[:120]}"
            )


def _match_header(line: int, header: list[str], names: list[str]) -> tuple[list[int], list[str]]:
    """(the column of each feature, the columns no feature uses) for a header row."""
    if len(header) == 1 and any(sep in header[0] for sep in ";\t"):
        raise StackgenError(
            f"line {line}: {header[0][:60]!r} is one field: predict reads comma-separated "
            "values, not ';' or tab-separated ones"
        )
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise StackgenError(f"line {line}: the header names {twice[0]!r} twice")
    missing = [n for n in names if n not in header]
    if missing:
        raise StackgenError(
            f"line {line}: the header ({', '.join(header)[:80]}) does not name the model's "
            f"feature{'s' if len(missing) > 1 else ''} {', '.join(missing)}; its features are "
            f"{', '.join(names)}: name the columns so, or give rows of numbers in that order "
            "without a header"
        )
    return [header.index(n) for n in names], [c for c in header if c not in names]


def predict(
    cfg: Config,
    input_path: str | None,
    protocol: str | None,
    ids: tuple[str, ...] = (),
    long: bool = False,
) -> dict:
    """Classify (or regress) the points in ``input_path`` with the saved members and the
    ``protocol``'s stacks (default: the most honest step 4 fit), print CSV on standard output
    with ``ids``' columns first, and return each model's outputs. Every note on standard error
    is written before the first row of CSV."""
    paths = Paths.of(cfg)
    split = load_split(paths)
    protocol, meta_file = served.served_stack(paths, protocol)
    notes = [served.described(paths, protocol)]
    images = _image_input(input_path)
    if isinstance(input_path, list) and images is None:
        other = next(p for p in input_path if _image_input(p) is None)
        raise StackgenError(
            f"--input takes one CSV or .npz file, or images (a folder of them, or image "
            f"files): {other} is not an image ({', '.join(image_folders.SUFFIXES)})"
        )
    npz = images is None and input_path not in (None, "-") and str(input_path).endswith(".npz")
    if images is not None:
        if not is_images(split.test_X):
            raise StackgenError(
                f"--input {images[0]}: images, but the members read "
                f"{describe_shapes(split.test_X)} per row: give the rows as this work dir's "
                "data gave them"
            )
        files, reader = image_folders.read_for_predict(images, split.test_X.shape[1:])
        names = [str(f) for f in files]
        points = Points(None, names, [], ids={"file": names})
        step = reader.per_batch
        chunks = ((reader.read(files[at : at + step]), at) for at in range(0, len(files), step))
    elif npz and isinstance(split.source, TableFile):
        raise StackgenError(
            f"--input {input_path}: this work dir was made from the table "
            f"{split.source.file_name}, whose columns step 1 encoded before the members saw "
            "them; give rows of the table instead (CSV or Parquet, its columns by name)"
        )
    elif npz:
        points = read_arrays(input_path, split, ids)
        X = points.X
    elif isinstance(split.source, TableFile):
        points = read_table_rows(input_path, split, paths, ids)
        X = points.X
    else:
        if not split.flat:
            raise StackgenError(
                f"the members read {describe_shapes(split.test_X)} per row, not CSV columns: "
                "give --input FILE.npz with an array X (or X_<name> for each input)"
            )
        text = _read_stdin() if input_path in (None, "-") else _read_file(input_path)
        points = read_points(text, split.feature_names, ids)
        X = points.X
        _refuse_points(
            points.lines,
            np.abs(X).max(axis=1) > FLOAT32_MAX,
            "has a value too large for the networks' float32 (beyond 3.4e38 once standardised)",
        )
        X = X.astype(np.float32)
    if images is None:
        chunks = [(X, 0)]
    models = member_files.load_members(paths, split)
    meta, kind = metalearner_files.load_served(paths, meta_file, len(models) * split.n_outputs)
    network = load_keras_model(paths.stacked_network_for(protocol), paths)
    lineage.verify(paths, paths.stacked_network_for(protocol))
    stack = metalearners.stack_name(kind)
    parts = []
    for X, at in chunks:  # images: a batch of files read at a time
        P = np.stack(members.member_probabilities(models, X), axis=1)
        lines = points.lines[at : at + len(P)]
        _refuse_points(lines, _not_finite(P), FAR_OUTSIDE)  # before a meta-learner sees NaN
        part = {m.name: P[:, i] for i, m in enumerate(models)}
        part[stack] = meta.predict_proba(P, X)
        part["integrated_network"] = training.predict_proba(network, X)
        parts.append({name: np.asarray(v, dtype=np.float64) for name, v in part.items()})
    outputs = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    regression = split.task.name == "regression"
    if regression:  # in the target's own units
        mean, scale = float(split.params["target_mean"]), split.target_scale
        with np.errstate(over="ignore", invalid="ignore"):
            outputs = {name: values[:, :1] * scale + mean for name, values in outputs.items()}
    for values in outputs.values():
        _refuse_points(points.lines, _not_finite(values), FAR_OUTSIDE)
    # Said once every check has passed: a failure stays one line.
    notes += [f"filled in: {line}" for line in points.filled]
    if points.unused:
        target = split.params.get("target")
        shown = [f"{c} (the target)" if c == target else c for c in points.unused]
        what = "arrays" if str(input_path).endswith(".npz") else "columns"
        notes.append(f"{what} not used (not features of the model): {', '.join(shown)}")
    key = points.ids or {"point": [str(i + 1) for i in range(len(points.lines))]}
    names = split.class_names if "class_names" in split.params else None
    classes = None
    if not regression:  # (each class as printed, its probability's column)
        classes = (
            [(n, f"p_{n}") for n in names]
            if names
            else [(str(c), f"p_class_{c}") for c in range(split.n_classes)]
        )
    table = _long_rows(key, outputs, classes) if long else _wide_rows(key, outputs, stack, classes)
    clash = set(points.ids) & set(table[0][len(points.ids) :])
    if clash:
        name = sorted(clash)[0]
        raise StackgenError(
            f"the id column {name!r} has the name of one of predict's own columns "
            f"({', '.join(table[0][len(points.ids) :])}): rename it in the input, or name "
            "another with --id"
        )
    for line in notes:
        console.note(line)
    console.drain()  # anything else on stderr (a library's warning) is out before the CSV
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(table)
    sys.stdout.write(out.getvalue())
    sys.stdout.flush()
    if regression:
        return {name: values[:, 0].tolist() for name, values in outputs.items()}
    return {name: probs.tolist() for name, probs in outputs.items()}


def _wide_rows(key: dict, outputs: dict, stack: str, classes: list | None) -> list[list]:
    """One row per point: its id(s), the served stack's class and probabilities (a
    regression's prediction), then each member's and the integrated network's class (or
    prediction). ``classes``: (each class as printed, the column of its probability); None: a
    regression."""
    others = [name for name in outputs if name != stack]
    rows = [[*key, *_answer_header(classes), *others]]
    for i, ids in enumerate(zip(*key.values(), strict=True)):
        answer = _answer(outputs[stack][i], classes)
        rows.append([*ids, *answer, *(_answer(outputs[n][i], classes)[0] for n in others)])
    return rows


def _long_rows(key: dict, outputs: dict, classes: list | None) -> list[list]:
    """One row per point and model (``--long``): its id(s), the model, its class and
    probabilities (a regression's prediction); ``classes`` as for ``_wide_rows``."""
    rows = [[*key, "model", *_answer_header(classes)]]
    for i, ids in enumerate(zip(*key.values(), strict=True)):
        rows += [[*ids, name, *_answer(values[i], classes)] for name, values in outputs.items()]
    return rows


def _answer_header(classes: list | None) -> list[str]:
    return ["prediction"] if classes is None else ["class", *(column for _, column in classes)]


def _answer(values: np.ndarray, classes: list | None) -> list[str]:
    """One model's answer for one point: its class and probabilities, or its prediction."""
    if classes is None:
        return [f"{values[0]:.6g}"]
    return [classes[int(np.argmax(values))][0], *(f"{v:.4f}" for v in values)]


FAR_OUTSIDE = "is so far outside the training data that the models' outputs are not finite numbers"


def _not_finite(values: np.ndarray) -> np.ndarray:
    """Which points (first axis) have a value that is NaN or infinite."""
    return ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)


def _refuse_points(lines: list, bad: np.ndarray, why: str) -> None:
    """``lines``: each point's input line (CSV), or "row N" (arrays)."""
    if bad.any():
        where = lines[int(np.argmax(bad))]
        raise StackgenError(
            f"{where if isinstance(where, str) else f'line {where}'}: the point {why}"
        )


def _image_input(input_path) -> list[Path] | None:
    """The folders and image files ``--input`` names, or None where it names something else."""
    given = input_path if isinstance(input_path, list) else [input_path]
    if input_path in (None, "-") or given == ["-"]:
        return None
    paths = [Path(p) for p in given]
    if all(p.is_dir() or p.suffix.lower() in image_folders.SUFFIXES for p in paths):
        return paths
    return None


def read_table_rows(
    input_path: str | None, split, paths: Paths, ids: tuple[str, ...] = ()
) -> Points:
    """Raw rows of your table (CSV or Parquet, a file or standard input) encoded by the
    transformer step 1 fit: columns matched by name in any order (a header is needed unless the
    rows give exactly the model's columns in the table's order), blanks and unseen categories
    read as step 1 read them, and counted. ``ids``: the columns to keep beside each row; by
    default the ones step 1 dropped as an identifier or a row number."""
    transformer = load_preprocessor(paths)
    lineage.verify(paths, paths.preprocessor)
    p = split.params
    used = [c["name"] for c in p["columns"] if c["kind"] != columns.DROPPED]
    known = {c["name"] for c in p["columns"]} | {p["target"]}
    if input_path not in (None, "-") and tables.kind_of(Path(input_path)) != "csv":
        table = tables.read_table(Path(input_path), where="--input")
        header_at = f"--input {input_path}"
    else:
        if input_path in (None, "-"):
            text = _read_stdin()
        else:
            where = f"--input {input_path}"
            text = tables.decode(tables.file_bytes(Path(input_path), where), where)[0]
        sep = tables.sniff_separator(text, prefer=p.get("separator", ","))
        try:
            line, first = next(tables.records(text, sep), (1, []))
        except tables.Unreadable as exc:
            raise StackgenError(str(exc)) from None
        if not any(cell.strip() for cell in first):
            raise StackgenError(
                f"no points to predict: give CSV rows with a header naming {', '.join(used)}"
            )
        first = [cell.strip() for cell in first]
        # Without a header, the first row gives the model's columns in order. A row that names
        # a column, or has no number in it where the model reads numbers, is the header.
        numbers = any(columns.number(cell, sep == ";") is not None for cell in first)
        all_text = all(c["kind"] != columns.NUMERIC for c in p["columns"])
        headerless = len(first) == len(used) and not known & set(first) and (numbers or all_text)
        table = tables.read_text(text, sep, names=used if headerless else None)
        header_at = f"line {line}"
    X, lines, unused = columns.encode_rows(table, p, transformer, header_at)
    _refuse_points(lines, _not_finite(X) | (np.abs(X).max(axis=1) > FLOAT32_MAX), TOO_FAR)
    _check_ids(ids, table.header)
    ids = ids or tuple(
        c["name"]
        for c in p["columns"]
        if c["kind"] == columns.DROPPED
        and c["reason"].startswith(IDENTIFIERS)
        and c["name"] in table.header
    )
    kept = {name: ["" if v is None else v for v in table.cells[name]] for name in ids}
    unused = [u for u in unused if not any(u == n or u.startswith(f"{n} (dropped") for n in ids)]
    filled = columns.filled_in(table, p, transformer)
    return Points(X.astype(np.float32), lines, unused, kept, filled)


# The reasons step 1 gives for dropping a column that names rows (data/columns.py).
IDENTIFIERS = ("identifier", "row number")


def load_preprocessor(paths: Paths) -> ColumnTransformer:
    """The column transformer step 1 fit, loaded without running code from the file."""
    transformer = load_skops(paths.preprocessor, paths, columns.TRUSTED_TYPES)
    if not isinstance(transformer, ColumnTransformer):
        what = type(transformer).__name__
        raise corrupt(paths.preprocessor, paths, f"holds a {what}, not a transformer")
    return transformer


TOO_FAR = "has a value too large for the networks' float32 (beyond 3.4e38 once standardised)"


def read_arrays(path: str, split, ids: tuple[str, ...] = ()) -> Points:
    """The points of an ``.npz`` given to ``--input``: an array ``X``, or ``X_<name>`` for each
    of the data's inputs, shaped like the data's rows; checked like step 1's arrays. ``ids``:
    arrays of one value per row to keep beside each point."""
    where = f"--input {path}"
    try:
        with np.load(path, allow_pickle=False) as npz:
            raw = {name: npz[name] for name in npz.files}
    except FileNotFoundError:
        raise StackgenError(f"{where}: no such file") from None
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise StackgenError(
                f"{where}: holds Python objects (dtype object), which only pickle could load "
                "and is never used here"
            ) from None
        raise StackgenError(f"{where}: not a NumPy .npz archive ({exc})") from None
    except (OSError, TypeError, zipfile.BadZipFile, EOFError) as exc:
        raise StackgenError(f"{where}: not a NumPy .npz archive ({exc})") from None
    names = split.input_names
    wanted = ["X"] if names is None else [f"X_{n}" for n in names]
    missing = [w for w in wanted if w not in raw]
    if missing:
        raise StackgenError(
            f"{where}: has no array {missing[0]}; the members read {', '.join(wanted)} "
            f"({describe_shapes(split.test_X)} per row)"
        )
    expected = shapes(split.test_X)
    arrays = {}
    for key in wanted:
        a, name = raw[key], key[2:] or "X"
        if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
            raise StackgenError(f"{where}: {key} holds {a.dtype} values, not numbers")
        if a.ndim >= 1 and len(a) == 0:
            raise StackgenError(f"{where}: {key} holds no rows: no points to predict")
        if tuple(a.shape[1:]) != expected[name]:
            raise StackgenError(
                f"{where}: {key} has shape {list(a.shape)}; the members read "
                f"[rows, {', '.join(map(str, expected[name]))}]"
            )
        bad = ~np.isfinite(a.reshape(len(a), -1).astype(np.float64)).all(axis=1)
        bad |= np.abs(a.reshape(len(a), -1)).max(axis=1) > FLOAT32_MAX
        _refuse_points(
            [f"row {i + 1} of {key}" for i in range(len(a))],
            bad,
            "holds NaN, an infinite value or one beyond float32's range",
        )
        arrays[name] = a.astype(np.float32)
    rows = {len(a) for a in arrays.values()}
    if len(rows) > 1:
        raise StackgenError(f"{where}: its arrays have different numbers of rows")
    X = arrays["X"] if names is None else arrays
    kept = {}
    for name in ids:
        a = raw.get(name)
        if a is None or a.ndim != 1 or len(a) != count(X):
            raise StackgenError(
                f"--id {name}: {where} has no array {name!r} of one value per row "
                f"({count(X)} values); its arrays are {', '.join(sorted(raw))}"
            )
        kept[name] = [str(v) for v in a.tolist()]
    unused = sorted(set(raw) - set(wanted) - set(ids))
    return Points(X, [f"row {i + 1}" for i in range(count(X))], unused, kept)


def _read_stdin() -> str:
    raw = getattr(sys.stdin, "buffer", None)
    if raw is None:  # already text (a test's StringIO)
        return sys.stdin.read()
    try:  # universal newlines, as for --input FILE: "\r" alone ends a line too
        return io.TextIOWrapper(raw, encoding="utf-8-sig", newline=None).read()
    except UnicodeDecodeError as exc:
        where = f"{exc.reason} at byte {exc.start}"
        raise StackgenError(f"the input is not UTF-8 text ({where})") from None


def _read_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise StackgenError(
            f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
