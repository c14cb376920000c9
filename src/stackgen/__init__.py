"""stackgen: stacked generalization of Keras networks, as scikit-learn estimators.

    import stackgen
    stack = stackgen.StackingClassifier(
        members=[stackgen.tutorial_mlp()] * 5, cv=5, random_state=1
    ).fit(X_train, y_train)
    stack.compare(X_test, y_test)

The estimators (``stackgen.api``) are imported on first use, so ``python -m stackgen`` and its
first step start without Keras; nothing here imports the command line (``stackgen.cli``).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS = {
    "StackingClassifier": "stackgen.api.estimator",
    "StackingRegressor": "stackgen.api.estimator",
    "load": "stackgen.api.estimator",
    "tutorial_mlp": "stackgen.methods.members",
    "small_cnn": "stackgen.methods.members",
    "NetworkHead": "stackgen.methods.integrated",
    "final_estimator_names": "stackgen.api.estimator",
    "StackgenError": "stackgen.trust.errors",
    "expected_failed_checks": "stackgen.api.estimator",
}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'stackgen' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
