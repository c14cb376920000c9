"""What every artifact was made from, and the check that it still matches.

``<workdir>/lineage.json`` holds one record per artifact: the step that made it, the settings,
the library versions, its own content hash, and the content hash of every file it was made from.
Before a step uses an artifact it verifies that the artifact is the one the record describes and
that none of its inputs changed since: a user who regenerates the data and forgets step 3 gets
one line saying so, not accuracies of models trained on other data. ``--force`` turns the
refusal into a warning.

Content hashes: SHA-256 of the file, except for ``.npz`` files, whose zip headers carry a
timestamp: there the hash covers each array's name, dtype, shape and bytes, so the same data
saved twice hashes the same.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from stackgen import registry
from stackgen.data.inputs import blocks
from stackgen.trust.atomic import write_json
from stackgen.trust.errors import CorruptArtifactError, StaleArtifactError
from stackgen.workdir.mapped_arrays import mapped
from stackgen.workdir.paths import Paths


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            for name in sorted(npz.files):
                found = mapped(path, name)  # read from the file a block at a time, uncopied
                array = npz[name] if found is None else found
                digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
                # The same bytes as the whole array's, a block of rows at a time.
                for block in blocks(array) if array.ndim else [array]:
                    digest.update(np.ascontiguousarray(block).tobytes())
    else:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def load_store(paths: Paths) -> dict:
    """Every record in the work dir (none before the first step), or one line if the file of
    records is unreadable: every artifact would otherwise look made by hand."""
    if not paths.lineage.exists():
        return {}
    try:
        store = json.loads(paths.lineage.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise unreadable(paths, exc) from None
    if not isinstance(store, dict):
        raise unreadable(paths, "not a JSON object")
    return store


def unreadable(paths: Paths, why: object) -> CorruptArtifactError:
    reason = str(why).strip().splitlines()[0] if str(why).strip() else type(why).__name__
    where = paths.rel(paths.lineage)
    return CorruptArtifactError(
        f"{where} could not be read ({reason[:120]}); it records what every file here was made "
        f"from: move it aside, then run python -m stackgen run{paths.flags}{paths.member_flags} "
        "to make every file and its record again"
    )


def versions() -> dict:
    found = {"python": platform.python_version()}
    for name in ("numpy", "scikit-learn", "keras", "tensorflow", "skops"):
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    if "keras" in sys.modules:
        found["keras_backend"] = sys.modules["keras"].backend.backend()
    return found


def record(paths: Paths, step: int, outputs: list[Path], inputs: list[Path], params: dict) -> Path:
    """Write the lineage of ``outputs``, made by step number ``step`` from ``inputs`` with
    ``params``. Every output must be one the registry says that step makes."""
    strays = [paths.rel(p) for p in outputs if not registry.step(step).makes(paths.rel(p))]
    if strays:
        raise ValueError(f"step {step} is not registered as writing {', '.join(strays)}")
    store = load_store(paths)
    made_from = {paths.rel(p): content_hash(p) for p in inputs}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for out in outputs:
        store[paths.rel(out)] = {
            "step": step,
            "made": now,
            "hash": content_hash(out),
            "inputs": made_from,
            "params": params,
            "versions": versions(),
        }
    return write_json(paths.lineage, dict(sorted(store.items())))


def problem(paths: Paths, artifact: Path, store: dict | None = None) -> str | None:
    """Why ``artifact`` cannot be trusted as made, or None."""
    store = load_store(paths) if store is None else store
    name = paths.rel(artifact)
    entry = store.get(name)
    if not isinstance(entry, dict) or "hash" not in entry:
        return f"{name} has no lineage record (made by hand, or by an older stackgen)"
    inputs = entry.get("inputs", {})
    if not isinstance(entry["hash"], str) or not isinstance(inputs, dict):
        return f"{name}'s lineage record is not one stackgen wrote"
    if content_hash(artifact) != entry["hash"]:
        return f"{name} changed after step {entry.get('step', '?')} made it"
    for source, expected in inputs.items():
        path = paths.workdir / source
        if not path.is_file():
            return f"{source}, which {name} was made from, is gone"
        if content_hash(path) != expected:
            return f"{source} changed after {name} was made from it"
    return None


def verify(paths: Paths, artifact: Path) -> None:
    """Refuse ``artifact`` if its lineage does not hold, unless forced."""
    why = problem(paths, artifact)
    if why is None:
        return
    if paths.force:
        print(f"warning: {why}; using it anyway (--force)", file=sys.stderr, flush=True)
        return
    maker = registry.maker_of(paths.rel(artifact))
    members = paths.member_flags if maker.number == 3 else ""
    raise StaleArtifactError(
        f"{why}: re-run {maker.script}{paths.flags}{members} (or add --force to use it anyway)"
    )
