"""Where the repeat study's seeds run: local worker processes, or a Dask cluster.

Without ``--scheduler``, seeds run in ``--jobs`` local processes through joblib. With
``--scheduler ADDRESS`` they run on the workers of a running Dask scheduler
(``tcp://host:8786``); ``--scheduler local`` starts a ``LocalCluster`` of ``--jobs`` process
workers with one thread each (thread workers would share Keras's global seed and determinism
state between seeds). Every seed is the same function of its settings wherever it runs, so the
numbers are the same to the last digit; finished seeds come back as they finish, and the caller
saves each at once, so a study cut short resumes where it stopped.

Dask's ``distributed`` is an optional extra (``pip install 'stackgen[cluster]'``), imported only
here. Ray is not offered: its joblib backend cannot hand back results as they finish
(``return_as="generator_unordered"``), which saving each seed at once needs.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator

from joblib import Parallel, delayed

from stackgen.trust.errors import StackgenError

INSTALL = "pip install 'stackgen[cluster]'"
LOCAL = "local"
CONNECT_SECONDS = 20
PROBE_SECONDS = 3
NOT_DASK = "start one (dask scheduler) and give its address, tcp://host:8786, or --scheduler local"


def _probe(scheduler: str) -> None:
    """Refuse, within seconds and naming the address, one that cannot be a Dask scheduler: a
    web address (the dashboard's, say), or a port where nothing listens."""
    scheme, _, rest = scheduler.rpartition("://")
    if scheme.lower() in ("http", "https", "ws", "wss"):
        raise StackgenError(
            f"--scheduler {scheduler}: a web address, not a scheduler's; {NOT_DASK}"
        )
    if scheme not in ("", "tcp", "tls"):
        return  # another of Dask's transports: its client says
    host, _, port = rest.rpartition(":")
    if not port.isdigit():
        raise StackgenError(f"--scheduler {scheduler}: no port in it; {NOT_DASK}")
    try:
        with socket.create_connection(
            (host.strip("[]") or "localhost", int(port)), PROBE_SECONDS
        ) as sock:
            sock.settimeout(PROBE_SECONDS)
            first = sock.recv(16)
    except TimeoutError:  # a Dask scheduler greets at once: its handshake's frames
        raise StackgenError(
            f"--scheduler {scheduler}: not a Dask scheduler (it said nothing in {PROBE_SECONDS} s"
            f"); {NOT_DASK}"
        ) from None
    except OSError as exc:
        raise StackgenError(
            f"--scheduler {scheduler}: nothing answered there ({exc.strerror or exc}); {NOT_DASK}"
        ) from None
    # Dask's TCP frames begin with two little-endian lengths: the message's, its frames' count.
    size, frames = int.from_bytes(first[:8], "little"), int.from_bytes(first[8:16], "little")
    if len(first) < 16 or size > 2**24 or frames > 1024:
        raise StackgenError(
            f"--scheduler {scheduler}: not a Dask scheduler (another service answered: "
            f"{first[:16]!r}); {NOT_DASK}"
        )


def run_all(function: Callable, calls: list[tuple], jobs: int, scheduler: str | None) -> Iterator:
    """``function(*args)`` for every ``args`` in ``calls``, yielded as each finishes."""
    if not calls:
        return
    if scheduler is None:
        yield from Parallel(n_jobs=jobs, return_as="generator_unordered")(
            delayed(function)(*args) for args in calls
        )
        return
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise StackgenError(f"--scheduler needs Dask's distributed: {INSTALL}") from None
    cluster = None
    if scheduler == LOCAL:
        cluster = LocalCluster(
            n_workers=jobs,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    else:
        _probe(scheduler)
        try:
            client = Client(scheduler, timeout=CONNECT_SECONDS)
        except Exception as exc:  # noqa: BLE001 - a service that is not Dask fails in any way
            why = str(exc).split("\n")[0][:120] or type(exc).__name__
            raise StackgenError(
                f"--scheduler {scheduler}: not a Dask scheduler, or none answered there ({why}); "
                + NOT_DASK
            ) from None
    try:
        futures = [client.submit(function, *args, pure=False) for args in calls]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def describe(jobs: int, scheduler: str | None) -> str:
    """Where the seeds run, for step 10's first line."""
    if scheduler is None:
        return f"{jobs} processes"
    if scheduler == LOCAL:
        return f"a local Dask cluster of {jobs} process workers"
    return f"the Dask cluster at {scheduler}"
