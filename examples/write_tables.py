"""Write tables to try --data on, as CSV files in examples/data (or FOLDER):

* scikit-learn's breast-cancer, wine and diabetes tables (numbers only);
* two real tables with categorical columns and missing values that ship inside packages (the
  ``examples`` extra: pip install 'stackgen[examples]'): the Palmer penguins as recorded
  (palmerpenguins) and the cars of vega_datasets;
* two made-up tables whose rows are not independent: patients.csv (9 rows for each of 40
  patients: --groups patient) and series.csv (a drifting series: --time day).

    .venv/bin/python examples/write_tables.py [FOLDER]

then, for example:

    .venv/bin/python -m stackgen run --data examples/data/penguins_raw.csv --target Sex
    .venv/bin/python -m stackgen run --data examples/data/patients.csv --target outcome \
        --groups patient
"""

import sys
from pathlib import Path

from stackgen.data.examples import (
    PACKAGE_TABLES,
    TABLES,
    write_grouped_table,
    write_package_table,
    write_series_table,
    write_table,
)
from stackgen.trust.errors import StackgenError

if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data"
    for name in TABLES:
        path, target = write_table(name, folder)
        print(f"wrote {path}  (--target {target})")
    for name in PACKAGE_TABLES:
        try:
            path, target = write_package_table(name, folder)
        except StackgenError as exc:
            print(f"skipped {name}: {exc}", file=sys.stderr)
            continue
        print(f"wrote {path}  (--target {target})")
    print(f"wrote {write_grouped_table(folder)}  (--target outcome --groups patient)")
    print(f"wrote {write_series_table(folder)}  (--target up --time day)")
