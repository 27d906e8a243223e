"""Checks of the rows and labels a detector is given to score."""

from __future__ import annotations

import numpy as np


def same_rows(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``b`` holds exactly the rows of ``a`` (the fitted training set)."""
    return a is b or (a.shape == b.shape and np.array_equal(a, b))


def require_training_set(owner: str, fitted_X: np.ndarray, X: np.ndarray) -> None:
    """Raise ``ValueError`` unless ``X`` is the training set the detector was fitted on.

    For transductive detectors (their scores come from cross-validation or leave-out fits over
    the training set, so an unseen row has no score).
    """
    if not same_rows(fitted_X, X):
        raise ValueError(
            f"{owner} scores the samples it was fitted on; got X of shape {X.shape}, fitted on "
            f"{fitted_X.shape}. Call fit (or detect) on the rows to score."
        )


def as_labels_of(values, y: np.ndarray) -> np.ndarray:
    """``values`` as labels comparable with ``y``: strings (never truncated) when ``y`` holds
    strings, e.g. trusted labels given as ints for a training set labelled '0'..'9'."""
    values = np.asarray(values)
    return values.astype(str) if y.dtype.kind in "US" else values


def check_labels(owner: str, y: np.ndarray | None, n: int) -> np.ndarray:
    """``y`` as an array of ``n`` labels; ``ValueError`` if missing or of the wrong shape."""
    if y is None or np.shape(y) != (n,):
        shown = None if y is None else np.shape(y)
        raise ValueError(
            f"y passed to {owner}.score_samples must hold one label per row of X ({n}); "
            f"got {shown}."
        )
    return np.asarray(y)
