"""What is measured per run: a registry of metrics.

Two kinds: *stored* metrics are functions of the arrays a run stores (predictions, test labels,
detector scores, ...), so they can be computed again from the store at any time, and adding one
to a study computes it for the stored runs without running them again; *run* metrics need the
fitted model or the attack (attack success, certified accuracy) and are computed by the run.

Built in: ``accuracy``, ``per_class`` (by predicted class as the ML 106 lab counts, and by true
class), ``confusion``, ``success_rate`` (where the attack defines one), ``detection``
(precision, recall, F1, ROC-AUC and PR-AUC of the detector against the true poison indices) and
``certified_accuracy`` (models with a ``certified_accuracy(X, y)`` method, such as partition
ensembles; None for the others). Other metrics plug in with :func:`register_metric`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._registry import Registry
from ..metrics import class_counts, confusion, per_class_table


@dataclass(frozen=True)
class Outcome:
    """Everything a run produced that metrics may read.

    Attributes
    ----------
    classes : ndarray of shape (n_classes,)
        The dataset's classes.
    y_test : ndarray of shape (n_test,)
    y_pred : ndarray of shape (n_test,)
        The model's predictions on the clean test set.
    y_train : ndarray of shape (n_train,)
        The training labels the model saw, after poisoning and sanitizing.
    predict : callable
        The fitted model's ``predict``, for metrics that query it (attack success).
    X_test : ndarray of shape (n_test, n_features)
    model : object
        The fitted model (e.g. for certified accuracy).
    attack : BaseAttack or None
    poison_indices : ndarray of shape (n_poisoned,)
        Rows of the poisoned training set the attack changed or added.
    detection : DetectionResult or None
        The detector's result (on the poisoned training set, or on test inputs for test-time
        detectors).
    detection_truth : ndarray of int or None
        Rows of the detector's input that are poisoned, when they are not ``poison_indices``
        (test-time detectors: the triggered copies of the test inputs).
    """

    classes: np.ndarray
    y_test: np.ndarray
    y_pred: np.ndarray
    y_train: np.ndarray
    predict: Callable[[np.ndarray], np.ndarray]
    X_test: np.ndarray
    model: Any = None
    attack: Any = None
    poison_indices: np.ndarray | None = None
    detection: Any = None
    detection_truth: np.ndarray | None = None


#: Metric name -> function returning JSON-serialisable data (None: not defined for the run).
#: A stored metric's function takes the run's arrays, a run metric's the run's :class:`Outcome`.
METRICS: Registry[Callable[[Any], Any]] = Registry("metric", sort=False)
#: Names of the stored metrics (functions of the stored arrays).
STORED_METRICS: set[str] = set()


def register_metric(name: str, *, stored: bool = False) -> Callable:
    """Decorator: add a metric function to :data:`METRICS` under ``name``.

    Parameters
    ----------
    name : str
    stored : bool, default=False
        The function takes the run's stored arrays (a mapping of name to ndarray, see
        :func:`run_arrays`) instead of its :class:`Outcome`.
    """

    def decorate(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
        METRICS.add(name, func)
        if stored:
            STORED_METRICS.add(name)
        return func

    return decorate


def run_arrays(outcome: Outcome) -> dict[str, np.ndarray]:
    """The arrays a run stores for its stored metrics: ``classes``, ``y_test`` and
    ``train_counts`` (the training labels per class, after poisoning and sanitizing).

    ``y_pred``, ``poison_indices`` and the detector's arrays are stored by the runner."""
    return {
        "classes": np.asarray(outcome.classes),
        "y_test": np.asarray(outcome.y_test),
        "train_counts": class_counts(outcome.y_train, outcome.classes).astype(np.int64),
    }


@register_metric("accuracy", stored=True)
def _accuracy(a: Mapping[str, np.ndarray]) -> float:
    return float(np.mean(a["y_pred"] == a["y_test"]))


@register_metric("per_class", stored=True)
def _per_class(a: Mapping[str, np.ndarray]) -> dict[str, list]:
    classes, y_test = a["classes"], a["y_test"]
    table = per_class_table(y_test, a["y_pred"], classes)
    return {
        "classes": [str(c) for c in classes],
        "correct": table.correct.tolist(),
        "incorrect_by_predicted": table.incorrect.tolist(),
        "missed_by_true": table.missed.tolist(),
        "train_counts": [int(n) for n in a["train_counts"]],
        "test_counts": class_counts(y_test, classes).tolist(),
    }


@register_metric("confusion", stored=True)
def _confusion(a: Mapping[str, np.ndarray]) -> list[list[int]]:
    return confusion(a["y_test"], a["y_pred"], a["classes"]).tolist()


