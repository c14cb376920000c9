"""The public estimators: ``StackingClassifier`` and ``StackingRegressor`` (``estimator.py``),
how they read X (``data.py``), export to one Keras model (``export.py``) and save to one file
(``saving.py``). ``import stackgen`` gives all of them; nothing here imports the command line."""
