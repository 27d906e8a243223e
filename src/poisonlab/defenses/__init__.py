"""Detectors of poisoned samples and mitigations, behind one protocol (:class:`BaseDetector`).

Importing this package registers every detector. Detector modules import heavy dependencies
inside the functions that need them, so that importing poisonlab stays fast.
"""

# Importing a detector or mitigation module registers it.
from . import (  # noqa: F401
    _activation_clustering,
    _confident_learning,
    _knn_label,
    _label_stats,
    _outliers,
    _output_shift,
    _partition,
    _roni,
    _sanitizers,
    _spectral,
    _strip,
    _trimmed,
)
from ._trusted import TrustedSet
from .base import DETECTORS, FLAG_CONSTRAINTS, BaseDetector, DetectionResult, evaluate_detection
from .mitigation import MITIGATIONS, BaseMitigation

__all__ = [
    "DETECTORS",
    "FLAG_CONSTRAINTS",
    "MITIGATIONS",
    "BaseDetector",
    "BaseMitigation",
    "DetectionResult",
    "TrustedSet",
    "evaluate_detection",
]
