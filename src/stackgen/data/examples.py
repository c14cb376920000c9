"""Tables the project did not make, for trying ``--data``: scikit-learn's bundled breast-cancer
(binary, string labels), wine (three classes), diabetes (regression) and digits (8x8 images as 64
pixel columns, ten classes) data sets, written as the CSV files a user would bring (a header row,
the target as the last column)."""

from __future__ import annotations

import csv
import datetime
import importlib
import json
from pathlib import Path

import numpy as np
from sklearn import datasets

from stackgen.trust.errors import StackgenError

# name -> (scikit-learn loader, target column, task)
TABLES = {
    "breast_cancer": ("load_breast_cancer", "diagnosis", "classification"),
    "wine": ("load_wine", "cultivar", "classification"),
    "diabetes": ("load_diabetes", "progression", "regression"),
    "digits": ("load_digits", "digit", "classification"),
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


# Real tables with categorical columns and missing values, shipped inside packages (the
# ``examples`` extra), copied as the files a user would bring: name -> (package, target, what).
PACKAGE_TABLES = {
    "penguins_raw": (
        "palmerpenguins",
        "Sex",
        "the Palmer Station penguins as recorded (palmerpenguins' data/penguins-raw.csv): "
        "344 birds, 17 columns, blanks written NA",
    ),
    "cars": (
        "vega_datasets",
        "Origin",
        "the 406 cars of vega_datasets' _data/cars.json, written as CSV",
    ),
}


def write_package_table(name: str, folder: Path) -> tuple[Path, str]:
    """Write ``folder/<name>.csv`` from the package that ships it; return its path and target.
    A missing package is one ``StackgenError`` line naming the install command."""
    package, target, _ = PACKAGE_TABLES[name]
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise StackgenError(
            f"the {name} table ships in {package}: pip install 'stackgen[examples]'"
        ) from None
    home = Path(module.__file__).parent
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    if name == "penguins_raw":
        path.write_bytes((home / "data" / "penguins-raw.csv").read_bytes())
        return path, target
    records = json.loads((home / "_data" / "cars.json").read_text("utf-8"))
    header = list(records[0])
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(["" if r[h] is None else r[h] for h in header] for r in records)
    return path, target


def write_grouped_table(folder: Path, groups: int = 40, rows_each: int = 9, seed: int = 0) -> Path:
    """``folder/patients.csv``: several rows per patient (``patient``), each patient of one
    class (``outcome``). Every patient's rows share a signature the class does not explain, and
    the class moves two of the six features: a model can learn the patients instead of
    the outcome, which row-wise folds reward and group-wise folds (``--groups patient``) do
    not."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "patients.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["patient", *(f"m{j + 1}" for j in range(6)), "outcome"])
        for g in range(groups):
            outcome = g % 2
            signature = rng.normal(0, 1.5, 6)
            for _ in range(rows_each):
                x = signature + rng.normal(0, 0.3, 6)
                x[:2] += 3.0 * (outcome - 0.5)
                writer.writerow([f"p{g:02d}", *np.round(x, 4), ["well", "ill"][outcome]])
    return path


def write_series_table(folder: Path, rows: int = 360, seed: int = 0) -> Path:
    """``folder/series.csv``: one series in time (``day``, written out of order) whose class
    (``up``) depends on the features through a relation that drifts: a model scored on rows
    from the series' past and future alike (random folds) looks better than one that only ever
    predicts forward (``--time day``)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "series.csv"
    t = np.arange(rows)
    x = rng.normal(0, 1, (rows, 4))
    angle = np.pi * t / rows  # the decision direction turns by half a circle over the series
    margin = np.cos(angle) * x[:, 0] + np.sin(angle) * x[:, 1] + rng.normal(0, 0.3, rows)
    order = rng.permutation(rows)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["day", "a", "b", "c", "d", "up"])
        for i in order:
            day = datetime.date(2025, 1, 1) + datetime.timedelta(days=int(t[i]))
            writer.writerow([day.isoformat(), *np.round(x[i], 4), int(margin[i] > 0)])
    return path
