"""Certificates: each one attacked within its certified budget (it must hold) and just above
it (the attack must succeed, so these tests can fail)."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin

from poisonlab.certify import CERTIFICATES, Certification
from poisonlab.certify._aggregation import finite_aggregation_radius, spread
from poisonlab.certify._bagging import bagging_radius
from poisonlab.certify._label_flip import chernoff_log_error, flip_radius, hat_weights
from poisonlab.defenses._partition import certified_radius

from .conftest import run_cli

# ------------------------------------------------------------------------------ helpers


def _blobs(n_per_class=9, seed=0):
    """Three 2-D Gaussian blobs, labelled a, b, c."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    X = np.vstack([rng.normal(c, 1.0, size=(n_per_class, 2)) for c in centres])
    return X, np.repeat(np.array(["a", "b", "c"]), n_per_class)


def _moves(X, y, x, labels, n_offsets):
    """Every single poisoning move: remove a row, relabel a row, insert a near-copy of x."""
    for i in range(len(X)):
        yield ("remove", i, None)
        for label in labels:
            if label != y[i]:
                yield ("relabel", i, label)
    for j in range(n_offsets):
        for label in labels:
            yield ("insert", j, label)


def _apply(X, y, x, move):
    kind, i, label = move
    if kind == "remove":
        return np.delete(X, i, axis=0), np.delete(y, i)
    if kind == "relabel":
        y = y.copy()
        y[i] = label
        return X, y
    # A near-copy of the test input; distinct offsets hash to distinct partitions.
    point = x + 1e-4 * (i + 1) * np.array([1.0, 0.5])
    return np.vstack([X, point]), np.append(y, label)


def _greedy_attack(certificate, X, y, x, steps, allowed=("remove", "relabel", "insert")):
    """Greedy poisoning of one test input, one move per step, each step the move that changes
    the prediction or else leaves the smallest certified radius.

    Returns
    -------
    original : label, radius : int, changed_at : int or None
        The clean prediction and radius, and the first step at which the prediction changed.
    """
    first = certificate.certify(X, y, x[None], y[:1])
    original, radius = first.predictions[0], int(first.radius[0])
    labels = np.unique(y)
    for step in range(1, steps + 1):
        best = None
        for move in _moves(X, y, x, labels, n_offsets=8):
            if move[0] not in allowed:
                continue
            Xp, yp = _apply(X, y, x, move)
            got = certificate.certify(Xp, yp, x[None], y[:1])
            key = (got.predictions[0] != original, -int(got.radius[0]))
            if best is None or key > best[0]:
                best = (key, Xp, yp)
        (changed, _), X, y = best
        if changed:
            return original, radius, step
    return original, radius, None


class OneNN(ClassifierMixin, BaseEstimator):
    """1-nearest neighbour in numpy (first of equal distances): the same predictions as
    ``KNeighborsClassifier(1)`` without its per-call overhead, which the greedy attacks pay
    thousands of times."""

    def fit(self, X, y):
        self.classes_, self.X_, self.y_ = np.unique(y), np.asarray(X), np.asarray(y)
        return self

    def predict(self, X):
        d = ((np.asarray(X)[:, None, :] - self.X_[None, :, :]) ** 2).sum(axis=2)
        return self.y_[np.argmin(d, axis=1)]


TEST_POINTS = [np.array([0.3, 0.2]), np.array([3.5, 0.5])]


# ------------------------------------------------------------------------------ the result


def test_certification_summary_exact():
    result = Certification(
        "x",
        predictions=np.array(["a", "a", "b", "b", "a"]),
        radius=np.array([3, 0, 2, 5, -1]),
        y_true=np.array(["a", "a", "b", "a", "a"]),
    )
    assert result.clean_accuracy == pytest.approx(0.8)
    # correct radii 3, 0, 2, -1 and a wrong one as -1: sorted -1, -1, 0, 2, 3 -> position 2
    assert result.median_radius == 0
    rows = result.certified_accuracy()
    assert [r["radius"] for r in rows] == list(range(7))
    assert [r["n_certified"] for r in rows] == [3, 2, 2, 1, 0, 0, 0]
    assert result.to_json()["certified_accuracy"][1] == {"radius": 1, "accuracy": 0.4}


# ------------------------------------------------------------------------------ dpa


