"""Where batches execute: in this process, in local worker processes, or on Dask.

Every backend yields each run's :class:`~poisonlab.experiment.execute.RunOutput` the moment the
run finishes, so the runner stores it at once: a sweep killed mid-way keeps every finished run.
"""

from __future__ import annotations

import ctypes
import os
import queue
import signal
import sys
from collections.abc import Iterator

from .execute import RunOutput, execute_batch, execute_in_batch
from .plan import Batch

# Seconds between checks that local workers are still alive while waiting for a result.
_POLL_SECONDS = 1.0


def outputs(
    batches: list[Batch],
    *,
    n_workers: int = 1,
    dask: str | None = None,
    dask_local: int | None = None,
    dashboard: bool = False,
) -> Iterator[RunOutput]:
    """The outputs of ``batches``: on Dask (a scheduler's ``dask`` address, or a local cluster
    of ``dask_local`` workers, with a dashboard only if ``dashboard``), else in ``n_workers``
    local processes, else serially."""
    if dask is not None or dask_local is not None:
        return _dask_outputs(batches, address=dask, n_workers=dask_local, dashboard=dashboard)
    if n_workers > 1 and len(batches) > 1:
        return _local_outputs(batches, min(n_workers, len(batches)))
    return _serial_outputs(batches)


def _serial_outputs(batches: list[Batch]) -> Iterator[RunOutput]:
    for batch in batches:
        yield from execute_batch(batch)


class WorkerDied(RuntimeError):
    """A worker ended before its runs finished (killed, out of memory, a lost Dask worker)."""


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (``PR_SET_PDEATHSIG``), so a
    ``kill -9`` of the sweep leaves no worker behind; elsewhere a no-op."""
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _worker(tasks, results) -> None:
    """A local worker: executes batches until told to stop, sending each run as it finishes.
    It lives for the whole sweep, so datasets it loaded stay loaded (``load_split``'s cache)."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    for batch in iter(tasks.get, None):
        for output in execute_batch(batch):
            results.put(output)


def _local_outputs(batches: list[Batch], n_workers: int) -> Iterator[RunOutput]:
    """Batches on ``n_workers`` processes started once for the sweep (``spawn``: no copy of a
    parent's BLAS or OpenMP thread state), longest batches first as planned."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    tasks, results = context.Queue(), context.Queue()
    for batch in batches:
        tasks.put(batch)
    for _ in range(n_workers):
        tasks.put(None)
    workers = [
        context.Process(target=_worker, args=(tasks, results), daemon=True)
        for _ in range(n_workers)
    ]
    for worker in workers:
        worker.start()
    try:
        remaining = sum(len(b.runs) for b in batches)
        while remaining:
            try:
                output = results.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
                if dead:
                    raise WorkerDied(
                        f"a worker process ended with status {dead[0]} before its runs "
                        f"finished; {remaining} runs not executed (finished runs are stored; "
                        "run again to resume)."
                    ) from None
                continue
            remaining -= 1
            yield output
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        # Batches no worker took must not keep this process waiting to flush them at exit.
        tasks.cancel_join_thread()
        tasks.close()
        results.close()


def _dask_outputs(
    batches: list[Batch], *, address: str | None, n_workers: int | None, dashboard: bool
) -> Iterator[RunOutput]:
    """Each run a Dask task; a batch's runs go to one worker (which builds a shared kernel once
    and keeps it, :func:`execute_in_batch`) and move to another only if that worker is lost."""
    from distributed import Client, as_completed

    cluster = None
    if address is None:
        cluster = _local_cluster(n_workers, dashboard)
    try:
        with Client(cluster if cluster is not None else address) as client:
            if cluster is not None and dashboard:
                sys.stderr.write(f"Dask dashboard: {client.dashboard_link}\n")
            workers = sorted(client.scheduler_info()["workers"]) or [None]
            futures = [
                client.submit(
                    execute_in_batch,
                    batch,
                    index,
                    pure=False,
                    workers=workers[i % len(workers)],
                    allow_other_workers=True,
                )
                for i, batch in enumerate(batches)
                for index in range(len(batch.runs))
            ]
            for future in as_completed(futures):
                try:
                    output = future.result()
                except Exception as exc:  # a run's own errors are rows; this is the cluster
                    raise WorkerDied(
                        f"the Dask cluster could not finish a run ({type(exc).__name__}: "
                        f"{exc}); finished runs are stored; run again to resume."
                    ) from None
                yield output
    finally:
        if cluster is not None:
            cluster.close()


def _local_cluster(n_workers: int | None, dashboard: bool):
    """A Dask cluster of single-threaded worker processes on the loopback interface only.

    Without ``dashboard`` the scheduler and the workers start no HTTP server at all
    (:mod:`.dask_nodes`): they listen only on their TCP ports on 127.0.0.1.
    """
    import logging

    from distributed import LocalCluster, Nanny, SpecCluster

    if dashboard:
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            worker_dashboard_address=None,
        )
    from .dask_nodes import QuietScheduler, QuietWorker

    scheduler = {"cls": QuietScheduler, "options": {"host": "127.0.0.1", "dashboard": False}}
    worker = {
        "cls": Nanny,
        "options": {
            "nthreads": 1,
            "host": "127.0.0.1",
            "worker_class": QuietWorker,
            "dashboard": False,
            "silence_logs": logging.WARN,
        },
    }
    count = n_workers or os.cpu_count() or 1
    return SpecCluster(
        scheduler=scheduler,
        workers=dict.fromkeys(range(count), worker),
        worker=worker,
        silence_logs=logging.WARN,
    )
