"""Plan a sweep's pending runs into batches, the unit of work sent to a worker.

A batch is one run, except on the shared-kernel fast path: runs that differ only in a
``label`` attack's labels (or in the rows a sanitizer dropped) on the same split and SVC share
one :class:`~poisonlab.models.shared_kernel.SharedKernelSVC` (one Gram matrix, or its class-pair
blocks within the memory budget), on one worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

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


def default_memory_budget(n_workers: int = 1) -> int:
    """Memory one worker may give to a shared-kernel context: half the machine's RAM, shared
    among the local workers."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        total = 8 * 2**30
    return total // 2 // max(1, n_workers)


def fast_path_eligible(run: RunSpec) -> bool:
    """Whether a run can share a kernel: a label-only attack (or none) and an SVC that
    :class:`SharedKernelSVC` reproduces exactly."""
    from ..models.shared_kernel import supports

    if run.attack != "none" and registry_for("attack").get(run.attack).kind != "label":
        return False
    try:
        return supports(make_estimator(run.config["model"]))
    except (ValueError, TypeError):
        return False


def plan_batches(
    runs: list[RunSpec],
    *,
    n_workers: int = 1,
    fast_path: bool = True,
    memory_budget: int | None = None,
) -> list[Batch]:
    """Group runs into batches: each fast-path group, whole, shares one kernel; every other run
    is alone.

    Parameters
    ----------
    runs : list of RunSpec
    n_workers : int, default=1
        Workers the batches are spread over. A group stays on one worker (splitting it would
        build its kernel once per worker); it is fitted by the cores left to it:
        ``cpu_count // min(n_workers, len(batches))`` threads.
    fast_path : bool, default=True
    memory_budget : int, optional
        Bytes a shared kernel may use (default: :func:`default_memory_budget`). Within it the
        whole Gram matrix is built once; above it each class pair's blocks are computed from
        its rows and cached within the budget (:class:`SharedKernelSVC`); the fast path is
        kept either way.
    """
    budget = default_memory_budget(n_workers) if memory_budget is None else memory_budget
    groups: dict[str, list[RunSpec]] = {}
    alone: list[RunSpec] = []
    for run in runs:
        if fast_path and fast_path_eligible(run):
            key = canonical_json([run.config["dataset"], run.config["model"]])
            groups.setdefault(key, []).append(run)
        else:
            alone.append(run)
    busy = max(1, min(n_workers, len(groups) + len(alone)))
    threads = max(1, (os.cpu_count() or 1) // busy)
    # Groups first: the longest batches start first, the single runs fill the other workers.
    return [Batch(group, True, threads, budget) for group in groups.values()] + [
        Batch([run]) for run in alone
    ]
