"""``python -m stackgen``: run, predict, doctor."""

from stackgen.cli.main import main

if __name__ == "__main__":
    main()
