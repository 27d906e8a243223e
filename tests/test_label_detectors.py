"""Exact small cases for the label-poisoning detectors (issue 4) and short real-data checks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from poisonlab.defenses import DETECTORS


def two_class_counts(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.array(["a"] * a + ["b"] * b)
    return np.arange(len(y), dtype=float)[:, None], y


# ----------------------------------------------------------------------------- label_stats


def test_label_stats_goodness_of_fit_exact():
    X, y = two_class_counts(30, 10)
    result = DETECTORS.create("label_stats").detect(X, y)
    info = result.info
    # expected 20 each: chi2 = 100/20 + 100/20 = 10; residual 10 / sqrt(40 * 0.5 * 0.5)
    assert info["statistic"] == pytest.approx(10.0)
    assert info["p_value"] == pytest.approx(chi2.sf(10.0, 1))
    assert info["residuals"] == pytest.approx([10 / np.sqrt(10), -10 / np.sqrt(10)])
    assert info["grown"] == ["a"] and info["shrunk"] == ["b"]
    assert info["excess"].tolist() == [10.0, -10.0]
    assert result.flagged.tolist() == [True] * 30 + [False] * 10


def test_label_stats_given_counts_and_no_shift():
    X, y = two_class_counts(30, 10)
    result = DETECTORS.create("label_stats", reference={"a": 3, "b": 1}).detect(X, y)
    assert result.info["statistic"] == pytest.approx(0.0)
    assert result.info["grown"] == [] and not result.flagged.any()
    assert result.threshold == float("inf")


def test_label_stats_trusted_sample_is_a_homogeneity_test():
    from scipy.stats import chi2_contingency

    X, y = two_class_counts(30, 10)
    trusted = ["a"] * 10 + ["b"] * 10
    info = DETECTORS.create("label_stats", reference=trusted).detect(X, y).info
    stat, p, _, _ = chi2_contingency([[30, 10], [10, 10]], correction=False)
    assert info["test"] == "homogeneity"
    assert info["statistic"] == pytest.approx(stat) and info["p_value"] == pytest.approx(p)
    assert info["residuals"][0] == pytest.approx(-info["residuals"][1])


@pytest.mark.parametrize(
    ("reference", "message"),
    [({"a": 1}, "lacks classes"), ({"a": 1, "b": 0}, "count 0"), (["a", "c"], "absent")],
)
def test_label_stats_bad_reference_is_named(reference, message):
    X, y = two_class_counts(3, 2)
    with pytest.raises(ValueError, match=f"The 'reference' parameter of LabelStats.*{message}"):
        DETECTORS.create("label_stats", reference=reference).fit(X, y)


# ------------------------------------------------------------------------------- knn_label


def line_with_one_flip():
    """Points 0..4 labelled 'a', 10..14 labelled 'b'; the point at 2 carries 'b' (a flip)."""
    X = np.array([0, 1, 2, 3, 4, 10, 11, 12, 13, 14], dtype=float)[:, None]
    y = np.array(["a", "a", "b", "a", "a", "b", "b", "b", "b", "b"])
    return X, y


def test_knn_label_flags_and_relabels_the_flip():
    X, y = line_with_one_flip()
    detector = DETECTORS.create("knn_label", n_neighbors=4, n_components=None, action="relabel")
    result = detector.detect(X, y)
    # row 2's 4 neighbours (1, 3, 0, 4) are all 'a': score 1; row 1's (0, 2, 3, 4) hold one
    # 'b' (the flip itself): score 1/4, below the confidence 0.5.
    assert result.scores[2] == 1.0 and result.scores[1] == 0.25
    assert np.flatnonzero(result.flagged).tolist() == [2]
    assert result.info["suggested_labels"][2] == "a"
    X_out, y_out = detector.fit_resample(X, y)
    assert y_out.tolist() == ["a"] * 5 + ["b"] * 5 and np.array_equal(X_out, X)


def test_knn_label_suspect_labels_restrict_flags():
    X, y = line_with_one_flip()
    result = DETECTORS.create(
        "knn_label", n_neighbors=4, n_components=None, suspect_labels=["a"]
    ).detect(X, y)
    assert result.scores[2] == 0.0 and not result.flagged.any()


def test_knn_label_scores_new_points_against_the_training_set():
    X, y = line_with_one_flip()
    detector = DETECTORS.create("knn_label", n_neighbors=3, n_components=None).fit(X, y)
    scores = detector.score_samples(np.array([[1.0], [12.0]]), np.array(["b", "b"]))
    assert scores.tolist() == [2 / 3, 0.0]


def test_knn_label_too_many_neighbours_is_named():
    X, y = line_with_one_flip()
    with pytest.raises(ValueError, match=r"'n_neighbors' parameter of KNNLabel.*got 10\."):
        DETECTORS.create("knn_label", n_neighbors=10).fit(X, y)


# -------------------------------------------------------------------------------- outliers


@pytest.mark.parametrize("method", ["both", "isolation_forest", "lof"])
def test_outliers_find_the_far_point_of_a_class(method):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (40, 2)), rng.normal(20, 1, (40, 2))])
    X[5] = [8.0, 8.0]  # far from the rest of class 'a'
    y = np.array(["a"] * 40 + ["b"] * 40)
    result = DETECTORS.create("outliers", method=method, n_components=None, random_state=0).detect(
        X, y
    )
    assert np.argmax(result.scores) == 5 and result.flagged[5]


def test_outliers_scores_new_points_with_the_class_model():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (30, 2)), rng.normal(20, 1, (30, 2))])
    y = np.array(["a"] * 30 + ["b"] * 30)
    detector = DETECTORS.create("outliers", method="lof", n_components=None).fit(X, y)
    near, far = detector.score_samples(np.array([[0.0, 0.0], [20.0, 20.0]]), np.array(["a", "a"]))
    assert far > 3 > near
