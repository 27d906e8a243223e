"""Detectors that use several threads give the same result for any thread count."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from threadpoolctl import threadpool_limits

from poisonlab.defenses import DETECTORS
from poisonlab.defenses._neighbours import OrderedNeighbours


def brute_force(Z, Q, k, exclude_self):
    """Every distance, sorted by (squared distance, index): exact on integer points."""
    from scipy.spatial.distance import cdist

    sq = cdist(Q, Z, "sqeuclidean")
    if exclude_self:
        np.fill_diagonal(sq, np.inf)
    index = np.broadcast_to(np.arange(len(Z)), sq.shape)
    return np.lexsort((index, sq), axis=1)[:, :k]


@settings(max_examples=30, deadline=None)
@given(
    points=arrays(
        np.float64,
        st.tuples(st.integers(3, 40), st.integers(1, 3)),
        elements=st.integers(-2, 2).map(float),
    ),
    k=st.integers(1, 8),
    exclude_self=st.booleans(),
)
def test_ties_go_to_the_lower_index(points, k, exclude_self):
    # Integer points in a small box: distance ties and duplicates everywhere.
    k = min(k, len(points) - 1)
    got = OrderedNeighbours(points).kneighbors(points, k, exclude_self=exclude_self)
    np.testing.assert_array_equal(got, brute_force(points, points, k, exclude_self))


def test_more_duplicates_than_candidates():
    # 30 copies of one point: the search's first candidates are all ties, so it must widen.
    Z = np.r_[np.zeros((30, 2)), np.ones((5, 2))]
    got = OrderedNeighbours(Z).kneighbors(Z, 3, exclude_self=True)
    assert got[29].tolist() == [0, 1, 2]
    assert got[0].tolist() == [1, 2, 3]
    assert got[30].tolist() == [31, 32, 33]


def test_same_answer_for_any_thread_count():
    # digits' integer pixels: the case where scikit-learn's own tie order followed its threads.
    from sklearn.datasets import load_digits

    X = load_digits().data
    index = OrderedNeighbours(X)
    answers = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="openmp"):
            answers.append(index.kneighbors(X, 10, exclude_self=True))
    np.testing.assert_array_equal(answers[0], answers[1])
    np.testing.assert_array_equal(answers[0], brute_force(X, X, 10, True))


@pytest.mark.parametrize("threads", [1, 2])
def test_knn_label_scores_do_not_depend_on_threads(threads, monkeypatch):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = X[:600], y[:600].copy()
    y[:60] = (y[:60] + 1) % 10
    reference = DETECTORS.create("knn_label", n_components=None).fit(X, y).score_samples(X, y)
    # The detector sizes its search to the free cores; here it is told how many there are.
    monkeypatch.setattr("poisonlab.defenses._one_thread.free_threads", lambda: threads)
    detector = DETECTORS.create("knn_label", n_components=None).fit(X, y)
    np.testing.assert_array_equal(detector.score_samples(X, y), reference)


def test_free_threads_follows_the_callers_limit():
    import os

    from poisonlab.defenses._one_thread import free_threads

    cores = len(os.sched_getaffinity(0))
    with threadpool_limits(limits=cores, user_api="openmp"):
        assert free_threads() == cores
    with threadpool_limits(limits=1, user_api="openmp"):
        assert free_threads() == 1  # the runner's one thread per run


@pytest.mark.parametrize("threads", [1, 2])
def test_confident_learning_folds_side_by_side_equal_cross_val_predict(threads, monkeypatch):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from poisonlab.defenses._reference_model import default_estimator

    X, y = load_digits(return_X_y=True)
    X, y = X[:500], y[:500]
    monkeypatch.setattr("poisonlab.defenses._confident_learning.free_threads", lambda: threads)
    detector = DETECTORS.create("confident_learning", random_state=0)
    with threadpool_limits(limits=1, user_api="blas"):  # as fit runs it
        got = detector._out_of_fold_probabilities(X, y, 7, 11)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=7)
    with threadpool_limits(limits=1):
        expected = cross_val_predict(
            default_estimator(11, X.shape[1]), X, y, cv=folds, method="predict_proba"
        )
    np.testing.assert_array_equal(got, expected)
