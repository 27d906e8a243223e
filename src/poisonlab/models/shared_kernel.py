"""Many SVC fits on one training set: one Gram matrix, and one-vs-one pairs reused.

Label-only poisoning leaves ``X`` unchanged, so every kernel value (and ``gamma='scale'``, which
depends only on ``X``) can be computed once. libsvm trains a multi-class SVC as one binary SVM
per pair of classes, each on the samples of those two classes only; a pair whose samples and
labels did not change gives the same binary SVM, so it is fitted once and reused. Flipping
'1' to '2' changes 17 of MNIST's 45 pairs; the other 28 come from the cache.

Each binary SVM is fitted by scikit-learn's own libsvm (as ``SVC(kernel='precomputed')`` does)
on the same sub-problem libsvm builds internally (the two classes' samples, lower class first, in
their original order), and prediction counts one-vs-one votes as libsvm does (ties go to the
lower class), so predictions equal a plain ``SVC(...).fit(X, y).predict(X_test)``; the tests
check it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.svm import SVC

from .kernels import (
    as_training_matrix,
    fits_whole,
    grouped_gram,
    kernel_values,
    query_kernel,
    resolve_gamma,
    take_ahead,
)

try:  # scikit-learn's own libsvm binding, as SVC.fit calls it (private, hence the fallback)
    from sklearn.svm import _libsvm

    _libsvm.set_verbosity_wrap(0)
except ImportError:  # pragma: no cover - depends on the installed scikit-learn
    _libsvm = None

# Kernels whose predictions were checked equal to plain SVC fits. poly and sigmoid are left out:
# their large or tanh-rounded kernel values made 2 and 7 of 3,985 digits predictions differ
# (last-bit differences in the decision sums), so they take the plain path.
_KERNELS = ("rbf", "linear")


def supports(estimator: object) -> bool:
    """Whether ``estimator`` is an SVC that :class:`SharedKernelSVC` reproduces exactly."""
    if type(estimator) is not SVC:
        return False
    p = estimator.get_params()
    return (
        p["kernel"] in _KERNELS
        and p["class_weight"] is None
        and p["probability"] in (False, "deprecated")
        and not p["break_ties"]
    )


@dataclass(frozen=True)
class _PairModel:
    """Binary SVM for classes (lower, upper): decision < 0 votes for lower."""

    key: tuple  # (class labels, member rows): equal keys give equal binary problems
    lower: int
    upper: int
    support_rows: np.ndarray  # rows of the shared training set
    dual_coef: np.ndarray  # (n_support,)
    intercept: float


class SharedKernelSVC:
    """Fit SVCs that share one training matrix and differ in labels or in dropped rows.

    Parameters
    ----------
    estimator : SVC
        Template; its ``C``, ``kernel``, ``degree``, ``gamma``, ``coef0``, ``tol``, ``shrinking``,
        ``cache_size`` and ``max_iter`` are used (see :func:`supports`).
    X_train : array-like of shape (n_samples, n_features)
        The training matrix every fit shares.
    memory_limit : int, optional
        Bytes the kernel values may occupy. Default (None): no limit.
    groups : array-like of shape (n_samples,), optional
        Labels to lay the whole Gram matrix out by, e.g. the clean training labels: the block
        between two groups whose rows a fit leaves together is then a slice of it rather than a
        random-access gather (gathers cost the lab's sweep 0.23-0.33 s, issue 18). Results do
        not depend on it.

    Notes
    -----
    When the whole Gram matrix and a block cache of the same size fit in ``memory_limit``
    (``16 * n_samples**2`` bytes: 64 MB at 2,000 samples, 6.4 GB at 20,000), the Gram matrix is
    computed once and each pair's blocks are gathered from it. Otherwise (full MNIST needs
    57.6 GB) each block between two classes' rows is computed from those rows alone when a pair
    first needs it, and blocks are kept, least recently used first out, within
    ``memory_limit``; a pair's kernel is then ``8 * (n_a + n_b)**2`` bytes at a time.
    """

    def __init__(
        self,
        estimator: SVC,
        X_train: np.ndarray,
        *,
        memory_limit: int | None = None,
        groups: np.ndarray | None = None,
    ) -> None:
        if not supports(estimator):
            raise ValueError(
                "SharedKernelSVC needs an SVC with kernel in "
                f"{_KERNELS}, no class_weight, probability=False, break_ties=False."
            )
        self.params = estimator.get_params()
        self._source = X_train  # what a kernel computed ahead is computed from (kernels.py)
        self.X_train, self._sq_train = as_training_matrix(X_train)
        self.gamma = resolve_gamma(self.params["gamma"], self.X_train)
        gram_bytes = 8 * len(self.X_train) ** 2
        whole = fits_whole(len(self.X_train), memory_limit)
        n = len(self.X_train)
        order = np.arange(n) if groups is None else np.argsort(np.asarray(groups), kind="stable")
        #: The whole Gram matrix, rows and columns in ``order`` (training row ``r`` at
        #: ``position[r]``), or None when blocks are computed from their rows on demand.
        self.gram = None
        if whole:
            self.gram = take_ahead("gram", (X_train, groups), self._ahead_params())
            if self.gram is None:
                self.gram = grouped_gram(
                    self.X_train, self._sq_train, order, *self._kernel_params()
                )
        self.position = np.empty(n, dtype=np.intp)
        self.position[order] = np.arange(n)
        self._pairs: dict[tuple, _PairModel] = {}
        self._fitting: dict[tuple, threading.Event] = {}  # pairs a thread is fitting now
        # Gram blocks between two classes' member rows, least recently used first. A pair's
        # sub-matrix is [[B_aa, B_ab], [B_ab.T, B_bb]]; the blocks of classes the attack did not
        # touch are made once and reused, within the Gram matrix's size or ``memory_limit``.
        self._blocks: OrderedDict[tuple[bytes, bytes], np.ndarray] = OrderedDict()
        self._block_bytes = 0
        self._block_limit = gram_bytes if whole else memory_limit
        self._lock = threading.Lock()
        # Decision values of cached pairs on kernels this object made (read-only, kept alive
        # here, so their id() is stable): a reused pair is never evaluated twice.
        self._kernels: dict[int, np.ndarray] = {}
        self._decisions: dict[tuple, np.ndarray] = {}

    def _ahead_params(self) -> tuple:
        """The kernel's name and its gamma as given, as kernels computed ahead are keyed (the
        resolved gamma follows from it and the training matrix)."""
        return self.params["kernel"], self.params["gamma"]

    def _kernel_params(self) -> tuple[str, float]:
        """The kernel's name and its resolved gamma."""
        return self.params["kernel"], self.gamma

    def query_kernel(self, X: np.ndarray) -> np.ndarray:
        """Read-only kernel of ``X`` against the training set, for repeated predictions.

        Decision values of pairs shared between fits are computed once per such kernel.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)

        Returns
        -------
        ndarray of shape (n_queries, n_samples)
        """
        K = take_ahead("query", (X, self._source), self._ahead_params())
        if K is None:
            K = query_kernel(X, self.X_train, self._sq_train, *self._kernel_params())
        self._kernels[id(K)] = K
        return K

    def decision(self, pair: _PairModel, K: np.ndarray) -> np.ndarray:
        """scikit-learn-signed decision values of one pair on kernel ``K``, shape (n_queries,)."""
        memo_key = (pair.key, id(K)) if self._kernels.get(id(K)) is K else None
        if memo_key is not None and memo_key in self._decisions:
            return self._decisions[memo_key]
        values = K[:, pair.support_rows] @ pair.dual_coef + pair.intercept
        if memo_key is not None:
            self._decisions[memo_key] = values
        return values

    def kernel(self, X: np.ndarray, columns: np.ndarray | None = None) -> np.ndarray:
        """Kernel between ``X`` and the training matrix, as libsvm computes it.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
        columns : array-like of int, optional
            Training rows to compute the kernel against (default: all).

        Returns
        -------
        ndarray of shape (n_queries, n_samples) or (n_queries, len(columns))
        """
        X = np.asarray(X, dtype=np.float64)
        train = self.X_train if columns is None else self.X_train[columns]
        sq_train = self._sq_train if columns is None else self._sq_train[columns]
        return kernel_values(X, train, sq_train, *self._kernel_params())

    def fit(self, y: np.ndarray, rows: np.ndarray | None = None) -> PairwiseSVC:
        """Fit on labels ``y`` (and only ``rows`` of the training set, if given).

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Labels for every training row (rows not in ``rows`` are ignored).
        rows : array-like of int, optional
            Training rows to use, e.g. those a sanitizer kept. Default: all.

        Returns
        -------
        PairwiseSVC
        """
        y = np.asarray(y)
        rows = np.arange(len(y)) if rows is None else np.sort(np.asarray(rows, dtype=np.intp))
        classes, codes = np.unique(y[rows], return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"an SVC needs at least two classes; got {classes.tolist()}.")
        members = [rows[codes == c] for c in range(len(classes))]
        pairs = [
            self._pair(a, b, members[a], members[b], classes)
            for a in range(len(classes))
            for b in range(a + 1, len(classes))
        ]
        return PairwiseSVC(self, classes, pairs)

    def _pair(
        self, a: int, b: int, rows_a: np.ndarray, rows_b: np.ndarray, classes: np.ndarray
    ) -> _PairModel:
        key = (str(classes[a]), str(classes[b]), rows_a.tobytes(), rows_b.tobytes())
        model = self._fitted_once(key, lambda: self._fit_pair(key, a, b, rows_a, rows_b))
        return _PairModel(key, a, b, model.support_rows, model.dual_coef, model.intercept)

    def _fitted_once(self, key: tuple, fit: Callable[[], _PairModel]) -> _PairModel:
        """The cached model of ``key``, fitting it only if no thread has it or is fitting it
        (with two threads, 8 to 12 of the lab's pairs were otherwise fitted twice)."""
        while True:
            with self._lock:
                if key in self._pairs:
                    return self._pairs[key]
                fitting = self._fitting.get(key)
                if fitting is None:
                    self._fitting[key] = threading.Event()
            if fitting is not None:
                fitting.wait()  # the other thread's model, or its failure: then try again
                continue
            try:
                model = fit()
                with self._lock:
                    self._pairs[key] = model
                return model
            finally:
                with self._lock:
                    self._fitting.pop(key).set()

    def _fit_pair(
        self, key: tuple, a: int, b: int, rows_a: np.ndarray, rows_b: np.ndarray
    ) -> _PairModel:
        rows = np.concatenate([rows_a, rows_b])
        labels = np.zeros(len(rows))
        labels[len(rows_a) :] = 1.0
        gram = self._pair_gram(rows_a, rows_b)
        support, dual_coef, intercept = fit_binary(gram, labels, self.params)
        return _PairModel(key, a, b, rows[support], dual_coef, intercept)

    def _pair_gram(self, rows_a: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
        """The pair's Gram sub-matrix [[B_aa, B_ab], [B_ab.T, B_bb]], C-contiguous float64."""
        na = len(rows_a)
        gram = np.empty((na + len(rows_b),) * 2)
        # Four slice copies: np.block builds the same matrix with ~0.1 ms of Python per call.
        between = self._block(rows_a, rows_b)
        gram[:na, :na] = self._block(rows_a, rows_a)
        gram[:na, na:] = between
        gram[na:, :na] = between.T
        gram[na:, na:] = self._block(rows_b, rows_b)
        return gram

    def _block(self, rows_i: np.ndarray, rows_j: np.ndarray) -> np.ndarray:
        """``gram[rows_i][:, rows_j]``, from the block cache when it holds it."""
        key = (rows_i.tobytes(), rows_j.tobytes())
        with self._lock:
            block = self._blocks.get(key)
            if block is not None:
                self._blocks.move_to_end(key)
                return block
        if self.gram is not None:
            block = self._gram_block(self.position[rows_i], self.position[rows_j])
        else:
            block = self.kernel(self.X_train[rows_i], rows_j)
        with self._lock:
            if key not in self._blocks:
                self._blocks[key] = block
                self._block_bytes += block.nbytes
            while self._block_bytes > self._block_limit and len(self._blocks) > 1:
                self._block_bytes -= self._blocks.popitem(last=False)[1].nbytes
        return block

    def _gram_block(self, at_i: np.ndarray, at_j: np.ndarray) -> np.ndarray:
        """``gram[at_i][:, at_j]``: a slice where both are runs of consecutive positions."""
        run_i, run_j = _is_run(at_i), _is_run(at_j)
        if run_i and run_j:
            return self.gram[at_i[0] : at_i[-1] + 1, at_j[0] : at_j[-1] + 1]
        # Whole rows cut to a slice are copied row by row, several times faster than a gather
        # of single values; the Gram matrix is symmetric, so a run of rows can be the columns.
        if run_j:
            return self.gram[at_i, at_j[0] : at_j[-1] + 1]
        if run_i:
            return self.gram[at_j, at_i[0] : at_i[-1] + 1].T
        # One flat gather: about twice as fast as np.ix_ or two takes.
        n = self.gram.shape[0]
        return self.gram.ravel().take(at_i[:, None] * n + at_j[None, :])


def _is_run(positions: np.ndarray) -> bool:
    """Whether ``positions`` are consecutive and increasing (one slice, in order)."""
    if len(positions) == 0 or positions[-1] - positions[0] != len(positions) - 1:
        return False  # most gathers end here, without the diff
    return bool(np.all(np.diff(positions) == 1))


def fit_binary(gram: np.ndarray, labels: np.ndarray, params: dict) -> tuple:
    """One binary libsvm fit on a precomputed kernel.

    Returns support indices, dual coefficients and intercept signed as scikit-learn's binary
    SVC has them (decision > 0 means label 1).
    """
    if fast_path_available():
        # The same call SVC.fit makes, minus ~0.5 ms of Python checks per fit; the C code
        # releases the GIL, so threads fit pairs in parallel.
        support, _, _, dual_coef, intercept, *_ = _libsvm.fit(
            gram,
            labels,
            svm_type=0,
            sample_weight=np.empty(0),
            class_weight=np.empty(0),
            kernel="precomputed",
            C=params["C"],
            nu=0.5,
            probability=0,
            degree=3,
            shrinking=params["shrinking"],
            tol=params["tol"],
            cache_size=params["cache_size"],
            coef0=0.0,
            gamma=0.0,
            epsilon=0.1,
            max_iter=params["max_iter"],
            random_seed=0,
        )
        # libsvm's sign convention has label 0 positive; SVC flips it for binary problems.
        return support, -dual_coef[0], -float(intercept[0])
    svm = SVC(
        kernel="precomputed",
        C=params["C"],
        tol=params["tol"],
        shrinking=params["shrinking"],
        cache_size=params["cache_size"],
        max_iter=params["max_iter"],
    ).fit(gram, labels)
    return svm.support_, svm.dual_coef_[0].copy(), float(svm.intercept_[0])


def fast_path_available() -> bool:
    """Whether scikit-learn's private libsvm binding has the signature we call."""
    return _libsvm is not None and hasattr(_libsvm, "fit")


class PairwiseSVC:
    """A fitted one-vs-one SVC over a :class:`SharedKernelSVC`'s training set.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    """

    def __init__(
        self, shared: SharedKernelSVC, classes: np.ndarray, pairs: list[_PairModel]
    ) -> None:
        self.shared = shared
        self.classes_ = classes
        self.pairs = pairs

    def predict_from_kernel(self, K: np.ndarray) -> np.ndarray:
        """Predict from a kernel ``K`` of shape (n_queries, n_train_samples).

        Pass a kernel from :meth:`SharedKernelSVC.query_kernel` to reuse decision values.
        """
        votes = np.zeros((K.shape[0], len(self.classes_)), dtype=np.int64)
        for pair in self.pairs:
            # scikit-learn's binary decision is positive for the upper class; libsvm votes for
            # the lower class only when its own (negated) value is > 0, so a tie goes upper.
            upper = self.shared.decision(pair, K) >= 0
            votes[:, pair.lower] += ~upper
            votes[:, pair.upper] += upper
        return self.classes_[np.argmax(votes, axis=1)]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predict labels of ``X``, ndarray of shape (n_queries,)."""
        return self.predict_from_kernel(self.shared.kernel(X))
