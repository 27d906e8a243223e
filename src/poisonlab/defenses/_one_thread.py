"""One BLAS/OpenMP thread for the detectors' numerical kernels.

Measured on this project's 2-core machine while other processes kept the cores busy (load
about 10): a 784 x 784 ``eigh`` took 13 s with two BLAS threads against 0.26 s with one;
k-means on 9,000 x 10 points 4.2 s against 0.25 s; the logistic regression STRIP fits on
60,000 MNIST images 74 s against 17 s. Threads that spin while they wait for a busy core cost
far more than they bring on small and medium problems, so these kernels run on one thread.
(On an idle many-core machine they give up some speed; the problems are small enough that it
stays seconds.)
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from contextlib import AbstractContextManager

from .._threadpools import controller, thread_limits


def one_thread(user_api: str | None = None) -> AbstractContextManager:
    """A context in which BLAS and OpenMP (or only ``user_api``) use one thread
    (``threadpoolctl``)."""
    return thread_limits(1, user_api)


def single_threaded(method: Callable) -> Callable:
    """Run ``method`` with one BLAS/OpenMP thread (measurements above).

    On this project's shared 2-core machine under load, OpenBLAS's second thread spins while
    waiting for a core: a PCA of 2,000 x 784 MNIST images took 9 to 14 s with two threads and
    0.4 s with one.
    """

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with one_thread():
            return method(*args, **kwargs)

    return wrapper


def free_threads() -> int:
    """Threads a bit-identical parallel step may use: the cores free for it.

    The cores this process may use, at most the OpenMP limit the caller set in this thread: one
    inside the study runner, which runs its parallelism across runs
    (``experiment.execute.fixed_threads``), or a user's ``threadpool_limits``. The machine's
    load is not subtracted: on the shared 2-core machine at load 23, a 1-thread ``knn_label``
    took 385 s against 245 s for the plain 2-thread scikit-learn vote in the same round of
    ``benchmarks/bench_detectors_60k.py`` (on busy cores, each thread is a share of them); with
    the cores, 255 s against 308 s.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    limits = [info["num_threads"] for info in controller().info() if info["user_api"] == "openmp"]
    return max(1, min(cores or 1, *limits))


def free_threaded(method: Callable) -> Callable:
    """Run ``method`` with one BLAS thread and :func:`free_threads` OpenMP threads.

    For methods whose result is the same for any thread count (the ordered neighbour search of
    ``_neighbours.py``, ``confident_learning``'s folds side by side, each on one thread):
    they use the free cores of a direct call.
    """

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with one_thread("blas"), thread_limits(free_threads(), "openmp"):
            return method(*args, **kwargs)

    return wrapper
