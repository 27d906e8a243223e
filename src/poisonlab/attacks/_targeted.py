"""Targeted instance attacks: make one chosen input (the victim) classify as ``target``.

Two registered attacks share this code because the protocol's ``kind`` is a property of the
class: ``targeted_instance`` relabels training points (kind ``label``, so the shared-kernel fast
path applies) and ``targeted_instance_inject`` adds relabelled copies of them (kind ``inject``).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from .._validation import (
    CLASS_LABEL,
    RANDOM_STATE,
    Interval,
    ParameterError,
    Predicate,
    resolve_budget,
)
from .base import ATTACKS, BaseAttack, PoisonResult

# Rows per block when measuring distances: bounds the float64 temporary to about 50 MB on MNIST.
_CHUNK = 8192


def _is_vector(v: Any) -> bool:
    if v is None or isinstance(v, str):
        return False
    a = np.asarray(v)
    return a.dtype.kind in "biuf" and a.ndim == 1 and a.size > 0 and bool(np.isfinite(a).all())


def squared_distances(X: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Exact squared Euclidean distances from each row of X to ``point``; shape (n_samples,).

    Computed from differences, not with the ``|x|^2 - 2 x.p + |p|^2`` expansion, so that equal
    distances compare equal and ties are broken by row order, not by rounding.
    """
    point = point.astype(np.float64)
    out = np.empty(len(X))
    for start in range(0, len(X), _CHUNK):
        diff = X[start : start + _CHUNK].astype(np.float64) - point
        out[start : start + _CHUNK] = np.einsum("ij,ij->i", diff, diff)
    return out


