"""What the estimators and the steps are made of: training, members, protocols, meta-learners,
the integrated network, and the tables and statistics of the experiments. Knows nothing of
files, flags or the work dir."""
