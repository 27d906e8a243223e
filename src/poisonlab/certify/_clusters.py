"""The 2-means certificate against label flips (Levine & Feizi 2021, appendix B)."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from .._validation import Interval, Options
from ..defenses._partition import canonical_order
from .base import CERTIFICATES, BaseCertificate, binary_classes
from .features import FEATURES


def cluster_assignment_radius(clusters: np.ndarray, y_index: np.ndarray) -> tuple[bool, int]:
    """Which way the two clusters are named, and how many label flips cannot change it.

    The names that agree with more training labels win (``cluster c -> class c`` on a tie).
    With ``d = 2 A - n``, ``A`` the agreements of ``cluster c -> class c``, one flipped label
    moves ``d`` by 2: ``cluster c -> class c`` holds for ``floor(d / 2)`` flips when ``d >= 0``,
    the reverse for ``floor((-d - 1) / 2)`` when ``d < 0``.

    Parameters
    ----------
    clusters : ndarray of shape (n_samples,)
        Cluster of each training sample, 0 or 1.
    y_index : ndarray of shape (n_samples,)
        Class of each training sample, 0 or 1.

    Returns
    -------
    reversed : bool
        Cluster ``c`` is named class ``1 - c``.
    radius : int
    """
    d = 2 * int(np.sum(clusters == y_index)) - len(y_index)
    return (False, d // 2) if d >= 0 else (True, (-d - 1) // 2)


@CERTIFICATES.register("two_means")
class TwoMeans(BaseCertificate):
    """2-means clustering named by the training labels, certified against label flips.

    Levine & Feizi (2021), appendix B: k-means with two clusters is fitted on the training
    features *without their labels* (rows in an order that depends on their features only), and
    each cluster is named after a class, whichever of the two namings agrees with more training
    labels. Flipping labels cannot move the clusters, only the naming: one flip changes the
    agreement count by one, so every prediction holds against the same number of flips
    (:func:`cluster_assignment_radius`). Binary problems only.

    Parameters
    ----------
    n_init : int, default=10
        k-means restarts (scikit-learn's ``n_init``; random initialisation, as the paper's code).
    seed : int, default=0
        k-means' ``random_state``.
    features : str, default="pixels"
        A fixed feature map of :data:`~poisonlab.certify.features.FEATURES`.
    """

    threat_model = (
        "label flips only, one unit each; the features are trusted (the clusters are fitted on "
        "them)"
    )
    reference = (
        "Levine & Feizi, 'Deep Partition Aggregation: Provable Defenses against General "
        "Poisoning Attacks', ICLR 2021, appendix B (arXiv:2006.14768)."
    )
    radius_unit = "flipped training labels"
    _parameter_constraints = {
        "n_init": [Interval(Integral, 1, None)],
        "seed": [Interval(Integral, 0, 2**32 - 1)],
        "features": [Options(*FEATURES)],
    }

    def __init__(self, *, n_init: int = 10, seed: int = 0, features: str = "pixels"):
        self.n_init = n_init
        self.seed = seed
        self.features = features

    def _certify(self, X_train, y_train, X_test):
        from sklearn.cluster import KMeans

        classes = binary_classes(y_train, type(self).__name__, "certifies binary classifiers")
        featurize = FEATURES[self.features]
        X, X_test = featurize(X_train), featurize(X_test)
        # An order of the rows that no label can change: k-means' random starts pick rows by
        # position, so an order that depends on labels would let a flip move the clusters.
        order = canonical_order(X, np.zeros(len(X), dtype=np.int8))
        kmeans = KMeans(2, init="random", n_init=self.n_init, random_state=self.seed)
        kmeans.fit(X[order])
        clusters = kmeans.labels_
        reverse, radius = cluster_assignment_radius(
            clusters, np.searchsorted(classes, y_train[order])
        )
        test_clusters = kmeans.predict(X_test)
        predictions = classes[1 - test_clusters if reverse else test_clusters]
        info = {
            "reversed": reverse,
            "label_flip_radius": radius,
            "n_init": self.n_init,
            "seed": self.seed,
            "features": self.features,
        }
        return predictions, np.full(len(X_test), radius), info
