"""Indiscriminate injection: add random points with chosen or random labels."""

from __future__ import annotations

import sys
from numbers import Integral, Real

import numpy as np

from .._validation import (
    CLASS_LABEL,
    RANDOM_STATE,
    Interval,
    Options,
    ParameterError,
    resolve_budget,
)
from .base import ATTACKS, BaseAttack, PoisonResult


@ATTACKS.register("inject_noise")
class InjectNoise(BaseAttack):
    """Add ``budget`` random points to the training set, with a chosen or random label.

    An indiscriminate injection attack and a baseline for optimized ones (``svm_gradient``):
    it only adds rows, never changes existing ones. ``distribution="uniform"`` draws each
    feature uniformly between its minimum and maximum in the training set (the feature box);
    ``"gaussian"`` picks a class uniformly at random and draws around that class's mean with its
    per-feature standard deviation times ``scale``, clipped to the feature box. ``label=None``
    gives each point a random wrong label: uniform over all classes for uniform noise (a
    uniform point belongs to no class), uniform over the other classes for Gaussian points.
    Points keep X's dtype: integer data (MNIST's uint8 pixels) is drawn as, or rounded to,
    integers in range.

    Parameters
    ----------
    budget : int or float, default=0.1
        Number of points to add, or a fraction of the training set's size.
    distribution : {"uniform", "gaussian"}, default="uniform"
        Where the points come from.
    label : str, int or None, default=None
        Label of every injected point; None: random, as above.
    scale : float, default=1.0
        Multiplies the class standard deviations of ``gaussian`` (unused by ``uniform``).
    random_state : None, int or numpy.random.Generator, default=None
        Draws the points and their labels.
    """

    kind = "inject"
    reference = (
        "Barreno, Nelson, Sears, Joseph & Tygar, 'Can Machine Learning Be Secure?' (ASIACCS "
        "2006): causative indiscriminate attacks; random injection as the baseline of Biggio, "
        "Nelson & Laskov, 'Poisoning Attacks against Support Vector Machines' (ICML 2012)."
    )
    _parameter_constraints = {
        "budget": [Interval(Integral, 0, None), Interval(Real, 0.0, 1.0)],
        "distribution": [Options("uniform", "gaussian")],
        "label": [Options(None), CLASS_LABEL],
        "scale": [Interval(Real, 0.0, None, closed="neither")],
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        budget: int | float = 0.1,
        distribution: str = "uniform",
        label: str | int | None = None,
        scale: float = 1.0,
        random_state=None,
    ) -> None:
        self.budget = budget
        self.distribution = distribution
        self.label = label
        self.scale = scale
        self.random_state = random_state

    def _poison(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> PoisonResult:
        classes = np.unique(y)
        if self.label is not None and str(self.label) not in classes.astype(str):
            raise ParameterError(
                f"The 'label' parameter of InjectNoise must be None or one of the classes "
                f"{{{', '.join(str(c) for c in classes)}}}; got {self.label!r}.",
                path=("label",),
            )
        # Injection has no natural maximum: any count of new rows can be added.
        count = resolve_budget(
            self.budget, len(y), owner="InjectNoise", available=sys.maxsize, what="unbounded"
        )
        if self.distribution == "uniform":
            points, origin = self._uniform(X, count, rng), None
        else:
            points, origin = self._gaussian(X, y, classes, count, rng)
        labels = self._labels(classes, origin, count, rng).astype(y.dtype)
        return PoisonResult(
            np.concatenate([X, points]),
            np.concatenate([y, labels]),
            np.arange(len(y), len(y) + count, dtype=np.int64),
            {
                "budget": count,
                "distribution": self.distribution,
                "label": "random" if self.label is None else str(self.label),
            },
        )

    def _uniform(self, X: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
        low, high = X.min(axis=0), X.max(axis=0)
        if X.dtype.kind in "iub":
            size = (count, X.shape[1])
            return rng.integers(low, high, size=size, endpoint=True).astype(X.dtype)
        return rng.uniform(low, high, size=(count, X.shape[1])).astype(X.dtype)

    def _gaussian(
        self, X: np.ndarray, y: np.ndarray, classes: np.ndarray, count: int, rng
    ) -> tuple[np.ndarray, np.ndarray]:
        origin = rng.integers(len(classes), size=count)
        Xf = X.astype(np.float64)
        means = np.stack([Xf[y == c].mean(axis=0) for c in classes])
        stds = np.stack([Xf[y == c].std(axis=0) for c in classes])
        points = means[origin] + self.scale * stds[origin] * rng.standard_normal(
            (count, X.shape[1])
        )
        points = np.clip(points, X.min(axis=0), X.max(axis=0))
        if X.dtype.kind in "iub":
            points = np.rint(points)
        return points.astype(X.dtype), origin

    def _labels(
        self, classes: np.ndarray, origin: np.ndarray | None, count: int, rng
    ) -> np.ndarray:
        if self.label is not None:
            return np.full(count, classes[classes.astype(str) == str(self.label)][0])
        if origin is None:
            return classes[rng.integers(len(classes), size=count)]
        # A class other than the point's own: draw among k - 1 and skip over the origin.
        other = rng.integers(len(classes) - 1, size=count)
        return classes[other + (other >= origin)]
