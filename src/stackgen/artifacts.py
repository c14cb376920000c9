"""Where every artifact lives, which step makes it, and how it is written safely.

All paths hang off one work directory (``--workdir``), never the current directory. Every write
goes to a temporary file in the same directory and is renamed into place, so an interrupted step
never leaves a half-written file that a later step could load.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The scripts, in run order; error messages name the one that makes a missing file.
STEP_SCRIPTS = {
    1: "scripts/01_make_data.py",
    2: "scripts/02_single_mlp.py",
    3: "scripts/03_train_members.py",
    4: "scripts/04_stack_logistic.py",
    5: "scripts/05_stack_integrated.py",
}


class StackgenError(Exception):
    """A problem the user can fix; the CLI prints it as one line and exits non-zero."""


class MissingArtifactError(StackgenError):
    pass


class CorruptArtifactError(StackgenError):
    pass


def remake_hint(step: int) -> str:
    return f"run {STEP_SCRIPTS[step]} (or python -m stackgen run)"


@dataclass(frozen=True)
class Paths:
    workdir: Path
    force: bool = False  # use artifacts whose lineage does not hold, with a warning

    @classmethod
    def of(cls, cfg) -> Paths:
        return cls(cfg.workdir, cfg.force)

    @property
    def data(self) -> Path:
        return self.workdir / "data" / "split.npz"

    @property
    def models_dir(self) -> Path:
        return self.workdir / "models"

    def member(self, index: int) -> Path:
        return self.models_dir / f"member_{index}.keras"

    @property
    def members_manifest(self) -> Path:
        # Lists exactly the members of the latest step-3 run; later steps read it, never a glob.
        return self.models_dir / "members.json"

    @property
    def oof(self) -> Path:
        # Out-of-fold member predictions on the training rows, for the cv protocol.
        return self.models_dir / "oof_predictions.npz"

    def meta_logistic_for(self, protocol: str) -> Path:
        suffix = "" if protocol == "tutorial" else f"_{protocol}"
        return self.models_dir / f"meta_logistic{suffix}.skops"

    def stacked_network_for(self, protocol: str) -> Path:
        suffix = "" if protocol == "tutorial" else f"_{protocol}"
        return self.models_dir / f"stacked_network{suffix}.keras"

    @property
    def meta_logistic(self) -> Path:
        return self.meta_logistic_for("tutorial")

    @property
    def stacked_network(self) -> Path:
        return self.stacked_network_for("tutorial")

    def figure(self, name: str) -> Path:
        return self.workdir / "figures" / name

    def result(self, name: str) -> Path:
        return self.workdir / "results" / name

    def rel(self, path: Path) -> str:
        """A path as printed: relative to the work dir when inside it."""
        try:
            return str(path.relative_to(self.workdir))
        except ValueError:
            return str(path)


def require(path: Path, step: int, paths: Paths) -> Path:
    """Return ``path`` if it exists, else fail naming the step that makes it."""
    if not path.is_file():
        raise MissingArtifactError(f"{paths.rel(path)} is missing: {remake_hint(step)}")
    return path


def corrupt(path: Path, step: int, paths: Paths, why: object) -> CorruptArtifactError:
    reason = str(why).strip().splitlines()[0] if str(why).strip() else type(why).__name__
    return CorruptArtifactError(
        f"{paths.rel(path)} could not be read ({reason[:160]}): {remake_hint(step)}"
    )


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary name keeps ``path``'s suffix because Keras and Matplotlib choose the format
    from it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # Temporary files of a run that was killed: garbage, since one run at a time writes here.
    for leftover in path.parent.glob(f".{path.stem}.*.tmp{path.suffix}"):
        leftover.unlink(missing_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        fault_point(f"before-rename:{path.name}")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def fault_point(name: str) -> None:
    """Crash-safety tests set STACKGEN_FAULT=<name> to SIGKILL the run exactly here."""
    if os.environ.get("STACKGEN_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, writer: Callable[[Path], object]) -> Path:
    with atomic_path(path) as tmp:
        writer(tmp)
    return path


def write_json(path: Path, payload: dict) -> Path:
    text = json.dumps(payload, indent=2, sort_keys=False, default=_json_default) + "\n"
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def read_json(path: Path, step: int, paths: Paths) -> dict:
    require(path, step, paths)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise corrupt(path, step, paths, exc) from None
    if not isinstance(payload, dict):
        raise corrupt(path, step, paths, "not a JSON object")
    return payload


def _json_default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


@contextlib.contextmanager
def workdir_lock(workdir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``workdir`` for one run; refuse a second writer at once.

    The lock is an flock on ``.stackgen.lock``: the kernel drops it when the process ends, however
    it ends, so a killed run never leaves the work dir locked.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    with (workdir / ".stackgen.lock").open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise StackgenError(
                f"another stackgen run (pid {holder}) is writing to {workdir}; wait for it to "
                "finish or use another --workdir"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
