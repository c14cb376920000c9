"""What a command's process leaves unimported when the optional extras are installed: JAX under
the TensorFlow backend (``cli/lean_imports.py``), and PyTorch and Dask while skops lists
scikit-learn's estimators (``trust/skops_files.py``); and that each still imports when asked
for. Each check runs in a fresh interpreter, where nothing is imported yet."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest


def _python(code: str, backend: str = "tensorflow") -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "KERAS_BACKEND": backend},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split()


def test_tensorflow_and_keras_come_without_jax_and_jax_still_imports():
    if importlib.util.find_spec("jax") is None:
        pytest.skip("JAX is not installed (make backends)")
    code = (
        "import sys; from stackgen.cli import lean_imports; {install}"
        "import tensorflow, keras; print('jax' in sys.modules);"
        "import jax; print(jax.numpy.add(1, 2))"
    )
    assert _python(code.format(install="lean_imports.install();")) == ["False", "3"]
    assert _python(code.format(install="")) == ["True", "3"]  # what the refusal saves
    # Under Keras's JAX backend, JAX is imported as the backend: nothing is refused.
    assert _python(code.format(install="lean_imports.install();"), "jax") == ["True", "3"]


def test_skops_lists_estimators_without_importing_pytorch_or_dask():
    installed = [name for name in ("torch", "dask") if importlib.util.find_spec(name)]
    if not installed:
        pytest.skip("neither PyTorch nor Dask is installed (make backends)")
    code = (
        "import sys; from stackgen.trust import skops_files; skops_files.sio();"
        f"print(*[name in sys.modules for name in {installed!r}]);"
        "import sklearn.externals.array_api_compat.dask.array;"  # the shim, when asked for
        "print('dask' in sys.modules)"
    )
    if "dask" not in installed:
        code = code.rsplit("import sklearn", 1)[0] + "print(True)"
    assert _python(code) == ["False"] * len(installed) + ["True"]
