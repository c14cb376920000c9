"""scikit-learn objects on disk through skops: written atomically, and read back only when every
type they hold is trusted, by skops itself or by the caller's explicit list, so that nothing in a
file runs code on load. skops takes seconds to import (2-6 s: it imports every scikit-learn
module, and through scikit-learn's array-API shims PyTorch when it is installed), so it is imported
only when a file is written or read: never for the blobs' step 1, once for step 4's meta-learner."""

from __future__ import annotations

from pathlib import Path

from stackgen.trust.atomic import write_atomic
from stackgen.trust.errors import StackgenError
from stackgen.trust.paths import Paths, corrupt, remake_hint, require


def save(obj, path: Path) -> Path:
    import skops.io as sio

    return write_atomic(path, lambda tmp: sio.dump(obj, tmp))


def load(path: Path, paths: Paths, trusted: list[str]):
    """What a skops file holds, refused in one line if it holds any type not in ``trusted``
    (beyond those skops trusts itself), instead of running it."""
    import skops.io as sio

    require(path, paths)
    try:
        untrusted = [t for t in sio.get_untrusted_types(file=path) if t not in trusted]
    except Exception as exc:  # noqa: BLE001 - not a skops archive: a pickle, a truncated file
        raise corrupt(path, paths, exc) from None
    if untrusted:
        raise StackgenError(
            f"{paths.rel(path)} holds types this project does not trust "
            f"({', '.join(untrusted[:3])}); refusing to load it: {remake_hint(path, paths)}"
        )
    try:
        return sio.load(path, trusted=trusted)
    except Exception as exc:  # noqa: BLE001
        raise corrupt(path, paths, exc) from None
