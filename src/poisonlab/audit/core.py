"""Run every check on a training set and combine them into one score per row.

**The combined score** of a row is the sum, over the row checks that *fired* on it, of their
strengths. The row checks are ``neighbours``, ``confident_learning``, ``outliers``,
``duplicates``, ``label_flow`` and, with a reference, ``reference_shift``; each gives a
strength in [0, 1] and has its own firing rule, at which the strength is at least 0.5 (for
``confident_learning`` the rule is cleanlab's, see its check). So a row's score is 0 when no
check fired, at least 0.5 per fired check, and at most the number of checks. The default
``fail_on`` of 2.0 flags rows that need more than two checks at their firing point, or two
sure ones: on clean MNIST most rows where one or two checks fire are ambiguous digits, not
poison (docs/audit.md has the numbers). The CLI exits 1 when any row scores above
``fail_on``. The label distribution test is about the whole dataset: it adds to row scores
only through ``label_flow`` (rows that look moved from a shrunk class into a grown one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._random import make_rng
from .._validation import check_X_y
from . import checks as _checks

#: Default ``--fail-on``: rows scoring above it are flagged (see the module docstring).
FAIL_ON = 2.0

#: Row checks in the order they run.
ROW_CHECKS = (
    "neighbours",
    "confident_learning",
    "outliers",
    "duplicates",
    "label_flow",
    "reference_shift",
)


@dataclass(frozen=True)
class AuditResult:
    """What an audit finds.

    Attributes
    ----------
    y : ndarray of shape (n_samples,)
        The audited labels.
    score : ndarray of shape (n_samples,)
        Combined score per row (sum of the check strengths).
    checks : list of CheckResult
        The row checks that ran, in :data:`ROW_CHECKS` order.
    skipped : dict of str to str
        Checks that did not run, with the reason.
    distribution : dict
        The label distribution test (see :func:`poisonlab.audit.checks.label_distribution`).
    fail_on : float
        Rows with ``score > fail_on`` are flagged.
    """

    y: np.ndarray
    score: np.ndarray
    checks: list[_checks.CheckResult]
    skipped: dict[str, str]
    distribution: dict[str, Any]
    fail_on: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def flagged(self) -> np.ndarray:
        """ndarray of shape (n_samples,), dtype bool: rows scoring above ``fail_on``."""
        return self.score > self.fail_on

    @property
    def ranking(self) -> np.ndarray:
        """Row indices, most suspicious first.

        Ties in ``score`` are broken by the summed strengths of all checks, fired or not (the
        evidence below each check's flagging point), then by row order.
        """
        evidence = np.sum([c.strength for c in self.checks], axis=0) if self.checks else 0.0
        evidence = np.broadcast_to(evidence, self.score.shape)
        return np.lexsort((np.arange(len(self.score)), -evidence, -self.score))

    def suggested_labels(self) -> np.ndarray:
        """Per row, the label proposed by the strongest fired check that proposes another one.

        Returns
        -------
        ndarray of shape (n_samples,)
            The row's own label where no check proposes another.
        """
        proposing = [c for c in self.checks if c.suggested is not None]
        suggested = self.y.copy()
        if not proposing:
            return suggested
        strength = np.vstack(
            [np.where((c.suggested != self.y) & c.fired, c.strength, -1.0) for c in proposing]
        )
        best = strength.argmax(axis=0)
        rows = np.flatnonzero(strength.max(axis=0) > 0)
        for k, check in enumerate(proposing):
            chosen = rows[best[rows] == k]
            suggested[chosen] = check.suggested[chosen]
        return suggested

    def reasons(self, i: int) -> list[tuple[str, str]]:
        """``(check name, why)`` for each check that fired on row ``i``."""
        return [(c.name, c.why(i)) for c in self.checks if c.fired[i]]


def run_audit(
    X: Any,
    y: Any,
    *,
    X_ref: Any = None,
    y_ref: Any = None,
    model: Any = None,
    checks: Sequence[str] = ROW_CHECKS,
    fail_on: float = FAIL_ON,
    tolerance: float = 0.01,
    random_state: int | np.random.Generator | None = 0,
    on_step: Callable[[str], None] | None = None,
) -> AuditResult:
    """Audit a training set for signs of poisoning.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    X_ref : array-like of shape (n_reference, n_features), optional
        Trusted rows: enables ``reference_shift``.
    y_ref : array-like of shape (n_reference,), optional
        Trusted labels: the label distribution is tested against them (else against uniform).
    model : scikit-learn classifier, optional
        The model whose out-of-fold probabilities ``confident_learning`` uses; default: the
        detector's own (PCA + 10-nearest-neighbours).
    checks : sequence of str, default=ROW_CHECKS
        Row checks to run.
    fail_on : float, default=FAIL_ON
        Rows scoring above it are flagged.
    tolerance : float, default=0.01
        Near-duplicate radius (RMS difference in standard deviations).
    random_state : None, int or numpy.random.Generator, default=0
    on_step : callable, optional
        Called with each check's name before it runs (for progress display).

    Returns
    -------
    AuditResult
    """
    X, y = check_X_y(X, y, owner="audit")
    unknown = [c for c in checks if c not in ROW_CHECKS]
    if unknown:
        raise ValueError(
            f"The 'checks' parameter of audit must hold names from {list(ROW_CHECKS)}; "
            f"got {unknown[0]!r}."
        )
    if not isinstance(fail_on, int | float) or isinstance(fail_on, bool) or fail_on < 0:
        raise ValueError(
            f"The 'fail_on' parameter of audit must be a number >= 0; got {fail_on!r}."
        )
    X_ref, y_ref = _check_reference(X, X_ref, y_ref)
    rng = make_rng(random_state)
    seeds = {name: int(rng.integers(0, 2**31 - 1)) for name in ROW_CHECKS}
    step = on_step or (lambda name: None)
    step("label_distribution")
    distribution = _checks.label_distribution(y, y_ref)
    results, skipped = [], {}
    for name in checks:
        reason = _why_not(name, X_ref, checks)
        if reason:
            skipped[name] = reason
            continue
        step(name)
        if name == "label_flow":
            results.append(_checks.label_flow(y, distribution, results))
        else:
            results.append(_run_check(name, X, y, X_ref, seeds[name], model, tolerance))
    score = combined_score(results, len(y))
    return AuditResult(y, score, results, skipped, distribution, float(fail_on))


def combined_score(results: Sequence[_checks.CheckResult], n_samples: int) -> np.ndarray:
    """Per row, the sum of the strengths of the checks that fired on it.

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    score = np.zeros(n_samples)
    for check in results:
        score += np.where(check.fired, check.strength, 0.0)
    return score


def _check_reference(X: np.ndarray, X_ref: Any, y_ref: Any) -> tuple[Any, Any]:
    if X_ref is None:
        return None, None if y_ref is None else np.asarray(y_ref)
    X_ref = np.asarray(X_ref)
    if X_ref.ndim != 2 or X_ref.shape[1] != X.shape[1] or len(X_ref) < 3:
        raise ValueError(
            f"The reference set must have the training set's {X.shape[1]} feature columns and "
            f"at least 3 rows; got shape {X_ref.shape}."
        )
    return X_ref, None if y_ref is None else np.asarray(y_ref)


def _why_not(name: str, X_ref: np.ndarray | None, checks: Sequence[str]) -> str:
    """Why check ``name`` cannot run here ('' when it can)."""
    from ..defenses import DETECTORS

    if name == "label_flow" and not {"neighbours", "confident_learning"} & set(checks):
        return "needs the neighbours or confident_learning check"
    if name == "reference_shift" and X_ref is None:
        return "needs a reference set (--reference)"
    if name == "confident_learning" and name not in DETECTORS:
        return "the confident_learning detector is not installed in this version"
    return ""


def _run_check(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    X_ref: np.ndarray | None,
    seed: int,
    model: Any,
    tolerance: float,
) -> _checks.CheckResult:
    if name == "neighbours":
        return _checks.neighbours(X, y, seed)
    if name == "confident_learning":
        return _checks.confident_learning(X, y, seed, model)
    if name == "outliers":
        return _checks.outliers(X, y, seed)
    if name == "duplicates":
        return _checks.duplicates(X, y, tolerance=tolerance)
    return _checks.reference_shift(X, X_ref)
