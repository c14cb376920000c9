"""``python -m stackgen predict``: classify new points with the saved members and both stacks.

Reads CSV (a file or standard input): one point per row, the training features as columns, an
optional header row. Prints CSV in long form, one line per point and model:

    point,model,class,p_class_0,p_class_1,p_class_2

For a model trained on your own table (``--data``), points are given in the table's own units
(they are standardised with the training rows' statistics saved by step 1); with a header row
naming the feature columns, columns are matched by name, so the original table (target column
included) can be fed back. Classes print by name; a regression prints ``point,model,prediction``
in the target's own units.

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

import numpy as np

from stackgen.config import Config
from stackgen.data.split import load_split
from stackgen.methods import members, metalearner_files, metalearners, training
from stackgen.trust import lineage
from stackgen.trust.errors import StackgenError
from stackgen.trust.paths import Paths
from stackgen.trust.safe_load import load_keras_model


def read_points(text: str, n_features: int, names: list[str] | None = None) -> np.ndarray:
    """Parse CSV text into [points, n_features] floats; one clear error for any bad line.

    With feature ``names`` and a header row holding all of them, those columns are taken by
    name, in training order, and any other column is ignored."""
    reader = csv.reader(io.StringIO(text))
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    if rows and not _numeric(rows[0][1]):
        header = [cell.strip() for cell in rows[0][1]]
        rows = rows[1:]  # a header
        if names and set(names) <= set(header) and header != names:
            pick = [header.index(n) for n in names]
            rows = [(line, [row[i] if i < len(row) else "" for i in pick]) for line, row in rows]
    if not rows:
        raise StackgenError(f"no points to predict: give CSV rows of {n_features} numbers each")
    points = []
    for line, row in rows:
        shown = ",".join(row)[:60]
        if len(row) != n_features or not _numeric(row):
            raise StackgenError(f"line {line}: expected {n_features} numbers, got {shown!r}")
        values = [float(cell) for cell in row]
        if not all(math.isfinite(v) for v in values):
            raise StackgenError(f"line {line}: NaN or infinite value in {shown!r}")
        points.append(values)
    return np.asarray(points, dtype=np.float32)


def _numeric(row: list[str]) -> bool:
    try:
        [float(cell) for cell in row]
    except ValueError:
        return False
    return True


def predict(cfg: Config, input_path: str | None, protocol: str) -> dict:
    paths = Paths.of(cfg)
    split = load_split(paths)
    text = sys.stdin.read() if input_path in (None, "-") else _read_file(input_path)
    X = read_points(text, split.n_features, split.params.get("feature_names"))
    if "feature_mean" in split.params:  # your own table: standardise as step 1 did
        X = (X - np.asarray(split.params["feature_mean"], dtype=np.float32)) / np.asarray(
            split.params["feature_std"], dtype=np.float32
        )
    models = members.load_members(paths, split)
    meta, kind = metalearner_files.load_served(paths, protocol, len(models) * split.n_outputs)
    network = load_keras_model(paths.stacked_network_for(protocol), paths)
    lineage.verify(paths, paths.stacked_network_for(protocol))
    P = np.stack(members.member_probabilities(models, X), axis=1)
    outputs = {m.name: P[:, i] for i, m in enumerate(models)}
    outputs[metalearners.stack_name(kind)] = meta.predict_proba(P, X)
    outputs["integrated_network"] = training.predict_proba(network, X)
    if split.task.name == "regression":
        mean, scale = float(split.params["target_mean"]), split.target_scale
        outputs = {name: values[:, 0] * scale + mean for name, values in outputs.items()}
        print("point,model,prediction")
        for point in range(len(X)):
            for name, values in outputs.items():
                print(f"{point + 1},{name},{values[point]:.6g}")
        return {name: values.tolist() for name, values in outputs.items()}
    names = split.class_names if "class_names" in split.params else None
    columns = (
        [f"p_{n}" for n in names] if names else [f"p_class_{c}" for c in range(split.n_classes)]
    )
    print(",".join(["point", "model", "class", *(_csv_cell(c) for c in columns)]))
    for point in range(len(X)):
        for name, probs in outputs.items():
            p = probs[point]
            best = int(np.argmax(p))
            label = _csv_cell(names[best]) if names else str(best)
            print(f"{point + 1},{name},{label}," + ",".join(f"{v:.4f}" for v in p))
    return {name: probs.tolist() for name, probs in outputs.items()}


def _csv_cell(text: str) -> str:
    """A class name as one CSV field, quoted if it needs to be."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([text])
    return out.getvalue()


def _read_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise StackgenError(
            f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