@register_metric("success_rate")
def _success_rate(o: Outcome) -> float | None:
    if o.attack is None:
        return None
    rate = o.attack.success_rate(o.predict, o.X_test, o.y_test)
    return None if rate is None else float(rate)


@register_metric("detection", stored=True)
def _detection(a: Mapping[str, np.ndarray]) -> dict[str, Any] | None:
    if "detector_scores" not in a:
        return None
    truth = a.get("detector_truth", a["poison_indices"])
    from ..defenses import DetectionResult, evaluate_detection

    flagged = np.asarray(a["detector_flagged"], dtype=bool)
    return evaluate_detection(DetectionResult(a["detector_scores"], flagged, np.nan, {}), truth)


@register_metric("certified_accuracy")
def _certified_accuracy(o: Outcome) -> list[dict[str, Any]] | None:
    # Models that certify their predictions (partition ensembles) say so with this method:
    # rows {radius, certified_accuracy, n_certified}; every other model certifies nothing.
    certify = getattr(o.model, "certified_accuracy", None)
    if certify is None:
        return None
    return certify(o.X_test, o.y_test)


#: Metrics a study computes when its spec does not list any (a fixed list, not every registered
#: metric, so that what a study computes does not depend on which modules were imported).
DEFAULT_METRICS = (
    "accuracy",
    "per_class",
    "confusion",
    "success_rate",
    "detection",
    "certified_accuracy",
)


def default_metrics() -> list[str]:
    """:data:`DEFAULT_METRICS` as a list."""
    return list(DEFAULT_METRICS)


def _check_known(names: list[str]) -> None:
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise METRICS.unknown(unknown[0])


def measure_stored(arrays: Mapping[str, np.ndarray], names: list[str]) -> dict[str, Any]:
    """The stored metrics among ``names``, from a run's arrays (as stored, or about to be).

    Parameters
    ----------
    arrays : mapping of str to ndarray
        ``y_pred``, ``poison_indices``, :func:`run_arrays`'s, and the detector's if any.
    names : list of str
        Keys of :data:`METRICS`; the run metrics among them are left out.
    """
    _check_known(names)
    return {name: METRICS.get(name)(arrays) for name in names if name in STORED_METRICS}


def measure(outcome: Outcome, names: list[str]) -> dict[str, Any]:
    """The run metrics among ``names`` of one outcome, plus ``n_poisoned`` and ``n_train``
    (the stored ones come from :func:`measure_stored`).

    Parameters
    ----------
    outcome : Outcome
    names : list of str
        Keys of :data:`METRICS`.

    Returns
    -------
    dict
        One entry per run metric (None where a metric is undefined for the run).
    """
    _check_known(names)
    result: dict[str, Any] = {
        name: METRICS.get(name)(outcome) for name in names if name not in STORED_METRICS
    }
    n_poisoned = 0 if outcome.poison_indices is None else len(outcome.poison_indices)
    result["n_poisoned"] = n_poisoned
    result["n_train"] = len(outcome.y_train)
    return result


class KnownPredictions:
    """A ``predict`` that answers rows of the test set from predictions already made.

    ``BaseAttack.success_rate`` calls ``predict`` on (subsets of) the test set; when the model's
    test predictions are known, looking rows up saves recomputing a kernel per run. Rows not in
    the test set (e.g. triggered inputs) go to the model's own ``predict``.

    Parameters
    ----------
    X_test : ndarray of shape (n_test, n_features)
    y_pred : ndarray of shape (n_test,)
    predict : callable
        The model's ``predict``, for unknown rows.
    rows : dict of bytes to int, optional
        :func:`row_index` of ``X_test``, when already made (the runs of a batch share their
        test set: making it costs 2.5 ms per run at 1,000 MNIST rows).
    """

    def __init__(
        self,
        X_test: np.ndarray,
        y_pred: np.ndarray,
        predict: Callable[[np.ndarray], np.ndarray],
        rows: dict[bytes, int] | None = None,
    ) -> None:
        self._dtype = X_test.dtype
        self._rows = row_index(X_test) if rows is None else rows
        self._y_pred = y_pred
        self._predict = predict

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X)
        if X.dtype == self._dtype:
            found = [self._rows.get(row.tobytes()) for row in X]
            if all(i is not None for i in found):
                return self._y_pred[np.asarray(found, dtype=np.intp)]
        return np.asarray(self._predict(X))


def row_index(X: np.ndarray) -> dict[bytes, int]:
    """Each row's bytes to its position in ``X`` (the last, for repeated rows)."""
    return {row.tobytes(): i for i, row in enumerate(np.ascontiguousarray(X))}
