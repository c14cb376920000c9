"""``python -m stackgen predict``: classify new points with the saved members and both stacks.

Reads CSV (a file or standard input): one point per row, the training features as columns, an
optional header row. Prints CSV in long form, one line per point and model:

    point,model,class,p_class_0,p_class_1,p_class_2

This is the one place that loads a saved meta-learner, so everything is loaded safely: Keras
models with ``safe_mode`` (no Lambda code runs), the meta-learner through skops with an explicit
list of trusted types (no pickle).
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from stackgen import lineage
from stackgen.artifacts import Paths, StackgenError, read_json
from stackgen.config import Config


def read_points(text: str, n_features: int) -> np.ndarray:
    """Parse CSV text into [points, n_features] floats; one clear error for any bad line."""
    reader = csv.reader(io.StringIO(text))
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    if rows and not _numeric(rows[0][1]):
        rows = rows[1:]  # a header
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
    import sys

    from stackgen import data, integrated, members, stacking, training

    paths = Paths.of(cfg)
    split = data.load_split(paths)
    text = sys.stdin.read() if input_path in (None, "-") else _read_file(input_path)
    X = read_points(text, split.n_features)
    models = members.load_members(paths, split)
    passthrough = bool(read_json(paths.result("stack_logistic.json"), 4, paths).get("passthrough"))
    meta = stacking.load_meta(paths.meta_logistic_for(protocol), paths)
    network = members.load_model(paths.stacked_network_for(protocol), 5, paths)
    lineage.verify(paths, paths.stacked_network_for(protocol), 5)
    P = np.stack(members.member_probabilities(models, X), axis=1)
    outputs = {m.name: P[:, i] for i, m in enumerate(models)}
    outputs["logistic_stack"] = meta.predict_proba(integrated.head_inputs(P, X, passthrough))
    outputs["integrated_network"] = training.predict_proba(network, X)
    header = ["point", "model", "class", *(f"p_class_{c}" for c in range(split.n_classes))]
    print(",".join(header))
    for point in range(len(X)):
        for name, probs in outputs.items():
            p = probs[point]
            print(f"{point + 1},{name},{int(np.argmax(p))}," + ",".join(f"{v:.4f}" for v in p))
    return {name: probs.tolist() for name, probs in outputs.items()}


def _read_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise StackgenError(
            f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
