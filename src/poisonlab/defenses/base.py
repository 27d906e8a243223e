"""The Detector protocol: score samples (higher = more suspicious), then flag; and its registry.

Scoring is kept apart from flagging (as in cleanlab's ``rank`` and ``filter``): every detector
turns ``(X, y)`` into one score per sample, and :meth:`BaseDetector.flag` turns scores into a
mask by the detector's own rule, a ``threshold`` or a ``contamination`` fraction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from .._random import make_rng
from .._registry import Registry
from .._validation import Constraint, Interval, Options, check_params, check_X_y

#: Every registered detector, by name.
DETECTORS: Registry = Registry("detector")

#: Constraints shared by every detector's ``threshold`` and ``contamination`` parameters.
FLAG_CONSTRAINTS: dict[str, list[Constraint]] = {
    "threshold": [Options(None), Interval(Real, None, None)],
    "contamination": [Options(None), Interval(Real, 0.0, 0.5, closed="right")],
}


@dataclass(frozen=True)
class DetectionResult:
    """What a detector finds.

    Attributes
    ----------
    scores : ndarray of shape (n_samples,)
        Suspicion per sample; higher = more suspicious, for every detector.
    flagged : ndarray of shape (n_samples,), dtype bool
        Samples judged poisoned.
    threshold : float
        Flagged samples are those with ``scores >= threshold``.
    info : dict
        Detector-specific details; ``"suggested_labels"`` (ndarray of shape (n_samples,)) when
        the detector can propose a corrected label.
    """

    scores: np.ndarray
    flagged: np.ndarray
    threshold: float
    info: dict[str, Any] = field(default_factory=dict)


class BaseDetector(BaseEstimator):
    """Base class of poisoned-sample detectors.

    Subclasses declare ``_parameter_constraints`` (including :data:`FLAG_CONSTRAINTS`), take
    ``threshold``, ``contamination`` and ``random_state`` parameters, and implement
    ``_fit(X, y, rng)``, ``_score(X, y) -> ndarray`` and ``_default_threshold(scores)``.
    ``scope`` says which rows they score: ``"train"`` (training samples) or ``"test"``
    (test-time inputs, e.g. STRIP).
    """

    name: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    scope: ClassVar[str] = "train"
    _parameter_constraints: ClassVar[Mapping[str, list[Constraint]]] = {}

    def fit(self, X: Any, y: Any) -> BaseDetector:
        """Fit the detector on a (possibly poisoned) training set.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        owner = type(self).__name__
        X, y = check_X_y(X, y, owner=owner)
        check_params(owner, self.get_params(deep=False), self._parameter_constraints)
        self._fit(X, y, make_rng(self.random_state))
        self.n_features_in_ = X.shape[1]
        return self

    def score_samples(self, X: Any, y: Any = None) -> np.ndarray:
        """Suspicion scores, higher = more suspicious.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), optional
            Labels, for detectors that score label consistency.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        if not hasattr(self, "n_features_in_"):
            raise ValueError(f"{type(self).__name__} must be fitted before score_samples.")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X passed to {type(self).__name__}.score_samples must have "
                f"{self.n_features_in_} features; got shape {X.shape}."
            )
        return np.asarray(self._score(X, None if y is None else np.asarray(y)), dtype=np.float64)

    def flag(self, scores: np.ndarray) -> tuple[np.ndarray, float]:
        """Flag samples from their scores.

        ``threshold`` wins over ``contamination`` (flag the top fraction), which wins over the
        detector's own rule.

        Returns
        -------
        flagged : ndarray of shape (n_samples,), dtype bool
        threshold : float
        """
        scores = np.asarray(scores, dtype=np.float64)
        if self.threshold is not None:
            threshold = float(self.threshold)
            return scores >= threshold, threshold
        if self.contamination is not None:
            k = int(np.floor(self.contamination * len(scores) + 0.5))
            flagged = np.zeros(len(scores), dtype=bool)
            if k == 0:
                return flagged, float("inf")
            top = np.argsort(-scores, kind="stable")[:k]
            flagged[top] = True
            return flagged, float(scores[top[-1]])
        threshold = float(self._default_threshold(scores))
        return scores >= threshold, threshold

    def detect(self, X: Any, y: Any) -> DetectionResult:
        """Fit, score and flag the same samples."""
        self.fit(X, y)
        return self.score_and_flag(X, y)

    def score_and_flag(self, X: Any, y: Any = None) -> DetectionResult:
        """The fitted detector's result on ``X`` (e.g. a test-time detector's test inputs):
        scores, flags, threshold and the detector's statistics."""
        scores = self.score_samples(X, y)
        flagged, threshold = self.flag(scores)
        return DetectionResult(scores, flagged, threshold, self._info())

    def fit_resample(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Sanitize: drop flagged rows, or relabel them when ``action="relabel"``.

        Sets ``detection_``.

        Returns
        -------
        X : ndarray of shape (n_kept, n_features)
        y : ndarray of shape (n_kept,)
        """
        X, y = np.asarray(X), np.asarray(y)
        result = self.detect(X, y)
        self.detection_ = result
        if getattr(self, "action", "drop") == "relabel":
            suggested = result.info.get("suggested_labels")
            if suggested is None:
                raise ValueError(f"{type(self).__name__} cannot relabel; use action='drop'.")
            return X, np.where(result.flagged, suggested, y)
        return X[~result.flagged], y[~result.flagged]

    def _info(self) -> dict[str, Any]:
        return {}

    def _fit(
        self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator
    ) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _score(
        self, X: np.ndarray, y: np.ndarray | None
    ) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def _default_threshold(self, scores: np.ndarray) -> float:  # pragma: no cover - interface
        raise NotImplementedError


def evaluate_detection(result: DetectionResult, true_indices: Any) -> dict[str, float | None]:
    """Score a detection against the rows that really were poisoned.

    Parameters
    ----------
    result : DetectionResult
    true_indices : array-like of int
        Poisoned rows (e.g. ``PoisonResult.poison_indices``).

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` of the flags, ``roc_auc`` and ``pr_auc`` (average
        precision) of the scores; the AUCs are None when every row, or none, is poisoned.
        Also ``n_flagged`` and ``n_poisoned``.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    n = len(result.scores)
    truth = np.zeros(n, dtype=bool)
    truth[np.asarray(true_indices, dtype=np.int64)] = True
    tp = int(np.sum(truth & result.flagged))
    n_flagged, n_true = int(result.flagged.sum()), int(truth.sum())
    precision = tp / n_flagged if n_flagged else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    both = 0 < n_true < n
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": float(roc_auc_score(truth, result.scores)) if both else None,
        "pr_auc": float(average_precision_score(truth, result.scores)) if both else None,
        "n_flagged": n_flagged,
        "n_poisoned": n_true,
    }
