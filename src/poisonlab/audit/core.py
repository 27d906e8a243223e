"""Run every check on a training set, test the patterns, decide the gate.

**Ranking.** A row's combined score is the sum, over the row checks that *fired* on it, of
their strengths (each in [0, 1], at least 0.5 when fired). ``suspicious.csv`` ranks by it.

**The gate** is not a threshold on that score: single rows cannot tell poison from natural
noise. It is a set of dataset-level tests with a family-wise false-alarm rate ``alpha``
(:mod:`poisonlab.audit.gate`). Rows of a pattern that fails the gate are *flagged*; with
``fail_on`` (the old row gate, opt-in) rows scoring above it fail the gate too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._random import make_rng
from . import gate as _gate
from .checks import CHECKS, CheckResult
from .context import AuditContext, count_votes, loo_probabilities, neighbour_graph
from .table import AuditTable, infer_roles, make_encoder

#: Row checks in the order they run (later ones read earlier results).
ROW_CHECKS = (
    "neighbours",
    "confident_learning",
    "outliers",
    "duplicates",
    "flip_pattern",
    "pair_mixing",
    "group",
    "reference_shift",
    "reference_labels",
)

#: Checks whose rows are flagged when their pattern fails the gate.
PATTERN_CHECKS = ("flip_pattern", "pair_mixing", "group", "reference_labels")


@dataclass(frozen=True)
class AuditResult:
    """What an audit finds. Row arrays cover every input row (unlabelled rows score 0).

    Attributes
    ----------
    y : ndarray of str, shape (n_samples,)
        The labels ("" where missing).
    score : ndarray of shape (n_samples,)
        Combined score per row.
    checks : list of CheckResult
        The row checks that ran.
    skipped : dict of str to str
        Checks that did not run, with the reason.
    tests : list of TestResult
        The dataset-level tests.
    failed : bool
        The gate's verdict.
    alpha : float
        Family-wise false-alarm rate of the gate.
    fail_on : float or None
        Optional row threshold.
    distribution : dict
        The label distribution test.
    info : dict
        ``roles``, ``missing`` (per column), ``unlabelled_rows``, ``probabilities``.
    """

    y: np.ndarray
    score: np.ndarray
    checks: list[CheckResult]
    skipped: dict[str, str]
    tests: list[_gate.TestResult]
    failed: bool
    alpha: float
    fail_on: float | None
    distribution: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def flagged(self) -> np.ndarray:
        """Rows of a pattern that fails the gate (or scoring above ``fail_on``)."""
        out = np.zeros(len(self.y), dtype=bool)
        failed = {t.name for t in self.tests if t.gates and t.p_value < self.info["threshold"]}
        for check in self.checks:
            if check.name in PATTERN_CHECKS and check.name in failed:
                out |= check.fired
        if self.fail_on is not None:
            out |= self.score > self.fail_on
        return out

    @property
    def ranking(self) -> np.ndarray:
        """Row indices, most suspicious first; ties broken by all evidence, then row order."""
        evidence = np.sum([c.strength for c in self.checks], axis=0) if self.checks else 0.0
        evidence = np.broadcast_to(evidence, self.score.shape)
        return np.lexsort((np.arange(len(self.score)), -evidence, -self.score))

    def suggested_labels(self) -> np.ndarray:
        """Per row, the label of the strongest fired check proposing another one (else its own)."""
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
    roles: dict[str, str] | None = None,
    X_ref: Any = None,
    y_ref: Any = None,
    expect: dict[str, float] | None = None,
    pred_probs: np.ndarray | None = None,
    features: np.ndarray | None = None,
    model: Any = None,
    checks: Sequence[str] = ROW_CHECKS,
    alpha: float = _gate.ALPHA,
    fail_on: float | None = None,
    image_shape: tuple[int, int] | None = None,
    random_state: int | np.random.Generator | None = 0,
    on_step: Callable[[str], None] | None = None,
) -> AuditResult:
    """Audit a training set for signs of poisoning.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or pandas.DataFrame
        Any column kinds (see :mod:`poisonlab.audit.table`).
    y : array-like of shape (n_samples,)
        Labels; missing ones (None, NaN, "") are reported and left out of the checks.
    roles : dict of str to str, optional
        Column roles overriding the inferred ones.
    X_ref, y_ref : optional
        A trusted reference set (same columns) and its labels.
    expect : dict of str to float, optional
        Expected label proportions: the distribution test then gates.
    pred_probs : ndarray of shape (n_samples, n_classes), optional
        Out-of-fold probabilities, columns in sorted class order.
    features : ndarray of shape (n_samples, n_dims), optional
        An embedding to use instead of encoding ``X``.
    model : scikit-learn classifier, optional
        Fitted 5-fold for the out-of-fold probabilities (default: neighbour votes).
    checks : sequence of str
        Row checks to run (names in :data:`ROW_CHECKS`).
    alpha : float, default=0.01
        Family-wise false-alarm rate of the gate.
    fail_on : float, optional
        Also fail when a row's combined score exceeds it.
    image_shape : (int, int), optional
        The columns are the pixels of one image (one unit for all).
    random_state : None, int or numpy.random.Generator, default=0
    on_step : callable, optional
        Called with each step's name (progress).

    Returns
    -------
    AuditResult
    """
    _check_parameters(checks, alpha, fail_on)
    step = on_step or (lambda name: None)
    rng = make_rng(random_state)
    seed = int(rng.integers(0, 2**31 - 1))
    table = _as_table(X, y, roles, image_shape)
    labelled = table.y != ""
    if len(np.unique(table.y[labelled])) < 2:
        raise ValueError("DATA: the labels hold fewer than two classes; nothing to audit.")
    step("encoding")
    context = _build_context(table, labelled, X_ref, y_ref, pred_probs, features, model, seed, step)
    step("label_distribution")
    distribution = _distribution(context, y_ref, expect)
    results, skipped = [], {}
    for name in checks:
        check = CHECKS.create(name)
        reason = check.why_not(context)
        if reason:
            skipped[name] = reason.replace("Z ref", "a reference set (--reference)").replace(
                "y ref", "reference labels"
            )
            continue
        step(name)
        results.append(check.run(context, results))
    tests = _tests(context, results, distribution, expect is not None or y_ref is not None)
    failed, threshold = _gate.verdict(tests, alpha)
    full = [_expand(r, labelled) for r in results]
    score = np.zeros(len(table.y))
    for check in full:
        score += np.where(check.fired, check.strength, 0.0)
    info = {
        "roles": table.roles,
        "missing": table.missing(),
        "unlabelled_rows": np.flatnonzero(~labelled).tolist(),
        "probabilities": context.probs_source,
        "threshold": threshold,
        "n_rows": len(table.y),
    }
    result = AuditResult(
        table.y, score, full, skipped, tests, failed, alpha, fail_on, distribution, info
    )
    if fail_on is not None and np.any(score > fail_on):
        result = _replace_failed(result)
    return result


def _replace_failed(result: AuditResult) -> AuditResult:
    from dataclasses import replace

    return replace(result, failed=True)


def _check_parameters(checks: Sequence[str], alpha: float, fail_on: float | None) -> None:
    unknown = [c for c in checks if c not in CHECKS]
    if unknown:
        raise ValueError(
            f"The 'checks' parameter of audit must hold names from {list(ROW_CHECKS)}; "
            f"got {unknown[0]!r}."
        )
    if not isinstance(alpha, float | int) or not 0 < alpha < 1:
        raise ValueError(f"--alpha must be a number in (0, 1); got {alpha!r}.")
    if fail_on is not None and (isinstance(fail_on, bool) or fail_on < 0):
        raise ValueError(f"--fail-on must be a number >= 0; got {fail_on!r}.")


def _as_table(X: Any, y: Any, roles: dict | None, image_shape) -> AuditTable:
    if isinstance(X, AuditTable):
        return X
    frame = X if isinstance(X, pd.DataFrame) else _frame_of(np.asarray(X))
    frame = frame.reset_index(drop=True)
    labels = label_strings(y)
    if len(labels) != len(frame):
        raise ValueError(f"y has {len(labels)} labels for {len(frame)} rows.")
    table_roles = infer_roles(frame, roles)
    return AuditTable("data", frame, labels, table_roles, image_shape)


def _frame_of(X: np.ndarray) -> pd.DataFrame:
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D; got shape {X.shape}.")
    return pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])


def label_strings(y: Any) -> np.ndarray:
    """Labels as strings, "" where missing; whole floats lose their ".0" (2.0 -> "2")."""
    series = pd.Series(np.asarray(y, dtype=object) if not isinstance(y, pd.Series) else y)
    missing = series.isna().to_numpy()
    values = series.to_numpy(dtype=object)
    out = np.array(
        [_label_text(v) if not m else "" for v, m in zip(values, missing, strict=True)],
        dtype=object,
    )
    return out.astype(str)


def _label_text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _build_context(
    table: AuditTable,
    labelled: np.ndarray,
    X_ref: Any,
    y_ref: Any,
    pred_probs: np.ndarray | None,
    features: np.ndarray | None,
    model: Any,
    seed: int,
    step: Callable[[str], None],
) -> AuditContext:
    rows = np.flatnonzero(labelled)
    encoder = make_encoder(table, seed)
    if features is not None:
        Z = np.asarray(features, dtype=np.float32)[rows]
    else:
        Z = encoder.fit_transform(table.frame.iloc[rows])
    y = table.y[rows]
    classes, yi = np.unique(y, return_inverse=True)
    step("neighbour graph")
    graph = neighbour_graph(Z, seed=seed)
    votes = count_votes(yi[graph.indices], len(classes))
    probs, source = _probabilities(Z, yi, classes, votes, pred_probs, rows, model, seed)
    Z_ref = None
    if X_ref is not None and features is None:
        ref_frame = X_ref if isinstance(X_ref, pd.DataFrame) else _frame_of(np.asarray(X_ref))
        _check_reference_columns(table.frame, ref_frame)
        Z_ref = encoder.transform(ref_frame)
    y_ref_s = None if y_ref is None else label_strings(y_ref)
    if y_ref_s is not None:
        y_ref_s = y_ref_s[y_ref_s != ""] if Z_ref is None else y_ref_s
    n_pairs = _gate.n_pairs(len(classes))
    context = AuditContext(
        Z=Z,
        y=y,
        classes=classes,
        yi=yi,
        graph=graph,
        pred_probs=probs,
        probs_source=source,
        row_keys=_row_keys(table.frame.iloc[rows]),
        Z_ref=Z_ref,
        y_ref=y_ref_s if Z_ref is not None else None,
        seed=seed,
    )
    context.cache["votes"] = votes
    context.groups = _groups(table, rows, Z, seed)
    context.pair_alpha = _gate.ALPHA / n_pairs
    context.group_alpha = _gate.ALPHA / max(_gate.n_group_tests(context), 1)
    return context


def _check_reference_columns(frame: pd.DataFrame, ref: pd.DataFrame) -> None:
    missing = [c for c in frame.columns if c not in ref.columns]
    if missing:
        raise ValueError(
            f"--reference: the reference lacks {len(missing)} of the audited data's columns "
            f"({', '.join(map(str, missing[:5]))}{', ...' if len(missing) > 5 else ''})."
        )


def _row_keys(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each row's values (pandas' stable hashing)."""
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _probabilities(Z, yi, classes, votes, pred_probs, rows, model, seed) -> tuple:
    """Out-of-fold probabilities: the user's, a model's (5-fold) or the graph's votes."""
    if pred_probs is not None:
        return np.asarray(pred_probs, dtype=np.float64)[rows], "--pred-probs"
    if model is None:
        return loo_probabilities(votes, yi), "leave-one-out neighbour votes"
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    probs = cross_val_predict(model, Z, yi, cv=folds, method="predict_proba")
    return probs, f"5-fold {type(model).__name__}"


