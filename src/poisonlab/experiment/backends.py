"""Where batches execute: in this process, in joblib's local process pool, or on Dask.

Each backend yields :class:`~poisonlab.experiment.execute.RunOutput` as runs finish (serially,
each the moment it finishes; in parallel, a batch's runs when the batch returns).
"""

from __future__ import annotations

from collections.abc import Iterator

from .execute import RunOutput, execute_batch, run_batch
from .plan import Batch


def outputs(
    batches: list[Batch],
    *,
    n_workers: int = 1,
    dask: str | None = None,
    dask_local: int | None = None,
) -> Iterator[RunOutput]:
    """The outputs of ``batches``: on Dask (a scheduler's ``dask`` address, or a local cluster
    of ``dask_local`` workers), else in ``n_workers`` local processes, else serially."""
    if dask is not None or dask_local is not None:
        return _dask_outputs(batches, address=dask, n_workers=dask_local)
    if n_workers > 1 and len(batches) > 1:
        return _joblib_outputs(batches, n_workers)
    return _serial_outputs(batches)


def _serial_outputs(batches: list[Batch]) -> Iterator[RunOutput]:
    for batch in batches:
        yield from execute_batch(batch)


def _joblib_outputs(batches: list[Batch], n_workers: int) -> Iterator[RunOutput]:
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_workers, return_as="generator_unordered")
    for outputs in parallel(delayed(run_batch)(b) for b in batches):
        yield from outputs


def _dask_outputs(
    batches: list[Batch], *, address: str | None, n_workers: int | None
) -> Iterator[RunOutput]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if address is None:
        # Processes on the loopback interface only: nothing listens beyond this machine.
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
    try:
        with Client(cluster if cluster is not None else address) as client:
            futures = [client.submit(run_batch, b, pure=False) for b in batches]
            for future in as_completed(futures):
                yield from future.result()
    finally:
        if cluster is not None:
            cluster.close()
