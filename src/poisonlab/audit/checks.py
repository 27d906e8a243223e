"""The audit's checks: each turns a training set into one strength in [0, 1] per row.

Three checks wrap registered detectors (``knn_label``, ``confident_learning``, ``outliers``);
two are written here because no detector covers them: labels that conflict among exact or near
duplicates, and rows far from a trusted reference set. The dataset-level label distribution
check wraps ``label_stats``.

Every row check returns a :class:`CheckResult`: a ``strength`` in [0, 1] (how strongly the row
looks wrong to this check, continuous so it can rank), ``fired`` (the check's own flagging rule)
and, for fired rows, a readable reason. :mod:`poisonlab.audit.core` adds the strengths up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Robust z-score at which the outlier and shift checks fire; strength is z / (2 * Z_FIRE).
Z_FIRE = 3.0


@dataclass(frozen=True)
class CheckResult:
    """What one row check finds.

    Attributes
    ----------
    name : str
        The check's name (``"neighbours"``, ``"confident_learning"``, ...).
    strength : ndarray of shape (n_samples,)
        Evidence in [0, 1] that the row is wrong; 0 = none.
    fired : ndarray of shape (n_samples,), dtype bool
        Rows the check's own rule flags.
    why : callable
        ``why(i)`` -> str, the reason for row ``i`` (meaningful for fired rows).
    suggested : ndarray of shape (n_samples,) or None
        A corrected label per row, when the check can propose one.
    info : dict
        Check-level details for the summary.
    """

    name: str
    strength: np.ndarray
    fired: np.ndarray
    why: Callable[[int], str]
    suggested: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)


def _z_strength(z: np.ndarray) -> np.ndarray:
    """Map a robust z-score to [0, 1]: 0.5 at the firing point Z_FIRE, 1 at twice it."""
    return np.clip(np.asarray(z, dtype=np.float64) / (2 * Z_FIRE), 0.0, 1.0)


def neighbours(X: np.ndarray, y: np.ndarray, seed: int) -> CheckResult:
    """Labels that disagree with their nearest neighbours (the ``knn_label`` detector).

    Strength is the share of the 10 nearest neighbours that agree on one other label; the
    check fires at 0.5 (Paudice et al.'s rule with eta = 0.5).
    """
    from ..defenses import DETECTORS

    detector = DETECTORS.create("knn_label", random_state=seed)
    result = detector.detect(X, y)
    k = detector.n_neighbors
    suggested = result.info["suggested_labels"]

    def why(i: int) -> str:
        # score * k is the vote count v, or v - 0.5 when v only ties the row's own label
        # (knn_label's tie rule); floor(score * k + 0.75) gives v in both cases.
        votes = int(np.floor(result.scores[i] * k + 0.75))
        return f"{votes} of its {k} nearest neighbours are labelled '{suggested[i]}'"

    return CheckResult("neighbours", result.scores, result.flagged, why, suggested)


def confident_learning(X: np.ndarray, y: np.ndarray, seed: int, model: Any) -> CheckResult:
    """Label issues found by cleanlab on out-of-fold probabilities (``confident_learning``).

    Strength is 1 - the out-of-fold probability of the given label (cleanlab's
    self-confidence); the check fires on the rows cleanlab's ``find_label_issues`` returns,
    whose strength is raised to at least 0.5 so that every fired check counts at least 0.5 in
    the combined score (cleanlab may flag a row whose label still has probability above 0.5
    when that class is often confused).
    """
    from ..defenses import DETECTORS

    detector = DETECTORS.create("confident_learning", estimator=model, random_state=seed)
    result = detector.detect(X, y)
    quality = result.info["label_quality"]
    probs, classes = result.info["pred_probs"], result.info["classes"]
    suggested = result.info["suggested_labels"]

    def why(i: int) -> str:
        return (
            f"out-of-fold P('{y[i]}') = {quality[i]:.2f}; the model predicts "
            f"'{suggested[i]}' (p = {probs[i].max():.2f})"
        )

    strength = np.where(result.flagged, np.maximum(0.5, 1.0 - quality), 1.0 - quality)
    info = {"classes": classes}
    return CheckResult("confident_learning", strength, result.flagged, why, suggested, info)


def outliers(X: np.ndarray, y: np.ndarray, seed: int) -> CheckResult:
    """Rows unlike the rest of their class (the ``outliers`` detector, robust z-scores).

    Strength is z / 6 clipped to [0, 1]; the check fires at z >= 3 (strength 0.5).
    """
    from ..defenses import DETECTORS

    result = DETECTORS.create("outliers", z=Z_FIRE, random_state=seed).detect(X, y)
    z = result.scores

    def why(i: int) -> str:
        return f"outlier within class '{y[i]}' (robust z = {z[i]:.1f})"

    return CheckResult("outliers", _z_strength(z), result.flagged, why)


def _scale(X: np.ndarray) -> np.ndarray:
    """Per-column standard deviations, 1 for constant columns (their differences are 0 anyway)."""
    std = X.std(axis=0)
    return np.where(std > 0, std, 1.0)


def _exact_groups(X: np.ndarray) -> np.ndarray:
    """Group id per row; rows with identical features share one id."""
    rows = np.ascontiguousarray(X, dtype=np.float64)
    rows = rows + 0.0  # -0.0 and 0.0 compare equal but hash differently as bytes
    view = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, group = np.unique(view, return_inverse=True)
    return group


def duplicates(X: np.ndarray, y: np.ndarray, *, tolerance: float = 0.01) -> CheckResult:
    """Exact and near duplicates that carry different labels.

    Two rows are near duplicates when the root-mean-square difference of their features,
    each feature in units of its standard deviation, is at most ``tolerance`` (exact
    duplicates have 0). A row's strength is the share of its duplicates labelled differently
    from it; it fires at 0.5 and suggests the label most of its duplicate group carries.

    Exact duplicates are found by hashing rows; near ones with a k-d tree radius query in
    standardized feature space, which is fast because the radius is tiny (few candidates
    survive the tree's pruning). Written here because no detector covers duplicates.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    tolerance : float, default=0.01
        Near-duplicate radius, as an RMS difference in standard deviations.
    """
    from sklearn.neighbors import KDTree

    n = len(X)
    Z = np.asarray(X, dtype=np.float64) / _scale(X)
    # Collapse exact duplicates first so the tree holds each distinct row once.
    group = _exact_groups(Z)
    first = np.unique(group, return_index=True)[1]
    radius = tolerance * np.sqrt(X.shape[1])
    near = KDTree(Z[first]).query_radius(Z[first], r=radius)
    # rows_of[g]: the rows of exact-duplicate group g.
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(len(first) + 1))
    rows_of = [order[bounds[g] : bounds[g + 1]] for g in range(len(first))]
    strength = np.zeros(n)
    suggested = y.copy()
    partners: dict[int, np.ndarray] = {}
    for g, hits in enumerate(near):
        if len(hits) == 1 and len(rows_of[g]) == 1:
            continue  # no duplicate at all: the common case, kept cheap
        cluster = np.concatenate([rows_of[h] for h in hits])
        labels = y[cluster]
        if np.all(labels == labels[0]):
            continue
        values, counts = np.unique(labels, return_counts=True)
        majority = values[counts.argmax()]
        for i in rows_of[g]:
            others = cluster[cluster != i]
            strength[i] = np.mean(y[others] != y[i])
            suggested[i] = majority
            partners[int(i)] = others  # rows within the radius of i, exact duplicates too

    def why(i: int) -> str:
        others = partners.get(i, np.array([], dtype=np.int64))
        differing = others[y[others] != y[i]]
        kind = "exact" if np.any(group[differing] == group[i]) else "near"
        shown = ", ".join(f"{j} ('{y[j]}')" for j in differing[:5])
        more = f" and {len(differing) - 5} more" if len(differing) > 5 else ""
        return f"{kind} duplicate of rows {shown}{more} with other labels"

    fired = strength >= 0.5
    n_groups = int(np.sum(np.bincount(group) > 1))
    info = {"exact_duplicate_groups": n_groups, "rows_in_conflict": int(np.sum(strength > 0))}
    return CheckResult("duplicates", strength, fired, why, suggested, info)


def reference_shift(X: np.ndarray, X_ref: np.ndarray) -> CheckResult:
    """Rows whose features lie far from a trusted reference set.

    Each row's distance to its nearest reference row is compared with the reference's own
    spacing (each reference row's distance to its nearest other reference row): a robust
    z-score of the log distance, (log d - median) / (1.4826 MAD) of the reference's log
    distances. Features are standardized by the reference's standard deviations. Strength is
    z / 6 clipped to [0, 1]; the check fires at z >= 3. Written here because no detector
    compares a training set with a trusted one row by row.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    X_ref : ndarray of shape (n_reference, n_features)
        At least 3 rows.
    """
    from sklearn.neighbors import NearestNeighbors

    scale = _scale(X_ref)
    ref = np.asarray(X_ref, dtype=np.float64) / scale
    index = NearestNeighbors(n_neighbors=1).fit(ref)
    own = index.kneighbors(n_neighbors=1, return_distance=True)[0][:, 0]
    dist = index.kneighbors(np.asarray(X, dtype=np.float64) / scale, return_distance=True)[0][:, 0]
    # Exact copies of reference rows have distance 0: floor at the smallest positive spacing.
    positive = own[own > 0]
    floor = positive.min() if len(positive) else 1.0
    log_own, log_dist = np.log(np.maximum(own, floor)), np.log(np.maximum(dist, floor))
    center = np.median(log_own)
    spread = 1.4826 * np.median(np.abs(log_own - center)) or 1.0
    z = (log_dist - center) / spread
    typical = float(np.exp(center))

    def why(i: int) -> str:
        return (
            f"nearest reference row at distance {dist[i]:.3g} (reference rows are typically "
            f"{typical:.3g} apart; z = {z[i]:.1f})"
        )

    info = {"median_reference_spacing": typical, "n_reference": len(X_ref)}
    return CheckResult("reference_shift", _z_strength(z), z >= Z_FIRE, why, None, info)


def label_distribution(y: np.ndarray, y_ref: np.ndarray | None) -> dict[str, Any]:
    """Dataset-level test of the label distribution (the ``label_stats`` detector).

    Against the reference labels (chi-square test of homogeneity) when given, else against a
    uniform distribution (which flags imbalance).

    Returns
    -------
    dict
        ``test``, ``p_value``, ``classes``, ``observed``, ``expected``, ``residuals``,
        ``grown``, ``shrunk`` (classes with adjusted residual >= 3 or <= -3) and ``against``.
    """
    from ..defenses import DETECTORS

    reference = "uniform" if y_ref is None else list(y_ref)
    detector = DETECTORS.create("label_stats", reference=reference)
    info = detector.detect(np.zeros((len(y), 1)), y).info
    keys = ("test", "p_value", "classes", "observed", "expected", "residuals", "grown", "shrunk")
    return {
        **{key: info[key] for key in keys},
        "against": "uniform" if y_ref is None else "reference",
    }


def label_flow(
    y: np.ndarray, distribution: dict[str, Any], evidence: list[CheckResult]
) -> CheckResult:
    """Rows that look moved from a class that shrank into a class that grew.

    A label flip moves rows from a source class to a target class: the label distribution test
    then finds the target grown and the source shrunk, and each moved row still looks like the
    source. A row fires when it carries a grown class and a label check (``neighbours`` or
    ``confident_learning``) suggests a shrunk class; its strength is twice that check's
    strength, capped at 1 (so it fires, at 0.5, once a quarter of the evidence points to a
    shrunk class). All strengths are 0 unless the test rejects (p < 0.05) with at least one
    grown and one shrunk class.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    distribution : dict
        From :func:`label_distribution`.
    evidence : list of CheckResult
        The label checks that ran (those with suggested labels are used).
    """
    grown = np.asarray(distribution["grown"], dtype=str)
    shrunk = np.asarray(distribution["shrunk"], dtype=str)
    strength = np.zeros(len(y))
    source = np.full(len(y), "", dtype=object)
    if distribution["p_value"] < 0.05 and len(grown) and len(shrunk):
        in_grown = np.isin(y.astype(str), grown)
        for check in evidence:
            if check.suggested is None:
                continue
            toward = in_grown & np.isin(check.suggested.astype(str), shrunk)
            candidate = np.where(toward, np.minimum(1.0, 2.0 * check.strength), 0.0)
            better = candidate > strength
            strength[better] = candidate[better]
            source[better] = check.suggested[better]

    def why(i: int) -> str:
        return (
            f"class '{y[i]}' grew and class '{source[i]}' shrank (label distribution test), "
            f"and the row looks like '{source[i]}'"
        )

    suggested = np.where(strength > 0, source, y).astype(y.dtype)
    return CheckResult("label_flow", strength, strength >= 0.5, why, suggested)
