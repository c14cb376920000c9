"""scikit-learn objects on disk through skops: written atomically, and read back only when every
type they hold is trusted, by skops itself or by the caller's explicit list, so that nothing in a
file runs code on load.

skops is slow to import, and imported only when a file is written or read (``sio()``), or up front
by ``python -m stackgen run`` when a step may write one. Its import lists scikit-learn's
estimators by importing every scikit-learn package, then looks for the module of each NumPy
ufunc by scanning every loaded module. Two things make that cheaper, without changing what skops
trusts:

* scikit-learn's array-API shims for PyTorch, Dask and CuPy, which hold no estimator, are
  skipped during that walk, unless their library is already imported; otherwise each imports
  its library when it is installed (PyTorch: 2.7 s and about 200 MiB here; Dask, which
  ``make backends`` installs for the cluster: 0.5-0.9 s);
* ``run`` imports it before TensorFlow: the scan then covers hundreds of modules, not
  TensorFlow's thousands (2.6 s less here).
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
from pathlib import Path

from stackgen.trust.atomic import write_atomic
from stackgen.trust.errors import UnreadableFileError, UntrustedFileError

SHIMS = "sklearn.externals.array_api_compat."
SHIMMED = ("torch", "dask", "cupy")  # libraries whose shims import them


class _SkipShims(importlib.abc.MetaPathFinder):
    """Makes a shim whose library is not imported fail to import; scikit-learn's package walk
    skips what fails to import."""

    def find_spec(self, name, path=None, target=None):
        library = name.removeprefix(SHIMS)
        if library != name and library in SHIMMED and library not in sys.modules:
            raise ImportError(f"{name} is skipped while skops lists estimators")
        return None


def sio():
    """skops.io, imported on first use with the array-API shims skipped."""
    if "skops.io" not in sys.modules:
        skip = _SkipShims()
        sys.meta_path.insert(0, skip)
        try:
            import skops.io  # noqa: F401
        finally:
            sys.meta_path.remove(skip)
    return importlib.import_module("skops.io")  # waits for an import another thread began


def save(obj, path: Path) -> Path:
    return write_atomic(path, lambda tmp: sio().dump(obj, tmp))


def dumps(obj) -> bytes:
    return sio().dumps(obj)


def load(path: Path, trusted: list[str]):
    """What a skops file holds, refused (``UntrustedFileError``) if it holds any type not in
    ``trusted`` (beyond those skops trusts itself), instead of running it;
    ``UnreadableFileError`` if it is not a skops file at all (a pickle, a truncated file)."""
    if not Path(path).is_file():
        raise UnreadableFileError(path, "no such file")
    return loads(Path(path).read_bytes(), trusted, path)


def loads(data: bytes, trusted: list[str], where: object = "the skops data"):
    """``load`` for the bytes of a skops file; ``where`` names them in errors."""
    try:
        untrusted = [t for t in sio().get_untrusted_types(data=data) if t not in trusted]
    except Exception as exc:  # noqa: BLE001 - not a skops archive: a pickle, a truncated file
        raise UnreadableFileError(where, exc) from None
    if untrusted:
        raise UntrustedFileError(where, untrusted)
    try:
        return sio().loads(data, trusted=trusted)
    except Exception as exc:  # noqa: BLE001
        raise UnreadableFileError(where, exc) from None
