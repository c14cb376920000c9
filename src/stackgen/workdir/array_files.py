"""Your own data as arrays: ``--data FILE.npz``, for members that read images, sequences or
several inputs.

The archive has the layout of stackgen's own ``data/split.npz``:

* ``test_X`` and ``test_y`` (required), ``train_X`` and ``train_y`` (optional: members trained
  elsewhere need no training rows; then the protocols that do say so and are skipped);
* X of any shape ``[rows, ...]``; several inputs as ``test_X_<name>`` (and ``train_X_<name>``),
  matched by name to the members' ``Input`` layers;
* y as class indices or strings (classification), or floats (regression; ``--task`` overrides).

It is read with ``allow_pickle=False``: an object array is refused, never unpickled. The split is
the user's own (no rows are moved between train and test), the features are passed to the
members as they are (they carry their own preprocessing), and only a regression target is
standardised with the training rows' statistics, as for a table. Test rows that also appear among
the training rows are counted (``shared_rows``), for step 1's leak warning.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np

from stackgen.data import inputs
from stackgen.data.numbers import mean_std
from stackgen.trust.errors import StackgenError
from stackgen.workdir import mapped_arrays
from stackgen.workdir.table_files import MAX_AUTO_CLASSES, file_digest

# More distinct whole-number labels than MAX_AUTO_CLASSES with fewer rows each than this are
# values of a regression, not classes.
ROWS_PER_CLASS = 5

KEY = re.compile(r"(train|test)_(X|y)(?:_(\w+))?")
# Each row's group (no group is ever on both sides of a split) and weight, for both parts.
ROLES = ("groups", "weights")
# Each row's time: both parts are sorted by it, and every test row must be later than every
# training row.
TIME = ("train_time", "test_time")


def load_arrays(path: Path, task: str) -> tuple[dict, dict]:
    """(arrays, params) for an ``.npz`` of train and test arrays; one line for anything wrong."""
    where = f"--data {path}"
    raw = _read(path, where)
    parts = {}
    for part in ("train", "test"):
        X, y = _part(raw, part, where)
        if X is None and y is None:
            continue
        if X is None or y is None:
            have, lacks = ("X", "y") if y is None else ("y", "X")
            raise StackgenError(f"{where}: has {part}_{have} but no {part}_{lacks}")
        parts[part] = (X, y)
    if "test" not in parts:
        raise StackgenError(
            f"{where}: no test arrays: it needs test_X (or test_X_<name> for each input) and "
            "test_y, and may have train_X and train_y"
        )
    test_X, test_y = parts["test"]
    no_rows = (inputs.take(test_X, slice(0, 0)), test_y[:0])  # members trained elsewhere
    train_X, train_y = parts.get("train", no_rows)
    if "train" in parts and inputs.shapes(train_X) != inputs.shapes(test_X):
        raise StackgenError(
            f"{where}: train inputs are {inputs.describe_shapes(train_X)} but test inputs "
            f"{inputs.describe_shapes(test_X)}: they must have the same names and row shapes"
        )
    task, reason = label_task(np.concatenate([train_y, test_y]), task, where)
    params = {
        "source": "arrays",
        "file": str(path),
        "file_name": path.name,
        "sha256": file_digest(path),
        "rows": int(len(train_y) + len(test_y)),
        "train_rows": int(len(train_y)),
        "task": task,
        "task_reason": reason,
        "inputs": {name: list(shape) for name, shape in inputs.shapes(test_X).items()},
        "input_names": sorted(test_X) if isinstance(test_X, dict) else None,
        # compared as the members will read them: float32
        "shared_rows": inputs.shared_rows(_float32(train_X), _float32(test_X)),
    }
    if task == "classification":
        names = sorted({str(v) for v in np.concatenate([train_y, test_y]).tolist()}, key=_order)
        index = {name: i for i, name in enumerate(names)}
        if len(names) < 2:
            raise StackgenError(f"{where}: the labels hold one class only ({names[0]!r})")
        params["class_names"] = names
        ys = [
            np.array([index[str(v)] for v in y.tolist()], dtype=np.int64) for y in (train_y, test_y)
        ]
    else:
        basis = train_y if len(train_y) else test_y  # no train rows: a scale from the test rows
        mean, std = mean_std(basis.astype(np.float64).reshape(-1, 1))
        params["target_mean"], params["target_std"] = float(mean[0]), float(std[0])
        ys = [
            ((y.astype(np.float64) - mean[0]) / std[0]).astype(np.float32)
            for y in (train_y, test_y)
        ]
    arrays = {
        "train_X": _float32(train_X),
        "train_y": ys[0],
        "test_X": _float32(test_X),
        "test_y": ys[1],
    }
    arrays.update(_roles(raw, {"train": len(train_y), "test": len(test_y)}, where))
    if "test_groups" in arrays:
        params["groups"] = "train_groups and test_groups"
        every = np.concatenate([arrays["train_groups"], arrays["test_groups"]])
        params["group_count"] = int(np.unique(every).size)
        shared = np.intersect1d(arrays["train_groups"], arrays["test_groups"])
        params["shared_groups"] = int(shared.size)
    if "test_weights" in arrays:
        params["weights"] = "train_weights and test_weights"
    if any(name in raw for name in TIME):
        if "test_groups" in arrays:
            raise StackgenError(
                f"{where}: has both groups and times: give train_time and test_time for one "
                "series in time order, or train_groups and test_groups for rows that come in "
                "groups (both together are not supported)"
            )
        arrays = _in_time_order(arrays, raw, where)
        params["time"] = "train_time and test_time"
    return arrays, params


def _in_time_order(arrays: dict, raw: dict, where: str) -> dict:
    """Both parts sorted by their times; refused unless every test row is later than (or as
    late as) every training row, and every row has a finite time."""
    times = {}
    for part in ("train", "test"):
        name, n = f"{part}_time", len(arrays[f"{part}_y"])
        t = raw.get(name)
        if t is None:
            if n == 0:
                t = np.zeros(0)
            else:
                raise StackgenError(f"{where}: has a time for one part only: give {name} too")
        if t.ndim != 1 or len(t) != n:
            raise StackgenError(
                f"{where}: {name} has shape {list(t.shape)}: one time per row ({n})"
            )
        if np.issubdtype(t.dtype, np.datetime64):
            t = t.astype("datetime64[ns]").astype(np.int64)
        if not np.issubdtype(t.dtype, np.number) or not np.isfinite(t.astype(float)).all():
            raise StackgenError(f"{where}: {name} must hold finite numbers or datetime64 times")
        times[part] = t.astype(np.float64)
    if len(times["train"]) and times["train"].max() > times["test"].min():
        raise StackgenError(
            f"{where}: some test rows are earlier than training rows: with train_time and "
            "test_time, the test rows must be the series' latest"
        )
    ordered = dict(arrays)
    for part in ("train", "test"):
        sort = np.argsort(times[part], kind="stable")
        for key, value in arrays.items():
            if key.startswith(f"{part}_"):
                ordered[key] = (
                    {k: v[sort] for k, v in value.items()}
                    if isinstance(value, dict)
                    else value[sort]
                )
    return ordered


def _roles(raw: dict, rows: dict[str, int], where: str) -> dict[str, np.ndarray]:
    """The file's groups and weights, checked: one per row of their part, for both parts (or
    for the test part when there are no train arrays), weights finite and 0 or more."""
    found = {}
    for role in ROLES:
        given = {part: raw.get(f"{part}_{role}") for part in rows}
        if all(a is None for a in given.values()):
            continue
        for part, a in given.items():
            name = f"{part}_{role}"
            if a is None:
                if rows[part] == 0:
                    a = np.zeros(0, dtype=np.float32 if role == "weights" else str)
                else:
                    raise StackgenError(f"{where}: has {role} for one part only: give {name} too")
            if a.ndim != 1 or len(a) != rows[part]:
                raise StackgenError(
                    f"{where}: {name} has shape {list(a.shape)}: give one value per {part} row "
                    f"({rows[part]})"
                )
            if role == "groups":
                if not (np.issubdtype(a.dtype, np.integer) or a.dtype.kind in "US"):
                    raise StackgenError(f"{where}: {name} holds {a.dtype}: give ids or names")
                a = a.astype(str)
            else:
                if not np.issubdtype(a.dtype, np.number) or not np.isfinite(a).all():
                    raise StackgenError(f"{where}: {name} holds values that are not numbers")
                if a.min(initial=0) < 0:
                    raise StackgenError(f"{where}: {name} holds a negative weight")
                a = a.astype(np.float32)
            found[name] = a
    return found


def _float32(X: inputs.Inputs) -> inputs.Inputs:
    """X as float32, a large array converted a chunk at a time (``mapped_arrays.float32``)."""
    if isinstance(X, dict):
        return {name: mapped_arrays.float32(a) for name, a in X.items()}
    return mapped_arrays.float32(X)


def read_npz(path: Path, where: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz``, read with ``allow_pickle=False``: one line for a missing
    file, one that is not an archive, or an array of Python objects (refused, never
    unpickled)."""
    if not path.is_file():
        raise StackgenError(f"{where}: no such file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = list(npz.files)
            raw = {}
            for name in names:
                try:  # an array too large to load is mapped from the file, where it can be
                    raw[name] = mapped_arrays.mapped_if_large(path, npz, name)
                except ValueError as exc:
                    if "allow_pickle" in str(exc):
                        raise StackgenError(
                            f"{where}: {name} holds Python objects (dtype object), which only "
                            "pickle could load and is never used here: save it as numbers, or "
                            "labels as strings"
                        ) from None
                    raise
    except StackgenError:
        raise
    except (OSError, ValueError, TypeError, zipfile.BadZipFile, EOFError) as exc:
        # TypeError: a single .npy array renamed .npz, which np.load returns as an ndarray
        raise StackgenError(f"{where}: not a NumPy .npz archive ({exc})") from None
    return raw


def _read(path: Path, where: str) -> dict[str, np.ndarray]:
    raw = read_npz(path, where)
    roles = {f"{part}_{role}" for part in ("train", "test") for role in ROLES}
    unknown = [name for name in raw if _key(name) is None and name not in roles | set(TIME)]
    if unknown:
        raise StackgenError(
            f"{where}: unexpected array {unknown[0]!r}: the arrays are train_X, train_y, test_X "
            "and test_y (train_X_<name> and test_X_<name> for several inputs), and optionally "
            "train_groups, test_groups, train_weights, test_weights, train_time and test_time"
        )
    return raw


def _part(raw: dict, part: str, where: str):
    """(X, y) of ``part``: X one array or {name: array}; None where absent. Checked: X numeric
    and finite, y one label per row, every array of the part the same number of rows."""
    y = raw.get(f"{part}_y")
    named = {
        key[2]: a for k, a in raw.items() if (key := _key(k)) and key[:2] == (part, "X") and key[2]
    }
    single = raw.get(f"{part}_X")
    if single is not None and named:
        raise StackgenError(
            f"{where}: has both {part}_X and {part}_X_<name> arrays: give one input as {part}_X, "
            f"or every input as {part}_X_<name>"
        )
    X = single if single is not None else (dict(sorted(named.items())) if named else None)
    arrays = (
        {f"{part}_X": X} if not isinstance(X, dict) else {f"{part}_X_{n}": a for n, a in X.items()}
    )
    for name, a in arrays.items():
        if a is None:
            continue
        if a.ndim < 2:
            raise StackgenError(
                f"{where}: {name} has shape {list(a.shape)}: it needs one row per example and "
                "at least one value per row, [rows, ...]"
            )
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise StackgenError(f"{where}: {name} holds {a.dtype} values, not numbers")
        if np.issubdtype(a.dtype, np.complexfloating):
            raise StackgenError(f"{where}: {name} holds complex numbers")
        if np.issubdtype(a.dtype, np.floating) and not mapped_arrays.all_finite(a):
            row = int(np.argmax(~np.isfinite(a.reshape(len(a), -1)).all(axis=1)))
            raise StackgenError(
                f"{where}: {name} holds NaN or infinite values (row {row + 1} first)"
            )
        if mapped_arrays.largest_magnitude(a) > np.finfo(np.float32).max:
            raise StackgenError(f"{where}: {name} holds values beyond float32's range (3.4e38)")
    if y is not None:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise StackgenError(
                f"{where}: {part}_y has shape {list(y.shape)}: give one label per row (class "
                "indices or names, not one-hot rows), or one value per row for regression"
            )
        if not (np.issubdtype(y.dtype, np.number) or y.dtype.kind in "USb"):
            raise StackgenError(f"{where}: {part}_y holds {y.dtype} values")
        if np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
            raise StackgenError(f"{where}: {part}_y holds NaN or infinite values")
        counts = {name: len(a) for name, a in arrays.items() if a is not None}
        counts[f"{part}_y"] = len(y)
        if len(set(counts.values())) > 1:
            shown = ", ".join(f"{name} {n}" for name, n in counts.items())
            raise StackgenError(f"{where}: {part} arrays have different numbers of rows: {shown}")
        if len(y) == 0:
            raise StackgenError(f"{where}: {part}_y has no rows")
    return X, y


def _key(name: str) -> tuple[str, str, str | None] | None:
    """("train", "X", "image") for train_X_image; None for a name the layout does not have."""
    match = KEY.fullmatch(name)
    if match is None or (match[2] == "y" and match[3]):
        return None
    return match[1], match[2], match[3]


def label_task(y: np.ndarray, asked: str, where: str) -> tuple[str, str]:
    """(task, why) for an .npz's labels; every guess says the ``--task`` that overrides it."""
    if y.dtype.kind in "USb":
        if asked == "regression":
            raise StackgenError(f"{where}: --task regression needs numeric labels, not {y.dtype}")
        return "classification", "labels are names"
    distinct = int(np.unique(y).size)
    if np.issubdtype(y.dtype, np.integer):
        if asked != "auto":
            return asked, f"--task {asked}"
        if distinct > MAX_AUTO_CLASSES and len(y) < ROWS_PER_CLASS * distinct:
            return "regression", (
                f"labels are {distinct} distinct whole numbers, about {len(y) / distinct:.1f} "
                "rows each: values, not classes; --task classification to override"
            )
        return "classification", (
            f"labels are {distinct} distinct whole numbers; --task regression to override"
        )
    # floats
    whole = bool(np.all(y == np.round(y)))
    if asked == "classification":
        if not whole:
            raise StackgenError(
                f"{where}: --task classification needs whole-number or string labels; these "
                "have fractions"
            )
        if distinct > MAX_AUTO_CLASSES * 50:
            raise StackgenError(f"{where}: {distinct} distinct labels are not classes")
        return "classification", "--task classification"
    if asked == "auto" and whole and distinct <= MAX_AUTO_CLASSES:
        shown = ", ".join(f"{v:g}" for v in np.unique(y)[:4]) + (", ..." if distinct > 4 else "")
        return "classification", (
            f"labels are floats holding {distinct} distinct whole numbers ({shown}); --task "
            "regression to override"
        )
    if asked == "auto":
        return "regression", "labels are floats; --task classification to override"
    return "regression", "--task regression"


def _order(name: str):
    """Class names in numeric order when they are numbers ("2" before "10"), else text order."""
    try:
        return (0, float(name), "")
    except ValueError:
        return (1, 0.0, name)
