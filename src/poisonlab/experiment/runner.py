"""Run a study's grid: skip finished runs, execute the rest (serially, in local worker processes
or on a Dask cluster), and write each run to the results store as it finishes.

Runs travel as :class:`~poisonlab.experiment.grid.RunSpec` (plain data) in batches
(:mod:`.plan`); a backend (:mod:`.backends`) executes them (:mod:`.execute`) and hands back one
output per run. Only the process that owns the store writes to it, so workers need no access to
the output directory (a Dask cluster may run on other machines).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .backends import outputs as backend_outputs
from .execute import RunOutput
from .grid import RunSpec
from .measure import STORED_METRICS, measure_stored
from .plan import plan_batches
from .store import ResultStore, RunRecord


@dataclass
class SweepSummary:
    """What a sweep did: runs in the grid, skipped as finished, run ok, failed."""

    total: int
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    seconds: float = 0.0


def pending_runs(runs: list[RunSpec], store: ResultStore, *, force: bool) -> list[RunSpec]:
    """The runs to execute: all with ``force``, else those without a current ``ok`` row that
    holds every run metric they ask for (stored metrics are completed from the store)."""
    if force:
        return list(runs)
    done = store.finished_metrics()
    return [
        r
        for r in runs
        if r.key not in done or not {m for m in r.metrics if m not in STORED_METRICS} <= done[r.key]
    ]


def complete_stored_metrics(runs: list[RunSpec], store: ResultStore) -> int:
    """Compute, from the stored arrays, the stored metrics that reused rows lack (a study that
    asks for a metric its rows were not computed with); returns how many rows were completed."""
    done = store.finished_metrics()
    completed = 0
    for run in runs:
        if run.key not in done:
            continue
        missing = [m for m in run.metrics if m in STORED_METRICS and m not in done[run.key]]
        if missing:
            store.update_metrics(run.key, measure_stored(store.arrays(run.key), missing))
            completed += 1
    return completed


def run_sweep(
    runs: list[RunSpec],
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
    runs : list of RunSpec
        The whole grid (finished runs are skipped unless ``force``).
    store : ResultStore
    n_jobs : int, default=1
        Local worker processes, started once for the sweep (``spawn``: a script that calls
        this needs the ``if __name__ == "__main__":`` guard); 1 runs in this process.
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
    todo = pending_runs(runs, store, force=force)
    summary = SweepSummary(total=len(runs), skipped=len(runs) - len(todo))
    if on_start is not None:
        on_start(len(runs), len(todo))
    # Workers the batches are spread over (a remote cluster's size is not known before
    # connecting; -j tells it, at least 2).
    on_dask = dask is not None or dask_local is not None
    n_workers = (dask_local or max(2, n_jobs)) if on_dask else max(1, n_jobs)
    batches = plan_batches(
        todo, n_workers=n_workers, fast_path=fast_path, memory_budget=memory_budget
    )

    def write(output: RunOutput) -> None:
        store.write_run(output.record, output.arrays)
        if output.record.status == "ok":
            summary.ok += 1
        else:
            summary.failed += 1
        if on_result is not None:
            on_result(output.record)

    for output in backend_outputs(
        batches, n_workers=n_workers, dask=dask, dask_local=dask_local, dashboard=dashboard
    ):
        write(output)
    executed = {run.key for run in todo}
    reused = [run for run in runs if run.key not in executed]
    if reused:  # runs just executed computed every metric they ask for
        complete_stored_metrics(reused, store)
    summary.seconds = time.perf_counter() - start
    return summary
