"""Kernel values as libsvm computes them, in numpy alone, and kernels computed ahead of use.

This module imports no scikit-learn, so a kernel can be computed while scikit-learn imports:
importing it takes the ML 106 lab 1.2 s of one core with the other idle, and the lab's Gram
matrices (0.3 CPU-s) are numpy products that release the GIL (issue 18). :func:`compute_ahead`
starts such a computation in a thread; :func:`take_ahead` hands its result to the one caller
whose inputs are the very same arrays, else returns None (and the caller computes as usual).
Results never depend on it: the same function computes the same values either way.
"""

from __future__ import annotations

import operator
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np

from .._threadpools import thread_limits

_BLOCK_ROWS = 4096  # rows of X per matrix product in kernel_values


def default_memory_budget(n_workers: int = 1) -> int:
    """Memory one worker may give to a shared-kernel context: half the machine's RAM, shared
    among the local workers."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        total = 8 * 2**30
    return total // 2 // max(1, n_workers)


def fits_whole(n_samples: int, memory_limit: int | None) -> bool:
    """Whether the whole Gram matrix of ``n_samples`` rows and a block cache of the same size
    (``16 * n_samples**2`` bytes) fit in ``memory_limit`` (None: no limit)."""
    return memory_limit is None or 2 * 8 * n_samples**2 <= memory_limit


def resolve_gamma(gamma: str | float, X: np.ndarray) -> float:
    """SVC's ``gamma`` as a number: ``'scale'`` and ``'auto'`` as scikit-learn resolves them
    for the float64 training matrix ``X`` of shape (n_samples, n_features)."""
    if gamma == "scale":
        var = X.var()
        return 1.0 / (X.shape[1] * var) if var != 0 else 1.0
    if gamma == "auto":
        return 1.0 / X.shape[1]
    return float(gamma)


def kernel_values(
    X: np.ndarray, train: np.ndarray, sq_train: np.ndarray, kind: str, gamma: float
) -> np.ndarray:
    """Kernel between ``X`` and ``train`` as libsvm computes it (``'rbf'`` or ``'linear'``).

    Parameters
    ----------
    X : ndarray of shape (n_queries, n_features), float64
    train : ndarray of shape (n_samples, n_features), float64
    sq_train : ndarray of shape (n_samples,)
        Squared norms of ``train``'s rows.
    kind : {'rbf', 'linear'}
    gamma : float

    Returns
    -------
    ndarray of shape (n_queries, n_samples)
    """
    # In row blocks: OpenBLAS 0.3.31 (numpy's wheel) crashed with SIGSEGV on the single
    # 20,000 x 784 by 784 x 20,000 product with 2 threads; blocks of 4,096 rows do not, and
    # below 4,096 rows this is the one product as before.
    dot = np.empty((len(X), len(train)))
    for start in range(0, len(X), _BLOCK_ROWS):
        rows = slice(start, start + _BLOCK_ROWS)
        np.matmul(X[rows], train.T, out=dot[rows])
    if kind == "linear":
        return dot
    # libsvm's rbf, exp(-gamma * ((|x|^2 + |z|^2) - 2 x.z)), evaluated in the same order
    # but in place and in row chunks, so no full-size temporaries are allocated.
    sq = np.einsum("ij,ij->i", X, X)
    dot *= -2.0
    for start in range(0, len(dot), 256):
        chunk = slice(start, start + 256)
        dot[chunk] += sq[chunk, None] + sq_train[None, :]
    dot *= -gamma
    return np.exp(dot, out=dot)


def as_training_matrix(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``X`` as float64 and its rows' squared norms, as every kernel of it needs them."""
    X = np.asarray(X, dtype=np.float64)
    return X, np.einsum("ij,ij->i", X, X)


def grouped_gram(
    X: np.ndarray, sq: np.ndarray, order: np.ndarray, kind: str, gamma: float
) -> np.ndarray:
    """The Gram matrix of training matrix ``X`` with rows and columns in ``order``, shape
    (n_samples, n_samples)."""
    # Two copies, as any query against the training rows: numpy computes ``A @ A.T`` of one
    # array by a symmetric product (syrk), whose last bits may differ from the general one.
    return kernel_values(X[order], X[order], sq[order], kind, gamma)


def query_kernel(
    X: np.ndarray, train: np.ndarray, sq_train: np.ndarray, kind: str, gamma: float
) -> np.ndarray:
    """Read-only, column-major kernel of ``X`` against ``train``, shape (n_queries,
    n_samples): each one-vs-one pair's decision reads the columns of its support vectors."""
    K = np.asfortranarray(
        kernel_values(np.asarray(X, dtype=np.float64), train, sq_train, kind, gamma)
    )
    K.flags.writeable = False
    return K


# ------------------------------------------------------------------- computed ahead of use

_AHEAD_LOCK = threading.Lock()
#: name -> (the parameters, the result to come: (the input arrays, the value))
_AHEAD: dict[str, tuple[tuple, Future]] = {}


def compute_ahead(params: tuple, steps: dict[str, Callable[[], tuple[tuple, object]]]) -> None:
    """Run ``steps`` one after the other in a thread, each for :func:`take_ahead` with its name
    and equal ``params`` (e.g. the kernel's name and its gamma as given). Each step returns the
    arrays it computed from and the value; a step that fails fails the ones after it."""
    futures = {name: Future() for name in steps}

    def run() -> None:
        failure = None
        # One BLAS thread: the other core is the importing thread's (the values do not depend
        # on it: the lab's Gram matrices are equal bit for bit with one or two threads).
        with thread_limits(1, "blas"):
            for name, compute in steps.items():
                try:
                    if failure is not None:
                        raise failure
                    futures[name].set_result(compute())
                except BaseException as exc:  # kept for take_ahead, which then gives None
                    failure = exc
                    futures[name].set_exception(exc)

    with _AHEAD_LOCK:
        _AHEAD.update({name: (params, future) for name, future in futures.items()})
    threading.Thread(target=run, name="poisonlab-ahead", daemon=True).start()


def take_ahead(name: str, inputs: tuple, params: tuple) -> object | None:
    """The value :func:`compute_ahead` computed from exactly these ``inputs`` (the same array
    objects) with equal ``params``, waiting for it; given once. None if there is none, it was
    computed from other arrays or it failed: the caller then computes it."""
    with _AHEAD_LOCK:
        entry = _AHEAD.get(name)
        if entry is None or entry[0] != params:
            return None
        del _AHEAD[name]
    future = entry[1]
    if future.exception() is not None:
        return None
    started, value = future.result()
    same = len(started) == len(inputs) and all(map(operator.is_, started, inputs))
    return value if same else None


def settle_ahead() -> None:
    """Wait until every computation started ahead has finished (its BLAS threads idle), so
    thread limits never change under it; the results stay for :func:`take_ahead`."""
    if not _AHEAD:  # the common case, without the lock
        return
    with _AHEAD_LOCK:
        futures = [future for _, future in _AHEAD.values()]
    for future in futures:
        future.exception()


def discard_ahead() -> None:
    """Drop every value computed ahead and not taken (its memory with it, once computed)."""
    with _AHEAD_LOCK:
        _AHEAD.clear()
