import numpy as np
import pytest
from sklearn.svm import SVC

from poisonlab.attacks import ATTACKS
from poisonlab.datasets import split_by_ranges


def image_data(n=6, side=4, dtype=np.uint8):
    """n images of side x side, pixel value = row index of the sample, labels a, b, a, b..."""
    X = np.repeat(np.arange(n, dtype=dtype)[:, None], side * side, axis=1)
    y = np.array(["a", "b"] * (n // 2))
    return X, y


def test_patch_stamps_a_corner_square_and_relabels():
    X, y = image_data()
    attack = ATTACKS.create("backdoor", target="a", budget=3, size=2, image_shape=(4, 4), value=200)
    result = attack.poison(X, y, random_state=0)
    # Every 'b' row (1, 3, 5) is poisoned: the budget equals the candidates.
    assert result.poison_indices.tolist() == [1, 3, 5]
    assert result.y.tolist() == ["a"] * 6
    image = result.X[3].reshape(4, 4)
    assert image.tolist() == [[3, 3, 3, 3], [3, 3, 3, 3], [3, 3, 200, 200], [3, 3, 200, 200]]
    assert result.X.dtype == np.uint8
    assert np.array_equal(result.X[[0, 2, 4]], X[[0, 2, 4]])
    assert result.info == {
        "budget": 3,
        "target": "a",
        "trigger": "patch",
        "trigger_features": [10, 11, 14, 15],
    }


def test_pattern_is_a_checkerboard_of_max_and_min_top_left():
    X, y = image_data()
    attack = ATTACKS.create(
        "backdoor",
        target="a",
        budget=1,
        trigger="pattern",
        size=3,
        position="top_left",
        image_shape=(4, 4),
    )
    result = attack.poison(X, y, random_state=0)
    (row,) = result.poison_indices
    # Default value = training max (5), dark pixels = training min (0).
    assert result.X[row].reshape(4, 4)[:3, :3].tolist() == [[5, 0, 5], [0, 5, 0], [5, 0, 5]]


def test_blend_mixes_with_the_key_and_rounds_integers():
    X, y = image_data(side=2)
    key = np.array([[10, 20], [30, 40]])
    attack = ATTACKS.create(
        "backdoor",
        target="b",
        budget=1,
        trigger="blend",
        alpha=0.5,
        pattern=key,
        image_shape=(2, 2),
    )
    result = attack.poison(X, y, random_state=0)
    (row,) = result.poison_indices
    # (1 - 0.5) * x + 0.5 * key, rounded half to even as np.rint does
    expected = np.rint(0.5 * X[row].astype(float) + 0.5 * key.ravel()).astype(np.uint8)
    assert np.array_equal(result.X[row], expected)
    assert attack.apply_trigger(np.array([[0, 0, 0, 0]], dtype=np.uint8)).tolist() == [
        [5, 10, 15, 20]
    ]


def test_features_trigger_on_tabular_data_and_float_dtype():
    X = np.array([[0.5, 1.0, -2.0], [0.1, 3.0, 4.0], [0.2, 2.0, 1.0], [0.3, 0.0, 0.0]])
    y = np.array([0, 1, 0, 1])
    attack = ATTACKS.create("backdoor", target=1, budget=2, trigger="features", features=[0, 2])
    result = attack.poison(X, y, random_state=0)
    assert result.poison_indices.tolist() == [0, 2]
    # value=None: each feature's training maximum (0.5 and 4.0)
    assert result.X[[0, 2]].tolist() == [[0.5, 1.0, 4.0], [0.5, 2.0, 4.0]]
    assert result.y.tolist() == [1, 1, 1, 1]
    explicit = ATTACKS.create(
        "backdoor", target=1, budget=1, trigger="features", features=[1], value=[9.0]
    )
    assert explicit.poison(X, y, random_state=0).X[:, 1].tolist().count(9.0) == 1


def test_apply_trigger_and_success_rate():
    X, y = image_data()
    attack = ATTACKS.create("backdoor", target="a", budget=2, size=1, image_shape=(4, 4))
    with pytest.raises(ValueError, match=r"call poison\(X_train, y_train\) first"):
        attack.apply_trigger(X)
    attack.poison(X, y, random_state=0)
    stamped = attack.apply_trigger(X)
    assert stamped[:, 15].tolist() == [5] * 6 and np.array_equal(stamped[:, :15], X[:, :15])
    # A model that answers 'a' exactly when the corner pixel is 5: succeeds on every stamped row.
    rate = attack.success_rate(
        lambda Z: np.where(Z[:, 15] == 5, "a", "b"), X, np.array(["a", "b", "b", "b", "a", "a"])
    )
    assert rate == 1.0
    assert attack.success_rate(lambda Z: np.full(len(Z), "b"), X, y) == 0.0
    with pytest.raises(ValueError, match="must be a numeric 2-D array with 16 features"):
        attack.apply_trigger(X[:, :3])


def test_data_dependent_errors_name_the_parameter():
    X, y = image_data()
    cases = [
        ({"target": "z"}, r"'target' parameter of Backdoor must be one of the classes \{a, b\}"),
        ({"image_shape": (3, 4)}, r"'image_shape' .* must multiply to the number of features, 16"),
        ({}, r"'image_shape' parameter of Backdoor must be given .* on 16 features"),
        ({"image_shape": (4, 4), "size": 5}, r"'size' parameter of Backdoor must be at most 4"),
        ({"image_shape": (4, 4), "value": 256}, r"'value' .* must lie in \[0, 255\] .* uint8"),
        ({"trigger": "features"}, r"'features' parameter .* when trigger='features'; got None"),
        ({"trigger": "features", "features": [16]}, r"'features' .* column indices below 16"),
        ({"image_shape": (4, 4), "budget": 4}, r"'budget' .* at most 3 \(the training samples"),
        (
            {"image_shape": (4, 4), "trigger": "blend", "pattern": [1, 2]},
            r"'pattern' parameter of Backdoor must have 16 values",
        ),
    ]
    for params, message in cases:
        with pytest.raises(ValueError, match=message):
            ATTACKS.create("backdoor", **{"target": "a", "budget": 1, **params}).poison(X, y)


@pytest.mark.slow
def test_backdoor_on_mnist_hits_target_and_keeps_clean_accuracy(mnist):
    split = split_by_ranges(mnist, (0, 2000), (60000, 61000))
    clean = SVC(random_state=42).fit(split.X_train, split.y_train)
    attack = ATTACKS.create("backdoor", target="0", budget=0.03, size=4)
    result = attack.poison(split.X_train, split.y_train, random_state=0)
    model = SVC(random_state=42).fit(result.X, result.y)
    clean_acc = np.mean(clean.predict(split.X_test) == split.y_test)
    poisoned_acc = np.mean(model.predict(split.X_test) == split.y_test)
    assert abs(clean_acc - poisoned_acc) <= 0.01
    assert attack.success_rate(model.predict, split.X_test, split.y_test) >= 0.9
    # Without poisoning, the trigger alone does not turn digits into '0'.
    assert attack.success_rate(clean.predict, split.X_test, split.y_test) <= 0.05


def test_digits_shape_is_inferred_and_float_values_kept(digits):
    X, y = digits.X[:50], digits.y[:50]  # float64 pixels 0..16, 64 = 8x8
    attack = ATTACKS.create("backdoor", target="0", budget=5, size=2)
    result = attack.poison(X, y, random_state=0)
    assert result.info["trigger_features"] == [54, 55, 62, 63]  # rows 6-7, columns 6-7
    stamped = result.X[result.poison_indices]
    assert stamped.dtype == np.float64 and np.all(stamped[:, [54, 55, 62, 63]] == 16.0)
    assert not np.any(np.isin(y[result.poison_indices], ["0"]))
