"""Pieces shared by the label-poisoning detectors: trusted data, feature reduction, seeds.

Kept private: the public API of each detector is its class and its parameters.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np

from .._validation import Constraint, InstanceOf, Interval, Options


@dataclass(frozen=True, eq=False)
class TrustedSet:
    """A small labelled set the defender trusts (e.g. a vetted validation sample).

    A parameter value of several detectors (``roni``'s ``validation``, ``output_shift``'s
    ``holdout``). It wraps the arrays so that a detector's parameters compare equal after
    :func:`sklearn.base.clone` (plain arrays make ``get_params() == ...`` ambiguous).

    Parameters
    ----------
    X : array-like of shape (n_trusted, n_features)
    y : array-like of shape (n_trusted,), optional
        Labels; some uses (held-out inputs) need none.
    """

    X: Any
    y: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "X", np.asarray(self.X))
        if self.y is not None:
            object.__setattr__(self, "y", np.asarray(self.y))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrustedSet):
            return NotImplemented
        same_y = (self.y is None and other.y is None) or (
            self.y is not None and other.y is not None and np.array_equal(self.y, other.y)
        )
        return same_y and np.array_equal(self.X, other.X)

    def __hash__(self) -> int:
        return hash((self.X.shape, self.X.tobytes()[:64]))

    def __repr__(self) -> str:
        labels = "no labels" if self.y is None else "labelled"
        return f"TrustedSet({self.X.shape[0]} x {self.X.shape[1]}, {labels})"

    def check(self, owner: str, param: str, n_features: int, *, need_y: bool) -> None:
        """Raise ``ValueError`` naming ``param`` if the set does not fit the training data."""
        X, y = self.X, self.y
        problem = None
        if X.ndim != 2 or X.shape[1] != n_features or len(X) == 0:
            problem = f"X of shape (n, {n_features}) with n >= 1; got shape {X.shape}"
        elif X.dtype.kind not in "biuf" or (X.dtype.kind == "f" and not np.isfinite(X).all()):
            problem = f"finite numeric X; got dtype {X.dtype}"
        elif need_y and (y is None or y.shape != (len(X),)):
            shown = None if y is None else y.shape
            problem = f"one label per row of X ({len(X)}); got y of shape {shown}"
        if problem:
            raise ValueError(f"The {param!r} parameter of {owner} must hold {problem}.")


TRUSTED: list[Constraint] = [InstanceOf((TrustedSet,), "a TrustedSet")]

#: ``n_components`` of detectors that may reduce features with PCA first (None: raw features).
N_COMPONENTS: list[Constraint] = [Options(None), Interval(Integral, 1, None)]


#: PCA is fitted on at most this many training rows (a random subset), then applied to all.
PCA_FIT_ROWS = 10_000


def fit_reducer(X: np.ndarray, n_components: int | None, seed: int):
    """A PCA fitted on ``X``, or None when features are used as they are.

    With ``n_components`` None, or at least the number of features, there is nothing to reduce
    and the raw features are used (documented on each detector). Larger sets are fitted on a
    random subset of :data:`PCA_FIT_ROWS` rows: on all 60,000 MNIST training images the fit
    took 2 s instead of 25 s (shared machine under load), and ``knn_label`` flagged 2,136 rows
    against 2,135 with the full fit.
    """
    if n_components is None or n_components >= min(X.shape):
        return None
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    rows = (
        np.sort(rng.choice(len(X), PCA_FIT_ROWS, replace=False)) if len(X) > PCA_FIT_ROWS else None
    )
    sample = X if rows is None else X[rows]
    # Randomized SVD: far faster than the full SVD for a few components of a wide matrix.
    return PCA(n_components=n_components, svd_solver="randomized", random_state=seed).fit(
        np.asarray(sample, dtype=np.float64)
    )


def transform(reducer, X: np.ndarray) -> np.ndarray:
    """``X`` through ``reducer`` (float64), or ``X`` as float64 when there is none."""
    X = np.asarray(X, dtype=np.float64)
    return X if reducer is None else reducer.transform(X)


def single_threaded(method: Callable) -> Callable:
    """Run ``method`` with one BLAS/OpenMP thread (see ``_threads.py`` for the measurements).

    On this project's shared 2-core machine under load, OpenBLAS's second thread spins while
    waiting for a core: a PCA of 2,000 x 784 MNIST images took 9 to 14 s with two threads and
    0.4 s with one.
    """

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        from ._threads import one_thread

        with one_thread():
            return method(*args, **kwargs)

    return wrapper


def seed_from(rng: np.random.Generator) -> int:
    """An int seed for a scikit-learn ``random_state``, drawn from the detector's Generator."""
    return int(rng.integers(0, 2**31 - 1))


def same_rows(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``b`` holds exactly the rows of ``a`` (the fitted training set)."""
    return a is b or (a.shape == b.shape and np.array_equal(a, b))


def require_training_set(owner: str, fitted_X: np.ndarray, X: np.ndarray) -> None:
    """Raise ``ValueError`` unless ``X`` is the training set the detector was fitted on.

    For transductive detectors (their scores come from cross-validation or leave-out fits over
    the training set, so an unseen row has no score).
    """
    if not same_rows(fitted_X, X):
        raise ValueError(
            f"{owner} scores the samples it was fitted on; got X of shape {X.shape}, fitted on "
            f"{fitted_X.shape}. Call fit (or detect) on the rows to score."
        )


def as_labels_of(values, y: np.ndarray) -> np.ndarray:
    """``values`` as labels comparable with ``y``: strings (never truncated) when ``y`` holds
    strings, e.g. trusted labels given as ints for a training set labelled '0'..'9'."""
    values = np.asarray(values)
    return values.astype(str) if y.dtype.kind in "US" else values


def check_labels(owner: str, y: np.ndarray | None, n: int) -> np.ndarray:
    """``y`` as an array of ``n`` labels; ``ValueError`` if missing or of the wrong shape."""
    if y is None or np.shape(y) != (n,):
        shown = None if y is None else np.shape(y)
        raise ValueError(
            f"y passed to {owner}.score_samples must hold one label per row of X ({n}); "
            f"got {shown}."
        )
    return np.asarray(y)


def default_estimator(seed: int, n_features: int):
    """The default model: PCA to 50 components, then a 10-nearest-neighbour classifier.

    With 50 features or fewer there is nothing to reduce and the PCA step is left out.

    Chosen for speed: its out-of-fold probabilities over MNIST's 60,000 training images fit the
    2-minute budget, which calibrated SVC fits do not. On the ML 106 set-up cleanlab's F1 with
    it is 0.26, 0.39, 0.40 at N = 10, 30, 100 against 0.16, 0.35, 0.48 with calibrated SVC
    probabilities (docs/defenses.md).
    """
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline

    knn = KNeighborsClassifier(n_neighbors=10)
    if n_features <= 50:
        return make_pipeline(knn)
    return make_pipeline(PCA(n_components=50, svd_solver="randomized", random_state=seed), knn)


def with_probabilities(estimator):
    """``estimator`` itself if it has ``predict_proba``, else calibrated by cross-validation.

    ``SVC(probability=True)`` is deprecated in scikit-learn 1.9; ``CalibratedClassifierCV``
    (sigmoid, 3 folds) turns any ``decision_function`` into probabilities.
    """
    from sklearn.base import clone

    if hasattr(estimator, "predict_proba"):
        return clone(estimator)
    from sklearn.calibration import CalibratedClassifierCV

    return CalibratedClassifierCV(clone(estimator), method="sigmoid", cv=3)
