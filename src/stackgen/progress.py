"""Progress lines for long work, on stderr: trainings done of all, epochs of a loop that trains
many models side by side, the methods of a comparison, the seeds of a study; each with the time
so far and an estimate of the time left.

A ``Progress`` says at most one line every ``every`` seconds (``STACKGEN_PROGRESS_SECONDS``,
default 5), so a short step says nothing. Code deep inside training (the compiled loop) reports
to whichever ``Progress`` is current (``reporting``), so no function between a step and the loop
carries it; where none is current, reports go nowhere.

Whether lines are shown is the caller's choice: the command line shows them on a terminal
unless ``--quiet``, and where stderr is not a terminal only with ``--progress``. Whether stderr
is a terminal is noted before the command line puts a pipe in its place (``note_terminal``).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import time
from collections.abc import Callable, Iterator

DEFAULT_EVERY = 5.0
_current: contextvars.ContextVar[Progress | None] = contextvars.ContextVar("progress", default=None)
_terminal: list[bool] = []  # whether fd 2 was a terminal before it was redirected


def note_terminal() -> None:
    """Note, once, whether stderr is a terminal now (before anything redirects it)."""
    if not _terminal:
        _terminal.append(os.isatty(2))


def stderr_is_terminal() -> bool:
    return _terminal[0] if _terminal else os.isatty(2)


def every_seconds() -> float:
    """How often a line may be said: ``STACKGEN_PROGRESS_SECONDS``, else 5 s."""
    try:
        return max(0.0, float(os.environ.get("STACKGEN_PROGRESS_SECONDS", DEFAULT_EVERY)))
    except ValueError:
        return DEFAULT_EVERY


class Progress:
    """Progress of one piece of work (``label``: "step 3"), said on ``write`` (stderr) at most
    every ``every`` seconds, and only if ``shown``."""

    def __init__(
        self,
        label: str,
        shown: bool,
        every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        write: Callable[[str], None] | None = None,
    ):
        self.label, self.shown = label, shown
        self.every = every_seconds() if every is None else every
        self.clock = clock
        self.write = write or _to_stderr
        self.start = self.last = clock()

    def trained(self, what: str, done: int, total: int) -> None:
        """``done`` of ``total`` trainings (or seeds, or any equal parts) finished."""
        self._say(f"{what} {done} of {total} done", done / total if total else 1.0)

    def epochs(self, done: int, total: int, together: int) -> None:
        """A loop training ``together`` models at once has run ``done`` of its ``total``
        epochs."""
        side = f", {together} models side by side" if together > 1 else ""
        self._say(f"epoch {done} of {total}{side}", done / total if total else 1.0, "for them")

    def doing(self, what: str) -> None:
        """Now working on ``what`` (a method of a comparison); no estimate."""
        self._say(what, None)

    def _say(self, what: str, fraction: float | None, left_for: str = "") -> None:
        now = self.clock()
        if not self.shown or now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.start
        line = f"progress: {self.label}: {what}, {elapsed:.0f} s"
        if fraction is not None and 0 < fraction < 1:
            left = elapsed * (1 - fraction) / fraction
            line += f", about {left:.0f} s left{' ' + left_for if left_for else ''}"
        self.write(line)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def reporting(progress: Progress) -> Iterator[Progress]:
    """Make ``progress`` the one that code deep inside training reports to, while inside."""
    token = _current.set(progress)
    try:
        yield progress
    finally:
        _current.reset(token)


def current() -> Progress:
    """The ``Progress`` that reports from deep inside go to: the one ``reporting`` made
    current, else one that says nothing."""
    return _current.get() or _SILENT


def silenced() -> contextlib.AbstractContextManager[Progress]:
    """No progress lines from the work inside (one seed of a study, whose seeds are the
    progress)."""
    return reporting(_SILENT)


_SILENT = Progress("", shown=False)
