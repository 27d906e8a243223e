"""The audit's row checks, registered in :data:`CHECKS` (the project's one ``Registry`` type).

Each check is a small class whose ``run(context)`` returns a :class:`CheckResult`: a
``strength`` in [0, 1] per row (how strongly the row looks wrong to this check, continuous so
it can rank), ``fired`` (the check's own rule) and, for fired rows, a readable reason. Every
check works on the shared :class:`~poisonlab.audit.context.AuditContext`: one embedding, one
neighbour graph and one set of out-of-fold probabilities, computed once.

The dataset-level tests that decide the gate live in :mod:`poisonlab.audit.gate`; the
``flip_pattern`` and ``group`` checks turn their findings into row strengths so the rows of a
significant pattern rank first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._registry import Registry
from .context import AuditContext

#: Robust z-score at which the outlier and shift checks fire; strength is z / (2 * Z_FIRE).
Z_FIRE = 3.0

CHECKS: Registry = Registry("audit check")


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


class Check:
    """Base of the registered checks: ``needs`` says what the context must hold."""

    name = ""
    #: What the check looks for (the checks table).
    what = ""
    #: Context attributes that must not be None for the check to run.
    needs: tuple[str, ...] = ()

    def why_not(self, context: AuditContext) -> str:
        """Why the check cannot run on ``context`` ('' when it can)."""
        missing = [need for need in self.needs if getattr(context, need) is None]
        return f"needs {' and '.join(missing).replace('_', ' ')}" if missing else ""

    def run(self, context: AuditContext, earlier: list[CheckResult]) -> CheckResult:
        raise NotImplementedError


def _z_strength(z: np.ndarray) -> np.ndarray:
    """Map a robust z-score to [0, 1]: 0.5 at the firing point Z_FIRE, 1 at twice it."""
    return np.clip(np.asarray(z, dtype=np.float64) / (2 * Z_FIRE), 0.0, 1.0)


def robust_z(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(value - median) / (1.4826 MAD) within each group (MAD 0: the group's std, or 1)."""
    z = np.zeros(len(values))
    for g in np.unique(groups):
        rows = groups == g
        v = values[rows]
        center = np.median(v)
        spread = 1.4826 * np.median(np.abs(v - center)) or v.std() or 1.0
        z[rows] = (v - center) / spread
    return z


@CHECKS.register("neighbours")
class Neighbours(Check):
    """Labels that disagree with their nearest neighbours (Paudice et al. 2018, eta = 0.5).

    Strength is the share of the k nearest neighbours (the shared graph, the row itself
    excluded) that carry one other label; it fires at 0.5.
    """

    what = "label disagrees with its nearest neighbours (Paudice et al. 2018)"

    def run(self, context: AuditContext, earlier: list[CheckResult]) -> CheckResult:
        votes = context.neighbour_votes()
        k = context.graph.indices.shape[1]
        other = votes.astype(np.float64)
        other[np.arange(len(other)), context.yi] = -1.0
        best = other.argmax(axis=1)
        strength = other.max(axis=1) / k
        suggested = context.classes[best]

        def why(i: int) -> str:
            votes_i = round(strength[i] * k)
            return f"{votes_i} of its {k} nearest neighbours are labelled '{suggested[i]}'"

        return CheckResult(self.name, strength, strength >= 0.5, why, suggested)


@CHECKS.register("confident_learning")
class ConfidentLearning(Check):
    """Label issues found by cleanlab (Northcutt et al. 2021) on out-of-fold probabilities.

    The probabilities are the user's (``--pred-probs``), a model's (``--model``, 5-fold), or
    the neighbour graph's leave-one-out votes. Strength is 1 - P(given label), at least 0.5
    where cleanlab's ``find_label_issues`` (prune by noise rate) flags the row.
    """

    what = "cleanlab label issue on out-of-fold probabilities (Northcutt et al. 2021)"

    def run(self, context: AuditContext, earlier: list[CheckResult]) -> CheckResult:
        from cleanlab.filter import find_label_issues

        probs = context.pred_probs
        issues = find_label_issues(context.yi, probs, filter_by="prune_by_noise_rate", n_jobs=1)
        quality = probs[np.arange(len(probs)), context.yi]
        other = probs.copy()
        other[np.arange(len(other)), context.yi] = -1.0
        suggested = context.classes[other.argmax(axis=1)]
        strength = np.where(issues, np.maximum(0.5, 1.0 - quality), 1.0 - quality)
        y = context.y

        def why(i: int) -> str:
            return (
                f"out-of-fold P('{y[i]}') = {quality[i]:.2f}; the model predicts "
                f"'{suggested[i]}' (p = {other[i].max():.2f})"
            )

        info = {"probabilities": context.probs_source}
        return CheckResult(self.name, strength, issues, why, suggested, info)


