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
from collections.abc import Callable, Iterator

from joblib import Parallel, delayed

from stackgen.trust.errors import StackgenError

INSTALL = "pip install 'stackgen[cluster]'"
LOCAL = "local"
CONNECT_SECONDS = 20


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
        try:
            client = Client(scheduler, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError, ValueError) as exc:
            raise StackgenError(
                f"--scheduler {scheduler}: no Dask scheduler answered there ({exc}); start one "
                "(dask scheduler) or give --scheduler local"
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
