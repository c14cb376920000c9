"""Where work runs: the repeat study's seeds, and the trainings of members and fold copies.

The study (``run_all``): without ``--scheduler``, seeds run in ``--jobs`` local processes through
joblib. With ``--scheduler ADDRESS`` they run on the workers of a running Dask scheduler
(``tcp://host:8786``); ``--scheduler local`` starts a ``LocalCluster`` of ``--jobs`` process
workers with one thread each (thread workers would share Keras's global seed and determinism
state between seeds). Every seed is the same function of its settings wherever it runs, so the
numbers are the same to the last digit; finished seeds come back as they finish, and the caller
saves each at once, so a study cut short resumes where it stopped.

Trainings (``trainings_on``, steps 3 and 7): each training the members need (the members side
by side, their fold copies side by side, each member or copy that trains one by one) is one
call, run here one after another, or with ``--scheduler`` one task per training on the Dask
workers, with the same results in the same order. A training is a function of its starting
weights, rows, seed and settings, the same wherever it runs (tests/test_cluster.py checks the
weights bit for bit), so the cluster changes when the work is done, not what it gives.

Dask's ``distributed`` is an optional extra (``pip install 'stackgen[cluster]'``), imported only
here. Ray is not offered: its joblib backend cannot hand back results as they finish
(``return_as="generator_unordered"``), which saving each seed at once needs.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator

import numpy as np
from joblib import Parallel, delayed

from stackgen.trust.errors import StackgenError

INSTALL = "pip install 'stackgen[cluster]'"
LOCAL = "local"
CONNECT_SECONDS = 20
PROBE_SECONDS = 3
# Arrays of at least this size that several trainings read go to the cluster once.
SHARED_BYTES = 1 << 20
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
    with dask_client(scheduler, jobs) as client:
        from distributed import as_completed

        futures = [client.submit(function, *args, pure=False) for args in calls]
        for future in as_completed(futures):
            yield future.result()


@contextlib.contextmanager
def dask_client(scheduler: str, workers: int):
    """A client of the scheduler at ``scheduler``, or of a new ``LocalCluster`` of ``workers``
    process workers (``local``), closed on leaving; one line where there is no Dask there."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise StackgenError(f"--scheduler needs Dask's distributed: {INSTALL}") from None
    cluster = None
    if scheduler == LOCAL:
        cluster = LocalCluster(
            n_workers=workers,
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
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def default_workers() -> int:
    """Workers of a ``local`` cluster, and the study's processes: this machine's cores."""
    return max(1, os.cpu_count() or 1)


class Here:
    """Trainings in this process, one after another, each call made as it is reached (so a
    lazy ``calls`` makes each copy and its rows only when its turn comes)."""

    where = "this process"
    sent = 0

    def map(self, function: Callable, calls: Iterable[tuple]) -> Iterator:
        for args in calls:
            yield function(*args)


class OnDask:
    """Trainings as tasks on a Dask cluster's workers, all submitted at once; their results
    come back in the order of ``calls``. A large array that several calls share (the rows every
    fold copy reads) goes to the cluster once."""

    def __init__(self, client, scheduler: str, where: str):
        self.client, self.scheduler, self.where = client, scheduler, where
        self.sent = 0  # tasks submitted so far

    def map(self, function: Callable, calls: Iterable[tuple]) -> Iterator:
        shared: dict[int, object] = {}

        def sent(arg):
            if id(arg) in shared:
                return shared[id(arg)]
            arrays = list(arg.values()) if isinstance(arg, dict) else [arg]
            if not all(isinstance(a, np.ndarray) for a in arrays):
                return arg
            if sum(a.nbytes for a in arrays) < SHARED_BYTES:
                return arg
            shared[id(arg)] = self.client.scatter(arg, hash=False)
            return shared[id(arg)]

        futures = [
            self.client.submit(function, *[sent(a) for a in args], pure=False) for args in calls
        ]
        self.sent += len(futures)
        for future in futures:
            yield future.result()


_trainings: contextvars.ContextVar[Here | OnDask | None] = contextvars.ContextVar(
    "trainings", default=None
)


@contextlib.contextmanager
def trainings_on(scheduler: str | None, workers: int | None = None) -> Iterator[Here | OnDask]:
    """Where the trainings inside run (``trainings()``): here without a scheduler, else on the
    Dask cluster at ``scheduler`` (``local``: a new one of ``workers`` processes, default one
    per core). A cluster already open for the same scheduler is used again."""
    open_now = _trainings.get()
    if scheduler is None or (isinstance(open_now, OnDask) and open_now.scheduler == scheduler):
        token = _trainings.set(open_now if scheduler else Here())
        try:
            yield _trainings.get()
        finally:
            _trainings.reset(token)
        return
    workers = workers or default_workers()
    with dask_client(scheduler, workers) as client:
        runner = OnDask(client, scheduler, describe(workers, scheduler))
        token = _trainings.set(runner)
        try:
            yield runner
        finally:
            _trainings.reset(token)


def tasks_said(runner: Here | OnDask) -> str:
    """A step's line on where its trainings ran."""
    return (
        f"{runner.sent} training tasks ran on {runner.where} (models that train side by side "
        "are one task)"
    )


def trainings() -> Here | OnDask:
    """Where trainings run now: ``trainings_on``'s choice, or here."""
    return _trainings.get() or Here()


def describe(jobs: int, scheduler: str | None) -> str:
    """Where the seeds (or the trainings) run, for a step's first line."""
    if scheduler is None:
        return f"{jobs} processes"
    if scheduler == LOCAL:
        return f"a local Dask cluster of {jobs} process workers"
    return f"the Dask cluster at {scheduler}"
