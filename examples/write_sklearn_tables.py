"""Write scikit-learn's breast-cancer, wine and diabetes tables as CSV files to try --data on.

    .venv/bin/python examples/write_sklearn_tables.py [FOLDER]     (default: examples/data)

then, for example:

    .venv/bin/python -m stackgen run --data examples/data/wine.csv --target cultivar
"""

import sys
from pathlib import Path

from stackgen.examples import TABLES, write_table

if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "data"
    for name in TABLES:
        path, target = write_table(name, folder)
        print(f"wrote {path}  (--target {target})")
