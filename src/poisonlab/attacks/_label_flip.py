"""Targeted class attack: relabel samples of one class as another."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._validation import CLASS_LABEL, RANDOM_STATE, Interval, Options, resolve_budget
from .base import ATTACKS, BaseAttack, PoisonResult


@ATTACKS.register("label_flip")
class LabelFlip(BaseAttack):
    """Relabel ``budget`` training samples of class ``source`` as class ``target``.

    A targeted class attack: the model learns to call some ``source`` inputs ``target``.
    ``select`` chooses which samples: ``first`` takes them in row order (the ML 106 lab's
    "first N '1's become '2'"), ``random`` uniformly at random.

    Parameters
    ----------
    source : str
        Class whose samples are relabelled.
    target : str
        Class they are relabelled as.
    budget : int or float, default=0.05
        Number of samples, or a fraction of the training set.
    select : {"first", "random"}, default="first"
        Which ``source`` samples to flip.
    random_state : None, int or numpy.random.Generator, default=None
    """

    kind = "label"
    reference = (
        "ML 106: Data Poisoning lab; label-flipping attacks as in Biggio, Nelson & "
        "Laskov, 'Support Vector Machines Under Adversarial Label Noise' (ACML 2011)."
    )
    _parameter_constraints = {
        "source": [CLASS_LABEL],
        "target": [CLASS_LABEL],
        "budget": [Interval(Integral, 0, None), Interval(Real, 0.0, 1.0)],
        "select": [Options("first", "random")],
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        source: str = "1",
        target: str = "2",
        budget: int | float = 0.05,
        select: str = "first",
        random_state=None,
    ) -> None:
        self.source = source
        self.target = target
        self.budget = budget
        self.select = select
        self.random_state = random_state

    def _poison(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> PoisonResult:
        classes = [str(c) for c in np.unique(y)]
        for name in ("source", "target"):
            if str(getattr(self, name)) not in classes:
                raise ValueError(
                    f"The {name!r} parameter of LabelFlip must be one of the "
                    f"classes {{{', '.join(classes)}}}; got {getattr(self, name)!r}."
                )
        if str(self.source) == str(self.target):
            raise ValueError(
                f"The 'target' parameter of LabelFlip must differ from 'source'; "
                f"both are {self.source!r}."
            )
        candidates = np.flatnonzero(y.astype(str) == str(self.source))
        count = resolve_budget(
            self.budget,
            len(y),
            owner="LabelFlip",
            available=len(candidates),
            what=f"training samples of class {self.source!r}",
        )
        if self.select == "first":
            chosen = candidates[:count]
        else:
            chosen = np.sort(rng.choice(candidates, size=count, replace=False))
        y_out = y.copy()
        y_out[chosen] = np.asarray(self.target).astype(y.dtype)
        return PoisonResult(
            X,
            y_out,
            chosen.astype(np.int64),
            {
                "budget": count,
                "source": str(self.source),
                "target": str(self.target),
                "select": self.select,
            },
        )

    def success_rate(self, predict, X_test, y_test) -> float | None:
        """Fraction of ``source`` test inputs predicted as ``target``."""
        mask = np.asarray(y_test).astype(str) == str(self.source)
        if not mask.any():
            return None
        return float(np.mean(np.asarray(predict(X_test[mask])).astype(str) == str(self.target)))
