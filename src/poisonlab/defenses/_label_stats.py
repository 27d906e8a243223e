"""Statistical test of the training label distribution: which classes grew or shrank."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real
from typing import Any

import numpy as np

from .._validation import RANDOM_STATE, InstanceOf, Interval, Options, Predicate
from .base import DETECTORS, FLAG_CONSTRAINTS, BaseDetector


def _is_label_sequence(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray) and np.ndim(value) == 1 and len(value) > 0


@DETECTORS.register("label_stats")
class LabelStats(BaseDetector):
    """Chi-square test of the training label distribution against a reference distribution.

    The ML 106 lab prints class counts before and after poisoning; this makes that comparison a
    test. Against ``"uniform"`` or given counts it is a goodness-of-fit test (expected counts
    ``n * p_c``); against a trusted sample of labels it is a chi-square test of homogeneity of
    the two samples (2 x n_classes table), so the trusted sample's own noise is accounted for.
    Each class gets an adjusted standardized residual (approximately standard normal under
    the null): positive when the class grew, negative when it shrank.

    **Per-sample scores.** The test is about the dataset, not about single rows, so every
    sample is scored with its class's residual: a label flip into class ``t`` makes every row
    labelled ``t`` equally suspicious. By default, when the test rejects at ``alpha``, the rows
    of the classes whose residual is at least ``z`` are flagged (all of them, poisoned or not:
    use ``info["grown"]`` / ``info["shrunk"]`` to aim a per-sample detector such as
    ``knn_label`` or ``output_shift``).

    ``info`` holds ``statistic``, ``p_value``, ``dof``, ``classes``, ``observed``,
    ``expected`` (training counts expected under the reference), ``residuals``, ``excess``
    (observed - expected), ``grown`` and ``shrunk`` (classes with residual >= ``z`` or <=
    ``-z``) and ``test`` (``"goodness_of_fit"`` or ``"homogeneity"``).

    Parameters
    ----------
    reference : "uniform", dict or sequence, default="uniform"
        The distribution labels should follow: ``"uniform"``; a dict of class -> count (or
        proportion), which must cover every training class; or a 1-D sequence of trusted labels.
    alpha : float, default=0.05
        Significance level of the chi-square test; nothing is flagged when p >= alpha.
    z : float, default=3.0
        Residual at which a class counts as grown (>= z) or shrunk (<= -z).
    threshold, contamination : float, optional
        See :meth:`BaseDetector.flag`.
    random_state : None, int or numpy.random.Generator
        Unused (the test is deterministic); kept for the common protocol.
    """

    reference = (
        "Pearson's chi-square test (goodness of fit and homogeneity) with adjusted "
        "standardized residuals (Haberman, 'The analysis of residuals in cross-classified "
        "tables', Biometrics 1973); the ML 106 lab's class counts before and after poisoning."
    )
    _parameter_constraints = {
        "reference": [
            Options("uniform"),
            InstanceOf((Mapping,), "a dict of class -> count"),
            Predicate(_is_label_sequence, "a 1-D sequence of trusted labels"),
        ],
        "alpha": [Interval(Real, 0.0, 1.0, closed="neither")],
        "z": [Interval(Real, 0.0, None, closed="neither")],
        **FLAG_CONSTRAINTS,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        reference="uniform",
        alpha: float = 0.05,
        z: float = 3.0,
        threshold: float | None = None,
        contamination: float | None = None,
        random_state=None,
    ) -> None:
        self.reference = reference
        self.alpha = alpha
        self.z = z
        self.threshold = threshold
        self.contamination = contamination
        self.random_state = random_state

    def _fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        classes, observed = np.unique(y, return_counts=True)
        if isinstance(self.reference, str):
            result = _goodness_of_fit(observed, np.full(len(classes), 1.0 / len(classes)))
        elif isinstance(self.reference, Mapping):
            result = _goodness_of_fit(observed, self._reference_proportions(classes))
        else:
            result = _homogeneity(observed, classes, np.asarray(self.reference))
        residuals = result["residuals"]
        self.classes_ = classes
        self.residuals_ = residuals
        self.stats_ = {
            **result,
            "classes": classes,
            "observed": observed,
            "excess": observed - result["expected"],
            "grown": classes[residuals >= self.z].tolist(),
            "shrunk": classes[residuals <= -self.z].tolist(),
        }

    def _reference_proportions(self, classes: np.ndarray) -> np.ndarray:
        ref = {str(k): v for k, v in self.reference.items()}
        names = [str(c) for c in classes]
        missing = [c for c in names if c not in ref]
        bad = [k for k, v in ref.items() if not isinstance(v, Real) or v < 0]
        zero = [c for c in names if c in ref and not bad and ref[c] == 0]
        if missing:
            problem = f"give a count for every training class {names}; it lacks {missing}"
        elif bad:
            problem = f"hold non-negative numbers; bad entries: {bad}"
        elif zero:
            problem = f"give every training class a positive count; count 0 for {zero}"
        else:
            counts = np.array([ref[c] for c in names], dtype=np.float64)
            return counts / counts.sum()
        raise ValueError(f"The 'reference' parameter of LabelStats must {problem}.")

    def _score(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        from ._inputs import check_labels

        y = check_labels("LabelStats", y, len(X))
        position = np.searchsorted(self.classes_, y)
        position = np.clip(position, 0, len(self.classes_) - 1)
        unknown = self.classes_[position] != y
        if unknown.any():
            raise ValueError(
                f"y passed to LabelStats.score_samples holds labels not seen in fit: "
                f"{np.unique(y[unknown]).tolist()}; known: {self.classes_.tolist()}."
            )
        return self.residuals_[position]

    def _default_threshold(self, scores: np.ndarray) -> float:
        return float(self.z) if self.stats_["p_value"] < self.alpha else float("inf")

    def _info(self) -> dict[str, Any]:
        return dict(self.stats_)


def _goodness_of_fit(observed: np.ndarray, proportions: np.ndarray) -> dict[str, Any]:
    """Pearson goodness of fit; residuals (O - E) / sqrt(n p (1 - p)), binomial z-scores."""
    from scipy.stats import chisquare

    n = observed.sum()
    expected = n * proportions
    statistic, p_value = chisquare(observed, expected)
    residuals = (observed - expected) / np.sqrt(expected * (1.0 - proportions))
    return {
        "test": "goodness_of_fit",
        "statistic": float(statistic),
        "p_value": float(p_value),
        "dof": len(observed) - 1,
        "expected": expected,
        "residuals": residuals,
    }


def _homogeneity(observed: np.ndarray, classes: np.ndarray, trusted: np.ndarray) -> dict[str, Any]:
    """Chi-square test that training and trusted labels share one distribution (2 x K table).

    Residuals are the training row's adjusted standardized residuals, (O - E) /
    sqrt(E (1 - row share)(1 - column share)).
    """
    from scipy.stats import chi2_contingency

    from ._inputs import as_labels_of

    trusted = as_labels_of(trusted, classes)
    extra = np.setdiff1d(np.unique(trusted), classes)
    if len(extra):
        raise ValueError(
            f"The 'reference' parameter of LabelStats holds labels absent from the training "
            f"set: {extra.tolist()}; training classes: {classes.tolist()}."
        )
    ref_counts = np.array([(trusted == c).sum() for c in classes])
    table = np.vstack([observed, ref_counts]).astype(np.float64)
    statistic, p_value, dof, expected = chi2_contingency(table, correction=False)
    total = table.sum()
    row_share = table.sum(axis=1, keepdims=True) / total
    col_share = table.sum(axis=0, keepdims=True) / total
    adjusted = (table - expected) / np.sqrt(expected * (1 - row_share) * (1 - col_share))
    return {
        "test": "homogeneity",
        "statistic": float(statistic),
        "p_value": float(p_value),
        "dof": int(dof),
        "expected": expected[0],
        "residuals": adjusted[0],
    }
