"""Kernels computed ahead of use (the lab's start-up, issue 18) and the Gram blocks' gathers:
the values are those computed in place, handed over only for the very same inputs."""

import numpy as np
import pytest
from sklearn.svm import SVC

from poisonlab.experiment.components import load_split
from poisonlab.labs.ahead import lab_split_config, start_lab_kernels
from poisonlab.models import kernels
from poisonlab.models.shared_kernel import SharedKernelSVC


@pytest.fixture(autouse=True)
def _nothing_left_ahead():
    yield
    kernels.discard_ahead()


def _ahead(value, inputs, params=("rbf", "scale")):
    kernels.compute_ahead(params, {"gram": lambda: (inputs, value)})
    kernels.settle_ahead()


def test_taken_once_and_only_for_the_same_arrays_and_parameters():
    X, y = np.ones((3, 2)), np.zeros(3)
    value = np.eye(3)
    _ahead(value, (X, y))
    assert kernels.take_ahead("gram", (X, y), ("rbf", 0.5)) is None  # other parameters
    assert kernels.take_ahead("gram", (X, y), ("rbf", "scale")) is value
    assert kernels.take_ahead("gram", (X, y), ("rbf", "scale")) is None  # given once
    _ahead(value, (X, y))
    assert kernels.take_ahead("gram", (X.copy(), y), ("rbf", "scale")) is None  # equal, not same
    assert kernels.take_ahead("query", (X, y), ("rbf", "scale")) is None  # nothing started


def test_a_failed_computation_gives_none_and_fails_the_steps_after_it():
    def fail():
        raise MemoryError

    kernels.compute_ahead(("rbf", "scale"), {"gram": fail, "query": lambda: ((), 1)})
    kernels.settle_ahead()
    assert kernels.take_ahead("gram", (), ("rbf", "scale")) is None
    assert kernels.take_ahead("query", (), ("rbf", "scale")) is None


def test_shared_kernel_takes_what_the_lab_computed_ahead_and_it_equals_its_own():
    start_lab_kernels(300, 100, memory=None)
    split, _ = load_split(lab_split_config(300, 100))
    ahead = SharedKernelSVC(SVC(random_state=42), split.X_train, groups=split.y_train)
    K_ahead = ahead.query_kernel(split.X_test)
    assert not kernels._AHEAD  # both were taken
    kernels.discard_ahead()
    own = SharedKernelSVC(SVC(random_state=42), split.X_train, groups=split.y_train)
    K_own = own.query_kernel(split.X_test)
    assert ahead.gram is not own.gram and K_ahead is not K_own
    assert np.array_equal(ahead.gram, own.gram)
    assert np.array_equal(K_ahead, K_own) and not K_ahead.flags.writeable


def test_nothing_is_computed_ahead_beyond_the_memory_budget():
    start_lab_kernels(300, 100, memory=2 * 8 * 300**2 - 1)
    assert kernels.take_ahead("gram", (), ("rbf", "scale")) is None
    assert not kernels._AHEAD


def test_gram_blocks_equal_the_gathered_values_for_runs_and_scattered_rows(digits):
    X, y = digits.X[:400], digits.y[:400]
    shared = SharedKernelSVC(SVC(), X, groups=y)
    G = shared.kernel(X)
    threes, fives = np.flatnonzero(y == "3"), np.flatnonzero(y == "5")  # runs of the layout
    mixed = np.sort(np.r_[np.flatnonzero(y == "2"), np.flatnonzero(y == "1")[:7]])  # not a run
    for rows_i in (threes, mixed):
        for rows_j in (fives, mixed):
            assert np.array_equal(shared._block(rows_i, rows_j), G[np.ix_(rows_i, rows_j)])


def test_random_flips_on_the_grouped_layout_predict_as_plain_svc(digits):
    # Flipped rows scattered over every class: blocks of every kind (slices, row gathers,
    # transposed row gathers, single-value gathers) make the pair kernels.
    rng = np.random.default_rng(3)
    X, y, X_test = digits.X[:600], digits.y[:600], digits.X[600:800]
    shared = SharedKernelSVC(SVC(), X, groups=y)
    K_test = shared.query_kernel(X_test)
    for _ in range(3):
        y_poisoned = y.copy()
        flip = rng.choice(len(y), 40, replace=False)
        y_poisoned[flip] = rng.choice(digits.classes, 40)
        expected = SVC().fit(X, y_poisoned).predict(X_test)
        assert np.array_equal(shared.fit(y_poisoned).predict_from_kernel(K_test), expected)
