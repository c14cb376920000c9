"""What the user sees besides results: stderr passed through live with the backend's start-up
noise filtered out line by line, user errors as one ``error:`` line, a missing backend named with
its install command.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from typing import NoReturn

from stackgen import progress
from stackgen.cli import lean_imports
from stackgen.trust.errors import StackgenError

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130

# TensorFlow's C++ runtime writes these to stderr when it starts, before it reads
# TF_CPP_MIN_LOG_LEVEL; none of them says anything a user of this project can act on.
BACKEND_NOISE = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|I0000 [\d:. ]+\d+ (port|cudart_stub|cuda_[a-z_]+)\.cc:\d+\]"
    # Where CUDA libraries are installed but no GPU is usable, TensorFlow says so at start-up.
    rb"|[EW]0000 [\d:. ]+\d+ (cuda_[a-z_]+|gpu_[a-z_]+|dso_loader)\.cc:\d+\]"
    rb"|.*the default Eigen-based implementation if present"
    # Each member is a new model, so a new compiled function: expected, not a problem.
    rb"|WARNING:tensorflow:\d+ out of the last \d+ calls to .* triggered tf\.function retracing)"
)

# KERAS_BACKEND -> (the module it needs, how to install it)
BACKENDS = {
    "tensorflow": ("tensorflow", "make setup"),
    "jax": ("jax", "make backends, or pip install -e '.[jax]'"),
    "torch": ("torch", "make backends, or pip install -e '.[torch]'"),
}


def check_backend() -> None:
    """Refuse, in one line, a KERAS_BACKEND that is unknown or not installed."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend not in BACKENDS:
        raise StackgenError(
            f"KERAS_BACKEND={backend} is not one stackgen runs on; use {', '.join(BACKENDS)}"
        )
    module, install = BACKENDS[backend]
    if importlib.util.find_spec(module) is None:
        raise StackgenError(f"KERAS_BACKEND={backend}, but {module} is not installed: {install}")


# While the filter stands in for fd 2: the real stderr, for what must be there before the next
# write to stdout (``note``); and a line the forwarder does not pass on but answers by setting
# ``_caught_up``: everything written to fd 2 before it is then out (``drain``).
_direct_stderr: int | None = None
_MARKER = b"\x00stackgen: caught up\n"
_caught_up = threading.Event()


def drain(timeout: float = 5.0) -> None:
    """Wait until what was written to stderr so far (a library's warning, a step's note) is on
    the real stderr, so that nothing of it lands among what is written to stdout next."""
    sys.stderr.flush()
    if _direct_stderr is None:
        return
    _caught_up.clear()
    os.write(2, _MARKER)
    _caught_up.wait(timeout)


def note(line: str) -> None:
    """``note: <line>`` on stderr, there before anything written to stdout after it: what came
    before is drained first, then the line is written past the filter's thread."""
    text = f"note: {line}\n"
    if _direct_stderr is None:
        print(text, end="", file=sys.stderr, flush=True)
        return
    drain()
    data = text.encode(sys.stderr.encoding or "utf-8", "backslashreplace")
    while data:
        data = data[os.write(_direct_stderr, data) :]


@contextlib.contextmanager
def backend_noise_filtered() -> Iterator[None]:
    """Pass what is written to file descriptor 2 on as it comes, line by line, minus the lines
    above. A thread reads a pipe that stands in for fd 2 and writes each finished line out at
    once, so what a run has said is on the terminal before the run ends, however it ends."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # a user who set it keeps their choice
    progress.note_terminal()  # whether progress lines show by default: before fd 2 is a pipe
    sys.stderr.flush()
    saved, target = os.dup(2), os.dup(2)  # to restore fd 2; where the forwarder writes
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    forwarder = threading.Thread(target=_forward, args=(read_end, target), daemon=True)
    forwarder.start()
    global _direct_stderr
    _direct_stderr = saved
    try:
        yield
    finally:
        _direct_stderr = None
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end we hold: the forwarder sees EOF
        os.close(saved)
        # Worker processes (the repeat study's) may hold the pipe open a while longer; their
        # lines still come through, but the command does not wait for them.
        forwarder.join(timeout=2)


def _forward(read_end: int, target: int) -> None:
    with open(read_end, "rb") as lines:
        for line in lines:
            if line.endswith(_MARKER):  # after a library's unfinished line, if any
                if line != _MARKER:
                    os.write(target, line[: -len(_MARKER)] + b"\n")
                _caught_up.set()
            elif not BACKEND_NOISE.match(line):
                os.write(target, line)
    os.close(target)


def fail(message: str, status: int = EXIT_ERROR) -> None:
    print(message, file=sys.stderr)
    raise SystemExit(status)


def guarded(action: Callable[[], object], backend: bool = True) -> object:
    """Run ``action``; turn user errors into one stderr line and a non-zero exit. With
    ``backend``, first refuse a Keras backend that is not installed."""
    try:
        if backend:
            check_backend()
        with backend_noise_filtered():
            return action()
    except StackgenError as exc:
        fail(f"error: {exc}")
    except BrokenPipeError:  # the reader went away (predict | head): nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None
    except OSError as exc:  # unwritable or full work dir, and the like
        where = f" {exc.filename}" if exc.filename else " files"
        fail(f"error: cannot write or read{where}: {exc.strerror or exc}")
    except MemoryError:
        fail(
            "error: not enough memory for these settings (--epochs, --members, --folds, "
            "--seeds); try smaller ones"
        )
    except KeyboardInterrupt:
        fail(
            "interrupted: files already in place are intact; no partial file was left",
            EXIT_INTERRUPTED,
        )
    return None


def main_then_exit(main: Callable[[], object]) -> NoReturn:
    """Run a command's ``main``, then end the process without the interpreter's teardown.

    Once a command is done, Python's own shutdown (every module torn down, TensorFlow's runtime
    destroyed) takes about 1.5 s on the 2-core machine, longer than most steps. By then every
    file is written and closed; the exit handlers (``atexit``) still run and stdout and stderr
    are flushed, then the process ends with the command's status. A command that leaves a
    non-daemon thread running, or ends in an exception other than SystemExit, exits the usual
    way.

    The process skips JAX where only TensorFlow's TFLite converter would import it
    (``lean_imports.py``).
    """
    lean_imports.install()
    try:
        main()
        code = 0
    except SystemExit as stop:
        code = stop.code
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if any(not t.daemon for t in others):
        raise SystemExit(code)
    if code is None:
        code = 0
    elif not isinstance(code, int):  # what SystemExit("message") does: the message, status 1
        print(code, file=sys.stderr)
        code = EXIT_ERROR
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader went away, or the stream is closed
            pass
        except OSError as exc:  # a full disk: as Python's own exit, said and status 120
            with contextlib.suppress(OSError):
                os.write(2, f"error: could not write the output: {exc}\n".encode())
            code = code or 120
    os._exit(code)
