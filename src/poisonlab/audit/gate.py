"""The gate: dataset-level tests, each a p-value, with a stated family-wise false-alarm rate.

Single rows cannot tell poison from natural noise: a mislabelled digit in clean MNIST looks
exactly like a flipped one. Poisoning is a *pattern*, so the gate tests patterns:

``flip_pattern``
    For every ordered pair of classes (s, t): ``a_st`` rows labelled t that the label checks
    say look like s, against ``a_ts`` the other way. Natural confusion between two classes
    runs both ways, in proportion to the classes' sizes; a flip from s to t runs one way.
    Under the null, ``a_st ~ Binomial(a_st + a_ts, q)`` with ``q`` the larger of the
    size share ``n_s / (n_s + n_t)`` and 1/2, leaned further (in log-odds) by the largest
    natural lean of any other pair sharing s or t (:func:`natural_lean`): a one-sided
    binomial test per pair, Bonferroni-corrected over the ``C (C - 1)`` ordered pairs.
``pair_mixing``
    A flip of a large share of class s into t (a third of it or more) outvotes the rows it
    left behind: flipped and unflipped rows then disagree about equally, and the direction
    test above sees nothing. What remains is the amount: the pair (s, t) confuses as many
    rows as the smaller class holds. For every unordered pair, ``d_st = a_st + a_ts`` (its
    disagreeing rows, both ways) is tested against at most :data:`MIXING_SHARE` of the smaller
    class (or twice the largest share any other pair of the table reaches, if larger: a table
    whose classes all overlap heavily is hard, not poisoned); one-sided binomial over the
    pair's rows, Bonferroni over the ``C (C - 1) / 2`` pairs. Needs at least three classes.
``group``
    Two tests of a targeted flip inside a subpopulation. (a) The pair test above inside each
    group (every value of a categorical column with at least :data:`MIN_GROUP` rows, and every
    k-means cluster of the embedding), Bonferroni-corrected over groups x pairs. (b) The
    *excess* test, per categorical value: rows whose label disagrees with their nearest
    neighbours *of the same group*, against random subsets of the table of the same size
    (:func:`excess_test`); Bonferroni-corrected over the groups. A genuine group effect is
    shared by the group's neighbours, so its rows agree with them; flipped rows do not.
``label_distribution``
    Only with ``--reference`` (chi-square homogeneity) or ``--expect`` (goodness of fit): an
    imbalanced dataset is not a poisoned one, so without either it is reported, not gated.
``reference_shift`` / ``reference_labels``
    With a reference: are there more rows far from the reference (or with labels the
    nearest reference rows dispute) than the reference's own rows show? One-sided binomial
    test against the reference's own rate.

The audit fails when any gating test's corrected p-value is below ``alpha / m`` (Bonferroni
over the ``m`` tests that ran): the probability that clean data fails is at most ``alpha``
(default 0.01) under the tests' nulls; docs/audit.md reports the rate measured on clean
subsamples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .context import AuditContext

#: Default family-wise false-alarm rate of the gate.
ALPHA = 0.01

#: A categorical value needs this many rows to be tested as a group.
MIN_GROUP = 30

#: A pattern must hold at least this many rows to count (a p-value on 3 rows is noise).
MIN_ROWS = 5

#: Natural confusion of a pair stays below this share of its smaller class (docs/audit.md).
MIXING_SHARE = 0.5

#: Name of the k-means grouping in ``AuditContext.groups``.
CLUSTERS = "cluster"

#: Pattern counts are scaled to this many rows before testing (see :func:`pair_test`).
EFFECTIVE_ROWS = 2000


@dataclass(frozen=True)
class TestResult:
    """One dataset-level test.

    Attributes
    ----------
    name : str
    p_value : float
        Corrected for the hypotheses inside the test (pairs, groups).
    gates : bool
        Whether it counts toward the verdict (label distribution without a reference: no).
    finding : str
        One sentence: what the test found (or that it found nothing).
    detail : dict
    """

    name: str
    p_value: float
    gates: bool
    finding: str
    detail: dict[str, Any]


def pair_counts(yi: np.ndarray, looks: np.ndarray, disagree: np.ndarray, C: int) -> np.ndarray:
    """``A[s, t]``: rows labelled t that look like s (disagreeing rows only)."""
    A = np.zeros((C, C), dtype=np.int64)
    np.add.at(A, (looks[disagree], yi[disagree]), 1)
    return A


def pair_test(
    yi: np.ndarray,
    looks: np.ndarray,
    disagree: np.ndarray,
    C: int,
    sizes: np.ndarray | None = None,
    n_rows: int | None = None,
) -> list[dict[str, Any]]:
    """The per-pair binomial tests, most significant first (raw, uncorrected p-values).

    ``sizes`` are the class sizes of the null's share ``n_s / (n_s + n_t)`` (default: the
    counts in ``yi``; the group test passes the whole table's, since inside a poisoned group
    the flipped rows themselves would inflate ``n_t``). ``n_rows`` is the table's size for the
    scaling to :data:`EFFECTIVE_ROWS` (default ``len(yi)``).

    Returns
    -------
    list of dict
        ``s``, ``t``, ``count`` (a_st), ``reverse`` (a_ts), ``expected`` share and ``p``.
    """
    from scipy.stats import binom

    A = pair_counts(yi, looks, disagree, C)
    # Natural confusion is a little lopsided too (a neighbour vote leans toward the denser
    # class of an overlapping pair); with enough rows any lean becomes "significant". The
    # counts are scaled to what a table of EFFECTIVE_ROWS rows would hold, so the gate asks
    # whether the lean is as strong as a flip that would show in 2,000 rows.
    scaled = np.rint(A * min(1.0, EFFECTIVE_ROWS / max(n_rows or len(yi), 1))).astype(np.int64)
    n = np.bincount(yi, minlength=C) if sizes is None else sizes
    lean = natural_lean(A, n)
    out = []
    for s, t in zip(*np.nonzero(A), strict=True):
        trials = scaled[s, t] + scaled[t, s]
        # Random label noise makes a_st proportional to n_s; confusion at a class boundary
        # makes it about as large as a_ts whatever the sizes. The gate's null takes the
        # larger share, leaning further by as much as another pair of s or t leans
        # naturally (a neighbour vote favours the denser class of an overlap: clean 500-row
        # mixed tables showed 46 : 6); the ranking's (p_rank) the size-proportional one,
        # which keeps a flip that shrank s a lot in view (it only orders rows).
        share = n[s] / max(n[s] + n[t], 1)
        # The lean comes from how dense or spread a class is, so only the other pairs
        # sharing s or t speak for it (a lopsided '4'/'9' says nothing about '0' and '7').
        others = [
            v
            for pair, v in lean.items()
            if pair != (min(s, t), max(s, t)) and (s in pair or t in pair)
        ]
        log_odds = max(np.log(max(n[s], 1) / max(n[t], 1)), 0.0) + max(others, default=0.0)
        null = float(1.0 / (1.0 + np.exp(-log_odds)))
        hits = scaled[s, t]
        enough = hits >= MIN_ROWS
        p = float(binom.sf(hits - 1, trials, null)) if enough else 1.0
        p_rank = float(binom.sf(hits - 1, trials, share)) if enough else 1.0
        out.append(
            {
                "s": int(s),
                "t": int(t),
                "count": int(A[s, t]),
                "reverse": int(A[t, s]),
                "p": p,
                "p_rank": p_rank,
            }
        )
    return sorted(out, key=lambda d: (d["p"], -d["count"], d["s"], d["t"]))


#: A pair needs this many disagreeing rows (both ways) for its lean to set the null.
LEAN_ROWS = 20


def natural_lean(A: np.ndarray, n: np.ndarray) -> dict[tuple[int, int], float]:
    """How far each pair's confusion leans beyond its class sizes, in log-odds.

    ``|log((a_uv + 1) / (a_vu + 1)) - log(n_u / n_v)|`` for every unordered pair with at
    least :data:`LEAN_ROWS` disagreeing rows. A flip makes one pair lean; the others show how
    much the table's neighbour votes lean by themselves, which the gate's null allows for.
    """
    out = {}
    C = len(n)
    for u in range(C):
        for v in range(u + 1, C):
            if A[u, v] + A[v, u] >= LEAN_ROWS and n[u] > 0 and n[v] > 0:
                ratio = np.log((A[u, v] + 1) / (A[v, u] + 1)) - np.log(n[u] / n[v])
                out[u, v] = float(abs(ratio))
    return out


def pair_strength(
    pairs: list[dict], yi: np.ndarray, looks: np.ndarray, disagree: np.ndarray, alpha: float
) -> np.ndarray:
    """Per row: ``log p_rank / log alpha`` of its pair (labelled t, looks like s), capped at 1."""
    strength = np.zeros(len(yi))
    for pair in pairs:
        if pair["p_rank"] >= 1.0:
            continue
        rows = disagree & (yi == pair["t"]) & (looks == pair["s"])
        strength[rows] = np.maximum(strength[rows], log_strength(pair["p_rank"], alpha))
    return strength


def log_strength(p: float, alpha: float) -> float:
    """``log p / log alpha``, capped at 1: 1 for a p-value that alone reaches ``alpha``."""
    return min(1.0, float(np.log(max(p, 1e-300)) / np.log(alpha)))


def mixing_test(
    yi: np.ndarray, looks: np.ndarray, disagree: np.ndarray, C: int
) -> list[dict[str, Any]]:
    """The pair-mixing test of every unordered pair, most significant first (raw p-values).

    Returns
    -------
    list of dict
        ``s`` (the class whose rows mix most: the one flipped from), ``t``, ``count``
        (``a_st + a_ts``), ``share`` (count / the smaller class), ``null_share`` and ``p``;
        empty with fewer than three classes.
    """
    from scipy.stats import binom

    if C < 3:
        return []
    A = pair_counts(yi, looks, disagree, C)
    scale = min(1.0, EFFECTIVE_ROWS / max(len(yi), 1))
    n = np.bincount(yi, minlength=C)
    pairs = [(s, t) for s in range(C) for t in range(s + 1, C) if A[s, t] + A[t, s] > 0]
    share = {(s, t): (A[s, t] + A[t, s]) / max(min(n[s], n[t]), 1) for s, t in pairs}
    out = []
    for s, t in pairs:
        others = [v for key, v in share.items() if key != (s, t)]
        null_share = max(MIXING_SHARE, 2 * max(others, default=0.0))
        trials = int(np.rint((n[s] + n[t]) * scale))
        hits = int(np.rint((A[s, t] + A[t, s]) * scale))
        rate = min(1.0, null_share * min(n[s], n[t]) / (n[s] + n[t]))
        p = float(binom.sf(hits - 1, trials, rate)) if hits >= MIN_ROWS else 1.0
        # The class flipped from is the one with the larger share of its rows in the mix.
        if A[t, s] / max(n[s], 1) < A[s, t] / max(n[t], 1):
            s, t = t, s
        out.append(
            {
                "s": int(s),
                "t": int(t),
                "count": int(A[s, t] + A[t, s]),
                "share": float(share[min(s, t), max(s, t)]),
                "null_share": float(null_share),
                "p": p,
            }
        )
    return sorted(out, key=lambda d: (d["p"], -d["count"], d["s"], d["t"]))


def n_pairs(C: int) -> int:
    return max(C * (C - 1), 1)


def group_test(
    context: AuditContext, looks: np.ndarray, disagree: np.ndarray
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The pair test inside every group; findings (most significant first) and row strengths.

    Returns
    -------
    findings : list of dict
        ``group`` (e.g. ``"colour = red"`` or ``"cluster 7"``), ``rows`` (indices), ``size``,
        ``looks_like``, ``labelled``, ``count``, ``reverse`` and ``p`` (raw).
    strength : ndarray of shape (n_samples,)
    """
    C, classes = context.n_classes, context.classes
    strength = np.zeros(len(context.yi))
    sizes = np.bincount(context.yi, minlength=C)
    findings = []
    for grouping, ids in context.groups.items():
        for g in np.unique(ids):
            members = np.flatnonzero(ids == g)
            if len(members) < MIN_GROUP:
                continue
            pairs = pair_test(
                context.yi[members], looks[members], disagree[members], C, sizes, len(context.yi)
            )
            if not pairs or min(p["p_rank"] for p in pairs) >= 1.0:
                continue
            best = pairs[0]
            local = pair_strength(
                [min(pairs, key=lambda p: p["p_rank"])],
                context.yi[members],
                looks[members],
                disagree[members],
                context.group_alpha,
            )
            strength[members] = np.maximum(strength[members], local)
            chosen = members[local > 0]
            findings.append(
                {
                    "group": _group_name(grouping, g),
                    "rows": chosen,
                    "size": len(members),
                    "looks_like": str(classes[best["s"]]),
                    "labelled": str(classes[best["t"]]),
                    "count": best["count"],
                    "reverse": best["reverse"],
                    "p": best["p"],
                }
            )
    return sorted(findings, key=lambda f: (f["p"], f["group"])), strength


