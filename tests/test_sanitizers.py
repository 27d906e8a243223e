"""Sphere, slab, loss and SVD sanitizers (Koh, Steinhardt & Liang 2022): exact small cases."""

from __future__ import annotations

import numpy as np
import pytest

from poisonlab.defenses import DETECTORS

# 1-D: class 'a' at -1 and 1 (centroid 0), class 'b' at 9, 10, 11, 14, 6 (centroid 10).
X1 = np.array([[-1.0], [1.0], [9.0], [10.0], [11.0], [14.0], [6.0]])
Y1 = np.array(["a", "a", "b", "b", "b", "b", "b"])


def test_sphere_distances_over_the_class_median():
    result = DETECTORS.create("sphere_filter", percentile=50).detect(X1, Y1)
    # a: distances 1, 1 (radius 1); b: 1, 0, 1, 4, 4 (median 1).
    assert result.scores.tolist() == [1, 1, 1, 0, 1, 4, 4]
    assert result.flagged.tolist() == [False] * 5 + [True, True]


def test_slab_projects_on_the_line_between_centroids():
    detector = DETECTORS.create("slab_filter", percentile=50)
    result = detector.detect(X1, Y1)
    # b: |(x - 10) * (10 - 0)| = 10, 0, 10, 40, 40, radius 10; a: |x * (0 - 10)| = 10, 10.
    assert detector.feasible_radii() == {"a": 10.0, "b": 10.0}
    assert result.scores.tolist() == [1, 1, 1, 0, 1, 4, 4]
    assert result.flagged.sum() == 2


def test_slab_ignores_offsets_across_the_line():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [12.0, 0.0], [11.0, 50.0], [11.0, -50.0]])
    y = np.array(["a", "a", "b", "b", "b", "b"])
    slab = DETECTORS.create("slab_filter", percentile=100).detect(X, y)
    sphere = DETECTORS.create("sphere_filter", percentile=100).detect(X, y)
    # Centroids (1, 0) and (11, 0): the far points (11, +-50) lie across the line through them,
    # so the slab scores them 0 while the sphere gives them the largest distance.
    assert slab.scores[4:].tolist() == [0.0, 0.0]
    assert sphere.scores[4] == sphere.scores[5] == sphere.scores.max() == 1.0


def test_multiclass_slab_uses_the_mean_of_the_other_centroids():
    X = np.array([[0.0], [2.0], [10.0], [12.0], [20.0], [22.0]])
    y = np.array(["a", "a", "b", "b", "c", "c"])
    detector = DETECTORS.create("slab_filter").fit(X, y)
    # centroids 1, 11, 21: the other centroids' means are 16, 11, 6.
    assert detector.directions_[:, 0].tolist() == [-15.0, 0.0, 15.0]


def test_svd_residual_outside_the_top_subspace():
    X = np.array([[3, 0, 0], [2, 0, 0], [4, 0, 0], [0, 3, 0], [0, 2, 0], [0, 0, 0.5]], dtype=float)
    y = np.array(["a", "a", "a", "b", "b", "b"])
    detector = DETECTORS.create("svd_filter", n_components=2, percentile=100)
    result = detector.detect(X, y)
    # The top two directions are the x and y axes; only the last point leaves their plane.
    assert detector.feasible_radii() == {"a": 0.0, "b": 0.5}
    assert result.scores[3:].tolist() == [0.0, 0.0, 1.0]
    assert not result.flagged.any()
    flagged = DETECTORS.create("svd_filter", n_components=2, threshold=0.5).detect(X, y).flagged
    assert flagged.tolist() == [False] * 5 + [True]


@pytest.mark.parametrize("loss", ["hinge", "log"])
def test_loss_filter_scores_the_model_loss(loss, tiny):
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    X, y = tiny
    keep = np.isin(y, ["1", "7"])
    X, y = X[keep], y[keep].copy()
    y[0] = "7" if y[0] == "1" else "1"  # one wrong label
    detector = DETECTORS.create("loss_filter", loss=loss, random_state=0)
    result = detector.detect(X, y)
    model = detector.model_
    if loss == "hinge":
        assert isinstance(model, LinearSVC)
        signs = np.where(y == "7", 1.0, -1.0)
        beta = np.maximum(0.0, 1.0 - signs * model.decision_function(X))
    else:
        assert isinstance(model, LogisticRegression)
        beta = -np.log(model.predict_proba(X)[np.arange(len(y)), (y == "7").astype(int)])
    radii = detector.feasible_radii()
    expected = beta / np.where(y == "7", radii["7"], radii["1"])
    np.testing.assert_allclose(result.scores, expected, rtol=1e-12)
    assert np.argmax(result.scores) == 0


def test_loss_filter_multiclass_hinge(tiny):
    X, y = tiny
    detector = DETECTORS.create("loss_filter", random_state=0).fit(X, y)
    f = detector.model_.decision_function(X)
    own = f[np.arange(len(y)), np.searchsorted(detector.classes_, y)]
    rival = np.where(detector.classes_[None, :] == y[:, None], -np.inf, f).max(axis=1)
    np.testing.assert_allclose(
        detector._measure(X.astype(float), y), np.maximum(0.0, 1 + rival - own)
    )


def test_default_rule_flags_about_the_tail_of_each_class(tiny):
    X, y = tiny
    result = DETECTORS.create("sphere_filter").detect(X, y)
    for c in np.unique(y):
        n = int((y == c).sum())
        assert result.flagged[y == c].sum() == int(np.sum(result.scores[y == c] > 1.0))
        assert result.flagged[y == c].sum() <= np.ceil(0.05 * n)


def test_unknown_label_at_scoring_is_named():
    detector = DETECTORS.create("sphere_filter").fit(X1, Y1)
    with pytest.raises(ValueError, match="holds the label 'z'"):
        detector.score_samples(X1[:1], np.array(["z"]))
