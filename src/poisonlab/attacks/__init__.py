"""Poisoning attacks behind one protocol (:class:`BaseAttack`), by registry name.

Importing this package registers every attack. Attack modules import heavy dependencies
inside the functions that need them, so that importing poisonlab stays fast.
"""

from . import _alfa, _backdoor, _label_flip, _svm_gradient  # noqa: F401  (registers)
from .base import ATTACKS, KINDS, BaseAttack, PoisonResult, make_rng

__all__ = ["ATTACKS", "KINDS", "BaseAttack", "PoisonResult", "make_rng"]
