"""Detectors of poisoned samples and mitigations, behind one protocol (:class:`BaseDetector`).

Importing this package registers every detector. Detector modules import heavy dependencies
inside the functions that need them, so that importing poisonlab stays fast.
"""

from . import (  # noqa: F401  (registers the label-poisoning detectors)
    _confident_learning,
    _knn_label,
    _label_stats,
    _outliers,
    _output_shift,
    _roni,
)
from ._common import TrustedSet
from .base import DETECTORS, FLAG_CONSTRAINTS, BaseDetector, DetectionResult, evaluate_detection

__all__ = [
    "DETECTORS",
    "FLAG_CONSTRAINTS",
    "BaseDetector",
    "DetectionResult",
    "TrustedSet",
    "evaluate_detection",
]