class _TargetedInstanceBase(BaseAttack):
    """Shared parameters, neighbour search and success of the targeted instance attacks."""

    _parameter_constraints = {
        "victim": [Predicate(_is_vector, "a 1-D array of finite feature values (the victim)")],
        "target": [CLASS_LABEL],
        "budget": [Interval(Integral, 0, None), Interval(Real, 0.0, 1.0)],
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        victim: Any = None,
        target: str | int = "0",
        budget: int | float = 10,
        random_state=None,
    ) -> None:
        self.victim = victim
        self.target = target
        self.budget = budget
        self.random_state = random_state

    def success_rate(self, predict, X_test=None, y_test=None) -> float | None:
        """1.0 if the model predicts ``target`` for the victim, else 0.0 (test data unused)."""
        predicted = np.asarray(predict(np.asarray(self.victim)[None, :]))
        return float(str(predicted[0]) == str(self.target))

    def _neighbours(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Rows not labelled ``target``, nearest the victim first; their distances; the count."""
        owner = type(self).__name__
        classes = [str(c) for c in np.unique(y)]
        if str(self.target) not in classes:
            raise ParameterError(
                f"The 'target' parameter of {owner} must be one of the classes "
                f"{{{', '.join(classes)}}}; got {self.target!r}.",
                path=("target",),
            )
        victim = np.asarray(self.victim)
        if victim.shape != (X.shape[1],):
            raise ParameterError(
                f"The 'victim' parameter of {owner} must have {X.shape[1]} values (one per "
                f"feature of X); got shape {victim.shape}.",
                path=("victim",),
            )
        candidates = np.flatnonzero(y.astype(str) != str(self.target))
        count = resolve_budget(
            self.budget,
            len(y),
            owner=owner,
            available=len(candidates),
            what=f"training samples not of class {str(self.target)!r}",
        )
        d2 = squared_distances(X[candidates], victim)
        order = np.argsort(d2, kind="stable")[:count]
        return candidates[order], np.sqrt(d2[order]), count

    def _info(self, count: int, rows: np.ndarray, distances: np.ndarray) -> dict:
        return {
            "budget": count,
            "target": str(self.target),
            "neighbours": rows.tolist(),
            "distances": [round(float(d), 6) for d in distances],
        }


_DOC_PARAMETERS = """
    Parameters
    ----------
    victim : array-like of shape (n_features,)
        The input to misclassify, as a feature vector (e.g. one row of the test set).
        Required.
    target : str or int, default="0"
        The class the victim should be given.
    budget : int or float, default=10
        Number of training points used, or a fraction of the training set.
    random_state : None, int or numpy.random.Generator, default=None
        Unused (the attack is deterministic); accepted for the protocol.
"""


@ATTACKS.register("targeted_instance")
class TargetedInstance(_TargetedInstanceBase):
    """Relabel the ``budget`` training points nearest a victim input as ``target``.

    A targeted instance attack: one chosen input (the victim, given as a feature vector) should
    be classified as ``target`` while the rest of the model changes little. The training points
    nearest the victim in Euclidean distance, among those not already labelled ``target``, are
    relabelled ``target`` (ties go to the earlier row); ``info["neighbours"]`` lists them,
    nearest first, with their distances. ``success_rate`` is 1.0 when the model predicts
    ``target`` for the victim, else 0.0. This is a simple dirty-label form of instance-targeted
    poisoning (Barreno et al.'s targeted causative attacks; Shafahi et al. target one test
    instance with clean-label feature collisions instead, which this attack does not do).
    """

    __doc__ = __doc__ + _DOC_PARAMETERS
    kind = "label"
    reference = (
        "Barreno, Nelson, Sears, Joseph & Tygar, 'Can Machine Learning Be Secure?' "
        "(ASIACCS 2006): targeted causative attacks; instance-targeted poisoning as in "
        "Shafahi et al., 'Poison Frogs! Targeted Clean-Label Poisoning Attacks on Neural "
        "Networks' (NeurIPS 2018), here in a dirty-label nearest-neighbour form."
    )

    def _poison(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> PoisonResult:
        rows, distances, count = self._neighbours(X, y)
        y_out = y.copy()
        y_out[rows] = np.asarray(self.target).astype(y.dtype)
        return PoisonResult(
            X, y_out, np.sort(rows).astype(np.int64), self._info(count, rows, distances)
        )


@ATTACKS.register("targeted_instance_inject")
class TargetedInstanceInject(_TargetedInstanceBase):
    """Add ``budget`` points labelled ``target`` between a victim input and its nearest neighbours.

    The injecting form of ``targeted_instance``: the training set is left as it is and
    ``budget`` new rows are appended, labelled ``target``. Each is made from one of the training
    points nearest the victim (Euclidean distance, among those not labelled ``target``, ties to
    the earlier row): ``(1 - toward_victim) * neighbour + toward_victim * victim``, rounded for
    integer X. ``toward_victim=0`` injects plain relabelled copies of the neighbours, which
    contradict their originals and barely move the model; ``1`` injects copies of the victim
    itself; the default 0.5 puts them halfway. ``info["neighbours"]`` lists the neighbours
    used, nearest first. ``success_rate`` is 1.0 when the model predicts ``target`` for the
    victim, else 0.0.
    """

    __doc__ = (
        __doc__
        + _DOC_PARAMETERS
        + """    toward_victim : float, default=0.5
        Where each injected point lies between its neighbour (0) and the victim (1).
"""
    )
    kind = "inject"
    reference = TargetedInstance.reference
    _parameter_constraints = {
        **_TargetedInstanceBase._parameter_constraints,
        "toward_victim": [Interval(Real, 0.0, 1.0)],
    }

    def __init__(
        self,
        *,
        victim: Any = None,
        target: str | int = "0",
        budget: int | float = 10,
        toward_victim: float = 0.5,
        random_state=None,
    ) -> None:
        super().__init__(victim=victim, target=target, budget=budget, random_state=random_state)
        self.toward_victim = toward_victim

    def _poison(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> PoisonResult:
        rows, distances, count = self._neighbours(X, y)
        t = float(self.toward_victim)
        points = (1.0 - t) * X[rows].astype(np.float64) + t * np.asarray(
            self.victim, dtype=np.float64
        )
        if X.dtype.kind in "iu":
            info = np.iinfo(X.dtype)
            points = np.clip(np.rint(points), info.min, info.max)
        X_out = np.concatenate([X, points.astype(X.dtype)])
        y_out = np.concatenate([y, np.full(count, self.target).astype(y.dtype)])
        added = np.arange(len(y), len(y) + count, dtype=np.int64)
        info = {**self._info(count, rows, distances), "toward_victim": t}
        return PoisonResult(X_out, y_out, added, info)
