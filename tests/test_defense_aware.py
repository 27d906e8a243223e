"""min_max and kkt: points inside the defenses' feasible sets, exact small cases."""

from __future__ import annotations

import numpy as np
import pytest

from poisonlab.attacks import ATTACKS
from poisonlab.attacks._defense_aware import FeasibleSet
from poisonlab.defenses import DETECTORS


def two_blobs(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(-1, 0.5, (n, 2)), rng.normal(1, 0.5, (n, 2))])
    return X, np.array(["a"] * n + ["b"] * n)


def test_sphere_feasible_minimum_is_the_closed_form():
    X, y = two_blobs()
    signs = np.where(y == "b", 1.0, -1.0)
    feasible = FeasibleSet(X, signs, ["sphere_filter"], 90.0, (-10.0, 10.0))
    sphere = DETECTORS.create("sphere_filter", percentile=90.0).fit(X, signs)
    assert np.allclose(feasible.radii["sphere_filter"], sphere.radii_)  # the detector's set
    c = np.array([3.0, -4.0])
    x = feasible.minimize_linear(c, 1.0)
    # min c.x over the ball ||x - mu|| <= r is mu - r c / ||c||.
    # (The attack keeps 1e-5 inside every threshold.)
    expected = sphere.centroids_[1] - sphere.radii_[1] * (1 - 1e-5) * c / 5.0
    np.testing.assert_allclose(x, expected, atol=2e-5)


def test_slab_and_box_bound_the_minimum():
    X, y = two_blobs()
    signs = np.where(y == "b", 1.0, -1.0)
    feasible = FeasibleSet(X, signs, ["slab_filter"], 90.0, (-3.0, 3.0))
    slab = DETECTORS.create("slab_filter", percentile=90.0).fit(X, signs)
    x = feasible.minimize_linear(np.array([1.0, 1.0]), -1.0)
    offset = slab.directions_[0] @ (x - slab.centroids_[0])
    assert abs(offset) <= slab.radii_[0]
    # The slab's direction is about (-2, -2): c = (1, 1) pushes x to the slab's far face,
    # and along the face the box stops it.
    assert offset == pytest.approx(slab.radii_[0], rel=1e-4)
    assert np.isclose(np.abs(x), 3.0, atol=1e-6).any()


@pytest.mark.parametrize("name", ["min_max", "kkt", "influence"])
@pytest.mark.parametrize("defense", ["sphere_filter", "slab_filter", "svd_filter"])
def test_points_pass_the_defense_fitted_on_clean_data(name, defense, tiny):
    X, y = tiny
    keep = np.isin(y, ["1", "7"])
    X, y = X[keep].astype(float), y[keep]
    params = {"max_iter": 3} if name == "influence" else {}
    result = ATTACKS.create(name, budget=5, defense=defense, percentile=90.0, **params).poison(X, y)
    detector = DETECTORS.create(defense, percentile=90.0).fit(X, y)
    scores = detector.score_samples(result.X[len(X) :], result.y[len(X) :])
    assert scores.max() <= 1.0
    assert result.X[len(X) :].min() >= X.min() and result.X[len(X) :].max() <= X.max()


def test_min_max_adds_the_smallest_margin_point_each_time():
    from sklearn.svm import SVC

    X, y = two_blobs()
    result = ATTACKS.create("min_max", budget=2, defense="sphere_filter", box=(-9.0, 9.0)).poison(
        X, y
    )
    signs = np.where(y == "b", 1.0, -1.0)
    model = SVC(kernel="linear", C=1.0).fit(X, signs)
    w, b = model.coef_[0], model.intercept_[0]
    sphere = DETECTORS.create("sphere_filter").fit(X, signs)
    # The first point: for each label s, mu_s - r_s s w / ||w||; the label with the smaller
    # margin wins.
    candidates = {
        s: sphere.centroids_[k] - sphere.radii_[k] * s * w / np.linalg.norm(w)
        for k, s in enumerate((-1.0, 1.0))
    }
    margins = {s: s * (w @ x + b) for s, x in candidates.items()}
    s = min(margins, key=margins.get)
    np.testing.assert_allclose(result.X[len(X)], candidates[s], atol=1e-4)
    assert result.y[len(X)] == ("b" if s > 0 else "a")


def test_kkt_concentrates_points_at_two_locations_at_most(tiny):
    X, y = tiny
    result = ATTACKS.create("kkt", classes=("1", "7"), budget=6).poison(X, y)
    assert result.info["locations"] <= 2
    assert len(result.poison_indices) == 6


def test_unknown_defense_is_named(tiny):
    X, y = tiny
    with pytest.raises(ValueError, match="The 'defense' parameter of MinMax must be None or a"):
        ATTACKS.create("min_max", classes=("1", "7"), defense="knn_label").poison(X, y)


def test_influence_steps_raise_the_attackers_loss():
    X, y = two_blobs(30, seed=1)
    make = lambda n: ATTACKS.create(  # noqa: E731
        "influence", budget=6, defense="sphere_filter", box=(-4.0, 4.0), max_iter=n
    )
    start = make(0).poison(X, y)
    moved = make(10).poison(X, y)
    assert moved.info["attack_loss"] > 1.05 * start.info["attack_loss"]
    assert moved.info["locations"] <= 2 and len(moved.poison_indices) == 6
