"""scikit-learn objects on disk through skops: written atomically, and read back only when every
type they hold is trusted, by skops itself or by the caller's explicit list, so that nothing in a
file runs code on load.

skops is slow to import, and imported only when a file is written or read (``sio()``), or up front
by ``python -m stackgen run`` when a step may write one. Its import lists scikit-learn's
estimators by importing every scikit-learn package, then looks for the module of each NumPy
ufunc by scanning every loaded module. Two things make that cheaper, without changing what skops
trusts:

* scikit-learn's array-API shim for PyTorch, which holds no estimator, is skipped during that
  walk; otherwise it imports PyTorch when it is installed (2.7 s and about 200 MiB here);
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

TORCH_SHIM = "sklearn.externals.array_api_compat.torch"


class _SkipTorchShim(importlib.abc.MetaPathFinder):
    """Makes the shim fail to import; scikit-learn's package walk skips what fails to import."""

    def find_spec(self, name, path=None, target=None):
        if name == TORCH_SHIM and "torch" not in sys.modules:
            raise ImportError(f"{TORCH_SHIM} is skipped while skops lists estimators")
        return None


def sio():
    """skops.io, imported on first use with the PyTorch shim skipped."""
    if "skops.io" not in sys.modules:
        skip = _SkipTorchShim()
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
