"""Scorers for model selection: attack success and detection quality in ``GridSearchCV``.

scikit-learn's ``scoring=`` takes any callable ``scorer(estimator, X, y) -> float`` (greater is
better). The estimator here is a fitted :class:`imblearn.pipeline.Pipeline` holding an attack
(and, for detection, a detector after it): the attack poisons the training folds inside the
pipeline, and the scorers read what it and the detector recorded there.

Example: which budget does the attacker need? ::

    from imblearn.pipeline import make_pipeline
    from sklearn.model_selection import GridSearchCV

    pipe = make_pipeline(LabelFlip(source="1", target="7"), StandardScaler(), SVC())
    search = GridSearchCV(pipe, {"labelflip__budget": [0, 20, 60]}, scoring=attack_success)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._frames import like_X
from .attacks.base import BaseAttack
from .defenses.base import BaseDetector, evaluate_detection

__all__ = ["DETECTION_METRICS", "attack_success", "make_detection_scorer"]

#: What :func:`make_detection_scorer` can score, as :func:`evaluate_detection` names them.
DETECTION_METRICS = ("precision", "recall", "f1", "roc_auc", "pr_auc")


def _steps(estimator: Any) -> list[Any]:
    return [step for _, step in getattr(estimator, "steps", [])]


def _fitted_attack(estimator: Any, scorer: str) -> BaseAttack:
    for step in _steps(estimator):
        if isinstance(step, BaseAttack):
            if not hasattr(step, "poison_indices_"):
                raise ValueError(f"{scorer}: the pipeline's attack has not poisoned anything yet.")
            return step
    raise ValueError(
        f"{scorer}: the estimator must be an imblearn Pipeline with an attack step; "
        f"got {type(estimator).__name__}."
    )


def attack_success(estimator: Any, X: Any, y: Any) -> float:
    """How often the fitted pipeline does what its attack wants on ``(X, y)`` (a scorer).

    Parameters
    ----------
    estimator : imblearn.pipeline.Pipeline
        Fitted; one of its steps is an attack (e.g. ``LabelFlip``).
    X : array-like or DataFrame of shape (n_samples, n_features)
        Held-out inputs (the test fold).
    y : array-like of shape (n_samples,)
        Their true labels.

    Returns
    -------
    float
        The attack's :meth:`~poisonlab.attacks.base.BaseAttack.success_rate` of the pipeline's
        predictions, in [0, 1]; NaN when undefined on this fold (e.g. no test input of the
        attack's source class), which ``GridSearchCV`` reports as a non-finite score.
    """
    attack = _fitted_attack(estimator, "attack_success")
    X_array = np.asarray(X)

    def predict(rows: np.ndarray) -> np.ndarray:
        # Rows chosen from X go back to the pipeline in X's own form (feature names kept).
        return estimator.predict(like_X(X, rows))

    rate = attack.success_rate(predict, X_array, np.asarray(y))
    return float("nan") if rate is None else float(rate)


def make_detection_scorer(metric: str = "f1") -> Callable[[Any, Any, Any], float]:
    """A scorer of how well the pipeline's detector found its attack's poisons.

    Detection happens on the training fold, when the pipeline is fitted: the detector step
    (after the attack, with no other resampling step between them) flags rows of the attack's
    output, and the scorer compares them with the rows the attack poisoned. The held-out
    ``(X, y)`` the scorer is called with are not used.

    Parameters
    ----------
    metric : {"precision", "recall", "f1", "roc_auc", "pr_auc"}, default="f1"
        As :func:`poisonlab.defenses.evaluate_detection` computes it.

    Returns
    -------
    callable
        ``scorer(estimator, X, y) -> float``; NaN when the metric is undefined (an AUC with
        no poisoned row).
    """
    if metric not in DETECTION_METRICS:
        raise ValueError(
            f"The 'metric' parameter of make_detection_scorer must be one of "
            f"{{{', '.join(DETECTION_METRICS)}}}; got {metric!r}."
        )
    name = f"detection_{metric}"

    def scorer(estimator: Any, X: Any, y: Any) -> float:
        attack = _fitted_attack(estimator, name)
        steps = _steps(estimator)
        after = steps[steps.index(attack) + 1 :]
        detector = next((s for s in after if isinstance(s, BaseDetector)), None)
        if detector is None or not hasattr(detector, "detection_"):
            raise ValueError(f"{name}: the pipeline needs a fitted detector step after its attack.")
        value = evaluate_detection(detector.detection_, attack.poison_indices_)[metric]
        return float("nan") if value is None else float(value)

    scorer.__name__ = name
    return scorer
