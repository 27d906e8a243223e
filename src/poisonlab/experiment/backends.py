"""Where batches execute: in this process, in local worker processes, or on Dask.

Every backend yields each run's :class:`~poisonlab.experiment.execute.RunOutput` the moment the
run finishes, so the runner stores it at once: a sweep killed mid-way keeps every finished run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import signal
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .._errors import ParameterError
from .._threadpools import thread_limits
from .execute import RUN_THREADS, RunOutput, execute_batch, execute_in_batch
from .plan import Batch

# Seconds between checks that local workers are still alive while waiting for a result.
_POLL_SECONDS = 1.0

# Batches handed out ahead per worker: enough that none waits for work, few enough that a sweep
# holds a handful of batches whatever its size.
_AHEAD = 2


def outputs(
    batches: Iterable[Batch],
    *,
    n_batches: int,
    n_workers: int = 1,
    dask: str | None = None,
    dask_local: int | None = None,
    dashboard: bool = False,
) -> Iterator[RunOutput]:
    """The outputs of ``n_batches`` ``batches``, read from the iterable as workers free up: on
    Dask (a scheduler's ``dask`` address, or a local cluster of ``dask_local`` workers, with a
    dashboard only if ``dashboard``), else in ``n_workers`` local processes, else serially."""
    if dask is not None or dask_local is not None:
        return _dask_outputs(batches, address=dask, n_workers=dask_local, dashboard=dashboard)
    if n_workers > 1 and n_batches > 1:
        return _local_outputs(batches, min(n_workers, n_batches))
    return _serial_outputs(batches)


def _serial_outputs(batches: Iterable[Batch]) -> Iterator[RunOutput]:
    for batch in batches:
        yield from execute_batch(batch)


class WorkerDied(RuntimeError):
    """A worker ended before its runs finished (killed, out of memory, a lost Dask worker)."""


def _exit_with_sweep(lifeline) -> None:
    """End this worker process when the sweep's process ends, however it ends (``kill -9``
    too): a thread waits on ``lifeline``, the read end of a pipe whose write end only the sweep
    holds, and exits at its end of file.

    ``PR_SET_PDEATHSIG`` cannot do it: a worker's parent is the forkserver, which lives as long
    as any process it forked does.
    """
    import threading

    def wait() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv()
        os._exit(1)

    threading.Thread(target=wait, daemon=True).start()


def _worker(tasks, results, lifeline) -> None:
    """A local worker process: executes batches until told to stop (:func:`_execute_batches`).
    It lives for the whole sweep, so datasets it loaded stay loaded (``load_split``'s cache)."""
    _exit_with_sweep(lifeline)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _execute_batches(tasks, results)


def _execute_batches(tasks, results) -> None:
    """Take batches from ``tasks`` until a None, sending each run as it finishes and a None
    when a batch is done (the parent then hands out the next)."""
    for batch in iter(tasks.get, None):
        for output in execute_batch(batch):
            results.put(output)
        results.put(None)


def _parent_share(tasks, results) -> None:
    """:func:`_execute_batches` in a thread of the sweep's own process; an exception that
    escapes (a run's own errors are rows: this is a bug or no memory) is sent as a result."""
    try:
        _execute_batches(tasks, results)
    except BaseException as exc:  # reported by the thread reading results
        with contextlib.suppress(ValueError, OSError):  # unless the sweep has closed the queue
            results.put(_Failed(f"{type(exc).__name__}: {exc}"))


@dataclass(frozen=True)
class _Failed:
    """The batches this process executes stopped with an error (see :func:`_parent_share`)."""

    reason: str


def _local_outputs(batches: Iterable[Batch], n_workers: int) -> Iterator[RunOutput]:
    """Batches on ``n_workers`` workers, in order, :data:`_AHEAD` per worker at a time: this
    process (a thread beside the one storing results) and ``n_workers - 1`` processes forked
    from :func:`start_local_workers`' server, started once for the sweep.

    This process is one of the workers because it has already imported everything and loaded
    the data: a second worker process would import and load them again while the sweep waits
    (issue 18, docs/benchmarks.md).
    """
    import multiprocessing
    import threading

    start_local_workers()
    context = multiprocessing.get_context("forkserver")
    tasks, results = context.Queue(), context.Queue()
    lifeline, sweep_end = context.Pipe(duplex=False)
    pending = iter(batches)
    in_flight = 0
    for batch in itertools.islice(pending, _AHEAD * n_workers):
        tasks.put(batch)
        in_flight += 1
    workers = [
        context.Process(target=_worker, args=(tasks, results, lifeline), daemon=True)
        for _ in range(n_workers - 1)
    ]
    for worker in workers:
        worker.start()
    lifeline.close()  # the workers hold the read end; this process only the write end
    # OpenBLAS (0.3.31) ignores a count set from another thread once this one has set one:
    # the share's runs computed with two BLAS threads, and a logistic regression's prediction
    # differed from serial (tests/test_backends.py). Set here, the runs' count holds for it.
    blas = thread_limits(RUN_THREADS, "blas")
    share = threading.Thread(target=_parent_share, args=(tasks, results), daemon=True)
    share.start()
    try:
        while in_flight:
            try:
                output = results.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                _check_alive(workers)
                continue
            if isinstance(output, _Failed):
                raise WorkerDied(
                    f"this process stopped executing runs ({output.reason}); "
                    "finished runs are stored; run again to resume."
                )
            if output is not None:
                yield output
                continue
            in_flight -= 1
            for batch in itertools.islice(pending, 1):
                tasks.put(batch)
                in_flight += 1
        for _ in range(n_workers):
            tasks.put(None)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        sweep_end.close()
        blas.restore_original_limits()
        # Batches no worker took, and runs this process finished after an interrupt, must not
        # keep it waiting to flush them at exit.
        tasks.cancel_join_thread()
        results.cancel_join_thread()
        tasks.close()
        results.close()


def _check_alive(workers) -> None:
    """Raise :class:`WorkerDied` if a worker process has ended with an error status."""
    dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
    if dead:
        raise WorkerDied(
            f"a worker process ended with status {dead[0]} before its runs "
            "finished (finished runs are stored; run again to resume)."
        )


def _dask_outputs(
    batches: Iterable[Batch], *, address: str | None, n_workers: int | None, dashboard: bool
) -> Iterator[RunOutput]:
    """Each run a Dask task; a batch's runs go to one worker (which builds a shared kernel once
    and keeps it, :func:`execute_in_batch`) and move to another only if that worker is lost.
    Batches are submitted in order, :data:`_AHEAD` per worker at a time."""
    from distributed import Client, as_completed

    cluster = None
    if address is None:
        cluster = _local_cluster(n_workers, dashboard)
    try:
        with Client(cluster if cluster is not None else address) as client:
            if cluster is not None and dashboard:
                sys.stderr.write(f"Dask dashboard: {client.dashboard_link}\n")
            workers = sorted(client.scheduler_info()["workers"]) or [None]
            pending = enumerate(batches)
            left: dict[int, int] = {}  # runs not yet finished, per submitted batch
            batch_of: dict[str, int] = {}  # a future's key -> its batch's number
            done = as_completed()

            def submit(n: int) -> None:
                for i, batch in itertools.islice(pending, n):
                    left[i] = len(batch.runs)
                    for index in range(len(batch.runs)):
                        future = client.submit(
                            execute_in_batch,
                            batch,
                            index,
                            pure=False,
                            workers=workers[i % len(workers)],
                            allow_other_workers=True,
                        )
                        batch_of[future.key] = i
                        done.add(future)

            submit(_AHEAD * len(workers))
            for future in done:
                try:
                    output = future.result()
                except Exception as exc:  # a run's own errors are rows; this is the cluster
                    raise WorkerDied(
                        f"the Dask cluster could not finish a run ({type(exc).__name__}: "
                        f"{exc}); finished runs are stored; run again to resume."
                    ) from None
                yield output
                i = batch_of.pop(future.key)
                left[i] -= 1
                if not left[i]:
                    del left[i]
                    submit(1)
    finally:
        if cluster is not None:
            cluster.close()


def check_scheduler(address: str) -> None:
    """Connect to the Dask scheduler at ``address``, see that it has a worker, and disconnect:
    a sweep calls this before it opens its store, so a cluster it cannot use leaves nothing.

    Each step waits at most Dask's connect timeout (``distributed.comm.timeouts.connect``, 30 s
    unless configured, e.g. ``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s``); the probe runs
    in a daemon thread with its own deadline, because a server that accepts the connection but
    never answers holds Dask's handshake past that timeout.

    Raises
    ------
    ParameterError
        Naming ``dask``, the address and why it cannot be used.
    """
    import threading

    import dask
    from dask.utils import parse_timedelta

    seconds = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s")
    outcome: list[BaseException | None] = []
    probe = threading.Thread(target=_probe, args=(address, seconds, outcome), daemon=True)
    probe.start()
    probe.join(2 * seconds + 1)
    hint = "start a scheduler and a worker (dask scheduler; dask worker ADDRESS) or fix it."
    if not outcome:
        reason = f"no answer within {2 * seconds + 1:g} s"
    elif isinstance(outcome[0], _NoWorker):
        reason = f"it has no worker after {seconds:g} s"
    elif outcome[0] is not None:
        error = outcome[0]
        text = str(error) if isinstance(error, OSError) else f"{type(error).__name__}: {error}"
        reason = " ".join(text.split())[:160]
    else:
        return
    raise ParameterError.named(
        "dask", f"cannot use the Dask scheduler at {address!r} ({reason}); {hint}"
    )


class _NoWorker(Exception):
    """A scheduler answered but has no worker."""


def _probe(address: str, seconds: float, outcome: list) -> None:
    """Connect to ``address`` and wait for a worker; append None, or the exception raised."""
    from distributed import Client

    try:
        with Client(address, timeout=seconds, set_as_default=False) as client:
            try:
                client.wait_for_workers(1, timeout=seconds)
            except TimeoutError:
                raise _NoWorker from None
        outcome.append(None)
    except Exception as exc:  # any failure to connect (refused, timed out, not a scheduler)
        outcome.append(exc)


#: What a local worker (``-j``) imports before its first run: imported once, by the process the
#: workers are forked from (:func:`start_local_workers`), not by each worker (issue 18: two
#: spawned workers importing it made a 4-second sweep take 10).
WORKER_PRELOAD = (
    "poisonlab.experiment.execute",
    "poisonlab.attacks",  # the attack registry, as make_attack reads it
    "poisonlab.models.zoo",  # the model zoo's scikit-learn estimators
    "poisonlab.models.shared_kernel",
)

#: What a local Dask worker (``--dask-local``) imports before its first run.
DASK_WORKER_PRELOAD = ("distributed", "poisonlab.experiment.dask_nodes", *WORKER_PRELOAD)


def start_local_workers(*, dask: bool = False) -> None:
    """Start the process that local workers are forked from (multiprocessing's
    ``forkserver``), importing :data:`WORKER_PRELOAD` (with ``dask``,
    :data:`DASK_WORKER_PRELOAD`), unless it is running.

    Call it as early as a sweep is known to use ``-j`` or ``--dask-local``: it imports on
    another core while this process validates the spec and loads data. The forkserver is a
    fresh process that has never run OpenMP or BLAS threads, so its forks are safe where forks
    of this process are not (GNU OpenMP hangs in a child forked after a parallel region). One
    runs per process: a worker needing a module its server did not import imports it itself.
    """
    import multiprocessing
    from multiprocessing import forkserver

    preload = DASK_WORKER_PRELOAD if dask else WORKER_PRELOAD
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(preload))
    forkserver.ensure_running()


def _local_cluster(n_workers: int | None, dashboard: bool):
    """A Dask cluster of single-threaded worker processes on the loopback interface only,
    forked from the forkserver of :func:`start_local_workers`.

    Without ``dashboard`` the scheduler and the workers start no HTTP server at all
    (:mod:`.dask_nodes`): they listen only on their TCP ports on 127.0.0.1.
    """
    import dask

    start_local_workers(dask=True)
    # Read when each worker process starts (a worker restarted after the cluster is made
    # falls back to Dask's default, spawn: slower to start, the same results).
    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        return _make_local_cluster(n_workers, dashboard)


def _make_local_cluster(n_workers: int | None, dashboard: bool):
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
