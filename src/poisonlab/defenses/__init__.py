"""Detectors of poisoned samples and mitigations, behind one protocol (:class:`BaseDetector`).

Importing this package registers every detector. Detector modules import heavy dependencies
inside the functions that need them, so that importing poisonlab stays fast.
"""

from . import (
    _activation_clustering,  # noqa: F401  (registers)
    _partition,  # noqa: F401  (registers a mitigation)
    _regularization,  # noqa: F401  (registers a mitigation)
    _spectral,  # noqa: F401  (registers)
    _strip,  # noqa: F401  (registers)
    _trimmed,  # noqa: F401  (registers a mitigation)
)
from .base import DETECTORS, FLAG_CONSTRAINTS, BaseDetector, DetectionResult, evaluate_detection
from .mitigation import MITIGATIONS, BaseMitigation

__all__ = [
    "DETECTORS",
    "FLAG_CONSTRAINTS",
    "MITIGATIONS",
    "BaseDetector",
    "BaseMitigation",
    "DetectionResult",
    "evaluate_detection",
]
