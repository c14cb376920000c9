"""What an estimator is given as X and y, checked and made into what the members read.

X may be:

* an array of rows, ``[rows, features]`` or of any shape (images ``[rows, h, w, c]``,
  sequences ``[rows, steps, features]``): fed to the members as it is (float32), as scikit-learn
  estimators take arrays; scale it yourself, or put a scaler before the stack in a ``Pipeline``;
* a dict of named arrays, one per input the members name (an image and its metadata);
* a pandas DataFrame with string column names: a table, treated as the command line treats
  your CSV (``data/columns.py``): each column's kind decided (numbers, categories, dropped with
  the reason), then imputed, one-hot encoded and standardised by a transformer fit on the rows
  passed to ``fit`` only, and applied as fitted to every later X.

scikit-learn's own checks (``validate_data``) set ``n_features_in_`` and ``feature_names_in_``
and refuse, at predict, rows of another width or columns of other names.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    column_or_1d,
    validate_data,
)

from stackgen.data import columns, inputs, tables
from stackgen.trust.errors import StackgenError, StackgenTypeError


@dataclass
class Fitted:
    """How X was given to ``fit``, so that later X is read the same way."""

    kind: str  # "array", "arrays" (a dict of named arrays) or "table" (a DataFrame)
    shapes: dict[str, tuple[int, ...]]  # each input's row shape
    table_columns: list[dict] = field(default_factory=list)  # a table's columns and kinds
    transformer: object = None  # a table's fitted ColumnTransformer
    feature_names: list[str] = field(default_factory=list)  # the encoded columns' names


def fit_inputs(estimator, X) -> tuple[inputs.Inputs, Fitted]:
    """X as the members read it, and how it was given; sets ``n_features_in_`` (and
    ``feature_names_in_`` for a DataFrame) on ``estimator``."""
    _refuse_sparse(X)
    if isinstance(X, dict):
        rows = _named_arrays(X)
        return rows, Fitted("arrays", inputs.shapes(rows))
    if _is_table(X):
        validate_data(estimator, X, reset=True, skip_check_array=True)
        return _encode_table(X)
    rows = _array(estimator, X, reset=True)
    return rows, Fitted("array", inputs.shapes(rows))


def later_inputs(estimator, X, fitted: Fitted) -> inputs.Inputs:
    """Later X (to predict or score) read as ``fit`` read its X, or one line saying how it
    differs."""
    _refuse_sparse(X)
    if fitted.kind == "arrays":
        if not isinstance(X, dict):
            raise StackgenTypeError(
                f"the stack was fit on named inputs ({', '.join(fitted.shapes)}); give X as a "
                "dict of arrays with those names"
            )
        rows = _named_arrays(X)
        missing = [name for name in fitted.shapes if name not in rows]
        if missing:
            raise StackgenError(f"X lacks the input {missing[0]!r} the stack was fit on")
        rows = {name: rows[name] for name in fitted.shapes}
        _same_shapes(inputs.shapes(rows), fitted.shapes)
        return rows
    if fitted.kind == "table":
        return _later_table(estimator, X, fitted)
    if isinstance(X, dict):
        raise StackgenTypeError("the stack was fit on one array; give X as one array of rows")
    rows = _array(estimator, X, reset=False)
    _same_shapes(inputs.shapes(rows), fitted.shapes)
    return rows


def raw_features(X: inputs.Inputs) -> np.ndarray | None:
    """What ``passthrough`` gives the meta-learner: the rows' feature columns, or None where
    the rows are not feature columns (images, several inputs)."""
    return X if inputs.is_flat(X) else None


def class_labels(y, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(the classes, sorted; y as their indices) for a classifier, or one line."""
    y = labels(y, n_rows)
    check_classification_targets(y)
    classes, encoded = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise StackgenError(
            f"y holds 1 class ({classes[0]!r}): a classifier needs at least 2 classes to tell apart"
        )
    return classes, encoded.astype(np.int64)


def target_values(y, n_rows: int) -> np.ndarray:
    """y as float64 values for a regressor, or one line."""
    y = labels(y, n_rows)
    try:
        values = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise StackgenError(
            "y must be numbers for a StackingRegressor; for classes use StackingClassifier"
        ) from None
    if not np.isfinite(values).all():
        raise StackgenError("y holds NaN or infinite values; drop those rows or fill them in")
    return values


def weights(sample_weight, n_rows: int) -> np.ndarray | None:
    """One non-negative weight per row, or None for none (or all ones: no weights at all)."""
    if sample_weight is None:
        return None
    w = _check_sample_weight(sample_weight, np.zeros((n_rows, 1)), dtype=np.float64)
    if (w < 0).any() or not np.isfinite(w).all():
        raise StackgenError("sample_weight must be finite and not negative")
    if w.sum() <= 0:
        raise StackgenError("sample_weight is zero for every row")
    return None if np.all(w == 1) else w


def groups(given, n_rows: int) -> np.ndarray | None:
    """One group label per row (numbers or names), or None."""
    if given is None:
        return None
    labels = np.asarray(given.to_numpy() if isinstance(given, pd.Series) else given)
    if labels.ndim != 1 or len(labels) != n_rows:
        raise StackgenError(
            f"groups has shape {list(labels.shape)}: give one label per row ({n_rows})"
        )
    if pd.isna(pd.Series(labels)).any():
        raise StackgenError("groups holds a missing label: every row needs a group")
    return labels


