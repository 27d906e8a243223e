"""Confident learning (cleanlab) on out-of-fold predicted probabilities."""

from __future__ import annotations

import functools
from numbers import Integral
from typing import Any

import numpy as np

from .._random import seed_from
from .._validation import RANDOM_STATE, Interval, Options, Predicate
from ._inputs import require_training_set
from ._one_thread import free_threaded, free_threads, single_threaded
from ._reference_model import default_estimator, with_probabilities
from .base import DETECTORS, FLAG_CONSTRAINTS, BaseDetector

FILTERS = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
)
RANK_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")


def _is_classifier(value: Any) -> bool:
    return hasattr(value, "fit") and hasattr(value, "get_params") and hasattr(value, "predict")


def _is_probability_table(value: Any) -> bool:
    table = np.asarray(value)
    return table.ndim == 2 and table.dtype.kind in "fiu"


@DETECTORS.register("confident_learning")
class ConfidentLearning(BaseDetector):
    """Label issues found by cleanlab's confident learning on out-of-fold probabilities.

    Out-of-fold class probabilities come from ``cross_val_predict`` of a clone of ``estimator``
    (``StratifiedKFold(n_splits, shuffle=True)``, seeded from ``random_state``); an estimator
    without ``predict_proba`` (e.g. ``SVC()``) is wrapped in ``CalibratedClassifierCV``.
    cleanlab's ``find_label_issues`` (``filter_by``) decides which samples are issues and
    ``cleanlab.rank.get_label_quality_scores`` (``rank_by``) ranks them.

    **Scores.** ``score = issue + (1 - label quality)``: cleanlab's issues score in [1, 2],
    the rest in [0, 1) (a label of quality exactly 0 that cleanlab does not call an issue scores
    just below 1), and within each group lower label quality scores higher. The default
    threshold, 1, therefore flags exactly cleanlab's issues, while ``contamination`` or a
    ``threshold`` can still cut the ranking elsewhere. ``info`` holds ``label_quality``,
    ``pred_probs`` (n_samples, n_classes), ``classes`` and ``suggested_labels`` (the
    most probable class), used by ``action="relabel"``.

    The detector is transductive: it scores the samples it was fitted on. As with cleanlab,
    you can bring your own out-of-fold probabilities (``pred_probs``), e.g. from a model you
    trust more; then no model is fitted here.

    Parameters
    ----------
    estimator : scikit-learn classifier, optional
        Default: PCA(50) + 10-nearest-neighbour classifier, fast at 60,000 samples. A
        calibrated SVC is slower; on the ML 106 set-up it is better at N = 100 and worse at
        N = 10 and 30 (docs/defenses.md). Unused with ``pred_probs``.
    pred_probs : array-like of shape (n_samples, n_classes), optional
        Out-of-fold class probabilities of the samples ``fit`` is given, one column per class
        in sorted order (``numpy.unique(y)``), each row summing to 1, as cleanlab takes them.
    n_splits : int, default=5
        Cross-validation folds.
    filter_by : str, default="prune_by_noise_rate"
        cleanlab's ``find_label_issues`` method.
    rank_by : str, default="self_confidence"
        cleanlab's label-quality score.
    action : {"drop", "relabel"}, default="drop"
    threshold, contamination : float, optional
        See :meth:`BaseDetector.flag`.
    random_state : None, int or numpy.random.Generator
        Seeds the folds (and the default estimator's PCA).
    """

    reference = (
        "Northcutt, Jiang & Chuang, 'Confident Learning: Estimating Uncertainty in Dataset "
        "Labels' (JAIR 2021); the cleanlab library."
    )
    _parameter_constraints = {
        "estimator": [Options(None), Predicate(_is_classifier, "a scikit-learn classifier")],
        "pred_probs": [
            Options(None),
            Predicate(_is_probability_table, "a numeric array of shape (n_samples, n_classes)"),
        ],
        "n_splits": [Interval(Integral, 2, None)],
        "filter_by": [Options(*FILTERS)],
        "rank_by": [Options(*RANK_METHODS)],
        "action": [Options("drop", "relabel")],
        **FLAG_CONSTRAINTS,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        estimator=None,
        pred_probs=None,
        n_splits: int = 5,
        filter_by: str = "prune_by_noise_rate",
        rank_by: str = "self_confidence",
        action: str = "drop",
        threshold: float | None = None,
        contamination: float | None = None,
        random_state=None,
    ) -> None:
        self.estimator = estimator
        self.pred_probs = pred_probs
        self.n_splits = n_splits
        self.filter_by = filter_by
        self.rank_by = rank_by
        self.action = action
        self.threshold = threshold
        self.contamination = contamination
        self.random_state = random_state

    @free_threaded
    def _fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores

        classes, labels = np.unique(y, return_inverse=True)
        if self.pred_probs is not None:
            pred_probs = _checked_probabilities(self.pred_probs, len(y), len(classes))
        else:
            smallest = np.bincount(labels).min()
            if smallest < self.n_splits:
                raise ValueError(
                    f"The 'n_splits' parameter of ConfidentLearning must be at most the size of "
                    f"the smallest class ({smallest}); got {self.n_splits}."
                )
            pred_probs = self._out_of_fold_probabilities(X, labels, seed_from(rng), seed_from(rng))
        # n_jobs=1: no worker processes, and the same result on every machine.
        issues = find_label_issues(labels, pred_probs, filter_by=self.filter_by, n_jobs=1)
        quality = get_label_quality_scores(labels, pred_probs, method=self.rank_by)
        self.X_fit_ = X
        self.scores_ = _issue_first_scores(issues, quality)
        self.info_ = {
            "classes": classes,
            "pred_probs": pred_probs,
            "label_quality": quality,
            "suggested_labels": classes[pred_probs.argmax(axis=1)],
        }

    def _out_of_fold_probabilities(
        self, X: np.ndarray, labels: np.ndarray, fold_seed: int, model_seed: int
    ) -> np.ndarray:
        """(n_samples, n_classes) probabilities, each from a model that did not see the sample.

        What ``cross_val_predict(model, X, labels, cv=folds, method="predict_proba")`` computes
        with one thread, with the folds fitted side by side on :func:`free_threads` threads:
        each fold's own work stays on one thread, so the result is the same for any count
        (k-NN probabilities depend on how OpenMP threads break distance ties).
        """
        from concurrent.futures import ThreadPoolExecutor

        from sklearn.model_selection import StratifiedKFold

        model = (
            default_estimator(model_seed, X.shape[1])
            if self.estimator is None
            else with_probabilities(self.estimator)
        )
        folds = StratifiedKFold(n_splits=self.n_splits, shuffle=True, random_state=fold_seed)
        splits = list(folds.split(X, labels))
        probabilities = np.zeros((len(labels), labels.max() + 1))
        fit_fold = functools.partial(_fold_probabilities, model, X, labels)
        with ThreadPoolExecutor(max_workers=min(free_threads(), len(splits))) as pool:
            for test, fold_probabilities in zip(
                (test for _, test in splits), pool.map(fit_fold, splits), strict=True
            ):
                probabilities[test] = fold_probabilities
        return probabilities

    @single_threaded
    def _score(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        require_training_set("ConfidentLearning", self.X_fit_, X)
        return self.scores_.copy()

    def _default_threshold(self, scores: np.ndarray) -> float:
        return 1.0

    def _info(self) -> dict[str, Any]:
        return dict(self.info_)


def _fold_probabilities(model, X: np.ndarray, labels: np.ndarray, split: tuple) -> np.ndarray:
    """Probabilities of one fold's test rows, shape (n_test, n_classes), on one OpenMP thread
    (BLAS is one thread for the whole fit). Every class is in each training fold
    (``n_splits`` is at most the smallest class), so the columns are the classes in order."""
    from sklearn.base import clone

    from .._threadpools import thread_limits

    train, test = split
    with thread_limits(1, "openmp"):  # per thread: set in the fold's own
        return clone(model).fit(X[train], labels[train]).predict_proba(X[test])


def _checked_probabilities(pred_probs: Any, n_samples: int, n_classes: int) -> np.ndarray:
    """The user's ``pred_probs`` as float64, or a ValueError saying what is wrong with them."""
    table = np.asarray(pred_probs, dtype=np.float64)
    owner = "The 'pred_probs' parameter of ConfidentLearning"
    if table.shape != (n_samples, n_classes):
        raise ValueError(
            f"{owner} must have one row per sample and one column per class "
            f"({n_samples}, {n_classes}); got shape {table.shape}."
        )
    bad = np.flatnonzero(
        ~np.isfinite(table).all(axis=1)
        | (table < 0).any(axis=1)
        | ~np.isclose(table.sum(axis=1), 1.0, atol=1e-6)
    )
    if len(bad):
        raise ValueError(
            f"{owner} must hold probabilities in [0, 1] summing to 1 per row; "
            f"{len(bad)} rows do not (first: row {bad[0]}, {table[bad[0]].tolist()[:5]})."
        )
    return table


def _issue_first_scores(issues: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Issues in [1, 2], the rest in [0, 1), lower label quality higher within each.

    Parameters
    ----------
    issues : ndarray of shape (n_samples,), bool
        cleanlab's label issues.
    quality : ndarray of shape (n_samples,)
        cleanlab's label-quality scores, in [0, 1].

    Returns
    -------
    ndarray of shape (n_samples,), float64
    """
    # A quality of exactly 0 (an out-of-fold probability of 0 for the given label, common with
    # k-NN) would give 1.0 and meet the ">= 1" threshold although cleanlab did not call it an
    # issue; the largest float below 1 keeps it under the threshold and first among the rest.
    below_one = np.minimum(1.0 - quality, np.nextafter(1.0, 0.0))
    return np.where(issues, 2.0 - quality, below_one)
