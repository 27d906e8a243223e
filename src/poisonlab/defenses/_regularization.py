"""How a model's robustness to an attack changes with its regularization strength."""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np

from .._validation import Predicate, check_X_y
from .mitigation import MITIGATIONS, BaseMitigation

#: Models the study knows how to regularize: zoo name -> its inverse-regularization parameter.
REGULARIZED_MODELS = {"svc": "C", "logreg": "C", "linear_svc": "C"}


def _model_names(value) -> bool:
    return (
        isinstance(value, tuple | list)
        and len(value) > 0
        and all(isinstance(v, str) and v in REGULARIZED_MODELS for v in value)
    )


def _positive_grid(value) -> bool:
    return (
        isinstance(value, tuple | list)
        and len(value) > 0
        and all(isinstance(v, Real) and not isinstance(v, bool) and v > 0 for v in value)
    )


@MITIGATIONS.register("regularization")
class RegularizationStudy(BaseMitigation):
    """Measure robustness to an attack over a grid of regularization strengths.

    For each model and each value of its ``C`` (smaller ``C`` = stronger regularization), it
    trains the model on the clean and on the poisoned training set and reports both test
    accuracies, the drop between them, and the attack's success rate on each model. Strong
    regularization limits how much any few samples can bend the decision function, at some
    cost in clean accuracy; the table shows where that trade lands for a given attack.

    Parameters
    ----------
    models : sequence of {"svc", "logreg", "linear_svc"}, default=("svc", "logreg")
        Model-zoo names (see :mod:`poisonlab.models.zoo`).
    grid : sequence of float > 0, default=(0.01, 0.1, 1.0, 10.0, 100.0)
        Values of ``C``.
    """

    kind = "study"
    reference = (
        "Regularization as a poisoning defense: Biggio, Nelson & Laskov, 'Support Vector "
        "Machines Under Adversarial Label Noise', ACML 2011; Demontis et al., 'Why Do "
        "Adversarial Attacks Transfer?', USENIX Security 2019."
    )
    _parameter_constraints = {
        "models": [
            Predicate(_model_names, f"a non-empty list of {{{', '.join(REGULARIZED_MODELS)}}}")
        ],
        "grid": [Predicate(_positive_grid, "a non-empty list of positive numbers")],
    }

    def __init__(
        self,
        *,
        models: tuple[str, ...] = ("svc", "logreg"),
        grid: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 100.0),
    ) -> None:
        self.models = models
        self.grid = grid

    def run(
        self,
        attack,
        X_train: Any,
        y_train: Any,
        X_test: Any,
        y_test: Any,
        *,
        random_state: int | np.random.Generator | None = None,
    ) -> list[dict[str, Any]]:
        """Poison once, then train every (model, C) on the clean and the poisoned set.

        Parameters
        ----------
        attack : BaseAttack
            The attack (e.g. ``ATTACKS.create("label_flip", budget=100)``).
        X_train : array-like of shape (n_train, n_features)
        y_train : array-like of shape (n_train,)
        X_test : array-like of shape (n_test, n_features)
        y_test : array-like of shape (n_test,)
        random_state : None, int or numpy.random.Generator
            Handed to ``attack.poison``.

        Returns
        -------
        list of dict
            One row per (model, C): ``model``, ``C``, ``clean_accuracy``,
            ``poisoned_accuracy``, ``accuracy_drop``, ``clean_success`` and
            ``poisoned_success`` (the attack's success rate, None when it defines none).
        """
        self._check_params()
        from ..attacks.base import BaseAttack

        if not isinstance(attack, BaseAttack):
            raise TypeError(
                "The 'attack' argument of RegularizationStudy.run must be an attack (a "
                f"BaseAttack, e.g. ATTACKS.create('label_flip')); got {attack!r}."
            )
        X_train, y_train = check_X_y(X_train, y_train, owner="RegularizationStudy")
        X_test, y_test = check_X_y(X_test, y_test, owner="RegularizationStudy")
        poisoned = attack.poison(X_train, y_train, random_state=random_state)
        rows = []
        for name in self.models:
            for c in self.grid:
                rows.append(
                    self._row(name, float(c), attack, poisoned, X_train, y_train, X_test, y_test)
                )
        return rows

    @staticmethod
    def _row(name, c, attack, poisoned, X_train, y_train, X_test, y_test) -> dict[str, Any]:
        from ..models.zoo import make_model

        param = REGULARIZED_MODELS[name]
        clean = make_model(name, **{param: c}).fit(X_train, y_train)
        dirty = make_model(name, **{param: c}).fit(poisoned.X, poisoned.y)
        clean_acc = float(np.mean(clean.predict(X_test) == y_test))
        dirty_acc = float(np.mean(dirty.predict(X_test) == y_test))
        return {
            "model": name,
            param: c,
            "clean_accuracy": clean_acc,
            "poisoned_accuracy": dirty_acc,
            "accuracy_drop": clean_acc - dirty_acc,
            "clean_success": attack.success_rate(clean.predict, X_test, y_test),
            "poisoned_success": attack.success_rate(dirty.predict, X_test, y_test),
        }


def regularization_table(
    attack,
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    models=("svc", "logreg"),
    grid=None,
    random_state=None,
) -> list[dict[str, Any]]:
    """:meth:`RegularizationStudy.run` in one call; ``grid=None`` uses the default grid."""
    study = (
        RegularizationStudy(models=models)
        if grid is None
        else RegularizationStudy(models=models, grid=grid)
    )
    return study.run(attack, X_train, y_train, X_test, y_test, random_state=random_state)
