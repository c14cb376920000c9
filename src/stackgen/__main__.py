"""``python -m stackgen run``: the five steps in one process."""

from stackgen.cli import main

if __name__ == "__main__":
    main()
