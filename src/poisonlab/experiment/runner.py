"""Run a study's grid: skip finished runs, execute the rest (serially, in local worker processes
or on a Dask cluster), and write each run to the results store as it finishes.

Runs travel as :class:`~poisonlab.experiment.grid.RunSpec` (plain data) in batches
(:mod:`.plan`); a backend (:mod:`.backends`) executes them (:mod:`.execute`) and hands back one
output per run. Only the process that owns the store writes to it, so workers need no access to
the output directory (a Dask cluster may run on other machines).
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from .backends import outputs as backend_outputs
from .execute import RunOutput
from .grid import RunSpec
from .measure import STORED_METRICS, measure_stored
from .plan import batch_threads, default_memory_budget, iter_batches
from .store import ResultStore, RunRecord


@dataclass
class SweepSummary:
    """What a sweep did: runs in the grid, skipped as finished, run ok, failed."""

    total: int
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    seconds: float = 0.0


#: Runs whose rows a sweep looks up in the store at once while it reads its grid.
CHUNK_RUNS = 1_000


def _with_rows(runs: Iterable[RunSpec], store: ResultStore) -> Iterator[tuple[RunSpec, set | None]]:
    """Each run with the metric names of its current ``ok`` row (None: it has none), looked up
    a chunk of :data:`CHUNK_RUNS` runs at a time."""
    it = iter(runs)
    while chunk := list(itertools.islice(it, CHUNK_RUNS)):
        done = store.finished_metrics([run.key for run in chunk])
        for run in chunk:
            yield run, done.get(run.key)


def _needs_run(run: RunSpec, metrics: set | None) -> bool:
    """Whether a run lacks a current ``ok`` row holding every run metric it asks for (stored
    metrics are completed from the store)."""
    return metrics is None or not {m for m in run.metrics if m not in STORED_METRICS} <= metrics


def pending_runs(runs: Iterable[RunSpec], store: ResultStore, *, force: bool) -> Iterator[RunSpec]:
    """The runs to execute, in order: all with ``force``, else those :func:`_needs_run`."""
    if force:
        return iter(runs)
    return (run for run, metrics in _with_rows(runs, store) if _needs_run(run, metrics))


def complete_stored_metrics(runs: Iterable[RunSpec], store: ResultStore) -> int:
    """Compute, from the stored arrays, the stored metrics that reused rows lack (a study that
    asks for a metric its rows were not computed with); returns how many rows were completed."""
    completed = 0
    if not len(store):  # a new store: nothing to complete (and the grid is not read)
        return completed
    for run, metrics in _with_rows(runs, store):
        missing = [m for m in run.metrics if m in STORED_METRICS and m not in (metrics or ())]
        if metrics is not None and missing and not _needs_run(run, metrics):
            store.update_metrics(run.key, measure_stored(store.arrays(run.key), missing))
            completed += 1
    return completed


def run_sweep(
    runs: Sequence[RunSpec],
    store: ResultStore,
    *,
    n_jobs: int = 1,
    dask: str | None = None,
    dask_local: int | None = None,
    force: bool = False,
    fast_path: bool = True,
    memory_budget: int | None = None,
    dashboard: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_result: Callable[[RunRecord], None] | None = None,
) -> SweepSummary:
    """Execute the pending runs of a grid and write each to ``store`` as it finishes.

    Parameters
    ----------
    runs : sequence of RunSpec
        The whole grid (finished runs are skipped unless ``force``), e.g. a
        :class:`~poisonlab.experiment.grid.Grid`: it is read twice (once to count the pending
        runs and their batches, once to run them), a chunk at a time, and only the batches
        being executed are held.
    store : ResultStore
    n_jobs : int, default=1
        Local workers: this process and ``n_jobs - 1`` processes started once for the sweep
        (forked from a fresh ``forkserver`` process, so a script that calls this needs the
        ``if __name__ == "__main__":`` guard); 1 runs in this process alone.
    dask : str, optional
        Address of a running Dask scheduler to send batches to.
    dask_local : int, optional
        Start a local Dask cluster of this many worker processes for the sweep.
    force : bool, default=False
        Rerun finished runs too.
    fast_path : bool, default=True
        Share kernels between label-only SVC runs.
    memory_budget : int, optional
        Bytes one shared kernel may use (see :func:`plan_batches`).
    dashboard : bool, default=False
        Open the local Dask cluster's dashboard (on a free port of 127.0.0.1).
    on_start : callable(total, pending), optional
    on_result : callable(RunRecord), optional
        Called after each run is written.

    Returns
    -------
    SweepSummary
    """
    start = time.perf_counter()
    if not force:  # reused rows first: they are not executed (and are final)
        complete_stored_metrics(runs, store)
    # Workers the batches are spread over (a remote cluster's size is not known before
    # connecting; -j tells it, at least 2).
    on_dask = dask is not None or dask_local is not None
    n_workers = (dask_local or max(2, n_jobs)) if on_dask else max(1, n_jobs)
    n_pending, n_batches = _count(pending_runs(runs, store, force=force), fast_path=fast_path)
    summary = SweepSummary(total=len(runs), skipped=len(runs) - n_pending)
    if on_start is not None:
        on_start(len(runs), n_pending)
    batches = iter_batches(
        pending_runs(runs, store, force=force),
        fast_path=fast_path,
        threads=batch_threads(n_workers, n_batches),
        memory_budget=default_memory_budget(n_workers) if memory_budget is None else memory_budget,
    )

    def write(output: RunOutput) -> None:
        with _interrupts_held():  # stored and counted together
            store.write_run(output.record, output.arrays)
            if output.record.status == "ok":
                summary.ok += 1
            else:
                summary.failed += 1
            if on_result is not None:
                on_result(output.record)

    for output in backend_outputs(
        batches,
        n_batches=n_batches,
        n_workers=n_workers,
        dask=dask,
        dask_local=dask_local,
        dashboard=dashboard,
    ):
        write(output)
    summary.seconds = time.perf_counter() - start
    return summary


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then act on them as before.

    A run written to the store is then always also counted: an interrupt that came between the
    two made ``poisonlab run`` say one run fewer was kept than the store held. Only the main
    thread can set signal handlers; in another thread this holds nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda signum, frame: held.append(signum)) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        if held:
            handler = previous[held[0]]
            if callable(handler):
                handler(held[0], None)
            elif handler != signal.SIG_IGN:  # the default action (None: not set from Python)
                signal.raise_signal(held[0])


def _count(pending: Iterable[RunSpec], *, fast_path: bool) -> tuple[int, int]:
    """How many runs ``pending`` holds, and in how many batches, read without keeping them."""
    n_runs = 0

    def counted() -> Iterator[RunSpec]:
        nonlocal n_runs
        for run in pending:
            n_runs += 1
            yield run

    n_batches = sum(1 for _ in iter_batches(counted(), fast_path=fast_path))
    return n_runs, n_batches
