"""``python -m stackgen``: run, predict, doctor."""

from stackgen.cli.console import main_then_exit
from stackgen.cli.main import main

if __name__ == "__main__":
    main_then_exit(main)
