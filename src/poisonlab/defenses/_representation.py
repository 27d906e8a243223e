"""Representations for detectors that, in their papers, read a neural network's activations.

Spectral signatures and activation clustering were proposed on a network's penultimate layer.
poisonlab's models are classic ones, so these detectors read one of three representations
instead, all fitted without labels on the whole training set:

- ``"raw"``: the features themselves (as float64);
- ``"whitened"``: the features whitened by their shrunk covariance ``S + (trace(S) / d) I``
  (:class:`Whitener`), so that a direction in which the whole training set barely varies (such
  as a trigger's pixels, off in clean images) weighs as much as the directions of large
  variance; within a class, the top singular direction is then the one along which the class
  spreads most *relative to the whole set*, which is where a minority of poisoned samples
  shows;
- ``"pca"``: the top ``n_components`` principal components (randomized SVD);
- ``"nystroem"``: an approximate RBF-kernel feature map (:class:`sklearn.kernel_approximation.
  Nystroem`) with ``n_components`` landmarks, i.e. the space an RBF SVC separates classes in.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._validation import Constraint, Interval, Options

REPRESENTATIONS = ("raw", "whitened", "pca", "nystroem")

#: Constraints of the ``representation``, ``n_components`` and ``gamma`` parameters.
REPRESENTATION_CONSTRAINTS: dict[str, list[Constraint]] = {
    "representation": [Options(*REPRESENTATIONS)],
    "n_components": [Interval(Integral, 1, None)],
    "gamma": [Options("scale"), Interval(Real, 0.0, None, closed="neither")],
}


def fit_representation(
    X: np.ndarray,
    *,
    representation: str,
    n_components: int,
    gamma: str | float,
    rng: np.random.Generator,
):
    """Fit the chosen map on ``X``; returns a fitted transformer, or None for ``"raw"``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    representation : {"raw", "whitened", "pca", "nystroem"}
    n_components : int
        Components (PCA) or landmarks (Nystroem); capped at what ``X`` allows.
    gamma : "scale" or float
        RBF width for Nystroem; ``"scale"`` is ``1 / (n_features * X.var())`` as in ``SVC``.
    rng : numpy.random.Generator
        Seeds the randomized SVD or the choice of landmarks.

    Returns
    -------
    transformer or None
    """
    seed = int(rng.integers(2**31 - 1))
    X = X.astype(np.float64, copy=False)
    if representation == "raw":
        return None
    if representation == "whitened":
        return Whitener().fit(X)
    if representation == "pca":
        from sklearn.decomposition import PCA

        k = min(n_components, X.shape[0], X.shape[1])
        return PCA(n_components=k, svd_solver="randomized", random_state=seed).fit(X)
    from sklearn.kernel_approximation import Nystroem

    if gamma == "scale":
        variance = X.var()
        gamma = 1.0 / (X.shape[1] * variance) if variance > 0 else 1.0
    k = min(n_components, X.shape[0])
    return Nystroem(gamma=float(gamma), n_components=k, random_state=seed).fit(X)


def transform(transformer, X: np.ndarray) -> np.ndarray:
    """``X`` in the fitted representation, as float64 of shape (n_samples, n_dims)."""
    X = X.astype(np.float64, copy=False)
    return X if transformer is None else transformer.transform(X)


class Whitener:
    """Whitening by the shrunk covariance ``S + (trace(S) / d) I`` (a fixed, strong shrinkage).

    Plain whitening divides by the variance of every direction, including directions in which
    the data do not vary at all (MNIST's border pixels), which would blow noise up; adding the
    mean variance to every eigenvalue gives a direction without variance at most ``sqrt(2)``
    times the weight of a direction of average variance, while directions of large variance
    are still whitened.
    """

    def fit(self, X: np.ndarray) -> Whitener:
        self.mean_ = X.mean(axis=0)
        centred = X - self.mean_
        cov = centred.T @ centred / max(len(X) - 1, 1)
        from ._one_thread import one_thread

        with one_thread():  # see _one_thread.py
            eigvals, eigvecs = np.linalg.eigh(cov)
        ridge = max(float(np.trace(cov)) / cov.shape[0], np.finfo(np.float64).tiny)
        self.components_ = eigvecs / np.sqrt(np.maximum(eigvals, 0.0) + ridge)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean_) @ self.components_
