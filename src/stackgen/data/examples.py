"""Tables the project did not make, for trying ``--data``: scikit-learn's bundled breast-cancer
(binary, string labels), wine (three classes) and diabetes (regression) data sets, written as the
CSV files a user would bring (a header row, the target as the last column)."""

from __future__ import annotations

import csv
from pathlib import Path

from sklearn import datasets

# name -> (scikit-learn loader, target column, task)
TABLES = {
    "breast_cancer": ("load_breast_cancer", "diagnosis", "classification"),
    "wine": ("load_wine", "cultivar", "classification"),
    "diabetes": ("load_diabetes", "progression", "regression"),
}


def write_table(name: str, folder: Path) -> tuple[Path, str]:
    """Write ``folder/<name>.csv``; return its path and its target column."""
    loader, target, task = TABLES[name]
    bunch = getattr(datasets, loader)()
    labels = (
        bunch.target.tolist()
        if task == "regression"
        else [str(bunch.target_names[t]) for t in bunch.target]
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*bunch.feature_names, target])
        writer.writerows([*x, y] for x, y in zip(bunch.data.tolist(), labels, strict=True))
    return path, target