@pytest.mark.parametrize("x", TEST_POINTS)
def test_dpa_holds_within_radius_and_falls_just_above(x):
    X, y = _blobs()
    dpa = CERTIFICATES.create("dpa", n_partitions=3, estimator=OneNN())
    _, radius, changed_at = _greedy_attack(dpa, X, y, x, steps=4)
    assert radius >= 1  # the case is not trivial
    assert changed_at == radius + 1  # never within the radius; at once just above it


def test_dpa_refuses_a_random_base_model():
    from sklearn.ensemble import RandomForestClassifier

    X, y = _blobs()
    dpa = CERTIFICATES.create("dpa", estimator=RandomForestClassifier(n_estimators=3))
    with pytest.raises(ValueError, match="'estimator' parameter of DPA must be deterministic"):
        dpa.certify(X, y, X, y)


# ------------------------------------------------------------------------------ finite aggregation


def _true_radius(votes, members, n_classes):
    """Largest r such that no r buckets, their models' votes set freely, change the winner."""
    counts = np.bincount(votes, minlength=n_classes)
    winner = int(np.argmax(counts))
    for r in range(1, len(members) + 1):
        for buckets in itertools.combinations(range(len(members)), r):
            touched = np.unique(members[list(buckets)])
            for rival in range(n_classes):
                if rival == winner:
                    continue
                new = votes.copy()
                new[touched] = rival
                c = np.bincount(new, minlength=n_classes)
                if int(np.argmax(c)) != winner:
                    return r - 1
    return len(members)


@settings(deadline=None)  # timings vary with the shared machine's load
@given(st.integers(0, 2**31), st.sampled_from([1, 2, 3]))
def test_finite_aggregation_radius_is_sound_and_dpa_when_d_is_1(seed, d):
    rng = np.random.default_rng(seed)
    k, n_classes = 3, 3
    members = spread(k * d, d, seed)
    votes = rng.integers(n_classes, size=(1, k * d))
    _, radius = finite_aggregation_radius(votes, members, n_classes)
    truth = _true_radius(votes[0], members, n_classes)
    assert radius[0] <= truth
    if d == 1:
        assert radius[0] == certified_radius(np.bincount(votes[0], minlength=3)[None])[1][0]


@pytest.mark.parametrize("x", TEST_POINTS)
def test_finite_aggregation_holds_within_radius_and_falls_above(x):
    X, y = _blobs()
    fa = CERTIFICATES.create(
        "finite_aggregation", n_partitions=3, spread_factor=2, estimator=OneNN()
    )
    _, radius, changed_at = _greedy_attack(fa, X, y, x, steps=5)
    assert radius >= 1
    assert changed_at is not None and radius < changed_at <= radius + 2


# ------------------------------------------------------------------------------ knn


@pytest.mark.parametrize("x", TEST_POINTS)
def test_knn_holds_within_radius_and_falls_just_above(x):
    X, y = _blobs()
    knn = CERTIFICATES.create("knn", n_neighbors=7)
    _, radius, changed_at = _greedy_attack(knn, X, y, x, steps=5)
    assert radius >= 2
    assert changed_at == radius + 1


def test_radius_nn_holds_within_radius_and_falls_just_above():
    X, y = _blobs()
    rnn = CERTIFICATES.create("knn", n_neighbors=None, radius=1.5)
    _, radius, changed_at = _greedy_attack(rnn, X, y, TEST_POINTS[0], steps=6)
    assert radius >= 1
    assert changed_at == radius + 1


# ------------------------------------------------------------------------------ bagging


