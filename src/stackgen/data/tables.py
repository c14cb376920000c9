"""Your own data: a CSV table with a target column, made into a train/test split like the blobs.

``python -m stackgen run --data FILE.csv --target COLUMN`` reads the table with the standard
library's csv module (a header row, then one row per example), and then:

* decides the task: a non-numeric target is classification; a numeric one is classification when
  it holds whole numbers with at most ``MAX_AUTO_CLASSES`` distinct values, else regression
  (``--task`` overrides, and the choice is printed either way);
* splits the rows into train and test, stratified by class for classification, seeded by the
  data seed (so ``--seed`` changes the networks, never the split);
* standardises every feature with the mean and standard deviation of the training rows only (and
  a regression target the same way), and keeps those statistics so ``predict`` can apply them;
* maps class labels to 0..C-1 in sorted order and keeps their names for every printout.

Every problem a user can cause is one ``StackgenError`` line naming the column or class at fault.
No TensorFlow here: step 1 stays quick.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from stackgen.data.numbers import FLOAT32_MAX, canonical, finite_number, mean_std, standardise
from stackgen.trust.errors import StackgenError

TASKS = ("auto", "classification", "regression")
MAX_AUTO_CLASSES = 20
MISSING = {"", "na", "nan", "null", "none", "?"}


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes: what the split records of the table it came from."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a CSV file, with clear errors for unreadable, empty or ragged files."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = [row for row in csv.reader(fh) if any(cell.strip() for cell in row)]
    except FileNotFoundError:
        raise StackgenError(f"--data {path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise StackgenError(f"--data {path}: cannot read it as CSV ({exc})") from None
    if not rows:
        raise StackgenError(f"--data {path}: the file is empty")
    header = [cell.strip() for cell in rows[0]]
    if len(rows) == 1:
        raise StackgenError(f"--data {path}: a header row and no data rows")
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise StackgenError(
                f"--data {path}: row {number} has {len(row)} fields, the header {len(header)}"
            )
    return header, [[cell.strip() for cell in row] for row in rows[1:]]


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


def load_table(
    path: Path, target: str, task: str, test_size: float, seed: int
) -> tuple[dict, dict]:
    """(arrays, params) for a CSV table: the split, standardised, and what describes it."""
    header, rows = read_csv(path)
    if target not in header:
        shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
        raise StackgenError(f"--target {target!r} is not a column of {path.name} ({shown})")
    if len(set(header)) != len(header):
        twice = sorted({h for h in header if header.count(h) > 1})
        raise StackgenError(f"{path.name}: column names used twice: {', '.join(twice)}")
    t = header.index(target)
    features = [h for i, h in enumerate(header) if i != t]
    if not features:
        raise StackgenError(f"{path.name}: no feature columns besides the target {target!r}")
    raw_target = [row[t] for row in rows]
    missing_target = sum(v.lower() in MISSING for v in raw_target)
    if missing_target:
        raise StackgenError(
            f"target column {target!r} has {missing_target} empty or missing values; "
            "drop those rows first"
        )
    X = np.empty((len(rows), len(features)), dtype=np.float64)
    not_numeric = []
    for j, i in enumerate(i for i in range(len(header)) if i != t):
        column = [finite_number(row[i]) for row in rows]
        bad = [row[i] for row, v in zip(rows, column, strict=True) if v is None]
        if bad:
            not_numeric.append((header[i], bad[0]))
            continue
        X[:, j] = column
    if not_numeric:
        shown = ", ".join(f"{name!r} (e.g. {value!r})" for name, value in not_numeric[:5])
        more = f" and {len(not_numeric) - 5} more" if len(not_numeric) > 5 else ""
        raise StackgenError(
            f"feature columns must be numbers with no missing values; not so: {shown}{more}; "
            "encode or drop them first"
        )
    chosen, why = choose_task(raw_target, task, target)
    params = {
        "source": "table",
        "file": str(path),
        "file_name": path.name,
        "sha256": file_digest(path),
        "target": target,
        "task": chosen,
        "task_reason": why,
        "feature_names": features,
        "rows": len(rows),
        "test_size": test_size,
        "random_state": seed,
    }
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
    else:
        y = np.array([float(v) for v in raw_target], dtype=np.float64)
        stratify = None
    rows_idx = np.arange(len(rows))
    try:
        train, test = train_test_split(
            rows_idx, test_size=test_size, stratify=stratify, random_state=seed
        )
    except ValueError as exc:
        raise StackgenError(
            f"cannot split {path.name} with --test-size {test_size}: {exc}"
        ) from None
    train, test = np.sort(train), np.sort(test)
    mean, std = mean_std(X[train])
    X = standardise(X, mean, std)
    too_big = [features[j] for j in np.flatnonzero(np.abs(X).max(axis=0) > FLOAT32_MAX)]
    if too_big:
        raise StackgenError(
            f"{path.name}: column {too_big[0]!r} holds values so far from the training rows' "
            "that they do not fit the networks' float32 even after standardising; rescale it"
        )
    params["feature_mean"], params["feature_std"] = mean.tolist(), std.tolist()
    if chosen == "regression":
        y_mean, y_std = mean_std(y[train])
        y = standardise(y, y_mean, y_std)
        params["target_mean"], params["target_std"] = float(y_mean), float(y_std)
        y = y.astype(np.float32)
    arrays = {
        "train_X": X[train].astype(np.float32),
        "train_y": y[train],
        "test_X": X[test].astype(np.float32),
        "test_y": y[test],
    }
    return arrays, params
