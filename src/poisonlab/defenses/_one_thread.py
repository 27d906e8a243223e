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
from collections.abc import Callable
from contextlib import AbstractContextManager


def one_thread() -> AbstractContextManager:
    """A context in which BLAS and OpenMP use one thread (``threadpoolctl``)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


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
