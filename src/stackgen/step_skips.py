"""Which steps do not apply to a work dir's data and members, and why: one place that the steps,
``run``, ``doctor`` and the report all ask.

Stackgen's own MLPs (step 2's single MLP, step 7's identical and diverse members) read feature
columns and train on the train rows; members trained elsewhere (``--member-files``) may come with
images, sequences or several inputs, and without train arrays. Step 9 draws decision regions over
two features. A step that does not apply says so in one line and is skipped; ``doctor`` and the
report say the same instead of asking for its files. Reads JSON and the split's parameters only:
no Keras.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from stackgen.workdir.paths import split_params

ELSEWHERE = "the members here were trained elsewhere (--member-files)"


def reason(number: int, params: dict, manifest: dict | None) -> str | None:
    """Why step ``number`` does not apply to data described by the split's ``params`` and
    members described by step 3's ``manifest`` (None: no members yet), or None."""
    flat, has_train = _flat(params), int(params.get("train_rows", 1)) > 0
    if number in (2, 7):
        own = "it compares stackgen's own MLP members, which" if number == 7 else "the single MLP"
        verbs = ("train", "read") if number == 7 else ("trains", "reads")
        if number == 7 and manifest and manifest.get("imported"):
            return f"it compares stackgen's own MLP members, and {ELSEWHERE}"
        if not has_train:
            return f"{own} {verbs[0]} on the train rows, and this data has no train arrays"
        if not flat:
            return f"{own} {verbs[1]} feature columns, and this data is not feature columns"
    if number == 9 and (
        params.get("task", "classification") != "classification"
        or not flat
        or _features(params) != 2
    ):
        return "decision regions are drawn for two-feature classification only"
    return None


def figure_reason(name: str, params: dict, manifest: dict | None) -> str | None:
    """Why ``figures/<name>`` is never drawn for this data and these members, or None: the
    step that draws it does not apply, or the figure does not (a scatter needs two feature
    columns, a confusion matrix classes)."""
    if name == "scatter.png" and not _flat(params):
        return "the scatter is drawn over two feature columns, and this data is not columns"
    if name == "scatter.png" and _features(params) < 2:
        return "the scatter is drawn over two feature columns, and this data has one"
    if name == "confusion.png" and params.get("task", "classification") != "classification":
        return "a regression has no classes to confuse"
    step = {"learning_curves.png": 2, "decision_boundaries.png": 9}.get(name)
    return None if step is None else reason(step, params, manifest)


def reason_in(workdir: Path, number: int) -> str | None:
    """``reason`` for the work dir's saved split and members; None where they cannot be read
    (then the step's own checks say what is missing)."""
    found = _saved(workdir)
    return None if found is None else reason(number, *found)


def figure_reason_in(workdir: Path, name: str) -> str | None:
    """``figure_reason`` for the work dir's saved split and members (None: not saved yet)."""
    found = _saved(workdir)
    return None if found is None else figure_reason(name, *found)


def _saved(workdir: Path) -> tuple[dict, dict | None] | None:
    """The split's parameters and step 3's manifest (None: no members yet); None without a
    split."""
    params = split_params(workdir)
    if params is None:
        return None
    try:
        manifest = json.loads((workdir / "models" / "members.json").read_text("utf-8"))
    except Exception:  # noqa: BLE001 - no members yet
        manifest = None
    return params, manifest if isinstance(manifest, dict) else None


def said(number: int, why: str) -> str:
    """The line a skipped step prints."""
    return f"step {number} skipped: {why}"


def _flat(params: dict) -> bool:
    shapes = params.get("inputs")
    if shapes is None:  # the blobs and tables: feature columns
        return True
    return list(shapes) == ["X"] and len(shapes["X"]) == 1


def _features(params: dict) -> int:
    if "inputs" in params:
        return int(sum(np.prod(shape) for shape in params["inputs"].values()))
    if "feature_names" in params:
        return len(params["feature_names"])
    return int(params.get("n_features", 2))