#: Random subsets of the table drawn per group size for the excess test's null.
EXCESS_DRAWS = 5


def excess_test(
    context: AuditContext,
) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    """Per categorical value: rows disagreeing with same-group neighbours, in excess?

    The group's column is a feature like any other: a genuine group effect (its rows are
    declined more often, for real) is shared by the group's own neighbours, so its rows agree
    with them. A targeted flip inside the group is not: the flipped rows disagree with their
    unflipped same-group neighbours. Each group's rows (at most :data:`EFFECTIVE_ROWS`, a
    seeded sample above) get a neighbour graph of their own; a row disagrees when at least
    half its neighbours share one other label (the ``neighbours`` rule). The null is the same
    count in :data:`EXCESS_DRAWS` random subsets of the whole table of the group's size (so
    density, and thus natural disagreement, match); one-sided Fisher exact test, raw p.
    k-means clusters are not tested this way: a cluster on a class boundary is naturally
    harder than the table (docs/audit.md), so its excess is no sign of poisoning.

    Returns
    -------
    findings : list of dict
        ``group``, ``rows`` (its disagreeing rows), ``size`` (all its rows), ``count``
        (disagreeing rows of its sample), ``expected`` (the null's count for a sample of that
        size), ``looks_like``/``labelled`` (the pair most in excess over the null) and ``p``
        (raw), most significant first.
    best_p : ndarray of shape (n_samples,)
        Per row, the smallest raw p of a group in which it disagrees (1 elsewhere).
    suggested : ndarray of int, shape (n_samples,)
        The label its same-group neighbours suggest (its own elsewhere).
    """
    from scipy.stats import fisher_exact

    rng = np.random.default_rng(context.seed)
    n, yi = len(context.yi), context.yi
    null: dict[int, np.ndarray] = {}  # group size -> mean pair counts of the random subsets
    best_p, suggested = np.ones(n), yi.copy()
    findings = []
    for grouping, ids in context.groups.items():
        if grouping == CLUSTERS:
            continue
        for g in np.unique(ids):
            members = np.flatnonzero(ids == g)
            if len(members) < MIN_GROUP:
                continue
            if len(members) > EFFECTIVE_ROWS:
                members = np.sort(rng.choice(members, EFFECTIVE_ROWS, replace=False))
            size = len(members)
            if size not in null:
                draws = [rng.choice(n, size, replace=False) for _ in range(EXCESS_DRAWS)]
                null[size] = sum(_pairs_within(context, d)[0] for d in draws) / EXCESS_DRAWS
            pairs, wrong, vote = _pairs_within(context, members)
            hits, null_hits = int(wrong.sum()), round(null[size].sum() * EXCESS_DRAWS)
            table = [[hits, size - hits], [null_hits, size * EXCESS_DRAWS - null_hits]]
            p = float(fisher_exact(table, alternative="greater")[1]) if hits >= MIN_ROWS else 1.0
            rows = members[wrong]
            best_p[rows] = np.minimum(best_p[rows], p)
            suggested[rows] = vote[wrong]
            # The pair in most excess over the null names the pattern (natural confusion
            # between the same classes is in both).
            looks, labelled = np.unravel_index(np.argmax(pairs - null[size]), pairs.shape)
            findings.append(
                {
                    "group": _group_name(grouping, g),
                    "rows": rows,
                    "size": len(np.flatnonzero(ids == g)),
                    "count": hits,
                    "expected": float(null[size].sum()),
                    "looks_like": str(context.classes[looks]),
                    "labelled": str(context.classes[labelled]),
                    "p": p,
                }
            )
    return sorted(findings, key=lambda f: (f["p"], f["group"])), best_p, suggested


