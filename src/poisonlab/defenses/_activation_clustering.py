"""Activation clustering (Chen et al. 2018), per class, on a network-free representation."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._validation import RANDOM_STATE, Interval
from ._one_thread import one_thread
from ._representation import REPRESENTATION_CONSTRAINTS, fit_representation, transform
from ._spectral import class_rows, require_labels, top_directions
from .base import DETECTORS, FLAG_CONSTRAINTS, BaseDetector

# Scores of samples in classes judged clean are shifted down by this much, below [-1, 1].
_CLEAN_CLASS_SHIFT = 2.0


@DETECTORS.register("activation_clustering")
class ActivationClustering(BaseDetector):
    """Split each class in two with k-means; flag the small, well-separated cluster.

    As in the paper, each class's representations are reduced to ``n_dims`` dimensions and
    clustered into two groups; a backdoor's poisoned samples, which share a trigger but come
    from other classes, form a separate small cluster of their (target) class. The paper
    reduces with ICA; here a per-class PCA (centred on the class mean) is used, which is
    deterministic and needs no convergence.

    The paper judges a cluster as a whole, by its relative size and its silhouette score.
    Here each sample gets its simplified silhouette towards the smaller cluster,
    ``s = (d_large - d_small) / max(d_large, d_small)`` with ``d`` the distances to the two
    centroids, so ``s >= 0`` in the smaller cluster. Samples of the smaller cluster score the
    cluster's mean ``s`` (how well separated the whole cluster is); the others score their own
    (negative) ``s``. Where the smaller cluster holds more than ``max_cluster_size`` of its
    class, the class is judged clean and its scores are shifted down by 2, below every score
    of a suspicious class. A well-separated small cluster (mean silhouette >= 0.4) is flagged.

    On raw pixels MNIST digits split into two clusters of similar quality in every class; in
    the default whitened representation (see :mod:`poisonlab.defenses._representation`) a
    trigger's cluster stands out (mean silhouette 0.5-0.7 against at most 0.32 for clean
    classes in poisonlab's experiments, see ``docs/defenses.md``).

    Parameters
    ----------
    representation : {"raw", "whitened", "pca", "nystroem"}, default="whitened"
        What the detector reads instead of a network's activations.
    n_components : int, default=64
        PCA components or Nystroem landmarks of the representation.
    gamma : "scale" or float, default="scale"
        RBF width of the Nystroem map.
    n_dims : int, default=10
        Dimensions each class is reduced to before clustering (the paper uses 10).
    max_cluster_size : float in (0, 0.5], default=0.45
        A class can be suspicious only if its smaller cluster holds at most this fraction.
    threshold : float or None, default=None
        Flag scores at or above this; None flags ``contamination`` or, when that is None
        too, scores of at least 0.4 (the smaller cluster's mean silhouette).
    contamination : float in (0, 0.5] or None, default=None
    random_state : None, int or numpy.random.Generator, default=None
        Seeds the representation and k-means.
    """

    reference = (
        "Chen et al., 'Detecting Backdoor Attacks on Deep Neural Networks by Activation "
        "Clustering', AAAI SafeAI workshop 2019 (arXiv:1811.03728, 2018)."
    )
    DEFAULT_THRESHOLD = 0.4
    _parameter_constraints = {
        **REPRESENTATION_CONSTRAINTS,
        "n_dims": [Interval(Integral, 1, None)],
        "max_cluster_size": [Interval(Real, 0.0, 0.5, closed="right")],
        **FLAG_CONSTRAINTS,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        representation: str = "whitened",
        n_components: int = 64,
        gamma: str | float = "scale",
        n_dims: int = 10,
        max_cluster_size: float = 0.45,
        threshold: float | None = None,
        contamination: float | None = None,
        random_state=None,
    ) -> None:
        self.representation = representation
        self.n_components = n_components
        self.gamma = gamma
        self.n_dims = n_dims
        self.max_cluster_size = max_cluster_size
        self.threshold = threshold
        self.contamination = contamination
        self.random_state = random_state

    def _fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        self.transformer_ = fit_representation(
            X,
            representation=self.representation,
            n_components=self.n_components,
            gamma=self.gamma,
            rng=rng,
        )
        R = transform(self.transformer_, X)
        self.classes_ = np.unique(y)
        self.class_models_ = [
            _cluster_class(R[rows], self.n_dims, int(rng.integers(2**31 - 1)))
            for rows in class_rows(y, self.classes_, type(self).__name__)
        ]
        self.small_fraction_ = np.array([m["small_fraction"] for m in self.class_models_])
        self.small_silhouette_ = np.array([m["small_silhouette"] for m in self.class_models_])

    def _score(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        y = require_labels(y, len(X), type(self).__name__)
        R = transform(self.transformer_, X)
        scores = np.zeros(len(X))
        for k, rows in enumerate(class_rows(y, self.classes_, type(self).__name__)):
            model = self.class_models_[k]
            s = _silhouette_to_small(R[rows], model)
            # As in the paper, the smaller cluster is judged as a whole: its members share
            # the cluster's mean silhouette (set at fit time).
            scores[rows] = np.where(s >= 0, model["small_silhouette"], s)
            if self.small_fraction_[k] > self.max_cluster_size:
                scores[rows] -= _CLEAN_CLASS_SHIFT
        return scores

    def _default_threshold(self, scores: np.ndarray) -> float:
        return self.DEFAULT_THRESHOLD

    def _info(self) -> dict:
        names = [str(c) for c in self.classes_]
        cut = self.DEFAULT_THRESHOLD if self.threshold is None else self.threshold
        suspicious = (self.small_fraction_ <= self.max_cluster_size) & (
            self.small_silhouette_ >= cut
        )
        return {
            "small_cluster_fraction": dict(zip(names, self.small_fraction_.tolist(), strict=True)),
            "small_cluster_silhouette": dict(
                zip(names, self.small_silhouette_.tolist(), strict=True)
            ),
            # Classes whose whole smaller cluster passes the size and silhouette rules.
            "suspicious_classes": [n for n, s in zip(names, suspicious, strict=True) if s],
        }


def _cluster_class(R: np.ndarray, n_dims: int, seed: int) -> dict:
    """Reduce one class's rows (centred) to ``n_dims`` and split them in two with k-means."""
    mean = R.mean(axis=0)
    centred = R - mean
    dims = min(n_dims, *centred.shape)
    if len(R) < 2 or not np.any(centred):
        # Nothing to split: one cluster, no suspicion.
        return {
            "mean": mean,
            "basis": np.zeros((R.shape[1], 1)),
            "small": np.zeros(1),
            "large": np.zeros(1),
            "small_fraction": 0.5,
            "small_silhouette": 0.0,
        }
    # Per-class PCA: the top right singular vectors of the centred rows.
    basis = top_directions(centred, dims)
    Z = centred @ basis
    from sklearn.cluster import KMeans

    with one_thread():  # see _one_thread.py
        km = KMeans(n_clusters=2, n_init=10, random_state=seed).fit(Z)
    sizes = np.bincount(km.labels_, minlength=2)
    small = int(np.argmin(sizes))  # ties: cluster 0
    model = {
        "mean": mean,
        "basis": basis,
        "small": km.cluster_centers_[small],
        "large": km.cluster_centers_[1 - small],
        "small_fraction": float(sizes[small] / len(R)),
    }
    s = _silhouette_to_small(R, {**model, "small_silhouette": 0.0})
    model["small_silhouette"] = float(s[s >= 0].mean()) if np.any(s >= 0) else 0.0
    return model


def _silhouette_to_small(R: np.ndarray, model: dict) -> np.ndarray:
    """Simplified silhouette towards the smaller cluster, in [-1, 1]."""
    Z = (R - model["mean"]) @ model["basis"]
    d_small = np.linalg.norm(Z - model["small"], axis=1)
    d_large = np.linalg.norm(Z - model["large"], axis=1)
    denom = np.maximum(d_small, d_large)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(denom > 0, (d_large - d_small) / denom, 0.0)
    return s
