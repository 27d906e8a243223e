"""Surrogate models: the attacker's own clean model, used to rank training samples.

A surrogate is given as a model name of :mod:`poisonlab.models.zoo` or as a scikit-learn
classifier (cloned before fitting, so the caller's estimator is never changed).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import Constraint


class SurrogateSpec(Constraint):
    """A zoo model name, or a scikit-learn classifier with ``decision_function`` or
    ``predict_proba``. The zoo is imported only when a check runs, so that importing the attacks
    stays fast."""

    def accepts(self, value: Any) -> bool:
        if isinstance(value, str):
            from ..models.zoo import MODELS

            return value in MODELS
        return (
            not isinstance(value, type)
            and hasattr(value, "fit")
            and hasattr(value, "get_params")
            and (hasattr(value, "decision_function") or hasattr(value, "predict_proba"))
        )

    def describe(self) -> str:
        from ..models.zoo import MODELS

        names = ", ".join(repr(n) for n in MODELS)
        return (
            f"a model name from the zoo ({names}) or a scikit-learn classifier with "
            "decision_function or predict_proba"
        )


def fit_surrogate(spec: Any, X: np.ndarray, y: np.ndarray) -> Any:
    """A fresh surrogate fitted on ``(X, y)``.

    Parameters
    ----------
    spec : str or estimator
        A zoo model name, or an estimator (cloned, so ``spec`` itself stays unfitted).
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    """
    from sklearn.base import clone

    from ..models.zoo import make_model

    model = make_model(spec) if isinstance(spec, str) else clone(spec)
    return model.fit(X, y)


def class_scores(model: Any, X: np.ndarray) -> np.ndarray:
    """One decision score per class, higher = more that class; shape (n_samples, n_classes).

    ``decision_function`` when the model has one (a binary model's single column ``f`` becomes
    ``[0, f]``, since ``f > 0`` means the second class), else ``predict_proba``: probabilities,
    not their logarithms, because models such as k-NN and random forests give exact zeros,
    whose log-differences would be undefined. Columns follow ``model.classes_``.
    """
    if hasattr(model, "decision_function"):
        scores = np.asarray(model.decision_function(X), dtype=np.float64)
        if scores.ndim == 1:
            scores = np.column_stack([np.zeros_like(scores), scores])
        return scores
    return np.asarray(model.predict_proba(X), dtype=np.float64)


def class_column(model: Any, label: Any) -> int:
    """Column of ``label`` in the model's ``classes_`` (labels compared as strings)."""
    return [str(c) for c in model.classes_].index(str(label))


def flipped_label_loss(model: Any, X: np.ndarray, label: Any) -> np.ndarray:
    """The surrogate's loss on each row of X if it were labelled ``label``; shape (n_samples,).

    Cross-entropy ``-log p(label | x)`` when the model has ``predict_proba``; otherwise the
    multi-class hinge loss ``max(0, 1 + max_{j != label} f_j(x) - f_label(x))`` on its decision
    scores (Crammer & Singer's), so every surrogate has a loss.
    """
    col = class_column(model, label)
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(X), dtype=np.float64)[:, col]
        with np.errstate(divide="ignore"):
            return -np.log(proba)
    scores = class_scores(model, X)
    others = np.delete(scores, col, axis=1).max(axis=1)
    return np.maximum(0.0, 1.0 + others - scores[:, col])
