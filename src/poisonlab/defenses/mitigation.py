"""Mitigations: ways to train models that resist poisoning, and their registry.

Detectors find poisoned rows; mitigations change how a model is trained so that poisoned rows
matter less. They do not share the detector protocol (they do not score samples), so they
live in their own registry, :data:`MITIGATIONS`, which ``poisonlab defenses list`` shows next
to the detectors. Each is a scikit-learn-style class with a keyword-only ``__init__`` that only
stores parameters and ``_parameter_constraints`` checked by :meth:`BaseMitigation._check_params`.

``kind`` says what the mitigation is:

- ``"certified"``: a classifier whose predictions carry a certificate (``partition_ensemble``);
- ``"robust training"``: a classifier wrapper trained to ignore suspect rows (``trimmed``).

(How robustness changes with a model's regularization is a study spec, not a mitigation: a
model parameter sweep, ``examples/regularization.toml``.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from .._registry import Registry
from .._validation import Constraint, check_params, check_X_y

#: Every registered mitigation, by name.
MITIGATIONS: Registry = Registry("mitigation")

MITIGATION_KINDS = ("certified", "robust training")


class BaseMitigation(BaseEstimator):
    """Base class of mitigations: a name, a kind, a reference and parameter constraints."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    _parameter_constraints: ClassVar[Mapping[str, list[Constraint]]] = {}

    def _check_params(self) -> None:
        """Raise ``ValueError`` naming the first parameter no constraint accepts."""
        check_params(type(self).__name__, self.get_params(deep=False), self._parameter_constraints)

    def _start_fit(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, BaseEstimator]:
        """Validate parameters and training data of a classifier mitigation.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
        base : estimator
            The ``estimator`` parameter, or ``SVC(random_state=42)`` (the ML 106 lab's model)
            when it is None.
        """
        self._check_params()
        X, y = check_X_y(X, y, owner=type(self).__name__)
        from sklearn.svm import SVC

        return X, y, SVC(random_state=42) if self.estimator is None else self.estimator


def is_classifier_like(value) -> bool:
    """A scikit-learn estimator instance (not a class) with ``fit`` and ``predict``."""
    return not isinstance(value, type) and all(
        hasattr(value, m) for m in ("fit", "predict", "get_params")
    )
