"""The Attack protocol: ``poison(X, y) -> PoisonResult``, and the attack registry.

Every attack is a scikit-learn-style estimator: a keyword-only ``__init__`` that only stores
parameters (so :func:`sklearn.base.clone` works), constraints declared once in
``_parameter_constraints`` and checked by :meth:`BaseAttack.poison`, which validates inputs,
calls the private ``_poison`` and validates its output. ``fit_resample`` lets an attack sit
inside an :class:`imblearn.pipeline.Pipeline`, where it touches only the training data.
DataFrames in, DataFrames out: given a ``pandas.DataFrame`` (and Series), ``poison`` and
``fit_resample`` return them with the same column names and dtypes (see :mod:`.._frames`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from .._frames import like_X, like_y
from .._random import make_rng
from .._registry import Registry
from .._validation import Constraint, check_params, check_X_y

KINDS = ("label", "features", "inject", "backdoor")

#: Every registered attack, by name.
ATTACKS: Registry = Registry("attack")


@dataclass(frozen=True)
class PoisonResult:
    """What an attack returns.

    Attributes
    ----------
    X : ndarray or DataFrame of shape (n_samples_out, n_features)
        The poisoned training features (read-only when unchanged from the input); a DataFrame
        with the input's columns and dtypes when the input was one.
    y : ndarray or Series of shape (n_samples_out,)
        The poisoned training labels; a Series (name, dtype) when the input was one.
    poison_indices : ndarray of shape (n_poisoned,), dtype int64
        Sorted rows of ``X``/``y`` that the attack changed or added.
    info : dict
        Attack-specific details (e.g. ``{"budget": 100, "source": "1"}``).
    """

    X: np.ndarray
    y: np.ndarray
    poison_indices: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a``: lets ``_poison`` return unchanged data without copying it."""
    view = a.view()
    view.flags.writeable = False
    return view


class BaseAttack(BaseEstimator):
    """Base class of poisoning attacks.

    Subclasses set ``kind`` (one of :data:`KINDS`), ``reference`` (the paper it comes from),
    ``_parameter_constraints``, a keyword-only ``__init__`` with a ``random_state`` parameter,
    and implement ``_poison(X, y, rng) -> PoisonResult``.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    _parameter_constraints: ClassVar[Mapping[str, list[Constraint]]] = {}

    def poison(
        self, X: Any, y: Any, *, random_state: int | np.random.Generator | None = None
    ) -> PoisonResult:
        """Poison a training set.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like or Series of shape (n_samples,)
        random_state : None, int or numpy.random.Generator, optional
            Overrides the ``random_state`` parameter for this call.

        Returns
        -------
        PoisonResult
            Its ``X`` and ``y`` take the pandas form of the inputs (column names, dtypes, the
            index when the rows are the input's); ``poison_indices`` are positions.
        """
        owner = type(self).__name__
        X_in, y_in = X, y
        X, y = check_X_y(X, y, owner=owner)
        check_params(owner, self.get_params(deep=False), self._parameter_constraints)
        rng = make_rng(self.random_state if random_state is None else random_state)
        result = self._poison(read_only(X), read_only(y), rng)
        _check_result(self, result, X, y)
        X_out = like_X(X_in, result.X)
        index = getattr(X_out, "index", None)
        return replace(result, X=X_out, y=like_y(y_in, result.y, index))

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        """Poison ``(X, y)`` for use inside an imbalanced-learn pipeline.

        Sets ``poison_indices_`` and ``poison_result_``.

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples_out, n_features)
            A DataFrame (same columns and dtypes) when ``X`` is one.
        y : ndarray or Series of shape (n_samples_out,)
        """
        result = self.poison(X, y)
        self.poison_result_ = result
        self.poison_indices_ = result.poison_indices
        return result.X, result.y

    def success_rate(
        self, predict: Callable[[np.ndarray], np.ndarray], X_test: np.ndarray, y_test: np.ndarray
    ) -> float | None:
        """How often the attack gets what it wants on test data; None when undefined.

        Parameters
        ----------
        predict : callable
            The victim model's ``predict``: ndarray (n, n_features) -> ndarray (n,).
        X_test : ndarray of shape (n_test, n_features)
        y_test : ndarray of shape (n_test,)
        """
        return None

    def _poison(
        self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator
    ) -> PoisonResult:  # pragma: no cover - interface
        raise NotImplementedError


def keyword_init(**defaults: Any) -> Callable[..., None]:
    """An ``__init__`` that stores the keyword-only parameters ``defaults`` names.

    For attacks that share most of their parameters: one table of defaults instead of a
    written-out signature and assignment block per class. scikit-learn reads an estimator's
    parameters from ``inspect.signature(type(est).__init__)``; the function carries that
    signature (``__signature__``: keyword-only, these defaults), so ``get_params``, ``clone``
    and the spec checks see it as they see a written-out ``__init__``.

    Parameters
    ----------
    **defaults
        Parameter names and their defaults, in signature order.
    """
    kind = inspect.Parameter.KEYWORD_ONLY
    signature = inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(name, kind, default=value) for name, value in defaults.items()]
    )

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                f"{unknown[0]!r}"
            )
        for name, default in defaults.items():
            setattr(self, name, params.get(name, default))

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    return __init__


def _check_result(attack: BaseAttack, result: PoisonResult, X: np.ndarray, y: np.ndarray) -> None:
    """The protocol's promises about any attack's output; a failure is a bug in the attack."""
    owner = type(attack).__name__
    out_X, out_y, idx = result.X, result.y, result.poison_indices
    problems = []
    if out_X.ndim != 2 or out_X.shape[1] != X.shape[1] or out_y.shape != (len(out_X),):
        problems.append(f"shapes X {out_X.shape}, y {out_y.shape}")
    if (
        idx.dtype != np.int64
        or idx.ndim != 1
        or (len(idx) and (idx[0] < 0 or idx[-1] >= len(out_X) or np.any(np.diff(idx) <= 0)))
    ):
        problems.append("poison_indices must be sorted unique int64 rows of the output")
    if not np.isin(out_y, np.unique(y)).all():
        problems.append("labels outside the input's classes")
    if attack.kind == "label" and not (
        out_X is X or np.shares_memory(out_X, X) or np.array_equal(out_X, X)
    ):
        problems.append("a 'label' attack changed X")
    if attack.kind == "inject" and not (
        np.array_equal(out_X[: len(X)], X) and np.array_equal(out_y[: len(y)], y)
    ):
        problems.append("an 'inject' attack changed existing rows")
    if problems:
        raise RuntimeError(f"{owner} broke the attack protocol: {'; '.join(problems)}")