def order(given, n_rows: int) -> np.ndarray | None:
    """One time per row (numbers, dates or datetime64), as numbers whose order is the rows'
    order in time; or None."""
    if given is None:
        return None
    values = given.to_numpy() if isinstance(given, pd.Series | pd.Index) else np.asarray(given)
    if values.ndim != 1 or len(values) != n_rows:
        raise StackgenError(
            f"order has shape {list(values.shape)}: give one time per row ({n_rows})"
        )
    if np.issubdtype(values.dtype, np.datetime64):
        if np.isnat(values).any():
            raise StackgenError("order holds a missing time (NaT): every row needs one")
        return values.astype("datetime64[ns]").astype(np.int64).astype(np.float64)
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(
        values.dtype, np.complexfloating
    ):
        stamps = pd.to_datetime(pd.Series(values), errors="coerce", format="mixed")
        if stamps.isna().any():
            raise StackgenError("order must hold numbers or dates, one per row")
        return stamps.astype("int64").to_numpy().astype(np.float64)
    values = values.astype(np.float64)
    if not np.isfinite(values).all():
        raise StackgenError("order holds NaN or infinite times: every row needs one")
    return values


# --- arrays -------------------------------------------------------------------------------------


def _refuse_sparse(X) -> None:
    if sparse.issparse(X):  # a dok_matrix is a dict too: not named inputs
        raise StackgenTypeError(
            "X is a sparse matrix; the members read dense rows: give X.toarray() (sparse input "
            "is not supported)"
        )


def _array(estimator, X, reset: bool) -> np.ndarray:
    if isinstance(X, pd.DataFrame):  # columns not all named by strings: an array of numbers
        X = X.to_numpy()
    if getattr(X, "ndim", 2) > 2:  # images, sequences: any row shape
        X = check_array(X, allow_nd=True, dtype=[np.float32, np.float64], ensure_all_finite=True)
        if reset:
            estimator.n_features_in_ = int(np.prod(X.shape[1:]))
        return X.astype(np.float32)
    X = validate_data(estimator, X, reset=reset, dtype=[np.float32, np.float64])
    return np.asarray(X, dtype=np.float32)


def _named_arrays(X: dict) -> dict[str, np.ndarray]:
    if not X:
        raise StackgenError("X is an empty dict; give one array per input the members read")
    rows = {}
    for name, value in X.items():
        if not isinstance(name, str):
            raise StackgenTypeError(f"X's inputs are named by strings; one is named {name!r}")
        array = check_array(
            value,
            allow_nd=True,
            ensure_2d=False,
            dtype=[np.float32, np.float64],
            input_name=f"X[{name!r}]",
        )
        if array.ndim < 2:
            array = array.reshape(-1, 1)
        rows[name] = array.astype(np.float32)
    counts = {name: len(a) for name, a in rows.items()}
    if len(set(counts.values())) != 1:
        raise StackgenError(f"X's inputs have different numbers of rows: {counts}")
    return rows


def _same_shapes(given: dict, fitted: dict) -> None:
    for name, shape in fitted.items():
        if tuple(given.get(name, ())) != tuple(shape):
            label = "" if name == "X" else f" {name!r}"
            raise StackgenError(
                f"X{label} has rows of shape {list(given.get(name, ()))}; the stack was fit on "
                f"rows of shape {list(shape)}"
            )


def labels(y, n_rows: int) -> np.ndarray:
    """y as a 1-D array of one label per row, or one line."""
    if y is None:
        raise StackgenError(
            "requires y to be passed, but the target y is None: stacking learns from labels"
        )
    y = np.asarray(y.to_numpy() if isinstance(y, pd.Series | pd.DataFrame) else y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if y.ndim != 1:
        raise StackgenError(
            f"y has shape {list(y.shape)}; give one label (or value) per row, a 1-D array"
        )
    if len(y) != n_rows:
        raise StackgenError(f"X has {n_rows} rows and y {len(y)} labels")
    return y


# --- a DataFrame: a table ----------------------------------------------------------------------


def _is_table(X) -> bool:
    return isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns)


def _raw_table(frame: pd.DataFrame) -> tables.RawTable:
    if len(frame) == 0:
        raise StackgenError("X has no rows")
    return tables.frame_table(frame, "X")


def _encode_table(frame: pd.DataFrame) -> tuple[np.ndarray, Fitted]:
    table = _raw_table(frame)
    every = np.arange(table.rows)
    # Integer codes read as categories: the columns given pandas's 'category' dtype.
    codes = tuple(c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype))
    options = columns.Options(categorical=codes, said_categorical="category dtype")
    encoded = columns.encode_table(table, table.header, every, options, "X", every)
    fitted = Fitted(
        "table",
        {"X": (encoded.X.shape[1],)},
        [c.as_dict() for c in encoded.columns],
        encoded.transformer,
        encoded.feature_names,
    )
    for line in encoded.warnings:
        warnings.warn(line.removeprefix("warning: "), UserWarning, stacklevel=4)
    return encoded.X, fitted


def _later_table(estimator, X, fitted: Fitted) -> np.ndarray:
    if isinstance(X, dict):
        raise StackgenTypeError("the stack was fit on a table; give X as a DataFrame")
    if not isinstance(X, pd.DataFrame):  # an array of the table's columns, in fit's order
        X = check_array(X, dtype=None, ensure_all_finite=False)
        validate_data(estimator, X, reset=False, skip_check_array=True)  # warns: no names
        X = pd.DataFrame(X, columns=list(estimator.feature_names_in_))
    else:
        validate_data(estimator, X, reset=False, skip_check_array=True)
    table = _raw_table(X)
    rows, _, _ = columns.encode_rows(
        table, {"columns": fitted.table_columns}, fitted.transformer, "X"
    )
    return rows.astype(np.float32)
