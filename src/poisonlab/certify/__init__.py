"""Certified robustness to poisoning: certificates by name.

>>> from poisonlab.certify import CERTIFICATES
>>> CERTIFICATES.names()  # doctest: +NORMALIZE_WHITESPACE
['bagging', 'dpa', 'finite_aggregation', 'knn', 'label_flip_linear', 'sphere_slab_bound',
 'two_means']

Each certificate is a class with keyword parameters; ``certify(X_train, y_train, X_test,
y_test)`` returns a :class:`Certification` (predictions, radii, certified accuracy, median
radius). ``threat_model`` says what one unit of the radius is; ``docs/certify.md`` gives each
certificate's validity conditions and what the code refuses.
"""

from __future__ import annotations

from . import _aggregation, _bagging, _clusters, _knn, _label_flip, _sphere_slab  # noqa: F401
from .base import CERTIFICATES, BaseCertificate, Certification
from .features import FEATURES
from .model import CertifiedClassifier

__all__ = ["CERTIFICATES", "FEATURES", "BaseCertificate", "Certification", "CertifiedClassifier"]
