"""Scrutiny of outputs: did retraining on this data move the model's predicted classes?"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np

from .._random import seed_from
from .._validation import RANDOM_STATE, InstanceOf, Interval, Options, Predicate
from ._inputs import as_labels_of, check_labels
from ._one_thread import single_threaded
from ._reference_model import default_estimator
from ._trusted import TRUSTED, TrustedSet
from .base import DETECTORS, FLAG_CONSTRAINTS, BaseDetector


def _is_fitted_classifier(value: Any) -> bool:
    return hasattr(value, "predict") and hasattr(value, "classes_")


def _is_classifier(value: Any) -> bool:
    return hasattr(value, "fit") and hasattr(value, "predict") and hasattr(value, "get_params")


@DETECTORS.register("output_shift")
class OutputShift(BaseDetector):
    """Compare a reference model with the model retrained on the training set, on held-out data.

    The ML 106 lab prints two per-class tables, before and after poisoning; this makes them a
    test. ``estimator`` is retrained on the (possibly poisoned) training set, and both it and
    the ``reference`` model predict the ``holdout`` inputs. Two chi-square tests on the counts:

    - over all classes, Pearson's chi-square test of homogeneity of the two rows of
      predicted-class counts (``statistic``, ``p_value``, per-class adjusted ``residuals``);
    - per class, McNemar's test on the *paired* predictions: of the holdout inputs whose
      prediction changed, how many moved into the class and how many out of it
      (``mcnemar_statistic`` = (in - out)^2 / (in + out), exact binomial ``mcnemar_p``).

    The per-class tests decide which classes moved (``moved_up``, ``moved_down``: McNemar
    p < ``alpha`` / n_classes, Bonferroni), because the predictions are paired: on the ML 106
    set-up at N = 100 (reference SVC trained on MNIST rows 2000..2999, holdout rows
    3000..3999) the '2' predictions grow by 39 of 1,000 (p < 1e-9 by McNemar) while the
    homogeneity test, which ignores the pairing and spreads the change over nine degrees of
    freedom, gives p = 0.10. With holdout labels, ``info`` also holds both
    :func:`poisonlab.metrics.per_class_table` tables and their deltas (correct, incorrect by
    predicted class as the lab counts, missed by true class), and ``changed``, the holdout
    rows whose prediction changed.

    **Per-sample scores (training samples).** A label flip into class ``t`` makes ``t``'s
    predictions grow; the poisoned samples are those labelled ``t`` that the reference model
    calls something else, most of all a class whose predictions shrank. So, if the test
    shows moved classes, a training sample labelled with a ``moved_up`` class scores 0.5 when
    the reference model predicts another class, plus 0.5 when that class is ``moved_down``;
    every other sample scores 0. The default threshold, 1, flags samples of a grown class that
    the reference model assigns to a shrunk class. ``info["suggested_labels"]`` holds the
    reference model's predictions (for ``action="relabel"``).

    Parameters
    ----------
    reference : fitted classifier or TrustedSet
        The reference model (e.g. the model in production before retraining; wrap it in
        ``sklearn.frozen.FrozenEstimator`` to keep it fitted through ``clone``), or trusted
        labelled data to fit a clone of ``estimator`` on.
    holdout : TrustedSet
        Held-out inputs both models predict; labels (optional) add the per-class tables.
    estimator : scikit-learn classifier, optional
        The model retrained on the training set. Default: PCA(50) + 10-nearest-neighbours
        (fast at 60,000 samples); the ML 106 benchmark passes the lab's ``SVC``.
    alpha : float, default=0.05
        Family-wise significance level of the per-class McNemar tests.
    action : {"drop", "relabel"}, default="drop"
    threshold, contamination : float, optional
        See :meth:`BaseDetector.flag`.
    random_state : None, int or numpy.random.Generator
        Seeds the default estimator.
    """

    reference = (
        "The ML 106 lab's before/after per-class tables made a test: Pearson's chi-square test "
        "of homogeneity with adjusted residuals (Haberman 1973); scrutiny of model outputs as a "
        "poisoning defense in the spirit of Baracaldo et al., 'Mitigating Poisoning Attacks on "
        "Machine Learning Models: A Data Provenance Based Approach' (AISec 2017)."
    )
    _parameter_constraints = {
        "reference": [
            Predicate(_is_fitted_classifier, "a fitted classifier"),
            InstanceOf((TrustedSet,), "a TrustedSet"),
        ],
        "holdout": TRUSTED,
        "estimator": [Options(None), Predicate(_is_classifier, "a scikit-learn classifier")],
        "alpha": [Interval(Real, 0.0, 1.0, closed="neither")],
        "action": [Options("drop", "relabel")],
        **FLAG_CONSTRAINTS,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        reference=None,
        holdout=None,
        estimator=None,
        alpha: float = 0.05,
        action: str = "drop",
        threshold: float | None = None,
        contamination: float | None = None,
        random_state=None,
    ) -> None:
        self.reference = reference
        self.holdout = holdout
        self.estimator = estimator
        self.alpha = alpha
        self.action = action
        self.threshold = threshold
        self.contamination = contamination
        self.random_state = random_state

    def _make_estimator(self, seed: int, n_features: int):
        from sklearn.base import clone

        if self.estimator is None:
            return default_estimator(seed, n_features)
        return clone(self.estimator)

    @single_threaded
    def _fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        from ..metrics import per_class_table

        self.holdout.check("OutputShift", "holdout", X.shape[1], need_y=False)
        if isinstance(self.reference, TrustedSet):
            self.reference.check("OutputShift", "reference", X.shape[1], need_y=True)
            ref_model = self._make_estimator(seed_from(rng), X.shape[1])
            ref_model.fit(self.reference.X, self.reference.y)
        else:
            ref_model = self.reference
            seed_from(rng)  # same draws either way, so the retrained model's seed matches
        new_model = self._make_estimator(seed_from(rng), X.shape[1]).fit(X, y)
        before = as_labels_of(ref_model.predict(self.holdout.X), y)
        after = as_labels_of(new_model.predict(self.holdout.X), y)
        classes = np.unique(np.concatenate([np.unique(y), before, after]))
        stats = {**_count_shift(before, after, classes), **_mcnemar(before, after, classes)}
        moved = stats["mcnemar_p"] < self.alpha / len(classes)
        net = stats["moved_in"] - stats["moved_out"]
        stats["moved_up"] = classes[moved & (net > 0)].tolist()
        stats["moved_down"] = classes[moved & (net < 0)].tolist()
        stats["changed"] = np.flatnonzero(before != after)
        if self.holdout.y is not None:
            y_hold = as_labels_of(self.holdout.y, y)
            t0 = per_class_table(y_hold, before, classes)
            t1 = per_class_table(y_hold, after, classes)
            stats.update(
                table_before=t0,
                table_after=t1,
                delta_correct=t1.correct - t0.correct,
                delta_incorrect=t1.incorrect - t0.incorrect,
                delta_missed=t1.missed - t0.missed,
            )
        self.reference_model_, self.retrained_model_ = ref_model, new_model
        self.stats_ = stats

    @single_threaded
    def _score(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        y = check_labels("OutputShift", y, len(X))
        predicted = as_labels_of(self.reference_model_.predict(X), y)
        up = np.isin(y, self.stats_["moved_up"])
        down = np.isin(predicted, self.stats_["moved_down"])
        self.suggested_labels_ = predicted
        return up * (0.5 * (predicted != y) + 0.5 * down)

    def _default_threshold(self, scores: np.ndarray) -> float:
        return 1.0

    def _info(self) -> dict[str, Any]:
        return {**self.stats_, "suggested_labels": self.suggested_labels_}


def _mcnemar(before: np.ndarray, after: np.ndarray, classes: np.ndarray) -> dict[str, Any]:
    """Per-class McNemar tests on paired predictions (exact binomial p-values)."""
    from scipy.stats import binomtest

    moved_in = np.array([np.sum((before != c) & (after == c)) for c in classes])
    moved_out = np.array([np.sum((before == c) & (after != c)) for c in classes])
    discordant = moved_in + moved_out
    statistic = np.divide(
        (moved_in - moved_out) ** 2.0, discordant, out=np.zeros(len(classes)), where=discordant > 0
    )
    pairs = zip(moved_in, discordant, strict=True)
    p = np.array([binomtest(int(i), int(n), 0.5).pvalue if n else 1.0 for i, n in pairs])
    return {
        "moved_in": moved_in,
        "moved_out": moved_out,
        "mcnemar_statistic": statistic,
        "mcnemar_p": p,
    }


def _count_shift(before: np.ndarray, after: np.ndarray, classes: np.ndarray) -> dict[str, Any]:
    """Chi-square homogeneity test of two rows of predicted-class counts, with residuals.

    Classes neither model predicts are left out of the test (their residual is 0).
    """
    from scipy.stats import chi2_contingency

    counts = np.array(
        [[(before == c).sum() for c in classes], [(after == c).sum() for c in classes]],
        dtype=np.float64,
    )
    used = counts.sum(axis=0) > 0
    residuals = np.zeros(len(classes))
    stats = {
        "classes": classes,
        "counts_before": counts[0].astype(np.int64),
        "counts_after": counts[1].astype(np.int64),
    }
    if used.sum() < 2:  # one predicted class in all: nothing to compare
        return {**stats, "statistic": 0.0, "p_value": 1.0, "dof": 0, "residuals": residuals}
    table = counts[:, used]
    statistic, p_value, dof, expected = chi2_contingency(table, correction=False)
    total = table.sum()
    row = table.sum(axis=1, keepdims=True) / total
    col = table.sum(axis=0, keepdims=True) / total
    residuals[used] = ((table - expected) / np.sqrt(expected * (1 - row) * (1 - col)))[1]
    return {
        **stats,
        "statistic": float(statistic),
        "p_value": float(p_value),
        "dof": int(dof),
        "residuals": residuals,
    }
