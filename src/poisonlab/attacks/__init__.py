"""Poisoning attacks behind one protocol (:class:`BaseAttack`), by registry name.

Importing this package registers every attack. Attack modules import heavy dependencies
inside the functions that need them, so that importing poisonlab stays fast.
"""

from . import (  # noqa: F401  (registers)
    _alfa,
    _backdoor,
    _defense_aware,
    _feature_collision,
    _inject_noise,
    _label_flip,
    _linear_gradient,
    _random_flip,
    _svm_gradient,
    _targeted,
)
from .base import ATTACKS, KINDS, BaseAttack, PoisonResult, make_rng

__all__ = ["ATTACKS", "KINDS", "BaseAttack", "PoisonResult", "make_rng"]
