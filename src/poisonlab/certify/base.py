"""Certificates of robustness to poisoning: the base class, the result and the registry.

A certificate trains a classifier in a way that lets it prove, for each test input, that no
poisoning of the training set within a budget (its *radius*) can change the prediction. What
a unit of budget is (an inserted or removed sample, a flipped label, ...) is the certificate's
threat model, stated by ``threat_model`` and in ``docs/certify.md``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from .._registry import Registry
from .._validation import Constraint, check_params, check_X_y

#: Every registered certificate, by name.
CERTIFICATES: Registry = Registry("certificate")


@dataclass
class Certification:
    """Predictions on a test set with their certified radii.

    Attributes
    ----------
    method : str
        The certificate's registered name.
    predictions : ndarray of shape (n_test,)
        Predicted labels.
    radius : ndarray of shape (n_test,), dtype int64
        Each prediction is certified against this many units of poisoning (see the method's
        ``threat_model``); ``-1`` where it is not certified at all (e.g. bagging abstains).
    y_true : ndarray of shape (n_test,)
        True labels.
    seconds : float
        Wall time of training and certifying.
    info : dict
        Method-specific facts (parameters, confidence level, per-fraction bounds, ...).
    """

    method: str
    predictions: np.ndarray
    radius: np.ndarray
    y_true: np.ndarray
    seconds: float = 0.0
    info: dict = field(default_factory=dict)

    @property
    def correct(self) -> np.ndarray:
        """Boolean ndarray of shape (n_test,): the prediction is right."""
        return self.predictions == self.y_true

    @property
    def clean_accuracy(self) -> float:
        """Accuracy of the predictions, certified or not."""
        return float(np.mean(self.correct)) if len(self.correct) else 0.0

    @property
    def median_radius(self) -> int:
        """Median certified radius, a wrong prediction counting as -1 (DPA's Table 1 rule).

        As in Levine & Feizi's code, the value at position ``n // 2`` of the sorted radii.
        """
        scored = np.sort(np.where(self.correct, self.radius, -1))
        return int(scored[len(scored) // 2]) if len(scored) else -1

    def certified_accuracy(self, radii: Any = None) -> list[dict[str, float | int]]:
        """Certified accuracy at each radius.

        Parameters
        ----------
        radii : array-like of int, optional
            Radii to report; by default ``0 .. max radius + 1``.

        Returns
        -------
        list of dict
            ``{"radius", "accuracy", "n_certified"}``: the fraction (and count) of test inputs
            predicted correctly with a radius of at least ``radius``.
        """
        top = int(self.radius.max(initial=-1))
        radii = np.arange(max(top, 0) + 2) if radii is None else np.asarray(radii)
        if radii.ndim != 1 or radii.dtype.kind not in "iu" or (radii < 0).any():
            raise ValueError(
                f"radii must be a list of whole numbers >= 0; got {np.asarray(radii).tolist()}."
            )
        n = len(self.radius)
        rows = []
        for r in radii.tolist():
            count = int(np.sum(self.correct & (self.radius >= r)))
            rows.append({"radius": r, "accuracy": count / n if n else 0.0, "n_certified": count})
        return rows

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary: method, accuracies, median radius, curve, time, info."""
        return {
            "method": self.method,
            "clean_accuracy": self.clean_accuracy,
            "median_radius": self.median_radius,
            "certified_accuracy": [
                {"radius": row["radius"], "accuracy": row["accuracy"]}
                for row in self.certified_accuracy()
            ],
            "n_test": len(self.radius),
            "seconds": self.seconds,
            "info": self.info,
        }


def binary_classes(y: np.ndarray, owner: str, what: str) -> np.ndarray:
    """The two sorted classes of ``y``; other counts raise ``ValueError``.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    owner : str
        Class name, for the message.
    what : str
        What the owner needs two classes for (``"certifies binary classifiers"``).
    """
    classes = np.unique(y)
    if len(classes) != 2:
        raise ValueError(
            f"{owner} {what}; y_train has {len(classes)} classes. Select two classes' rows "
            f"(e.g. MNIST 1 vs 7)."
        )
    return classes


class BaseCertificate(BaseEstimator):
    """Base class of certificates: name, threat model, reference and parameter constraints.

    Subclasses implement :meth:`_certify`; :meth:`certify` validates, times and wraps it.
    """

    name: ClassVar[str] = ""
    #: What one unit of the radius is and what the attacker may do, one sentence.
    threat_model: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    #: What the radius counts, for axis labels (label-flip certificates count flipped labels).
    radius_unit: ClassVar[str] = "poisoned training samples"
    #: Whether each prediction gets a radius (False: a dataset-level bound, no radii).
    per_input: ClassVar[bool] = True
    _parameter_constraints: ClassVar[Mapping[str, list[Constraint]]] = {}

    def certify(self, X_train: Any, y_train: Any, X_test: Any, y_test: Any) -> Certification:
        """Train on the training set and certify each test prediction.

        Parameters
        ----------
        X_train : array-like of shape (n_train, n_features)
        y_train : array-like of shape (n_train,)
        X_test : array-like of shape (n_test, n_features)
        y_test : array-like of shape (n_test,)

        Returns
        -------
        Certification
        """
        owner = type(self).__name__
        check_params(owner, self.get_params(deep=False), self._parameter_constraints)
        X_train, y_train = check_X_y(X_train, y_train, owner=owner)
        X_test, y_test = check_X_y(X_test, y_test, owner=owner, allow_single_class=True)
        if X_test.shape[1] != X_train.shape[1]:
            raise ValueError(
                f"X_test passed to {owner} must have {X_train.shape[1]} features like X_train; "
                f"got {X_test.shape[1]}."
            )
        from ..defenses._one_thread import one_thread

        start = time.perf_counter()
        with one_thread():  # many small fits: spinning BLAS/OpenMP threads cost more than they give
            predictions, radius, info = self._certify(X_train, y_train, X_test)
        return Certification(
            self.name,
            predictions,
            np.asarray(radius, dtype=np.int64),
            y_test,
            time.perf_counter() - start,
            info,
        )

    def _certify(
        self, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, dict]:  # pragma: no cover - interface
        raise NotImplementedError
