"""The machinery that makes the files trustworthy: where they live, how they are written (atomic),
who may write (the lock), what each was made from (lineage) and how they are read back (safely)."""
