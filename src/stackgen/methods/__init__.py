"""What the steps are made of: training, members, protocols, meta-learners, the integrated
network, and the tables and statistics of the experiments."""
