"""stackgen: stacked generalization of Keras MLPs, a runnable replication of the tutorial."""

__version__ = "0.1.0"
