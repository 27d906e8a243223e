"""Intrinsic certificates of k-NN and radius-NN (Jia, Liu, Cao & Gong 2022)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._validation import Interval, Options
from ..defenses._partition import canonical_order, certified_radius
from .base import CERTIFICATES, BaseCertificate
from .features import FEATURES


def neighbour_votes(
    X_train: np.ndarray,
    y_index: np.ndarray,
    X_test: np.ndarray,
    n_classes: int,
    k: int | None,
    radius: float | None,
    chunk: int = 256,
) -> np.ndarray:
    """Votes per class of each test input's neighbours (Euclidean distance).

    With ``k``, the ``k`` nearest training samples vote, equal distances broken by the
    canonical order of the samples (so the order of the rows cannot matter); with ``radius``,
    every training sample within that distance votes.

    Parameters
    ----------
    X_train : ndarray of shape (n_train, n_features)
    y_index : ndarray of shape (n_train,)
        Class index of each training sample.
    X_test : ndarray of shape (n_test, n_features)
    n_classes : int
    k : int or None
    radius : float or None
    chunk : int
        Test rows per block of distances (memory is ``chunk * n_train`` floats).

    Returns
    -------
    ndarray of shape (n_test, n_classes), dtype int64
    """
    from sklearn.metrics.pairwise import euclidean_distances

    rank = np.empty(len(X_train), dtype=np.int64)
    rank[canonical_order(X_train, y_index)] = np.arange(len(X_train))
    counts = np.zeros((len(X_test), n_classes), dtype=np.int64)
    for start in range(0, len(X_test), chunk):
        dist = euclidean_distances(X_test[start : start + chunk], X_train)
        block = counts[start : start + chunk]
        rows = np.arange(len(dist))[:, None]
        if k is not None:
            order = np.lexsort((np.broadcast_to(rank, dist.shape), dist), axis=-1)[:, :k]
            np.add.at(block, (rows, y_index[order]), 1)
        else:
            inside = dist <= radius
            np.add.at(block, (np.nonzero(inside)[0], y_index[np.nonzero(inside)[1]]), 1)
    return counts


@CERTIFICATES.register("knn")
class NearestNeighbours(BaseCertificate):
    """k-NN or radius-NN with their intrinsic certificate (Jia, Liu, Cao & Gong 2022).

    The neighbours' plurality vote (ties to the smallest class) needs no training, and one
    poisoned sample changes the vote gap by at most 2: an inserted sample enters the ``k``
    nearest and pushes one out, a removed one lets the next one in, a modified one does both;
    in radius-NN an insertion or removal moves one vote and a modification two. So the
    prediction is certified for ``floor((n_c - max_{c' != c}(n_c' + [c' < c])) / 2)``
    poisoned samples, the formula DPA uses for partition votes.

    Parameters
    ----------
    n_neighbors : int or None, default=5
        ``k``; None to use ``radius`` instead.
    radius : float or None, default=None
        Radius of radius-NN (after the feature map); an input with no neighbour votes for the
        smallest class.
    features : str, default="pixels"
        A fixed feature map of :data:`~poisonlab.certify.features.FEATURES`.
    """

    threat_model = (
        "insertions, removals and modifications (features and/or label) of training samples, "
        "one unit each"
    )
    reference = (
        "Jia, Liu, Cao & Gong, 'Certified Robustness of Nearest Neighbors against Data "
        "Poisoning and Backdoor Attacks', AAAI 2022 (arXiv:2012.03765)."
    )
    _parameter_constraints = {
        "n_neighbors": [Options(None), Interval(Integral, 1, None)],
        "radius": [Options(None), Interval(Real, 0, None, closed="neither")],
        "features": [Options(*FEATURES)],
    }

    def __init__(
        self, *, n_neighbors: int | None = 5, radius: float | None = None, features: str = "pixels"
    ):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.features = features

    def _certify(self, X_train, y_train, X_test):
        if (self.n_neighbors is None) == (self.radius is None):
            raise ValueError(
                f"NearestNeighbours needs exactly one of 'n_neighbors' and 'radius'; got "
                f"n_neighbors={self.n_neighbors!r}, radius={self.radius!r}."
            )
        if self.n_neighbors is not None and self.n_neighbors > len(X_train):
            raise ValueError(
                f"The 'n_neighbors' parameter of NearestNeighbours must be at most the number "
                f"of training samples ({len(X_train)}); got {self.n_neighbors}."
            )
        featurize = FEATURES[self.features]
        classes, y_index = np.unique(y_train, return_inverse=True)
        counts = neighbour_votes(
            featurize(X_train),
            y_index,
            featurize(X_test),
            len(classes),
            self.n_neighbors,
            self.radius,
        )
        winner, radius = certified_radius(counts)
        info = {"n_neighbors": self.n_neighbors, "radius": self.radius, "features": self.features}
        return classes[winner], radius, info
