"""Parameter constraints, declared once per class and checked in one place.

scikit-learn has a similar system in the private module ``sklearn.utils._param_validation``;
we keep our own small one because a private API may change under us, and because our messages
follow one house style: ``The 'budget' parameter of LabelFlip must be a count (an int in [0,
inf)) or a fraction (a float >= 0 and < 1); got 1.0.``
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

from ._errors import ParameterError

__all__ = [
    "BUDGET",
    "CLASS_LABEL",
    "RANDOM_STATE",
    "Constraint",
    "InstanceOf",
    "Interval",
    "Options",
    "Predicate",
    "check_X_y",
    "check_params",
    "resolve_budget",
]


class Constraint:
    """One allowed form of a parameter value."""

    def accepts(self, value: Any) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


def _fmt(x: float) -> str:
    if x == math.inf:
        return "inf"
    if x == -math.inf:
        return "-inf"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


@dataclass(frozen=True)
class Interval(Constraint):
    """An int or a float in a range, e.g. ``Interval(Integral, 1, None)`` for ``[1, inf)``."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # "both", "left", "right" or "neither"
    name: str = ""  # what users read instead of the interval, e.g. "a count (an int >= 0)"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, bool | np.bool_):
            return False
        if self.kind is Integral and not isinstance(value, Integral):
            return False
        if self.kind is Real and not isinstance(value, Real):
            return False
        if isinstance(value, float) and math.isnan(value):
            return False
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        left_ok = value >= low if self.closed in ("both", "left") else value > low
        right_ok = value <= high if self.closed in ("both", "right") else value < high
        return bool(left_ok and right_ok)

    def describe(self) -> str:
        if self.name:
            return self.name
        noun = "an int" if self.kind is Integral else "a float"
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        return f"{noun} in {left}{_fmt(low)}, {_fmt(high)}{right}"


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of values (strings, None, ...)."""

    values: tuple

    def __init__(self, *values: Any) -> None:
        object.__setattr__(self, "values", tuple(values))

    def accepts(self, value: Any) -> bool:
        try:
            return any(value is v or (type(value) is type(v) and value == v) for v in self.values)
        except (TypeError, ValueError):
            return False

    def describe(self) -> str:
        shown = ", ".join("None" if v is None else repr(v) for v in self.values)
        return f"one of {{{shown}}}" if len(self.values) > 1 else shown


@dataclass(frozen=True)
class InstanceOf(Constraint):
    """An instance of one of some types, with a human name for them."""

    types: tuple
    name: str

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.types) and not isinstance(value, bool)

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True)
class Predicate(Constraint):
    """Any value for which ``test(value)`` is true, described by ``name``."""

    test: Callable[[Any], bool]
    name: str

    def accepts(self, value: Any) -> bool:
        try:
            return bool(self.test(value))
        except (TypeError, ValueError):
            return False

    def describe(self) -> str:
        return self.name


RANDOM_STATE: list[Constraint] = [
    Options(None),
    Interval(Integral, 0, 2**32 - 1, name="a seed (an int from 0 to 2**32 - 1)"),
    InstanceOf((np.random.Generator,), "a numpy.random.Generator"),
]

#: An attack's ``budget``: a count of samples, or a fraction in [0, 1). ``1`` poisons one
#: sample and ``1.0`` is refused rather than read as "all of them", so an int and a float of the
#: same value never mean different things (``0`` and ``0.0`` both mean none).
BUDGET: list[Constraint] = [
    Interval(Integral, 0, None, name="a count (an int >= 0)"),
    Interval(Real, 0.0, 1.0, closed="left", name="a fraction (a float >= 0 and < 1)"),
]


CLASS_LABEL: Constraint = InstanceOf((str, Integral), "a class label (str or int)")


def join_alternatives(descriptions: Sequence[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b or c"``; ``[]`` -> ``""``."""
    if len(descriptions) <= 1:
        return "".join(descriptions)
    return ", ".join(descriptions[:-1]) + " or " + descriptions[-1]


def check_params(owner: str, params: Mapping[str, Any], constraints: Mapping[str, list]) -> None:
    """Raise :class:`ParameterError` naming the first parameter whose value no constraint
    accepts.

    Parameters
    ----------
    owner : str
        The class name shown in the message, e.g. ``"LabelFlip"``.
    params : mapping of str to object
        Parameter values, e.g. from ``get_params(deep=False)``.
    constraints : mapping of str to list of Constraint
        Allowed forms per parameter; parameters not listed are not checked.
    """
    for name, allowed in constraints.items():
        value = params[name]
        if not any(c.accepts(value) for c in allowed):
            wanted = join_alternatives([c.describe() for c in allowed])
            raise ParameterError(
                f"The {name!r} parameter of {owner} must be {wanted}; got {value!r}.", path=(name,)
            )


def resolve_budget(
    budget: int | float, n_samples: int, *, owner: str, available: int, what: str
) -> int:
    """Turn a budget (a count, or a fraction of the training set) into a count.

    Parameters
    ----------
    budget : int or float
        A count of samples, or a float in (0, 1) read as a fraction of ``n_samples`` (see
        :data:`BUDGET`).
    n_samples : int
        Size of the training set the fraction refers to.
    owner : str
        Class name for the message.
    available : int
        How many samples the attack can actually poison.
    what : str
        What those available samples are, for the message (e.g. ``"samples of class '1'"``).

    Returns
    -------
    int
        The number of samples to poison.
    """
    count = math.floor(budget * n_samples + 0.5) if isinstance(budget, float) else int(budget)
    if count > available:
        shown = f"{budget!r} (= {count} samples)" if isinstance(budget, float) else f"{budget!r}"
        raise ParameterError(
            f"The 'budget' parameter of {owner} must be at most {available} "
            f"(the {what}); got {shown}.",
            path=("budget",),
        )
    return count


def check_X_y(
    X: Any, y: Any, *, owner: str, allow_single_class: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a training set: 2-D finite numeric X and 1-D labels of the same length.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    owner : str
        Class or function name for messages.
    allow_single_class : bool, default=False
        Whether a single class is acceptable.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The input as a C-contiguous array (not copied when it already is one).
    y : ndarray of shape (n_samples,)
    """
    # C order whatever the input's layout (a DataFrame's values are column-major): matrix
    # products sum in an order that depends on the layout, and results must not.
    X = np.ascontiguousarray(X)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(
            f"X passed to {owner} must be 2-D (n_samples, n_features); got shape {X.shape}."
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X passed to {owner} must be numeric; got dtype {X.dtype}.")
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(
            f"y passed to {owner} must be 1-D with one label per row of X "
            f"({len(X)}); got shape {y.shape}."
        )
    if len(X) == 0:
        raise ValueError(f"X passed to {owner} is empty.")
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
        raise ValueError(
            f"X passed to {owner} has {len(bad)} rows with NaN or inf values (first: row {bad[0]})."
        )
    if not allow_single_class and len(np.unique(y)) < 2:
        raise ValueError(
            f"y passed to {owner} must hold at least two classes; got {np.unique(y).tolist()}."
        )
    return X, y
