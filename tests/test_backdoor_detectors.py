"""spectral_signature, activation_clustering and strip: exact small cases and MNIST backdoors.

The backdoor here is built in the test (a 3x3 white patch in the bottom-right corner, the
poisoned images relabelled as the target), so these tests do not depend on an attack module.
"""

from __future__ import annotations

import numpy as np
import pytest

from poisonlab.defenses import DETECTORS, DetectionResult, evaluate_detection
from poisonlab.defenses._representation import Whitener
from poisonlab.defenses._spectral import minority_side, robust_scale, top_direction


def add_trigger(X: np.ndarray, side: int, value: float) -> np.ndarray:
    """A square of ``value`` pixels in the bottom-right corner of ``side`` x ``side`` images."""
    images = X.astype(np.float64).reshape(len(X), side, side).copy()
    images[:, side - 4 : side - 1, side - 4 : side - 1] = value
    return images.reshape(len(X), side * side)


def backdoor(X, y, *, n_poison, target, side, value, seed=0):
    """Trigger ``n_poison`` random non-target rows and relabel them ``target``."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(np.flatnonzero(y != target), n_poison, replace=False))
    Xp, yp = X.astype(np.float64), y.copy()
    Xp[rows] = add_trigger(X[rows], side, value)
    yp[rows] = target
    return Xp, yp, rows


def two_blobs_with_planted(n=200, n_planted=10, seed=0):
    """Class 'a': a Gaussian blob plus planted points far along one axis; class 'b': a blob."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 5))
    a[:n_planted, 2] += 12.0
    b = rng.normal(size=(n, 5)) + 20.0
    X = np.vstack([a, b])
    y = np.array(["a"] * n + ["b"] * n)
    return X, y, np.arange(n_planted)


# ---------------------------------------------------------------------- spectral signature


def test_top_direction_matches_svd_both_shapes():
    rng = np.random.default_rng(1)
    for shape in [(50, 4), (3, 8)]:
        M = rng.normal(size=shape)
        M -= M.mean(axis=0)
        v = top_direction(M)
        ref = np.linalg.svd(M)[2][0]
        assert abs(abs(v @ ref) - 1) < 1e-10
        assert v[np.argmax(np.abs(v))] > 0
    assert np.array_equal(top_direction(np.zeros((4, 3))), np.zeros(3))


def test_robust_scale_and_minority_side_exact():
    assert robust_scale(np.array([1.0, 2.0, 3.0, 4.0, 100.0])) == pytest.approx(1.4826)
    assert robust_scale(np.array([5.0, 5.0, 5.0])) == 1.0
    assert minority_side(np.array([0.0, 0.0, 0.0, 0.0, 9.0])) == 1.0
    assert minority_side(np.array([0.0, 0.0, 0.0, 0.0, -9.0])) == -1.0


def test_spectral_signature_flags_exactly_the_planted_points():
    X, y, planted = two_blobs_with_planted()
    result = DETECTORS.create("spectral_signature", representation="raw").detect(X, y)
    assert np.array_equal(np.flatnonzero(result.flagged), planted)


def test_spectral_signature_is_centred_per_class():
    # Shifting one class far away changes neither the direction nor the scores.
    X, y, _ = two_blobs_with_planted()
    shifted = X.copy()
    shifted[y == "b"] += 1000.0
    det = DETECTORS.create("spectral_signature", representation="raw")
    a = det.detect(X, y).scores
    b = DETECTORS.create("spectral_signature", representation="raw").detect(shifted, y).scores
    assert np.allclose(a, b)


def test_spectral_signature_needs_labels_to_score(tiny):
    X, y = tiny
    det = DETECTORS.create("spectral_signature").fit(X, y)
    with pytest.raises(ValueError, match="needs y"):
        det.score_samples(X)
    with pytest.raises(ValueError, match="label 'x'"):
        det.score_samples(X[:2], np.array(["x", "1"]))


def test_whitener_whitens_full_rank_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 3)) * [1.0, 10.0, 100.0]
    Z = Whitener().fit(X).transform(X)
    # Each direction's variance becomes v / (v + mean variance): 1/3367, 100/3467, 1e4/13367.
    mean_var = (1 + 100 + 10_000) / 3
    expected = np.array([v / (v + mean_var) for v in (1.0, 100.0, 10_000.0)])
    assert np.allclose(np.sort(Z.var(axis=0)), expected, rtol=0.05)


# ---------------------------------------------------------------------- activation clustering


def test_activation_clustering_flags_a_separate_small_cluster():
    X, y, planted = two_blobs_with_planted(n_planted=20)
    det = DETECTORS.create("activation_clustering", representation="raw", random_state=0)
    result = det.detect(X, y)
    assert np.array_equal(np.flatnonzero(result.flagged), planted)
    assert result.info["suspicious_classes"] == ["a"]
    assert result.info["small_cluster_fraction"]["a"] == pytest.approx(0.1)


def test_activation_clustering_leaves_unimodal_classes_alone():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(150, 4)), rng.normal(size=(150, 4)) + 8])
    y = np.array(["a"] * 150 + ["b"] * 150)
    result = DETECTORS.create("activation_clustering", representation="raw").detect(X, y)
    assert not result.flagged.any()


