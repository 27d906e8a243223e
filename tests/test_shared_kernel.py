import numpy as np
import pytest
from sklearn.svm import SVC

from poisonlab.models.shared_kernel import SharedKernelSVC, fast_path_available, supports


def test_fast_libsvm_binding_is_used():
    # If a scikit-learn upgrade changes its private binding, the fallback keeps results right
    # but slow; this test makes that visible.
    assert fast_path_available()


@pytest.mark.parametrize(("kernel", "C"), [("rbf", 1.0), ("rbf", 10.0), ("linear", 0.01)])
def test_predictions_equal_plain_svc(digits, kernel, C):
    rng = np.random.default_rng(0)
    X, y = digits.X[:900], digits.y[:900]
    X_test = digits.X[900:]
    shared = SharedKernelSVC(SVC(kernel=kernel, C=C), X)
    K_test = shared.query_kernel(X_test)
    for _ in range(4):
        y_poisoned = y.copy()
        flip = rng.choice(len(y), 90, replace=False)
        y_poisoned[flip] = rng.choice(digits.classes, 90)
        rows = np.sort(rng.choice(len(y), 800, replace=False))
        expected = SVC(kernel=kernel, C=C).fit(X[rows], y_poisoned[rows]).predict(X_test)
        model = shared.fit(y_poisoned, rows)
        assert np.array_equal(model.predict_from_kernel(K_test), expected)
        assert np.array_equal(model.predict(X_test), expected)


@pytest.mark.parametrize("kernel", ["rbf", "linear"])
def test_blocks_computed_on_demand_predict_as_the_whole_gram(digits, kernel):
    # A memory limit below the whole Gram matrix makes each class-pair block from its rows;
    # predictions must equal plain SVC fits all the same, and the cache stays within the limit.
    rng = np.random.default_rng(1)
    X, y, X_test = digits.X[:700], digits.y[:700], digits.X[700:1000]
    limit = 8 * 700**2 // 3
    shared = SharedKernelSVC(SVC(kernel=kernel), X, memory_limit=limit)
    assert shared.gram is None
    K_test = shared.query_kernel(X_test)
    for _ in range(3):
        y_poisoned = y.copy()
        flip = rng.choice(len(y), 70, replace=False)
        y_poisoned[flip] = rng.choice(digits.classes, 70)
        rows = np.sort(rng.choice(len(y), 650, replace=False))
        expected = SVC(kernel=kernel).fit(X[rows], y_poisoned[rows]).predict(X_test)
        assert np.array_equal(shared.fit(y_poisoned, rows).predict_from_kernel(K_test), expected)
        assert shared._block_bytes <= limit


def test_unchanged_pairs_are_reused(digits):
    X, y = digits.X[:500], digits.y[:500]
    shared = SharedKernelSVC(SVC(), X)
    shared.fit(y)
    assert len(shared._pairs) == 45
    y2 = y.copy()
    y2[np.flatnonzero(y == "1")[:5]] = "2"
    shared.fit(y2)
    assert len(shared._pairs) == 45 + 17  # only pairs touching '1' or '2' are refitted


def test_supports():
    assert supports(SVC()) and supports(SVC(kernel="linear"))
    assert not supports(SVC(kernel="poly")) and not supports(SVC(class_weight="balanced"))
    with pytest.raises(ValueError, match="SharedKernelSVC needs an SVC"):
        SharedKernelSVC(SVC(kernel="sigmoid"), np.zeros((4, 2)))


def test_threads_fit_each_pair_once(digits, monkeypatch):
    # Several threads fitting the same labels: every pair is fitted by one of them, the others
    # wait for its model (before the lock, 8 to 12 of the lab's pairs were fitted twice).
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from poisonlab.models import shared_kernel

    fitted = []
    fit_binary = shared_kernel.fit_binary
    gate = threading.Barrier(4)

    def counted(gram, labels, params):
        fitted.append(len(labels))
        return fit_binary(gram, labels, params)

    monkeypatch.setattr(shared_kernel, "fit_binary", counted)
    X, y = digits.X[:400], digits.y[:400]
    shared = SharedKernelSVC(SVC(), X)

    def fit():
        gate.wait()  # all four start together
        return shared.fit(y).predict(X[:50])

    with ThreadPoolExecutor(max_workers=4) as pool:
        predictions = list(pool.map(lambda _: fit(), range(4)))
    assert len(fitted) == 45  # digits' 10 classes: 45 pairs, each fitted once
    assert all(np.array_equal(p, predictions[0]) for p in predictions)


def test_gram_laid_out_by_groups_slices_blocks_and_predicts_the_same(digits):
    # Rows grouped by their clean labels: a class left whole is a slice of the Gram matrix; a
    # class that gained flipped rows is gathered; predictions equal plain SVC fits either way.
    X, y, X_test = digits.X[:600], digits.y[:600], digits.X[600:800]
    shared = SharedKernelSVC(SVC(), X, groups=y)
    K_test = shared.query_kernel(X_test)
    for n in (0, 10, 40):
        y_n = y.copy()
        y_n[np.flatnonzero(y == "1")[:n]] = "2"
        expected = SVC().fit(X, y_n).predict(X_test)
        assert np.array_equal(shared.fit(y_n).predict_from_kernel(K_test), expected)
    threes = np.flatnonzero(y == "3")
    assert np.shares_memory(shared._block(threes, threes), shared.gram)
    twos = np.flatnonzero((y == "2") | np.isin(np.arange(600), np.flatnonzero(y == "1")[:40]))
    assert not np.shares_memory(shared._block(twos, threes), shared.gram)
