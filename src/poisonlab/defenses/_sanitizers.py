"""Data-sanitization defenses of Koh, Steinhardt & Liang (2022): sphere, slab, loss and SVD.

Each scores a sample ``(x, y)`` by one anomaly measure ``beta(x, y)`` (the paper's Table 1):

- ``sphere_filter`` (the paper's L2 defense): ``||x - mu_y||``, distance to the class centroid;
- ``slab_filter``: ``|(mu_y - mu_other) . (x - mu_y)|``, the offset of ``x`` along the line
  between its class centroid and the other class's (for more than two classes, the mean of the
  other classes' centroids);
- ``loss_filter``: the loss of a linear model fitted on the data (hinge, or logistic);
- ``svd_filter``: ``||(I - V V^T) x||``, the distance of ``x`` from the span of the top
  ``n_components`` right singular vectors ``V`` of the data matrix.

The defender removes a sample when ``beta(x, y) > tau_y``, with one threshold per class set at
a percentile of that class's scores on the data it is given (``percentile``, default 95: about
5 % of each class is removed). A detector's score is ``beta(x, y) / tau_y`` so that one
threshold, 1, serves every class: the default rule flags scores above 1 and the feasible set an
attacker must stay in is ``score <= 1`` (see :meth:`PercentileSanitizer.feasible_radii`).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._validation import RANDOM_STATE, Interval, Options
from ..attacks._feasible import (
    class_centroids,
    percentile_radii,
    slab_directions,
    slab_measure,
    sphere_measure,
    subspace_basis,
    svd_measure,
)
from ._inputs import check_labels
from .base import DETECTORS, FLAG_CONSTRAINTS, BaseDetector

_REFERENCE = (
    "P. W. Koh, J. Steinhardt & P. Liang, 'Stronger data poisoning attacks break data "
    "sanitization defenses', Machine Learning 111 (2022), Table 1; sphere and slab: "
    "J. Steinhardt, P. W. Koh & P. Liang, 'Certified Defenses for Data Poisoning Attacks', "
    "NeurIPS 2017."
)

#: ``percentile``: the per-class percentile of scores kept (the threshold ``tau_y``).
PERCENTILE = [Interval(Real, 0.0, 100.0, closed="right")]

# A class whose threshold is 0 (every sample identical, or a single sample) scores 0 where
# beta is 0 and this over 1 elsewhere, instead of dividing by zero.
_TINY = 1e-12


class PercentileSanitizer(BaseDetector):
    """A per-class anomaly measure ``beta(x, y)`` thresholded at a per-class percentile.

    Subclasses implement ``_fit_measure(X, y, rng)`` (statistics of the data, such as
    centroids) and ``_measure(X, y) -> ndarray`` (``beta`` for each row).
    """

    _parameter_constraints = {
        "percentile": PERCENTILE,
        **FLAG_CONSTRAINTS,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        percentile: float = 95.0,
        threshold: float | None = None,
        contamination: float | None = None,
        random_state=None,
    ) -> None:
        self.percentile = percentile
        self.threshold = threshold
        self.contamination = contamination
        self.random_state = random_state

    def _fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        self.classes_ = np.unique(y)
        X = np.asarray(X, dtype=np.float64)
        self._fit_measure(X, y, rng)
        self.radii_ = percentile_radii(self._measure(X, y), y, self.classes_, self.percentile)

    def _score(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        y = check_labels(type(self).__name__, y, len(X))
        index = self._class_index(y)
        beta = self._measure(np.asarray(X, dtype=np.float64), y)
        return beta / np.maximum(self.radii_[index], _TINY)

    def _default_threshold(self, scores: np.ndarray) -> float:
        # Flag beta > tau_y, i.e. score > 1: the smallest float above 1 with the >= rule.
        return float(np.nextafter(1.0, 2.0))

    def feasible_radii(self) -> dict:
        """The per-class thresholds ``tau_y``: a point is kept when ``beta(x, y) <= tau_y``."""
        return {c: float(r) for c, r in zip(self.classes_, self.radii_, strict=True)}

    def _class_index(self, y: np.ndarray) -> np.ndarray:
        index = np.searchsorted(self.classes_, y)
        index = np.minimum(index, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if unknown.any():
            raise ValueError(
                f"y passed to {type(self).__name__}.score_samples holds the label "
                f"{str(y[unknown][0])!r}, which was not among the classes it was fitted on "
                f"({', '.join(map(str, self.classes_))})."
            )
        return index

    def _fit_measure(
        self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator
    ) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _measure(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


@DETECTORS.register("sphere_filter")
class SphereFilter(PercentileSanitizer):
    """Flag samples far from their class centroid (the L2 or sphere defense).

    ``beta(x, y) = ||x - mu_y||_2`` with ``mu_y`` the mean of the samples labelled ``y``;
    samples beyond the ``percentile``-th percentile of their class's distances are flagged
    (the score is the distance divided by that radius).

    Parameters
    ----------
    percentile : float in (0, 100], default=95
        Per-class percentile of distances used as the radius ``tau_y``.
    threshold, contamination : float, optional
        See :meth:`BaseDetector.flag`; the default rule flags scores above 1.
    random_state : None, int or numpy.random.Generator
        Unused (the filter is deterministic); accepted for the common protocol.
    """

    reference = _REFERENCE

    def _fit_measure(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        self.centroids_ = class_centroids(X, y, self.classes_)

    def _measure(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        return sphere_measure(X, self.centroids_[self._class_index(y)])


@DETECTORS.register("slab_filter")
class SlabFilter(PercentileSanitizer):
    """Flag samples far from their class centroid along the line between class centroids.

    ``beta(x, y) = |(mu_y - mu_other) . (x - mu_y)|`` (Steinhardt et al. 2017's slab defense,
    unnormalized as in Koh et al. 2022): with two classes ``mu_other`` is the other class's
    centroid; with more, the mean of the other classes' centroids. Samples beyond the
    ``percentile``-th percentile of their class's values are flagged.

    Parameters
    ----------
    percentile : float in (0, 100], default=95
    threshold, contamination : float, optional
        See :meth:`BaseDetector.flag`; the default rule flags scores above 1.
    random_state : None, int or numpy.random.Generator
        Unused (the filter is deterministic).
    """

    reference = _REFERENCE

    def _fit_measure(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        self.centroids_ = class_centroids(X, y, self.classes_)
        #: Per class, the slab's normal ``mu_y - mu_other``, shape (n_classes, n_features).
        self.directions_ = slab_directions(self.centroids_)

    def _measure(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        index = self._class_index(y)
        return slab_measure(X, self.centroids_[index], self.directions_[index])


@DETECTORS.register("loss_filter")
class LossFilter(PercentileSanitizer):
    """Flag samples that a linear model fitted on the whole data set fits badly.

    A linear model is fitted on the (possibly poisoned) data; ``beta(x, y)`` is its loss on the
    sample: the hinge loss of a linear SVM (``loss="hinge"``; ``max(0, 1 - s f(x))`` for two
    classes, ``max(0, 1 + max_{j != y} f_j(x) - f_y(x))`` with one-vs-rest scores otherwise) or
    the logistic loss ``-log p(y | x)`` (``loss="log"``). Samples beyond the
    ``percentile``-th percentile of their class's losses are flagged.

    Parameters
    ----------
    loss : {"hinge", "log"}, default="hinge"
        The model: scikit-learn's ``LinearSVC`` or ``LogisticRegression``.
    C : float, default=1.0
        Inverse regularization strength of the model.
    percentile : float in (0, 100], default=95
    threshold, contamination : float, optional
        See :meth:`BaseDetector.flag`; the default rule flags scores above 1.
    random_state : None, int or numpy.random.Generator
        Seeds the model's solver.
    """

    reference = _REFERENCE
    _parameter_constraints = {
        "loss": [Options("hinge", "log")],
        "C": [Interval(Real, 0.0, None, closed="neither")],
        "percentile": PERCENTILE,
        **FLAG_CONSTRAINTS,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        loss: str = "hinge",
        C: float = 1.0,
        percentile: float = 95.0,
        threshold: float | None = None,
        contamination: float | None = None,
        random_state=None,
    ) -> None:
        self.loss = loss
        self.C = C
        self.percentile = percentile
        self.threshold = threshold
        self.contamination = contamination
        self.random_state = random_state

    def _fit_measure(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        seed = int(rng.integers(0, 2**31 - 1))
        if self.loss == "hinge":
            model = LinearSVC(C=self.C, max_iter=5000, random_state=seed)
        else:
            model = LogisticRegression(C=self.C, max_iter=2000, random_state=seed)
        self.model_ = model.fit(X, y)

    def _measure(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        index = self._class_index(y)
        if self.loss == "log":
            proba = self.model_.predict_proba(X)
            return -np.log(np.maximum(proba[np.arange(len(X)), index], 1e-300))
        scores = self.model_.decision_function(X)
        if scores.ndim == 1:
            signs = np.where(index == 1, 1.0, -1.0)
            return np.maximum(0.0, 1.0 - signs * scores)
        own = scores[np.arange(len(X)), index]
        others = scores.copy()
        others[np.arange(len(X)), index] = -np.inf
        return np.maximum(0.0, 1.0 + others.max(axis=1) - own)


@DETECTORS.register("svd_filter")
class SVDFilter(PercentileSanitizer):
    """Flag samples far from the low-rank subspace that the data mostly lies in.

    ``V`` holds the top ``n_components`` right singular vectors of the data matrix (not
    centred, as in Koh et al.'s SVD defense); ``beta(x, y) = ||(I - V V^T) x||``, the norm of
    the part of ``x`` outside their span. Samples beyond the ``percentile``-th percentile of
    their class's residuals are flagged.

    Parameters
    ----------
    n_components : int, default=10
        Rank of the subspace (capped at the data's smaller dimension).
    percentile : float in (0, 100], default=95
    threshold, contamination : float, optional
        See :meth:`BaseDetector.flag`; the default rule flags scores above 1.
    random_state : None, int or numpy.random.Generator
        Unused (the decomposition is exact and deterministic).
    """

    reference = _REFERENCE
    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None)],
        "percentile": PERCENTILE,
        **FLAG_CONSTRAINTS,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        n_components: int = 10,
        percentile: float = 95.0,
        threshold: float | None = None,
        contamination: float | None = None,
        random_state=None,
    ) -> None:
        self.n_components = n_components
        self.percentile = percentile
        self.threshold = threshold
        self.contamination = contamination
        self.random_state = random_state

    def _fit_measure(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        #: Orthonormal basis of the subspace, shape (n_features, n_components).
        self.basis_ = subspace_basis(X, self.n_components)

    def _measure(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        return svd_measure(X, self.basis_)
