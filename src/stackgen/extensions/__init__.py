"""Steps 6-11: the experiments the tutorial leaves as exercises, the repeat study and the report,
one module per numbered script (``scripts/NN_*.py``)."""
