"""One writer per work dir: an flock that a killed run cannot leave behind."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from stackgen.trust.errors import StackgenError

LOCK_FILE = ".stackgen.lock"


@contextlib.contextmanager
def workdir_lock(workdir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``workdir`` for one run; refuse a second writer at once.

    The lock is an flock on ``.stackgen.lock``: the kernel drops it when the process ends, however
    it ends, so a killed run never leaves the work dir locked. The file itself stays (removing
    it would let two runs lock two different files) and is git-ignored; its pid is cleared when
    the run ends.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / LOCK_FILE
    with path.open("a+") as fh:
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
            fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)
