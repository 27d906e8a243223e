"""Indiscriminate label noise: flip randomly chosen labels to other classes."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from .._validation import RANDOM_STATE, Interval, Options, ParameterError, Predicate, resolve_budget
from .base import ATTACKS, BaseAttack, PoisonResult


def _is_matrix(v: Any) -> bool:
    a = np.asarray(v)
    return a.dtype.kind in "biuf" and a.ndim == 2 and a.size > 0


@ATTACKS.register("random_flip")
class RandomFlip(BaseAttack):
    """Flip ``budget`` randomly chosen training labels to other classes (label noise).

    An indiscriminate attack (Barreno et al.'s causative indiscriminate class; the issue calls
    it exploratory): it degrades the model overall rather than one class. Without
    ``transition`` the flipped rows are drawn uniformly from the training set and each gets a
    new class drawn uniformly from the other classes. With a class-transition matrix ``T``
    (``T[i, j]`` = probability that a label of class ``i`` becomes ``j``, rows and columns in
    the order of ``numpy.unique(y)``, the sorted labels), the budget still fixes how many labels
    change: rows are drawn without replacement with weight ``1 - T[i, i]`` for a row of class
    ``i`` (a class with ``T[i, i] = 1`` is never flipped), and a flipped row of class ``i``
    becomes ``j != i`` with probability ``T[i, j] / (1 - T[i, i])``. A diagonal of zeros is the
    common "flip matrix"; a noise-model matrix with a diagonal works as well.

    Parameters
    ----------
    budget : int or float, default=0.1
        Number of labels to flip, or a fraction of the training set.
    transition : array-like of shape (n_classes, n_classes) or None, default=None
        Row-stochastic class-transition matrix (non-negative, rows sum to 1); None: uniform.
    random_state : None, int or numpy.random.Generator, default=None
        Chooses the rows and their new labels.
    """

    kind = "label"
    reference = (
        "Random label noise as in Biggio, Nelson & Laskov, 'Support Vector Machines Under "
        "Adversarial Label Noise' (ACML 2011); class-transition (noise) matrices as in Frénay "
        "& Verleysen, 'Classification in the Presence of Label Noise: a Survey' (IEEE TNNLS "
        "2014)."
    )
    _parameter_constraints = {
        "budget": [Interval(Integral, 0, None), Interval(Real, 0.0, 1.0)],
        "transition": [Options(None), Predicate(_is_matrix, "a 2-D numeric matrix")],
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self, *, budget: int | float = 0.1, transition: Any = None, random_state=None
    ) -> None:
        self.budget = budget
        self.transition = transition
        self.random_state = random_state

    def _poison(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> PoisonResult:
        classes, codes = np.unique(y, return_inverse=True)
        T = self._transition(classes)
        flip_weight = (1.0 - np.diag(T))[codes]
        count = resolve_budget(
            self.budget,
            len(y),
            owner="RandomFlip",
            available=int(np.count_nonzero(flip_weight > 0)),
            what="training samples of classes that the transition matrix flips",
        )
        chosen = np.sort(
            rng.choice(len(y), size=count, replace=False, p=flip_weight / flip_weight.sum())
        )
        y_out = y.copy()
        for i in np.unique(codes[chosen]):
            rows = chosen[codes[chosen] == i]
            # Row i of T without its diagonal, renormalized: where a flipped label goes.
            p = T[i].copy()
            p[i] = 0.0
            y_out[rows] = classes[rng.choice(len(classes), size=len(rows), p=p / p.sum())]
        return PoisonResult(
            X,
            y_out,
            chosen.astype(np.int64),
            {"budget": count, "transition": "uniform" if self.transition is None else "matrix"},
        )

    def _transition(self, classes: np.ndarray) -> np.ndarray:
        """The validated transition matrix for ``classes`` (uniform when none is given)."""
        k = len(classes)
        if self.transition is None:
            return (np.ones((k, k)) - np.eye(k)) / (k - 1)
        T = np.asarray(self.transition, dtype=np.float64)
        order = ", ".join(str(c) for c in classes)
        problem = None
        if T.shape != (k, k):
            problem = f"be {k}x{k} (classes {order}, in that order); got shape {T.shape}"
        elif not np.isfinite(T).all() or (T < 0).any():
            problem = "hold finite non-negative probabilities"
        elif not np.allclose(T.sum(axis=1), 1.0, rtol=0, atol=1e-6):
            sums = ", ".join(f"{s:g}" for s in T.sum(axis=1))
            problem = f"have rows that sum to 1 (classes {order}); row sums are {sums}"
        elif np.allclose(np.diag(T), 1.0, rtol=0, atol=0):
            problem = "flip at least one class (a diagonal of all ones flips nothing)"
        if problem:
            raise ParameterError(
                f"The 'transition' parameter of RandomFlip must {problem}.", path=("transition",)
            )
        return T
