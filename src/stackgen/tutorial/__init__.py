"""The tutorial's five steps, one module per numbered script (``scripts/0N_*.py``)."""
