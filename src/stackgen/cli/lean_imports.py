"""What a command's process does not import: JAX, where only an optional path of TensorFlow or
Keras would use it.

When JAX is installed (``make backends`` installs it for the tests), importing TensorFlow and
Keras under the TensorFlow backend imports JAX as well: TensorFlow's TFLite converter for its
JAX-to-TFLite path (``from jax import jit``, None when that fails), and Keras's Orbax
checkpoint callback for a patch to ``jax.monitoring`` (skipped when that fails). That is about
130 MiB and half a second here in every run, for a converter and a callback no command uses. A
command's process refuses those two imports; under Keras's JAX backend JAX is already imported
before them (so nothing is refused), and every other import of JAX (a user's own code, the
``doctor``'s check) goes through as usual.
"""

from __future__ import annotations

import importlib.abc
import sys

# The modules whose import of JAX is refused.
OPTIONAL_USERS = ("tensorflow.lite.python.util", "keras.src.callbacks.orbax_checkpoint")


class _NoJaxForOptionalPaths(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "jax" and _importer() in OPTIONAL_USERS:
            raise ImportError("JAX is not imported for an optional path of TensorFlow or Keras")
        return None


def _importer() -> str | None:
    """The module whose code is importing now: the innermost frame outside importlib."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not name.startswith("importlib") and name != __name__:
            return name
        frame = frame.f_back
    return None


def install() -> None:
    """From now on in this process, those optional paths do without JAX."""
    if not any(isinstance(f, _NoJaxForOptionalPaths) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoJaxForOptionalPaths())