def _pairs_within(context: AuditContext, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """Disagreements of ``rows`` with their neighbours among ``rows`` alone.

    Returns
    -------
    pairs : ndarray of int, shape (n_classes, n_classes)
        ``pairs[s, t]``: disagreeing rows labelled t whose neighbours say s.
    wrong : ndarray of bool, shape (len(rows),)
        At least half the row's neighbours share one other label (the ``neighbours`` rule).
    vote : ndarray of int, shape (len(rows),)
        The other label most of its neighbours carry.
    """
    from .context import N_NEIGHBOURS, count_votes, neighbour_graph

    yi = context.yi[rows]
    graph = neighbour_graph(context.Z[rows], k=N_NEIGHBOURS, seed=context.seed)
    votes = count_votes(yi[graph.indices], context.n_classes).astype(np.float64)
    votes[np.arange(len(rows)), yi] = -1.0
    wrong = votes.max(axis=1) >= 0.5 * graph.indices.shape[1]
    vote = votes.argmax(axis=1)
    return pair_counts(yi, vote, wrong, context.n_classes), wrong, vote


def n_excess_tests(context: AuditContext) -> int:
    """Categorical values with at least :data:`MIN_GROUP` rows: the excess test's Bonferroni."""
    groups = 0
    for grouping, ids in context.groups.items():
        if grouping != CLUSTERS:
            groups += int(np.sum(np.unique(ids, return_counts=True)[1] >= MIN_GROUP))
    return max(groups, 1)


def _group_name(grouping: str, g: Any) -> str:
    if grouping.startswith("cluster"):
        return f"cluster {g}"
    return f"{grouping} = {g}"


def n_group_tests(context: AuditContext) -> int:
    """Groups x ordered pairs: the Bonferroni factor of the group test."""
    groups = 0
    for ids in context.groups.values():
        groups += int(np.sum(np.bincount(np.unique(ids, return_inverse=True)[1]) >= MIN_GROUP))
    return max(groups, 1) * n_pairs(context.n_classes)


def binomial_excess(count: int, n: int, own_hits: int, own_n: int) -> float:
    """One-sided p of ``count`` of ``n`` rows given the reference's own rate (smoothed)."""
    from scipy.stats import binom

    rate = (own_hits + 1) / (own_n + 2)
    return float(binom.sf(count - 1, n, rate)) if count > 0 else 1.0


def verdict(tests: list[TestResult], alpha: float) -> tuple[bool, float]:
    """Whether the gate fails, and the per-test threshold ``alpha / m``."""
    gating = [t for t in tests if t.gates]
    threshold = alpha / max(len(gating), 1)
    return any(t.p_value < threshold for t in gating), threshold
