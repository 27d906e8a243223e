"""Plan a sweep's pending runs into batches, the unit of work sent to a worker.

A batch is one run, except on the shared-kernel fast path: runs that differ only in a
``label`` attack's labels (or in the rows a sanitizer dropped) on the same split and SVC share
one :class:`~poisonlab.models.shared_kernel.SharedKernelSVC` (one Gram matrix, or its class-pair
blocks within the memory budget), on one worker.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..models.kernels import default_memory_budget
from .components import canonical_json, make_estimator, registry_for
from .grid import RunSpec


@dataclass(frozen=True)
class Batch:
    """Runs executed together by one worker.

    ``shared``: on one shared kernel, fitted by ``threads`` threads (libsvm releases the GIL,
    and the threads share the kernel's cache of class pairs, as the lab does), whose kernel
    values stay within ``memory_limit`` bytes (None: no limit).
    """

    runs: list[RunSpec]
    shared: bool = False
    threads: int = 1
    memory_limit: int | None = None


#: The most runs one shared-kernel batch holds. A batch is what a sweep holds in memory (its run
#: descriptions, a few kB each), so a longer fast-path group is cut into consecutive batches of
#: this size; each builds its kernel again (a Dask worker that ran the previous one reuses it).
MAX_BATCH_RUNS = 5_000


def fast_path_eligible(run: RunSpec) -> bool:
    """Whether a run can share a kernel: a label-only attack (or none) and an SVC that
    :class:`SharedKernelSVC` reproduces exactly."""
    return _eligible(run.attack, canonical_json(run.config["model"]))


@functools.lru_cache(maxsize=1024)
def _eligible(attack: str, model: str) -> bool:
    # Cached: a grid has few distinct (attack, model) pairs and millions of runs.
    from ..models.shared_kernel import supports

    if attack != "none" and registry_for("attack").get(attack).kind != "label":
        return False
    try:
        return supports(make_estimator(json.loads(model)))
    except (ValueError, TypeError):
        return False


def iter_batches(
    runs: Iterable[RunSpec],
    *,
    fast_path: bool = True,
    threads: int = 1,
    memory_budget: int | None = None,
    max_runs: int = MAX_BATCH_RUNS,
) -> Iterator[Batch]:
    """Batches of ``runs``, read in grid order and yielded as they are formed: each run alone,
    except fast-path runs of one dataset and model, which share a kernel (``threads``,
    ``memory_budget``: see :func:`plan_batches`) in batches of at most ``max_runs``.

    Datasets and models are the grid's outer axes, so a group's runs come together: a group
    is complete when a fast-path run of another dataset or model comes, and only the group
    being formed is held.
    """
    group: list[RunSpec] = []
    group_key = None
    for run in runs:
        eligible = fast_path and fast_path_eligible(run)
        # Made only when a group is open or may open: grids of millions of runs are read twice.
        key = (
            canonical_json([run.config["dataset"], run.config["model"]])
            if group or eligible
            else None
        )
        # A run of another dataset or model completes the group (a later one cannot join it):
        # handed out now, it is not left to the end of the sweep, where one worker would fit
        # it while the others wait.
        if group and (key != group_key or (eligible and len(group) >= max_runs)):
            yield Batch(group, True, threads, memory_budget)
            group = []
        if not eligible:
            yield Batch([run])
            continue
        group_key = key
        group.append(run)
    if group:
        yield Batch(group, True, threads, memory_budget)


def batch_threads(n_workers: int, n_batches: int) -> int:
    """Threads a shared-kernel batch is fitted by: the cores left to it when ``n_batches``
    are spread over ``n_workers`` workers."""
    busy = max(1, min(n_workers, n_batches))
    return max(1, (os.cpu_count() or 1) // busy)


def plan_batches(
    runs: list[RunSpec],
    *,
    n_workers: int = 1,
    fast_path: bool = True,
    memory_budget: int | None = None,
) -> list[Batch]:
    """:func:`iter_batches` of a list of runs, all at once.

    Parameters
    ----------
    runs : list of RunSpec
    n_workers : int, default=1
        Workers the batches are spread over. A group stays on one worker (splitting it would
        build its kernel once per worker); it is fitted by the cores left to it
        (:func:`batch_threads`).
    fast_path : bool, default=True
    memory_budget : int, optional
        Bytes a shared kernel may use (default: :func:`default_memory_budget`). Within it the
        whole Gram matrix is built once; above it each class pair's blocks are computed from
        its rows and cached within the budget (:class:`SharedKernelSVC`); the fast path is
        kept either way.
    """
    n_batches = sum(1 for _ in iter_batches(runs, fast_path=fast_path))
    budget = default_memory_budget(n_workers) if memory_budget is None else memory_budget
    threads = batch_threads(n_workers, n_batches)
    return list(iter_batches(runs, fast_path=fast_path, threads=threads, memory_budget=budget))
