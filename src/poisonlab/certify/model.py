"""A certificate as a scikit-learn classifier: how study specs run certificates.

A study's runs fit a model on the (possibly poisoned, possibly sanitized) training set and
predict the test set. :class:`CertifiedClassifier` gives a certificate that shape: ``fit``
keeps the training set, ``predict`` certifies the inputs, and ``certified_accuracy(X, y)``
returns the rows the study's ``certified_accuracy`` metric stores (the partition ensemble's
format), so a ``[[certificates]]`` entry of a spec runs, is stored and is reported like any
model.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .._validation import check_X_y
from ..defenses._partition import certified_accuracy_table
from .base import CERTIFICATES, BaseCertificate, Certification


class CertifiedClassifier(ClassifierMixin, BaseEstimator):
    """Fit a certificate's training set; predict test inputs with their certified radii.

    Parameters
    ----------
    certificate : BaseCertificate
        A per-input certificate of :data:`~poisonlab.certify.CERTIFICATES` (not the
        dataset-level ``sphere_slab_bound``, which certifies no prediction).
    """

    def __init__(self, certificate: BaseCertificate) -> None:
        self.certificate = certificate

    def fit(self, X: Any, y: Any) -> CertifiedClassifier:
        """Keep the training set (certificates train when they certify).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        """
        if not isinstance(self.certificate, BaseCertificate) or not self.certificate.per_input:
            raise ValueError(
                f"The 'certificate' parameter of CertifiedClassifier must be a per-input "
                f"certificate ({', '.join(per_input_certificates())}); got "
                f"{getattr(self.certificate, 'name', self.certificate)!r}."
            )
        self.X_train_, self.y_train_ = check_X_y(X, y, owner=type(self).__name__)
        self.classes_ = np.unique(self.y_train_)
        self._certified: tuple[str, Certification] | None = None
        return self

    def certify(self, X: Any, y: Any = None) -> Certification:
        """The certificate's predictions and radii on ``X`` (computed once per distinct ``X``).

        Parameters
        ----------
        X : array-like of shape (n_test, n_features)
        y : array-like of shape (n_test,), optional
            True labels (for the certified accuracy); default: the predictions.
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "X_train_")
        X = np.ascontiguousarray(X)
        digest = hashlib.sha256(X.tobytes() + str((X.shape, X.dtype)).encode()).hexdigest()
        if self._certified is None or self._certified[0] != digest:
            placeholder = np.resize(self.y_train_, len(X))  # labels do not change predictions
            result = self.certificate.certify(self.X_train_, self.y_train_, X, placeholder)
            self._certified = (digest, result)
        result = self._certified[1]
        y_true = result.predictions if y is None else np.asarray(y)
        return Certification(
            result.method, result.predictions, result.radius, y_true, result.seconds, result.info
        )

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels, ndarray of shape (n_test,)."""
        return self.certify(X).predictions

    def certified_accuracy(self, X: Any, y: Any, radii: Any = None) -> list[dict[str, Any]]:
        """Certified accuracy at each radius (default ``0 .. max radius + 1``).

        Returns
        -------
        list of dict
            ``{"radius", "certified_accuracy", "n_certified"}`` per radius, as
            :meth:`PartitionEnsemble.certified_accuracy` gives them.
        """
        result = self.certify(X, y)
        if radii is None:
            radii = np.arange(max(int(result.radius.max(initial=-1)), 0) + 2)
        return certified_accuracy_table(result.correct, result.radius, 0, radii)


def per_input_certificates() -> list[str]:
    """Names of the certificates that certify each prediction (usable as a study's model)."""
    return [name for name, cls in CERTIFICATES.items() if cls.per_input]
