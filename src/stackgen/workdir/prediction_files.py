"""``--predictions FILE.npz``: members' predictions made anywhere, read safely and checked
(``methods/predictions.py``), as a split whose members' outputs are given.

The archive holds ``oof`` [training rows, members, outputs] and ``train_y``; optionally
``test`` [test rows, members, outputs] and ``test_y``, ``members`` (their names), ``folds`` (each
training row's fold, -1 where none predicted it) and ``groups`` (each training row's group). It
is read with ``allow_pickle=False``: an object array is refused, never unpickled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stackgen.data.split import Split
from stackgen.data.task import task_named
from stackgen.methods import predictions
from stackgen.trust.errors import StackgenError
from stackgen.workdir.array_files import label_task, read_npz
from stackgen.workdir.table_files import file_digest

ARRAYS = ("oof", "train_y", "test", "test_y", "members", "folds", "groups")


def load(path: Path, task: str) -> tuple[Split, predictions.Predictions]:
    """The file's predictions checked, and the split the protocols read: a placeholder X (one
    zero per row), labels as class indices (or values), the members' outputs beside it."""
    where = f"--predictions {path}"
    raw = _read(path, where)
    for name in ("oof", "train_y"):
        if name not in raw:
            raise StackgenError(
                f"{where}: no {name} array: the file needs oof [training rows, members, "
                "outputs] and train_y, and may have test, test_y, members, folds and groups"
            )
    parts = [np.asarray(raw[k]).reshape(-1) for k in ("train_y", "test_y") if k in raw]
    chosen, reason = label_task(np.concatenate(parts), task, where)
    given = predictions.check(
        task_named(chosen),
        raw["oof"],
        raw["train_y"],
        raw.get("test"),
        raw.get("test_y"),
        raw.get("members"),
        raw.get("folds"),
        raw.get("groups"),
        where,
    )
    if given.test is None:
        raise StackgenError(
            f"{where}: no test and test_y arrays: every protocol scores the stack on rows the "
            "members never trained on; add the members' predictions on such rows"
        )
    params = {
        "source": "predictions",
        "file": str(path),
        "file_name": path.name,
        "sha256": file_digest(path),
        "task": chosen,
        "task_reason": reason,
        "members": given.names,
    }
    if given.classes is not None:
        params["class_names"] = [str(c) for c in given.classes.tolist()]
    y_type = task_named(chosen).label_dtype
    split = Split(
        np.zeros((len(given.train_y), 1), np.float32),
        given.train_y.astype(y_type),
        np.zeros((len(given.test_y), 1), np.float32),
        given.test_y.astype(y_type),
        params,
    )
    return split, given


def _read(path: Path, where: str) -> dict[str, np.ndarray]:
    raw = read_npz(path, where)
    unknown = [name for name in raw if name not in ARRAYS]
    if unknown:
        raise StackgenError(
            f"{where}: unexpected array {unknown[0]!r}: the arrays are " + ", ".join(ARRAYS)
        )
    return raw
