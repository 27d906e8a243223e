"""Targeted class attack: relabel samples of one class as another."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator

from .._validation import (
    CLASS_LABEL,
    RANDOM_STATE,
    Interval,
    Options,
    ParameterError,
    resolve_budget,
)
from ._surrogate import (
    SurrogateSpec,
    class_column,
    class_scores,
    fit_surrogate,
    flipped_label_loss,
)
from .base import ATTACKS, BaseAttack, PoisonResult

SELECTS = ("first", "random", "boundary", "far", "loss")


def _surrogate_name(surrogate) -> str:
    return surrogate if isinstance(surrogate, str) else type(surrogate).__name__


@ATTACKS.register("label_flip")
class LabelFlip(BaseAttack):
    """Relabel ``budget`` training samples of class ``source`` as class ``target``.

    A targeted class attack: the model learns to call some ``source`` inputs ``target``.
    ``select`` chooses which samples: ``first`` takes them in row order (the ML 106 lab's
    "first N '1's become '2'"), ``random`` uniformly at random; three rules rank them with a
    clean surrogate model fitted on the training set. With ``f_c(x)`` the surrogate's decision
    score for class ``c``, a sample's margin is ``m(x) = f_source(x) - f_target(x)``, positive
    on the source side of the source-vs-target boundary ``{f_source = f_target}`` (for a linear
    model, ``|m|`` is the distance to that hyperplane times the constant ``||w_source -
    w_target||``). ``boundary`` flips the samples with the smallest ``|m|`` (closest to the
    boundary, on either side), ``far`` those with the largest ``m`` (deepest on the source
    side), ``loss`` those with the highest surrogate loss once labelled ``target``
    (cross-entropy for a probabilistic surrogate, multi-class hinge otherwise). Ties go to the
    earlier row.

    Parameters
    ----------
    source : str
        Class whose samples are relabelled.
    target : str
        Class they are relabelled as.
    budget : int or float, default=0.05
        Number of samples, or a fraction of the training set.
    select : {"first", "random", "boundary", "far", "loss"}, default="first"
        Which ``source`` samples to flip.
    surrogate : str or estimator, default="linear_svc"
        The attacker's model for ``boundary``, ``far`` and ``loss``: a zoo model name (see
        :mod:`poisonlab.models.zoo`) or a scikit-learn classifier (cloned). The default, a
        linear SVM on min-max scaled features, fits 2,000 MNIST images in about half a second
        and does not depend on the pixels' scale. Unused by ``first`` and ``random``.
    random_state : None, int or numpy.random.Generator, default=None
    """

    kind = "label"
    reference = (
        "ML 106: Data Poisoning lab; label-flipping attacks as in Biggio, Nelson & "
        "Laskov, 'Support Vector Machines Under Adversarial Label Noise' (ACML 2011); "
        "heuristic flip strategies against SVMs: Xiao, Biggio, Nelson, Xiao, Eckert & Roli, "
        "'Support Vector Machines under Adversarial Label Contamination' (Neurocomputing "
        "2015)."
    )
    _parameter_constraints = {
        "source": [CLASS_LABEL],
        "target": [CLASS_LABEL],
        "budget": [Interval(Integral, 0, None), Interval(Real, 0.0, 1.0)],
        "select": [Options(*SELECTS)],
        "surrogate": [SurrogateSpec()],
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        source: str = "1",
        target: str = "2",
        budget: int | float = 0.05,
        select: str = "first",
        surrogate: str | BaseEstimator = "linear_svc",
        random_state=None,
    ) -> None:
        self.source = source
        self.target = target
        self.budget = budget
        self.select = select
        self.surrogate = surrogate
        self.random_state = random_state

    def _poison(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> PoisonResult:
        classes = [str(c) for c in np.unique(y)]
        for name in ("source", "target"):
            if str(getattr(self, name)) not in classes:
                raise ParameterError(
                    f"The {name!r} parameter of LabelFlip must be one of the "
                    f"classes {{{', '.join(classes)}}}; got {getattr(self, name)!r}.",
                    path=(name,),
                )
        if str(self.source) == str(self.target):
            raise ParameterError(
                f"The 'target' parameter of LabelFlip must differ from 'source'; "
                f"both are {self.source!r}.",
                path=("target",),
            )
        candidates = np.flatnonzero(y.astype(str) == str(self.source))
        count = resolve_budget(
            self.budget,
            len(y),
            owner="LabelFlip",
            available=len(candidates),
            what=f"training samples of class {self.source!r}",
        )
        info = {
            "budget": count,
            "source": str(self.source),
            "target": str(self.target),
            "select": self.select,
        }
        if self.select == "first":
            chosen = candidates[:count]
        elif self.select == "random":
            chosen = np.sort(rng.choice(candidates, size=count, replace=False))
        else:
            # Only rank when something is flipped: fitting the surrogate is the costly part.
            rank = self._rank(X, y, candidates) if count else np.arange(len(candidates))
            chosen = np.sort(candidates[rank[:count]])
            info["surrogate"] = _surrogate_name(self.surrogate)
        y_out = y.copy()
        y_out[chosen] = np.asarray(self.target).astype(y.dtype)
        return PoisonResult(X, y_out, chosen.astype(np.int64), info)

    def _rank(self, X: np.ndarray, y: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Order of ``candidates`` by the ``select`` rule, the first to flip first."""
        model = fit_surrogate(self.surrogate, X, y)
        if self.select == "loss":
            key = -flipped_label_loss(model, X[candidates], self.target)
        else:
            scores = class_scores(model, X[candidates])
            margin = (
                scores[:, class_column(model, self.source)]
                - scores[:, class_column(model, self.target)]
            )
            key = np.abs(margin) if self.select == "boundary" else -margin
        return np.argsort(key, kind="stable")

    def success_rate(self, predict, X_test, y_test) -> float | None:
        """Fraction of ``source`` test inputs predicted as ``target``."""
        mask = np.asarray(y_test).astype(str) == str(self.source)
        if not mask.any():
            return None
        return float(np.mean(np.asarray(predict(X_test[mask])).astype(str) == str(self.target)))
