"""Detectors of poisoned samples and mitigations, behind one protocol (:class:`BaseDetector`).

Importing this package registers every detector. Detector modules import heavy dependencies
inside the functions that need them, so that importing poisonlab stays fast.
"""

from .base import DETECTORS, FLAG_CONSTRAINTS, BaseDetector, DetectionResult, evaluate_detection

__all__ = ["DETECTORS", "FLAG_CONSTRAINTS", "BaseDetector", "DetectionResult", "evaluate_detection"]