def _groups(table: AuditTable, rows: np.ndarray, Z: np.ndarray, seed: int) -> dict:
    """Categorical columns' values and k-means clusters of the embedding."""
    from sklearn.cluster import MiniBatchKMeans

    groups: dict[str, np.ndarray] = {}
    for column in table.columns_with("categorical"):
        values = table.frame[column].iloc[rows].astype("string").fillna("missing").to_numpy()
        groups[column] = values.astype(str)
    n_clusters = int(np.clip(len(Z) // 200, 2, 20))
    if len(Z) >= 2 * _gate.MIN_GROUP:
        kmeans = MiniBatchKMeans(n_clusters, random_state=seed, n_init=3, batch_size=4096)
        groups["cluster"] = kmeans.fit_predict(Z)
    return groups


def _distribution(
    context: AuditContext, y_ref: Any, expect: dict[str, float] | None
) -> dict[str, Any]:
    """The label distribution test (the ``label_stats`` detector)."""
    from ..defenses import DETECTORS

    if expect is not None:
        unknown = sorted(set(context.classes) - set(expect))
        if unknown:
            raise ValueError(
                f"--expect must give a share for every class; missing {', '.join(unknown)}."
            )
        reference, against = dict(expect), "expected shares (--expect)"
    elif y_ref is not None:
        reference, against = list(label_strings(y_ref)), "the reference labels"
    else:
        reference, against = "uniform", "uniform (reported only)"
    detector = DETECTORS.create("label_stats", reference=reference)
    info = detector.detect(np.zeros((len(context.y), 1)), context.y).info
    keys = ("test", "p_value", "classes", "observed", "expected", "residuals", "grown", "shrunk")
    return {**{key: info[key] for key in keys}, "against": against}


def _tests(
    context: AuditContext,
    results: list[CheckResult],
    distribution: dict[str, Any],
    distribution_gates: bool,
) -> list[_gate.TestResult]:
    by_name = {r.name: r for r in results}
    tests = []
    if "flip_pattern" in by_name:
        tests.append(_flip_test(context, by_name["flip_pattern"]))
    if "pair_mixing" in by_name:
        tests.append(_mixing_test(context, by_name["pair_mixing"]))
    if "group" in by_name:
        tests.append(_group_test(context, by_name["group"]))
    p = float(distribution["p_value"])
    grown = ", ".join(map(str, distribution["grown"])) or "none"
    shrunk = ", ".join(map(str, distribution["shrunk"])) or "none"
    tests.append(
        _gate.TestResult(
            "label_distribution",
            p,
            distribution_gates,
            f"against {distribution['against']}: p = {p:.3g}; grew: {grown}; shrank: {shrunk}",
            {},
        )
    )
    if "reference_shift" in by_name:
        shift = by_name["reference_shift"]
        rate = shift.info["reference_rate"]
        n_ref = shift.info["n_reference"]
        count = int(shift.fired.sum())
        p = _gate.binomial_excess(count, len(shift.fired), round(rate * n_ref), n_ref)
        tests.append(
            _gate.TestResult(
                "reference_shift",
                p,
                True,
                f"{count} rows far from the reference (the reference's own rate: {rate:.2%})",
                {"rows": count},
            )
        )
    if "reference_labels" in by_name:
        tests.append(_reference_label_test(context, by_name["reference_labels"]))
    return tests


def _corrected_test(name, items, key, p_key, m, empty, describe) -> _gate.TestResult:
    """A pattern test: the top item's p-value, Bonferroni-corrected over ``m`` hypotheses."""
    if not items:
        return _gate.TestResult(name, 1.0, True, empty, {})
    p = min(1.0, items[0][p_key] * m)
    return _gate.TestResult(name, p, True, describe(items[0], p, m), {key: items})


def _flip_test(context: AuditContext, check: CheckResult) -> _gate.TestResult:
    def describe(top: dict, p: float, m: int) -> str:
        return (
            f"{top['rows']} rows labelled '{top['labelled']}' look like '{top['looks_like']}', "
            f"{top['reverse_rows']} the other way: p = {p:.3g} (Bonferroni over {m} pairs)"
        )

    m = _gate.n_pairs(context.n_classes)
    empty = "no row disagrees with its label"
    return _corrected_test(
        "flip_pattern", check.info["pairs"], "pairs", "p_value", m, empty, describe
    )


def _mixing_test(context: AuditContext, check: CheckResult) -> _gate.TestResult:
    def describe(top: dict, p: float, m: int) -> str:
        return (
            f"'{top['flipped_from']}' and '{top['flipped_to']}' mix: {top['rows']} rows "
            f"disagree, {top['share']:.0%} of the smaller class (natural at most "
            f"{top['null_share']:.0%}): p = {p:.3g} (Bonferroni over {m} pairs)"
        )

    m = max(_gate.n_pairs(context.n_classes) // 2, 1)
    empty = "fewer than three classes" if context.n_classes < 3 else "no pair of classes mixes"
    return _corrected_test(
        "pair_mixing", check.info["pairs"], "pairs", "p_value", m, empty, describe
    )


def _group_test(context: AuditContext, check: CheckResult) -> _gate.TestResult:
    """The most significant group finding of either kind, each corrected within its family."""
    groups = check.info["groups"]
    if not groups:
        return _gate.TestResult("group", 1.0, True, "no group with a lopsided confusion", {})
    top = groups[0]
    p, m = top["p_corrected"], top["tests"]
    if top["kind"] == "excess":
        finding = (
            f"{top['group']} ({top['size']} rows): {top['count']} rows disagree with their "
            f"same-group neighbours (most in excess: '{top['labelled']}' rows whose "
            f"neighbours say '{top['looks_like']}'), {top['expected']:.0f} in random subsets "
            f"of that size: "
            f"p = {p:.3g} (Bonferroni over {m} groups)"
        )
    else:
        finding = (
            f"{top['group']} ({top['size']} rows): {top['count']} labelled '{top['labelled']}' "
            f"look like '{top['looks_like']}', {top['reverse']} the other way: p = {p:.3g} "
            f"(Bonferroni over {m} group-pairs)"
        )
    return _gate.TestResult("group", p, True, finding, {"groups": groups})


def _reference_label_test(context: AuditContext, check: CheckResult) -> _gate.TestResult:
    """More rows disputed by the reference than the reference disputes among its own rows?"""
    from sklearn.neighbors import NearestNeighbors

    ref_yi = context.ref_yi()
    k = min(10, len(ref_yi) - 1)
    idx = NearestNeighbors(n_neighbors=k + 1).fit(context.Z_ref).kneighbors(context.Z_ref)[1]
    votes = count_votes(ref_yi[idx[:, 1:]], context.n_classes)
    other = votes.astype(float)
    known = ref_yi >= 0
    other[np.flatnonzero(known), ref_yi[known]] = -1.0
    own_hits = int(np.sum(other.max(axis=1) / k >= 0.5))
    count = int(check.fired.sum())
    p = _gate.binomial_excess(count, len(check.fired), own_hits, len(ref_yi))
    finding = (
        f"{count} rows' labels disputed by the nearest reference rows (the reference's own "
        f"rate: {own_hits / len(ref_yi):.2%}): p = {p:.3g}"
    )
    return _gate.TestResult("reference_labels", p, True, finding, {"rows": count})


def _expand(result: CheckResult, labelled: np.ndarray) -> CheckResult:
    """A check's arrays over the labelled rows, spread over every input row."""
    if labelled.all():
        return result
    from dataclasses import replace

    rows = np.flatnonzero(labelled)
    n = len(labelled)
    strength, fired = np.zeros(n), np.zeros(n, dtype=bool)
    strength[rows], fired[rows] = result.strength, result.fired
    suggested = None
    if result.suggested is not None:
        suggested = np.full(n, "", dtype=result.suggested.dtype)
        suggested[rows] = result.suggested
    position = np.cumsum(labelled) - 1
    why = result.why

    def why_full(i: int) -> str:
        return why(int(position[i]))

    return replace(result, strength=strength, fired=fired, why=why_full, suggested=suggested)
