"""The work dir's split (``data/split.npz``): made by step 1 from the blobs, your table or your
arrays, saved atomically, and read back by every later step, refusing anything a later step could
silently mis-train on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from stackgen import registry
from stackgen.config import Config
from stackgen.data import blobs, inputs
from stackgen.data.split import ArrayFile, Split, TableFile, kind_of
from stackgen.data.task import task_named
from stackgen.trust.atomic import write_atomic
from stackgen.trust.errors import StackgenError
from stackgen.workdir import array_files as npz_arrays
from stackgen.workdir import image_folders
from stackgen.workdir import table_files as tables
from stackgen.workdir.mapped_arrays import all_finite, mapped_if_large
from stackgen.workdir.paths import Paths, corrupt, require

ARRAYS = ("train_X", "train_y", "test_X", "test_y")
# What a split may also hold: each row's group and weight (--groups, --weights).
OPTIONAL = ("train_groups", "test_groups", "train_weights", "test_weights")


def make_split(cfg: Config) -> Split:
    """The user's table (``cfg.data_file``), or the tutorial's blobs."""
    preprocessor = None  # a table's fitted column transformer
    if cfg.data_file is not None and Path(cfg.data_file).is_dir():
        arrays, params = image_folders.load_images(
            Path(cfg.data_file), cfg.test_size, cfg.data_random_state
        )
    elif cfg.data_file is not None and Path(cfg.data_file).suffix == ".npz":
        arrays, params = npz_arrays.load_arrays(Path(cfg.data_file), cfg.task)
    elif cfg.data_file is not None:
        arrays, params, preprocessor = tables.load_table(
            Path(cfg.data_file),
            cfg.target,
            cfg.task,
            cfg.test_size,
            cfg.data_random_state,
            tables.flag_options(cfg.sep, cfg.categorical, cfg.drop),
            tables.Roles(cfg.groups, cfg.time, cfg.weights),
        )
    else:
        params = cfg.data_params()
        arrays = blobs.make_blobs_split(**params)
    problem = _check_arrays(arrays, params)
    if problem:  # never save a split that every later step would refuse
        raise StackgenError(f"step 1 cannot use this data: {problem}; nothing was written")
    return Split(**arrays, params=params, preprocessor=preprocessor)


def save_split(split: Split, path: Path) -> Path:
    arrays = {}
    for name in ARRAYS:
        value = getattr(split, name)
        if isinstance(value, dict):  # several inputs: train_X_<name>, test_X_<name>
            arrays.update({f"{name}_{key}": a for key, a in value.items()})
        else:
            arrays[name] = value
    for name in OPTIONAL:
        if getattr(split, name) is not None:
            arrays[name] = getattr(split, name)
    params = np.array(json.dumps(split.params, sort_keys=True))

    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:  # a file object, so numpy does not append ".npz" to the name
            np.savez(fh, params_json=params, **arrays)

    return write_atomic(path, write)


def load_split(paths: Paths) -> Split:
    """Load ``data/split.npz``, refusing anything a later step could silently mis-train on."""
    path = require(paths.data, paths)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "params_json" not in npz.files:
                raise ValueError("missing arrays params_json")
            params = json.loads(str(npz["params_json"]))
            names = params.get("input_names")
            several = [f"{k}_{n}" for k in ARRAYS if k.endswith("_X") for n in names or []]
            expected = [k for k in ARRAYS if not (names and k.endswith("_X"))] + several
            missing = [k for k in expected if k not in npz.files]
            if missing:
                raise ValueError(f"missing arrays {', '.join(missing)}")
            arrays = {}
            for k in ARRAYS:  # inputs too large to load are mapped from the file
                if k.endswith("_X") and names:
                    arrays[k] = {n: mapped_if_large(path, npz, f"{k}_{n}") for n in names}
                else:
                    arrays[k] = mapped_if_large(path, npz, k) if k.endswith("_X") else npz[k]
            arrays.update({k: npz[k] for k in OPTIONAL if k in npz.files})
    except Exception as exc:  # zip, pickle, key and JSON errors all mean the same to the user
        raise corrupt(path, paths, exc) from None
    problem = _check_arrays(arrays, params)
    if problem:
        raise corrupt(path, paths, problem)
    y_type = task_named(params.get("task", "classification")).label_dtype
    return Split(
        inputs.as_float32(arrays["train_X"]),
        arrays["train_y"].astype(y_type),
        inputs.as_float32(arrays["test_X"]),
        arrays["test_y"].astype(y_type),
        params,
        **{k: arrays[k] for k in OPTIONAL if k in arrays},
    )


def _check_arrays(arrays: dict, params: dict) -> str | None:
    own_arrays = kind_of(params) is ArrayFile  # any row shape; maybe no training rows
    for part in ("train", "test"):
        X, y = arrays[f"{part}_X"], arrays[f"{part}_y"]
        if isinstance(X, dict) != bool(params.get("input_names")):
            return f"{part}_X does not have the inputs params_json names"
        for a in X.values() if isinstance(X, dict) else [X]:
            if a.ndim < 2 or (a.ndim != 2 and not own_arrays) or y.ndim != 1 or len(a) != len(y):
                return f"{part} arrays have shapes {a.shape} and {y.shape}"
            if not np.issubdtype(a.dtype, np.number):
                return f"{part} arrays have dtypes {a.dtype} and {y.dtype}"
            if not all_finite(a):
                return f"{part}_X holds NaN or infinite values"
        if len(y) == 0 and not (own_arrays and part == "train"):
            return f"{part} arrays have no rows"
        label_type = np.floating if params.get("task") == "regression" else np.integer
        if not np.issubdtype(y.dtype, label_type):
            x_types = {a.dtype for a in (X.values() if isinstance(X, dict) else [X])}
            return f"{part} arrays have dtypes {', '.join(map(str, x_types))} and {y.dtype}"
        if params.get("task") == "regression" and not np.isfinite(y).all():
            return f"{part}_y holds NaN or infinite values"
    if inputs.shapes(arrays["train_X"]) != inputs.shapes(arrays["test_X"]):
        return "train and test have different numbers of features"
    for name in OPTIONAL:
        part = name.split("_")[0]
        if name in arrays and arrays[name].shape != arrays[f"{part}_y"].shape:
            return f"{name} does not have one value per {part} row"
    if ("train_groups" in arrays) != ("test_groups" in arrays):
        return "groups are given for one part only"
    if ("train_weights" in arrays) != ("test_weights" in arrays):
        return "weights are given for one part only"
    for name in ("train_weights", "test_weights"):
        if name in arrays and not (
            np.issubdtype(arrays[name].dtype, np.floating)
            and np.isfinite(arrays[name]).all()
            and arrays[name].min(initial=0) >= 0
        ):
            return f"{name} holds values that are not weights (0 or more, finite)"
        if name in arrays and len(arrays[name]) and arrays[name].sum() <= 0:
            return f"{name} are 0 for every row: those rows would count for nothing"
    if params.get("task") == "regression":
        return None
    n_classes = params.get("centers", len(params.get("class_names", [])))
    if not isinstance(n_classes, int) or n_classes < 2:
        return "params_json has no valid class count"
    labels = np.concatenate([arrays["train_y"], arrays["test_y"]]).astype(np.int64)
    if labels.min() < 0 or labels.max() >= n_classes:
        return f"labels outside 0..{n_classes - 1}"
    return None


def check_same_data(cfg: Config) -> None:
    """A later step given --data: refuse if step 1 made the work dir's split from other data."""
    paths = Paths.of(cfg)
    split = load_split(paths)
    try:
        digest = tables.file_digest(Path(cfg.data_file))
    except OSError:
        digest = None
    source = split.source
    kind = ArrayFile if cfg.target is None else TableFile
    if (
        not isinstance(source, kind)
        or source.sha256 != digest
        or getattr(source, "target", None) != cfg.target
    ):
        target = "" if cfg.target is None else f" with --target {cfg.target}"
        raise StackgenError(
            f"{paths.rel(paths.data)} was made from {split.describe()}, not "
            f"from {cfg.data_file.name}{target}: run "
            f"{registry.step(1).script}{cfg.identity_flags()} first"
        )