@CHECKS.register("outliers")
class Outliers(Check):
    """Rows unlike the rest of their class: Local Outlier Factor on the shared graph.

    LOF (Breunig et al. 2000) from scikit-learn, on the precomputed neighbour graph; the score
    is turned into a robust z-score within the row's class. Strength z / 6; fires at z >= 3.
    """

    what = "unlike the rest of its class (LOF on the neighbour graph, robust z >= 3)"

    def run(self, context: AuditContext, earlier: list[CheckResult]) -> CheckResult:
        from sklearn.neighbors import LocalOutlierFactor

        k = context.graph.indices.shape[1]
        # LOF asks the graph for one neighbour more than it uses.
        lof = LocalOutlierFactor(n_neighbors=k - 1, metric="precomputed")
        lof.fit(context.graph.sparse())
        score = np.log(-lof.negative_outlier_factor_)
        z = robust_z(score, context.yi)
        y = context.y

        def why(i: int) -> str:
            return f"outlier within class '{y[i]}' (robust z = {z[i]:.1f})"

        return CheckResult(self.name, _z_strength(z), z >= Z_FIRE, why)


@CHECKS.register("duplicates")
class Duplicates(Check):
    """Exact and near duplicates that carry different labels.

    Exact duplicates share every feature value (rows hashed with pandas); near ones lie
    within ``tolerance`` of each other in the embedding (an RMS difference of 0.01 standard
    deviations per dimension), read off the shared neighbour graph. A row's strength is the
    share of its duplicates labelled differently; it fires at 0.5 and suggests the label most
    of its duplicates carry.
    """

    what = "exact or near duplicate of rows with other labels"
    tolerance = 0.01

    def run(self, context: AuditContext, earlier: list[CheckResult]) -> CheckResult:
        n, y = len(context.y), context.y
        partners = _duplicate_partners(context, self.tolerance)
        strength = np.zeros(n)
        suggested = y.copy()
        kinds: dict[int, str] = {}
        for i, (others, kind) in partners.items():
            differ = y[others] != y[i]
            if not differ.any():
                continue
            strength[i] = differ.mean()
            values, counts = np.unique(y[others], return_counts=True)
            suggested[i] = values[counts.argmax()]
            kinds[i] = kind

        def why(i: int) -> str:
            others = partners[i][0]
            differing = others[y[others] != y[i]]
            shown = ", ".join(f"{j} ('{y[j]}')" for j in differing[:5])
            more = f" and {len(differing) - 5} more" if len(differing) > 5 else ""
            return f"{kinds[i]} duplicate of rows {shown}{more} with other labels"

        info = {"rows_in_conflict": int(np.sum(strength > 0))}
        return CheckResult(self.name, strength, strength >= 0.5, why, suggested, info)


