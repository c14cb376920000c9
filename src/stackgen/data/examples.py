"""Tables the project did not make, for trying ``--data``: scikit-learn's bundled breast-cancer
(binary, string labels), wine (three classes), diabetes (regression) and digits (8x8 images as 64
pixel columns, ten classes) data sets, written as the CSV files a user would bring (a header row,
the target as the last column)."""

from __future__ import annotations

import csv
import importlib
import json
from pathlib import Path

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
