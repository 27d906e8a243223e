"""Per-class anomaly detection: IsolationForest and LocalOutlierFactor within each label."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from .._random import seed_from
from .._validation import RANDOM_STATE, Interval, Options
from ._inputs import check_labels, same_rows
from ._one_thread import single_threaded
from ._reduce import N_COMPONENTS, fit_reducer, transform
from .base import DETECTORS, FLAG_CONSTRAINTS, BaseDetector

# Fewer samples than this in a class: no outlier model is fitted and its samples score 0.
_MIN_CLASS_SIZE = 3


@DETECTORS.register("outliers")
class ClassOutliers(BaseDetector):
    """Per-class anomaly scores: samples that look unlike the rest of their labelled class.

    For each label, an IsolationForest and/or a LocalOutlierFactor is fitted on the samples
    carrying it. A poisoned sample that looks like another class is an outlier among the
    samples of the class it was given. Raw anomaly scores (IsolationForest's ``-score_samples``,
    LOF's outlier factor; for the training samples themselves LOF's in-sample factor, which
    leaves each sample out of its own neighbourhood) are not comparable across classes, so each
    is turned into a robust z-score within its class: (score - median) / (1.4826 * MAD) of that
    class's training scores. ``method="both"`` averages the two z-scores. The default rule
    flags z >= ``z``.

    Features are the first ``n_components`` principal components (PCA on the training set);
    None, or at least the number of features, uses raw features. Classes with fewer than 3
    samples get no model and score 0; LOF uses ``min(n_neighbors, class size - 1)`` neighbours.

    Parameters
    ----------
    method : {"both", "isolation_forest", "lof"}, default="both"
    n_neighbors : int, default=20
        LOF's neighbours.
    n_estimators : int, default=100
        IsolationForest's trees.
    n_components : int or None, default=50
    z : float, default=3.0
        Default flagging rule: robust z-score at least ``z``.
    threshold, contamination : float, optional
        See :meth:`BaseDetector.flag`.
    random_state : None, int or numpy.random.Generator
        Seeds PCA and the forests.
    """

    reference = (
        "Liu, Ting & Zhou, 'Isolation Forest' (ICDM 2008); Breunig et al., 'LOF: Identifying "
        "Density-Based Local Outliers' (SIGMOD 2000); per-class outlier removal as a "
        "poisoning defense: Steinhardt, Koh & Liang, 'Certified Defenses for Data Poisoning "
        "Attacks' (NeurIPS 2017)."
    )
    _parameter_constraints = {
        "method": [Options("both", "isolation_forest", "lof")],
        "n_neighbors": [Interval(Integral, 1, None)],
        "n_estimators": [Interval(Integral, 1, None)],
        "n_components": N_COMPONENTS,
        "z": [Interval(Real, None, None)],
        **FLAG_CONSTRAINTS,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        method: str = "both",
        n_neighbors: int = 20,
        n_estimators: int = 100,
        n_components: int | None = 50,
        z: float = 3.0,
        threshold: float | None = None,
        contamination: float | None = None,
        random_state=None,
    ) -> None:
        self.method = method
        self.n_neighbors = n_neighbors
        self.n_estimators = n_estimators
        self.n_components = n_components
        self.z = z
        self.threshold = threshold
        self.contamination = contamination
        self.random_state = random_state

    def _methods(self) -> list[str]:
        return ["isolation_forest", "lof"] if self.method == "both" else [self.method]

    @single_threaded
    def _fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        from sklearn.ensemble import IsolationForest
        from sklearn.neighbors import LocalOutlierFactor

        self.reducer_ = fit_reducer(X, self.n_components, seed_from(rng))
        F = transform(self.reducer_, X)
        self.X_fit_ = X
        self.models_: dict[Any, dict[str, tuple]] = {}
        self.train_scores_ = np.zeros(len(X))
        for label in np.unique(y):
            rows = np.flatnonzero(y == label)
            if len(rows) < _MIN_CLASS_SIZE:
                continue
            per_method, z_sum = {}, np.zeros(len(rows))
            for method in self._methods():
                if method == "isolation_forest":
                    model = IsolationForest(
                        n_estimators=self.n_estimators, random_state=seed_from(rng)
                    ).fit(F[rows])
                    raw = -model.score_samples(F[rows])
                else:
                    k = min(self.n_neighbors, len(rows) - 1)
                    model = LocalOutlierFactor(n_neighbors=k, novelty=True).fit(F[rows])
                    raw = -model.negative_outlier_factor_
                center = np.median(raw)
                scale = 1.4826 * np.median(np.abs(raw - center)) or 1.0  # MAD 0: no spread
                per_method[method] = (model, center, scale)
                z_sum += (raw - center) / scale
            self.models_[label] = per_method
            self.train_scores_[rows] = z_sum / len(per_method)

    @single_threaded
    def _score(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        y = check_labels("ClassOutliers", y, len(X))
        if same_rows(self.X_fit_, X):
            return self.train_scores_.copy()
        F = transform(self.reducer_, X)
        scores = np.zeros(len(X))
        for label, per_method in self.models_.items():
            rows = np.flatnonzero(y == label)
            if len(rows) == 0:
                continue
            z_sum = np.zeros(len(rows))
            for model, center, scale in per_method.values():
                z_sum += (-model.score_samples(F[rows]) - center) / scale
            scores[rows] = z_sum / len(per_method)
        return scores

    def _default_threshold(self, scores: np.ndarray) -> float:
        return float(self.z)
