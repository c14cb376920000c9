"""The command line: ``python -m stackgen`` (run, predict, doctor) and the numbered scripts'
shared flags, one-line errors and live, filtered stderr."""
