import numpy as np
import pytest
from sklearn.svm import SVC

from poisonlab.attacks import ATTACKS
from poisonlab.datasets import split_by_ranges
from poisonlab.models.shared_kernel import SharedKernelSVC


def three_classes():
    X = np.arange(9).reshape(9, 1)
    y = np.array(["a", "b", "c", "a", "b", "c", "a", "b", "c"])
    return X, y


def test_uniform_flip_of_everything_changes_every_label():
    X, y = three_classes()
    result = ATTACKS.create("random_flip", budget=9).poison(X, y, random_state=0)
    assert result.poison_indices.tolist() == list(range(9))
    assert np.all(result.y != y)
    assert result.info == {"budget": 9, "transition": "uniform"}
    assert result.X is not X and np.array_equal(result.X, X)


def test_fraction_budget_rounds_half_up():
    X, y = three_classes()
    result = ATTACKS.create("random_flip", budget=0.5).poison(X, y, random_state=1)
    assert len(result.poison_indices) == 5  # 4.5 -> 5
    assert np.count_nonzero(result.y != y) == 5


def test_transition_matrix_decides_which_classes_flip_and_where():
    X, y = three_classes()
    # Classes in np.unique order a, b, c: a -> b always, b never flips, c -> b always.
    T = [[0, 1, 0], [0, 1, 0], [0, 1, 0]]
    result = ATTACKS.create("random_flip", budget=6, transition=T).poison(X, y, random_state=0)
    assert result.poison_indices.tolist() == [0, 2, 3, 5, 6, 8]
    assert result.y.tolist() == ["b"] * 9
    assert result.info["transition"] == "matrix"
    # The diagonal weights the draw: only a and c rows are available.
    with pytest.raises(
        ValueError,
        match=r"'budget' parameter of RandomFlip must be at most 6 \(the training samples of "
        r"classes that the transition matrix flips\); got 7\.",
    ):
        ATTACKS.create("random_flip", budget=7, transition=T).poison(X, y)


def test_noise_model_matrix_with_diagonal_sends_flips_off_diagonal():
    X, y = three_classes()
    T = [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0], [0.5, 0.0, 0.5]]
    result = ATTACKS.create("random_flip", budget=3, transition=T).poison(X, y, random_state=3)
    flipped = result.poison_indices
    assert set(y[flipped]) <= {"a", "c"}
    swap = {"a": "c", "c": "a"}
    assert result.y[flipped].tolist() == [swap[v] for v in y[flipped]]


@pytest.mark.parametrize(
    ("T", "message"),
    [
        ([[0, 1], [1, 0]], r"must be 3x3 \(classes a, b, c, in that order\); got shape \(2, 2\)"),
        ([[0, 1, 0], [0, 0, 1], [1, 0, -1]], "hold finite non-negative probabilities"),
        ([[0, 0.5, 0], [0, 0, 1], [1, 0, 0]], r"rows that sum to 1 .* row sums are 0.5, 1, 1"),
        (np.eye(3), "flip at least one class"),
        ("abc", r"must be None or a 2-D numeric matrix; got 'abc'"),
    ],
)
def test_invalid_transition_is_named(T, message):
    X, y = three_classes()
    with pytest.raises(ValueError, match=r"The 'transition' parameter of RandomFlip .*" + message):
        ATTACKS.create("random_flip", budget=1, transition=T).poison(X, y)


@pytest.mark.slow
def test_random_flips_cost_little_accuracy_until_half_the_labels(mnist):
    """ML 106 set-up: the SVC shrugs off 10% uniform noise; 50% costs several points."""
    split = split_by_ranges(mnist, (0, 2000), (60000, 61000))
    shared = SharedKernelSVC(SVC(random_state=42), split.X_train)
    K_test = shared.query_kernel(split.X_test)

    def accuracy(budget):
        y = (
            ATTACKS.create("random_flip", budget=budget)
            .poison(split.X_train, split.y_train, random_state=0)
            .y
        )
        return np.mean(shared.fit(y).predict_from_kernel(K_test) == split.y_test)

    clean, light, heavy = accuracy(0), accuracy(0.1), accuracy(0.5)
    # Measured: 0.905, 0.910, 0.841 (docs/attacks.md).
    assert abs(clean - light) <= 0.02
    assert 0.03 <= clean - heavy <= 0.15
