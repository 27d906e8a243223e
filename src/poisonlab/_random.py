"""Randomness from a ``random_state``: a NumPy Generator, never the global state, and int seeds
drawn from it for scikit-learn estimators. Shared by attacks, detectors and the audit."""

from __future__ import annotations

import numpy as np


def make_rng(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """A Generator from a seed, or the Generator itself (never the global state)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


def seed_from(rng: np.random.Generator) -> int:
    """An int seed for a scikit-learn ``random_state``, drawn from a Generator."""
    return int(rng.integers(0, 2**31 - 1))
