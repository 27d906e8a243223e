"""Plan a sweep's pending runs into batches, the unit of work sent to a worker.

A batch is one run, except on the shared-kernel fast path: runs that differ only in a
``label`` attack's labels (or in the rows a sanitizer dropped) on the same split and SVC share
one :class:`~poisonlab.models.shared_kernel.SharedKernelSVC`, hence one Gram matrix, as long as
it fits the memory budget.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from .components import canonical_json, load_split, make_estimator, registry_for
from .grid import RunSpec


@dataclass(frozen=True)
class Batch:
    """Runs executed together by one worker.

    ``shared``: on one shared kernel, fitted by ``threads`` threads (libsvm releases the GIL,
    and the threads share the kernel's cache of class pairs, as the lab does).
    """

    runs: list[RunSpec]
    shared: bool = False
    threads: int = 1


def fast_path_bytes(n_train: int, n_test: int) -> int:
    """Memory of one shared-kernel context: the Gram matrix, its block cache (bounded to the
    same size) and the test kernel, all float64."""
    return 8 * (2 * n_train * n_train + n_test * n_train)


def default_memory_budget(n_workers: int) -> int:
    """Memory one worker may give to a shared-kernel context: half the machine's RAM, shared
    among the local workers."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        total = 8 * 2**30
    return total // 2 // max(1, n_workers)


def fast_path_eligible(run: RunSpec) -> bool:
    """Whether a run can share a kernel: a label-only attack (or none) and an SVC that
    :class:`SharedKernelSVC` reproduces exactly (the memory check is made per group)."""
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
    """Group runs into batches: fast-path groups share a kernel; every other run is alone.

    Parameters
    ----------
    runs : list of RunSpec
    n_workers : int, default=1
        Workers the batches are spread over: a fast-path group is cut into ``n_workers``
        chunks (each builds its own kernel), each fitted by ``cpu_count // n_workers`` threads.
    fast_path : bool, default=True
    memory_budget : int, optional
        Bytes a shared-kernel context may use (default: :func:`default_memory_budget`). A group
        over the budget takes the plain path; the results are the same, only slower.
    """
    budget = default_memory_budget(n_workers) if memory_budget is None else memory_budget
    threads = max(1, (os.cpu_count() or 1) // max(1, n_workers))
    groups: dict[str, list[RunSpec]] = {}
    batches: list[Batch] = []
    for run in runs:
        if fast_path and fast_path_eligible(run):
            key = canonical_json([run.config["dataset"], run.config["model"]])
            groups.setdefault(key, []).append(run)
        else:
            batches.append(Batch([run]))
    for group in groups.values():
        split, _ = load_split(group[0].config["dataset"])
        if fast_path_bytes(len(split.y_train), len(split.y_test)) > budget:
            batches.extend(Batch([run]) for run in group)
            continue
        chunks = min(len(group), n_workers)
        size = math.ceil(len(group) / chunks)
        batches.extend(
            Batch(group[i : i + size], True, threads) for i in range(0, len(group), size)
        )
    return batches
