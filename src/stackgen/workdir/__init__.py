"""The work dir the numbered steps share: where each file lives (paths), what it was made from
(lineage), who may write (the lock), the settings refused at the door, and each step's files
written and read back (the split, the members, the meta-learners, what predict serves). The
command line's side of the project: nothing in the estimators imports it."""
