"""The sphere, slab and SVD sanitizers' statistics, shared by the detectors and the attacks.

The detectors (``defenses/_sanitizers.py``) and the defense-aware attacks that must stay inside
what they keep (``attacks/_defense_aware.py``) compute the same centroids, slab directions,
subspace and per-class thresholds from these functions, so the feasible set an attacker uses is
by construction the set the detector keeps. They live here, below both, because ``attacks``
may not import ``defenses`` (the package layers in ``pyproject.toml``).
"""

from __future__ import annotations

import numpy as np


def class_centroids(X: np.ndarray, y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Mean of each class's rows, shape (n_classes, n_features), in the order of ``classes``."""
    return np.vstack([X[y == c].mean(axis=0) for c in classes])


def slab_directions(centroids: np.ndarray) -> np.ndarray:
    """Per class, ``mu_y - mu_other``, shape (n_classes, n_features); ``mu_other`` is the other
    class's centroid, or with more than two classes the mean of the other centroids."""
    k = len(centroids)
    others = (centroids.sum(axis=0)[None, :] - centroids) / max(k - 1, 1)
    return centroids - others


def subspace_basis(X: np.ndarray, n_components: int) -> np.ndarray:
    """Top right singular vectors of the (uncentred) data matrix, shape (n_features, k)."""
    k = min(int(n_components), *X.shape)
    _, _, Vt = np.linalg.svd(X, full_matrices=False)
    return Vt[:k].T


def sphere_measure(X: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """``||x - mu_y||`` for each row, given each row's centroid (n, n_features)."""
    return np.linalg.norm(X - centroids, axis=1)


def slab_measure(X: np.ndarray, centroids: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """``|(mu_y - mu_other) . (x - mu_y)|`` for each row, given each row's centroid and
    direction (n, n_features)."""
    return np.abs(np.einsum("ij,ij->i", X - centroids, directions))


def svd_measure(X: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """``||(I - V V^T) x||`` for each row."""
    return np.linalg.norm(X - (X @ basis) @ basis.T, axis=1)


def percentile_radii(
    beta: np.ndarray, y: np.ndarray, classes: np.ndarray, percentile: float
) -> np.ndarray:
    """Per class, the ``percentile``-th percentile of ``beta`` over its rows (the threshold)."""
    return np.array([float(np.percentile(beta[y == c], percentile)) for c in classes])