# ---------------------------------------------------------------------- STRIP


def test_strip_scores_triggered_inputs_higher_on_digits(digits):
    X, y = digits.X[:1200], digits.y[:1200]
    Xp, yp, _ = backdoor(X, y, n_poison=60, target="0", side=8, value=16.0)
    X_test = digits.X[1200:1500].astype(np.float64)
    triggered = add_trigger(X_test[digits.y[1200:1500] != "0"], 8, 16.0)
    det = DETECTORS.create("strip", n_blends=16, random_state=0).fit(Xp, yp)
    scores = det.score_samples(np.vstack([X_test, triggered]))
    flagged, threshold = det.flag(scores)
    truth = np.arange(len(X_test), len(scores))
    m = evaluate_detection(DetectionResult(scores, flagged, threshold), truth)
    assert m["roc_auc"] > 0.8
    assert m["precision"] > 0.8


def test_strip_rejects_a_model_without_probabilities(tiny):
    from sklearn.svm import SVC

    X, y = tiny
    with pytest.raises(ValueError, match="'estimator' parameter of Strip"):
        DETECTORS.create("strip", estimator=SVC()).fit(X, y)


def test_strip_scores_do_not_depend_on_batching(tiny):
    X, y = tiny
    det = DETECTORS.create("strip", n_blends=4, random_state=0).fit(X, y)
    whole = det.score_samples(X)
    assert np.array_equal(det.score_samples(X[:10]), whole[:10])


# ---------------------------------------------------------------------- MNIST backdoors


@pytest.fixture(scope="module")
def mnist_backdoor(mnist):
    X, y = mnist.X[:2000], mnist.y[:2000]
    return backdoor(X, y, n_poison=100, target="0", side=28, value=255.0)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["spectral_signature", "activation_clustering"])
def test_backdoor_ranked_first_on_mnist(name, mnist_backdoor):
    Xp, yp, rows = mnist_backdoor
    result = DETECTORS.create(name, random_state=0).detect(Xp, yp)
    assert evaluate_detection(result, rows)["roc_auc"] > 0.95


@pytest.mark.slow
def test_spectral_signature_default_rule_on_a_small_backdoor(mnist):
    # 30 poisoned among ~220 '0's: a minority, as the method assumes (at 100 of ~290 the
    # robust z-scores of the poisoned rows fall below 3.5; see docs/defenses.md).
    Xp, yp, rows = backdoor(
        mnist.X[:2000], mnist.y[:2000], n_poison=30, target="0", side=28, value=255.0
    )
    result = DETECTORS.create("spectral_signature", random_state=0).detect(Xp, yp)
    assert evaluate_detection(result, rows)["f1"] > 0.9


@pytest.mark.slow
def test_activation_clustering_default_rule_on_mnist(mnist_backdoor):
    Xp, yp, rows = mnist_backdoor
    result = DETECTORS.create("activation_clustering", random_state=0).detect(Xp, yp)
    assert evaluate_detection(result, rows)["f1"] > 0.9
    assert result.info["suspicious_classes"] == ["0"]


@pytest.mark.slow
def test_strip_on_mnist(mnist, mnist_backdoor):
    Xp, yp, _ = mnist_backdoor
    X_test, y_test = mnist.X[60000:60500].astype(np.float64), mnist.y[60000:60500]
    triggered = add_trigger(X_test[y_test != "0"], 28, 255.0)
    det = DETECTORS.create("strip", random_state=0).fit(Xp, yp)
    scores = det.score_samples(np.vstack([X_test, triggered]))
    flagged, threshold = det.flag(scores)
    m = evaluate_detection(
        DetectionResult(scores, flagged, threshold), np.arange(len(X_test), len(scores))
    )
    assert m["roc_auc"] > 0.85 and m["precision"] > 0.85


def test_strip_linear_shortcut_equals_blending_inputs(tiny):
    # MinMaxScaler(clip=True) is not affine, so that model takes the plain path (blend, then
    # predict); on blends of training rows nothing is clipped, so both must agree.
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    X, y = tiny
    fast = DETECTORS.create("strip", n_blends=6, random_state=0).fit(X, y)
    plain_model = make_pipeline(MinMaxScaler(clip=True), LogisticRegression(max_iter=100, tol=1e-3))
    plain = DETECTORS.create("strip", estimator=plain_model, n_blends=6, random_state=0).fit(X, y)
    assert fast.decision_ is not None and plain.decision_ is None
    assert np.allclose(fast.score_samples(X), plain.score_samples(X), atol=1e-9)


@pytest.mark.slow
def test_activation_clustering_against_the_backdoor_attack(mnist):
    from poisonlab.attacks import ATTACKS

    X, y = mnist.X[:2000], mnist.y[:2000]
    attack = ATTACKS.create("backdoor", target="0", budget=50, trigger="pattern", random_state=0)
    poisoned = attack.poison(X, y)
    result = DETECTORS.create("activation_clustering", random_state=0).detect(
        poisoned.X, poisoned.y
    )
    m = evaluate_detection(result, poisoned.poison_indices)
    assert m["precision"] == 1.0 and m["recall"] == 1.0