def _duplicate_partners(context: AuditContext, tolerance: float) -> dict[int, tuple]:
    """Row -> (its exact or near duplicates, "exact" or "near"), for rows that have any."""
    out: dict[int, tuple] = {}
    group = context.row_hash_groups()
    sizes = np.bincount(group)
    order = np.argsort(group, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    for g in np.flatnonzero(sizes > 1):
        rows = order[bounds[g] : bounds[g + 1]]
        for i in rows:
            out[int(i)] = (rows[rows != i], "exact")
    radius = tolerance * np.sqrt(context.Z.shape[1])
    close = context.graph.distances <= radius
    for i in np.flatnonzero(close.any(axis=1)):
        if int(i) not in out:
            out[int(i)] = (context.graph.indices[i][close[i]], "near")
    return out


@CHECKS.register("flip_pattern")
class FlipPattern(Check):
    """Rows of a label-flip pattern: labelled t, looking like s, for a pair (s, t) in excess.

    A flip from s to t leaves many rows labelled t that look like s and few the other way;
    natural confusion goes both ways. The pair test (:func:`poisonlab.audit.gate.pair_test`)
    gives each pair a p-value; a row labelled t whose label checks suggest s gets strength
    log p / log(p at the gate), capped at 1 (so 1 for a pair that alone fails the gate).
    """

    what = "labelled t, looks like s, and (s -> t) is a lopsided confusion (pair test)"

    def run(self, context: AuditContext, earlier: list[CheckResult]) -> CheckResult:
        from .gate import pair_strength, pair_test

        looks, disagree = looks_like(context, earlier)
        pairs = pair_test(context.yi, looks, disagree, context.n_classes)
        strength = pair_strength(pairs, context.yi, looks, disagree, context.pair_alpha)
        classes, y = context.classes, context.y
        info = {"pairs": [_pair_info(p, classes) for p in pairs[:5]]}

        def why(i: int) -> str:
            return (
                f"labelled '{y[i]}' but looks like '{classes[looks[i]]}', a lopsided confusion "
                f"in this data"
            )

        return CheckResult(self.name, strength, strength >= 0.5, why, classes[looks], info)


@CHECKS.register("pair_mixing")
class PairMixing(Check):
    """Rows of a pair of classes mixed beyond natural confusion (a flip of much of a class).

    When a third or more of class s is flipped to t, flipped and unflipped rows outvote each
    other about equally, so ``flip_pattern`` sees no direction; the pair's disagreeing rows,
    both ways, then outnumber half the smaller class (:func:`poisonlab.audit.gate.mixing_test`).
    The class flipped from is the one with the larger share of its rows in the mix; rows
    labelled with the other class t that have at least :attr:`min_votes` of their neighbours
    labelled s get strength ``log p / log(p at the gate)``, capped at 1.
    """

    what = "a pair of classes mixed beyond natural confusion (much of one class flipped)"
    #: Share of a row's neighbours labelled s for a row labelled t to be in the mix.
    min_votes = 0.3

    def run(self, context: AuditContext, earlier: list[CheckResult]) -> CheckResult:
        from .gate import log_strength, mixing_test

        looks, disagree = looks_like(context, earlier)
        pairs = mixing_test(context.yi, looks, disagree, context.n_classes)
        votes = context.neighbour_votes()
        k = context.graph.indices.shape[1]
        strength = np.zeros(len(context.yi))
        suggested = context.y.copy()
        alpha = context.pair_alpha * 2  # C (C - 1) / 2 unordered pairs
        for pair in pairs:
            if pair["p"] >= 1.0:
                continue
            s, t = pair["s"], pair["t"]
            rows = (context.yi == t) & (votes[:, s] >= self.min_votes * k)
            value = log_strength(pair["p"], alpha)
            strength[rows] = np.maximum(strength[rows], value)
            suggested[rows & (strength == value)] = context.classes[s]
        classes, y = context.classes, context.y
        info = {"pairs": [_mixing_info(p, classes) for p in pairs[:5]]}

        def why(i: int) -> str:
            return (
                f"labelled '{y[i]}' among many rows labelled '{suggested[i]}': these two "
                f"classes are mixed beyond natural confusion"
            )

        return CheckResult(self.name, strength, strength >= 0.5, why, suggested, info)


def _mixing_info(pair: dict, classes: np.ndarray) -> dict:
    return {
        "flipped_from": str(classes[pair["s"]]),
        "flipped_to": str(classes[pair["t"]]),
        "rows": int(pair["count"]),
        "share": round(float(pair["share"]), 3),
        "null_share": round(float(pair["null_share"]), 3),
        "p_value": float(pair["p"]),
    }


@CHECKS.register("group")
class Group(Check):
    """A group whose labels depart from what its features predict: a targeted flip inside it.

    Groups are the values of each categorical column and k-means clusters of the embedding.
    Two tests (:mod:`poisonlab.audit.gate`): inside each group, the pair test on its own rows
    (a lopsided confusion, too small for the whole table); and, per categorical value, the
    excess test (more rows disagreeing with their same-group neighbours than random subsets
    of the table show). Each is Bonferroni-corrected within its family. Rows of a group's
    finding get strength ``log p / log(p at the gate)``, capped at 1; the summary names the
    group.
    """

    what = "a category or cluster whose labels depart from its features (a targeted flip)"

    def run(self, context: AuditContext, earlier: list[CheckResult]) -> CheckResult:
        from .gate import ALPHA, excess_test, group_test, n_excess_tests, n_group_tests

        looks, disagree = looks_like(context, earlier)
        findings, strength = group_test(context, looks, disagree)
        excess, excess_p, excess_vote = excess_test(context)
        m_pairs, m_groups = n_group_tests(context), n_excess_tests(context)
        for found, kind, m in ((findings, "direction", m_pairs), (excess, "excess", m_groups)):
            for f in found:
                f.update(kind=kind, tests=m, p_corrected=min(1.0, f["p"] * m))
        with np.errstate(divide="ignore"):
            excess_strength = np.minimum(1.0, np.log(excess_p) / np.log(ALPHA / m_groups))
        suggested = context.classes[np.where(excess_strength > strength, excess_vote, looks)]
        strength = np.maximum(strength, excess_strength)
        ranked = sorted(findings + excess, key=lambda f: (f["p_corrected"], f["group"]))
        y = context.y
        where = np.full(len(y), "", dtype=object)
        for finding in reversed(ranked):
            where[finding["rows"]] = finding["group"]
        info = {"groups": [{k: v for k, v in f.items() if k != "rows"} for f in ranked[:5]]}

        def why(i: int) -> str:
            return f"in {where[i]}, labelled '{y[i]}' where its group says '{suggested[i]}'"

        return CheckResult(self.name, strength, strength >= 0.5, why, suggested, info)


def looks_like(context: AuditContext, earlier: list[CheckResult]) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the class its neighbours suggest, and whether the ``neighbours`` check fired.

    Only the neighbour vote feeds the pattern tests: it treats both directions of a pair
    alike. Model probabilities (``confident_learning``) lean toward the larger class of an
    overlapping pair, which made clean tables look lopsided (docs/audit.md).

    Returns
    -------
    looks : ndarray of int, shape (n_samples,)
        Class index the neighbours suggest where the check fired (the row's own otherwise).
    disagree : ndarray of bool, shape (n_samples,)
    """
    looks = context.yi.copy()
    index = {c: i for i, c in enumerate(context.classes)}
    found = [c for c in earlier if c.name == "neighbours"]
    check = found[0] if found else CHECKS.create("neighbours").run(context, [])
    looks[check.fired] = [index[s] for s in check.suggested[check.fired]]
    return looks, looks != context.yi


def _pair_info(pair: dict, classes: np.ndarray) -> dict:
    return {
        "looks_like": str(classes[pair["s"]]),
        "labelled": str(classes[pair["t"]]),
        "rows": int(pair["count"]),
        "reverse_rows": int(pair["reverse"]),
        "p_value": float(pair["p"]),
    }


@CHECKS.register("reference_shift")
class ReferenceShift(Check):
    """Rows whose features lie far from a trusted reference set.

    Each row's distance to its nearest reference row, as a robust z-score of the log distance
    against the reference's own spacing (each reference row to its nearest other one). Strength
    z / 6; fires at z >= 3.
    """

    what = "far from every row of the reference set (robust z >= 3)"
    needs = ("Z_ref",)

    def run(self, context: AuditContext, earlier: list[CheckResult]) -> CheckResult:
        z, own_z, typical = context.reference_distances()

        def why(i: int) -> str:
            return f"far from every reference row (z = {z[i]:.1f}; reference spacing {typical:.3g})"

        info = {"reference_rate": float(np.mean(own_z >= Z_FIRE)), "n_reference": len(own_z)}
        return CheckResult(self.name, _z_strength(z), z >= Z_FIRE, why, None, info)


@CHECKS.register("reference_labels")
class ReferenceLabels(Check):
    """Labels that disagree with the trusted reference rows nearest to them.

    The reference's k nearest rows vote; strength is the share voting for one other label,
    fires at 0.5 and suggests that label. This sees a flip even when it is large enough to
    outvote the training set's own neighbours.
    """

    what = "label disagrees with the nearest trusted reference rows"
    needs = ("Z_ref", "y_ref")

    def run(self, context: AuditContext, earlier: list[CheckResult]) -> CheckResult:
        votes, k = context.reference_votes()
        other = votes.astype(np.float64)
        other[np.arange(len(other)), context.yi] = -1.0
        strength = other.max(axis=1) / k
        suggested = context.classes[other.argmax(axis=1)]

        def why(i: int) -> str:
            return (
                f"{round(strength[i] * k)} of its {k} nearest reference rows are labelled "
                f"'{suggested[i]}'"
            )

        return CheckResult(self.name, strength, strength >= 0.5, why, suggested)
