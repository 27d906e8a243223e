"""Trusted data a detector is given: :class:`TrustedSet`, compared by content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import Constraint, InstanceOf


@dataclass(frozen=True, eq=False)
class TrustedSet:
    """A small labelled set the defender trusts (e.g. a vetted validation sample).

    A parameter value of several detectors (``roni``'s ``validation``, ``output_shift``'s
    ``holdout``). It wraps the arrays so that a detector's parameters compare equal after
    :func:`sklearn.base.clone` (plain arrays make ``get_params() == ...`` ambiguous).

    Parameters
    ----------
    X : array-like of shape (n_trusted, n_features)
    y : array-like of shape (n_trusted,), optional
        Labels; some uses (held-out inputs) need none.
    """

    X: Any
    y: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "X", np.asarray(self.X))
        if self.y is not None:
            object.__setattr__(self, "y", np.asarray(self.y))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrustedSet):
            return NotImplemented
        same_y = (self.y is None and other.y is None) or (
            self.y is not None and other.y is not None and np.array_equal(self.y, other.y)
        )
        return same_y and np.array_equal(self.X, other.X)

    def __hash__(self) -> int:
        return hash((self.X.shape, self.X.tobytes()[:64]))

    def __repr__(self) -> str:
        labels = "no labels" if self.y is None else "labelled"
        return f"TrustedSet({self.X.shape[0]} x {self.X.shape[1]}, {labels})"

    def check(self, owner: str, param: str, n_features: int, *, need_y: bool) -> None:
        """Raise ``ValueError`` naming ``param`` if the set does not fit the training data."""
        X, y = self.X, self.y
        problem = None
        if X.ndim != 2 or X.shape[1] != n_features or len(X) == 0:
            problem = f"X of shape (n, {n_features}) with n >= 1; got shape {X.shape}"
        elif X.dtype.kind not in "biuf" or (X.dtype.kind == "f" and not np.isfinite(X).all()):
            problem = f"finite numeric X; got dtype {X.dtype}"
        elif need_y and (y is None or y.shape != (len(X),)):
            shown = None if y is None else y.shape
            problem = f"one label per row of X ({len(X)}); got y of shape {shown}"
        if problem:
            raise ValueError(f"The {param!r} parameter of {owner} must hold {problem}.")


TRUSTED: list[Constraint] = [InstanceOf((TrustedSet,), "a TrustedSet")]