class MaxRule(ClassifierMixin, BaseEstimator):
    """Predicts the label of its training sample with the largest first feature: the
    base learner for which bagging's bound is tight (one poisoned sample in a bag decides)."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.label_ = y[np.argmax(X[:, 0])]
        return self

    def predict(self, X):
        return np.full(len(X), self.label_)


def _max_rule_probability(x0, y, k, label):
    """Exact probability that a bag of k draws with replacement votes ``label``."""
    order = np.argsort(x0, kind="stable")
    n = len(x0)
    j = np.arange(1, n + 1)
    p_max = (j / n) ** k - ((j - 1) / n) ** k  # P(the j-th smallest is the bag's maximum)
    return float(p_max[y[order] == label].sum())


def test_bagging_holds_within_radius_and_falls_just_above():
    rng = np.random.default_rng(0)
    n, k = 40, 3  # a bag is all b's with probability (2 / 40)^3: every model votes a
    x0 = np.r_[rng.uniform(10, 11, 38), rng.uniform(0, 1, 2)]
    X, y = np.c_[x0, np.zeros(n)], np.array(["a"] * 38 + ["b"] * 2)
    bagging = CERTIFICATES.create(
        "bagging", estimator=MaxRule(), n_models=1000, bag_size=k, alpha=0.001
    )
    result = bagging.certify(X, y, X[:1], y[:1])
    radius = int(result.radius[0])
    assert result.predictions[0] == "a" and radius >= 2
    # Every mix of insertions (b at x0 = 100), removals (of the top a's) and modifications
    # (top a's moved to x0 = 100 and relabelled b) within the radius leaves a on top.
    for ins, rem, mod in itertools.product(range(radius + 1), repeat=3):
        if ins + rem + mod > radius:
            continue
        top_a = np.argsort(-x0)[: rem + mod]
        xp, yp = x0.copy(), y.copy()
        xp[top_a[rem:]], yp[top_a[rem:]] = 100.0, "b"
        keep = np.setdiff1d(np.arange(n), top_a[:rem])
        xp, yp = np.r_[xp[keep], [100.0] * ins], np.r_[yp[keep], ["b"] * ins]
        assert _max_rule_probability(xp, yp, k, "a") > 0.5
    # One more modification and b wins.
    xp, yp = x0.copy(), y.copy()
    top = np.argsort(-x0)[: radius + 1]
    xp[top], yp[top] = 100.0, "b"
    assert _max_rule_probability(xp, yp, k, "a") < 0.5


def test_bagging_radius_exact_cases():
    # p_a = 1, p_b = 0: modifications are the worst case, certified while (1 - r/n)^k > 1/2.
    n, k = 100, 5
    expected = max(r for r in range(n) if (1 - r / n) ** k > 0.5)
    assert bagging_radius(np.array([1.0]), np.array([0.0]), n, k)[0] == expected
    assert bagging_radius(np.array([0.4]), np.array([0.45]), n, k)[0] == -1


# ------------------------------------------------------------------------------ label flips


@functools.cache
def _flip_patterns(n, q):
    flips = np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.float64)
    return flips, np.prod(np.where(flips == 1, q, 1 - q), axis=1)


def _exact_smoothed_one(alpha, y01, q):
    """Exact P(score >= 1/2) under independent label flips, by enumerating every flip set."""
    flips, prob = _flip_patterns(len(y01), q)
    # score of noisy labels |y - f| = y + f (1 - 2 y), linear in the flip pattern f
    scores = y01 @ alpha + flips @ (alpha * (1 - 2 * y01))
    return float(prob[scores >= 0.5].sum())


def test_label_flip_linear_holds_for_every_flip_set_within_radius():
    rng = np.random.default_rng(1)
    n, q, ridge = 12, 0.01, 0.1
    X = np.r_[rng.normal(-1.0, 0.4, 6), rng.normal(1.0, 0.4, 6)][:, None]
    y = np.array(["1"] * 6 + ["7"] * 6)
    x = np.array([[2.0]])
    cert = CERTIFICATES.create("label_flip_linear", q=q, ridge=ridge)
    result = cert.certify(X, y, x, np.array(["7"]))
    radius = int(result.radius[0])
    assert result.predictions[0] == "7" and radius >= 1
    alpha = hat_weights(X, x, ridge)[0]
    y01 = (y == "7").astype(np.float64)
    assert _exact_smoothed_one(alpha, y01, q) > 0.5
    first_success = None
    for r in range(1, n + 1):
        for flipped in itertools.combinations(range(n), r):
            yp = y01.copy()
            yp[list(flipped)] = 1 - yp[list(flipped)]
            if _exact_smoothed_one(alpha, yp, q) < 0.5:
                first_success = r
                break
        if first_success is not None:
            break
    # The bound is for the worst classifier, and a Chernoff bound: for this least-squares
    # classifier the best attack needs two flips more than the radius (radius 2, attack 4).
    assert first_success is not None and radius < first_success <= radius + 2


def test_flip_radius_against_a_direct_computation():
    from scipy.stats import binom

    q, log_error = 0.1, np.log(1e-6)
    radius = flip_radius(log_error, q, 100)
    for r, expect in ((radius, True), (radius + 1, False)):
        # the other side takes clean mass 1e-6 from the largest j down
        mass, budget = 0.0, 1e-6
        for j in range(r, -1, -1):
            take = min(budget, binom.pmf(j, r, q))
            mass += take / binom.pmf(j, r, q) * binom.pmf(j, r, 1 - q)
            budget -= take
        assert bool(mass < 0.5) is expect
    assert chernoff_log_error(np.array([1.0, 1.0]), np.array([0.9, 0.9]), True) <= 0


def test_label_flip_linear_refuses_more_than_two_classes():
    X, y = _blobs()
    with pytest.raises(ValueError, match="certifies binary classifiers; y_train has 3"):
        CERTIFICATES.create("label_flip_linear").certify(X, y, X, y)


# ------------------------------------------------------------------------------ CLI


@pytest.mark.slow
def test_cli_certify_json_and_errors(tmp_path):
    import json

    listed = run_cli("certify", "list")
    assert listed.returncode == 0 and all(n in listed.stdout for n in CERTIFICATES.names())
    got = run_cli(
        "certify",
        "digits",
        "--method",
        "dpa",
        "--partitions",
        "5",
        "--model",
        "knn",
        "--train-rows",
        "0:500",
        "--test-rows",
        "500:600",
        "--json",
        "--out",
        str(tmp_path),
    )
    assert got.returncode == 0, got.stderr
    summary = json.loads(got.stdout)
    assert summary["method"] == "dpa" and summary["train_rows"] == [0, 500]
    assert summary["certified_accuracy"][0]["accuracy"] == summary["clean_accuracy"]
    assert json.loads((tmp_path / "certification.json").read_text()) == summary
    assert (tmp_path / "radii.csv").read_text().splitlines()[0] == "row,label,prediction,radius"
    for args, needle in (
        (["--method", "knn", "--partitions", "3"], "--partitions: certificate 'knn'"),
        (["--method", "nope"], "unknown certificate 'nope'"),
        (["--method", "dpa", "--test-rows", "9"], "--test-rows: expected a row range"),
        (["--method", "dpa", "--features", "pca"], "The 'features' parameter of DPA"),
    ):
        bad = run_cli("certify", "digits", *args, "--out", str(tmp_path / "no"))
        assert bad.returncode == 2 and needle in bad.stderr and len(bad.stderr.splitlines()) == 1
        assert not (tmp_path / "no").exists()


@settings(deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 10**6), st.text(max_size=6))
def test_parse_rows(start, length, junk):
    from poisonlab.cli import _parse_rows

    assert _parse_rows(f"{start}:{start + length}", "--x") == (start, start + length)
    with pytest.raises(ValueError, match="--x: expected"):
        _parse_rows(f"{start + length}:{start}", "--x")
    if ":" not in junk:
        with pytest.raises(ValueError, match="--x: expected a row range"):
            _parse_rows(junk, "--x")


# ------------------------------------------------------------------------------ sphere + slab


def _defender_min_loss(X, signs, n_clean, rho, sides=512):
    """min over ||theta|| <= rho of (1/n_clean) * total hinge loss, by linear programming over
    an inscribed polygon (so the value is at least the true minimum)."""
    from scipy.optimize import linprog

    n, d = X.shape
    angles = 2 * np.pi * np.arange(sides) / sides
    polygon = np.c_[np.cos(angles), np.sin(angles), np.zeros((sides, n))]
    hinge_rows = np.c_[-(signs[:, None] * X), -np.eye(n)]
    result = linprog(
        np.r_[np.zeros(d), np.ones(n) / n_clean],
        A_ub=np.r_[polygon, hinge_rows],
        b_ub=np.r_[np.full(sides, rho * np.cos(np.pi / sides)), -np.ones(n)],
        bounds=[(None, None)] * d + [(0, None)] * n,
    )
    return result.fun


def test_sphere_slab_bound_holds_for_attacks_within_budget_and_not_beyond():
    from poisonlab.certify._sphere_slab import SphereSlab, sphere_slab_upper_bound

    rng = np.random.default_rng(0)
    X = np.r_[rng.normal([-1.0, 0.0], 0.5, (10, 2)), rng.normal([1.0, 0.0], 0.5, (10, 2))]
    signs = np.repeat([-1, 1], 10)
    defence = SphereSlab.fit(X, signs, 1.0)
    epsilon, rho = 0.1, 2.0  # two poisoned points
    bound, X_p, y_p = sphere_slab_upper_bound(X, signs, defence, epsilon, rho)
    assert len(y_p) == 2 and bound < 1 + epsilon  # better than theta = 0
    # Attacks within the budget: the candidate, and 60 random pairs of feasible points
    # (sphere and slab checked), each point on the sphere's surface or inside it.
    attacks = [(X_p, y_p)]
    while len(attacks) < 60:
        pts, labs = [], []
        for _ in range(2):
            i = int(rng.integers(2))
            u = rng.normal(size=2)
            x = defence.centroids[i] + u / np.linalg.norm(u) * defence.radius[i] * rng.uniform()
            v = defence.centroids[i] - defence.centroids[1 - i]
            if abs((x - defence.centroids[i]) @ v) <= defence.slab[i]:
                pts.append(x)
                labs.append(2 * i - 1)
        if len(pts) == 2:
            attacks.append((np.array(pts), np.array(labs)))
    for X_a, y_a in attacks:
        assert _defender_min_loss(np.r_[X, X_a], np.r_[signs, y_a], 20, rho) <= bound + 1e-9
    # At three times the budget (the candidate's points three times over) the loss exceeds it.
    many = _defender_min_loss(np.r_[X, *[X_p] * 3], np.r_[signs, *[y_p] * 3], 20, rho)
    assert many > bound


def test_sphere_slab_bound_with_bias_holds_within_budget_and_not_beyond():
    # One feature and a bias: the defender's (w, b) is 2-D, so the polygon LP is exact enough.
    from poisonlab.certify._sphere_slab import SphereSlab, sphere_slab_upper_bound, with_ones

    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(2.0, 0.6, (10, 1)), rng.normal(3.5, 0.6, (10, 1))]
    signs = np.repeat([-1, 1], 10)
    defence = SphereSlab.fit(X, signs, 1.0)
    epsilon, rho = 0.1, 2.0  # two poisoned points
    bound, X_p, y_p = sphere_slab_upper_bound(X, signs, defence, epsilon, rho, bias=True)
    without, _, _ = sphere_slab_upper_bound(X, signs, defence, epsilon, rho)
    assert bound < without  # both blobs lie right of 0: a bias helps the defender
    attacks = [(X_p, y_p)]
    for _ in range(60):  # random pairs of feasible points (the interval sphere and slab allow)
        i = rng.integers(2, size=2)
        v = np.linalg.norm(defence.centroids[1] - defence.centroids[0])
        half = np.minimum(defence.radius[i], defence.slab[i] / v)
        attacks.append((defence.centroids[i] + rng.uniform(-half, half)[:, None], 2 * i - 1))
    for X_a, y_a in attacks:
        loss = _defender_min_loss(with_ones(np.r_[X, X_a]), np.r_[signs, y_a], 20, rho)
        assert loss <= bound + 1e-9
    many = _defender_min_loss(with_ones(np.r_[X, *[X_p] * 3]), np.r_[signs, *[y_p] * 3], 20, rho)
    assert many > bound


def test_sphere_slab_bound_takes_step_size_and_steps_and_more_steps_never_loosen_it():
    from poisonlab.certify._sphere_slab import SphereSlab, sphere_slab_upper_bound

    rng = np.random.default_rng(0)
    X = np.r_[rng.normal([-1.0, 0.0], 0.5, (10, 2)), rng.normal([1.0, 0.0], 0.5, (10, 2))]
    y = np.repeat(np.array(["a", "b"]), 10)
    settings_ = {"fractions": [0.1], "quantile": 0.7, "bias": True, "eta": 0.1}
    short = CERTIFICATES.create("sphere_slab_bound", min_steps=5, **settings_)
    long = CERTIFICATES.create("sphere_slab_bound", min_steps=400, **settings_)
    few, many = (c.certify(X, y, X[:2], y[:2]).info for c in (short, long))
    assert (few["eta"], few["min_steps"], many["min_steps"]) == (0.1, 5, 400)
    # The bound is the best over the steps, and the first 5 steps are the same in both runs.
    assert many["bounds"][0]["upper_bound"] < few["bounds"][0]["upper_bound"]
    signs = np.repeat([-1, 1], 10)
    direct, _, _ = sphere_slab_upper_bound(
        X, signs, SphereSlab.fit(X, signs, 0.7), 0.1, 2.0, eta=0.1, min_steps=400, bias=True
    )
    assert many["bounds"][0]["upper_bound"] == direct


# ------------------------------------------------------------------------------ two_means


def test_two_means_holds_for_every_flip_set_within_radius_and_falls_just_above():
    # Blobs of three and four; one '1' sits in the '7' blob: 6 of 7 labels agree, d = 5, radius
    # 2 (an odd count leaves no tie between the two namings).
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 0.1, (3, 2)), rng.normal(3, 0.1, (4, 2))]
    y = np.array(["1", "1", "1", "7", "7", "7", "1"])
    X_test = np.array([[0.0, 0.0], [3.0, 3.0]])
    two_means = CERTIFICATES.create("two_means", n_init=1)
    clean = two_means.certify(X, y, X_test, np.array(["1", "7"]))
    assert clean.radius.tolist() == [2, 2] and clean.predictions.tolist() == ["1", "7"]
    changed_at = []
    for size in range(4):
        for flips in itertools.combinations(range(7), size):
            y_p = y.copy()
            y_p[list(flips)] = np.where(y[list(flips)] == "1", "7", "1")
            if len(set(y_p)) < 2:
                continue  # a one-class training set is refused, not mispredicted
            poisoned = two_means.certify(X, y_p, X_test, np.array(["1", "7"]))
            if not np.array_equal(poisoned.predictions, clean.predictions):
                changed_at.append(size)
    assert min(changed_at) == 3  # none within the radius; three flips rename the clusters


def test_two_means_radius_exact_cases():
    from poisonlab.certify._clusters import cluster_assignment_radius

    agree = np.array([0, 0, 1, 1, 1])
    assert cluster_assignment_radius(agree, np.array([0, 0, 1, 1, 1])) == (False, 2)
    assert cluster_assignment_radius(agree, np.array([1, 1, 0, 0, 0])) == (True, 2)
    assert cluster_assignment_radius(agree, np.array([0, 0, 1, 0, 0])) == (False, 0)
    assert cluster_assignment_radius(agree, np.array([1, 0, 0, 0, 1])) == (True, 0)


# ------------------------------------------------------------------------------ common checks

COMMON = {
    "dpa": {"n_partitions": 3, "estimator": OneNN()},
    "finite_aggregation": {"n_partitions": 3, "spread_factor": 2, "estimator": OneNN()},
    "bagging": {"n_models": 20, "bag_size": 5, "estimator": OneNN()},
    "knn": {"n_neighbors": 3},
    "label_flip_linear": {"q": 0.05},
    "sphere_slab_bound": {"fractions": [0.1]},
    "two_means": {"n_init": 2},
}


def _two_blobs():
    X, y = _blobs()
    keep = y != "c"
    return X[keep], y[keep]


def test_every_certificate_has_a_case_threat_model_and_reference():
    assert sorted(COMMON) == CERTIFICATES.names()
    for _, cls in CERTIFICATES.items():
        assert cls.threat_model and cls.reference


@pytest.mark.parametrize(
    ("name", "param"),
    [(n, p) for n in CERTIFICATES.names() for p in CERTIFICATES.get(n)._parameter_constraints],
)
def test_invalid_parameter_is_named(name, param):
    X, y = _two_blobs()
    certificate = CERTIFICATES.create(name, **COMMON[name]).set_params(**{param: object()})
    with pytest.raises(ValueError, match=f"The '{param}' parameter of "):
        certificate.certify(X, y, X, y)


@pytest.mark.parametrize("name", CERTIFICATES.names())
def test_inputs_unchanged_same_result_twice_and_row_order_free(name):
    X, y = _two_blobs()
    X0, y0 = X.copy(), y.copy()
    certificate = CERTIFICATES.create(name, **COMMON[name])
    first = certificate.certify(X, y, X[:5], y[:5])
    assert np.array_equal(X, X0) and np.array_equal(y, y0)
    again = certificate.certify(X, y, X[:5], y[:5])
    assert np.array_equal(first.radius, again.radius) and first.info == again.info
    if name != "bagging":  # bagging's bags are drawn by row index (its bound holds either way)
        perm = np.random.default_rng(0).permutation(len(X))
        shuffled = certificate.certify(X[perm], y[perm], X[:5], y[:5])
        assert np.array_equal(first.radius, shuffled.radius)
        assert np.array_equal(first.predictions, shuffled.predictions)


# ------------------------------------------------------------------------------ feature maps


def test_hog_feature_maps_act_on_each_image_alone():
    from poisonlab.certify import FEATURES

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (3, 28 * 28)).astype(np.uint8)
    for name, width in [("deskew_hog", 1296), ("deskew_hog7", 324)]:
        F = FEATURES[name](X)
        assert F.shape == (3, width)
        # a function of each image alone: the same row whatever else is mapped with it
        np.testing.assert_array_equal(FEATURES[name](X[1:2]), F[1:2])
