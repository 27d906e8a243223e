import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC, LinearSVC

from poisonlab.attacks import ATTACKS
from poisonlab.attacks._surrogate import class_scores, flipped_label_loss
from poisonlab.datasets import split_by_ranges
from poisonlab.models.shared_kernel import SharedKernelSVC


def test_first_flips_in_row_order():
    X = np.arange(16).reshape(8, 2)
    y = np.array(["1", "2", "1", "3", "1", "1", "2", "3"])
    result = ATTACKS.create("label_flip", source="1", target="2", budget=3).poison(X, y)
    assert result.poison_indices.tolist() == [0, 2, 4]
    assert result.y.tolist() == ["2", "2", "2", "3", "2", "1", "2", "3"]
    assert result.info == {"budget": 3, "source": "1", "target": "2", "select": "first"}
    assert result.X is not X and np.array_equal(result.X, X) and not result.X.flags.writeable


def test_fraction_budget_and_random_select():
    X = np.zeros((100, 1))
    y = np.array(["a"] * 60 + ["b"] * 40)
    result = ATTACKS.create(
        "label_flip", source="a", target="b", budget=0.1, select="random"
    ).poison(X, y, random_state=0)
    assert len(result.poison_indices) == 10 and np.all(y[result.poison_indices] == "a")


def test_budget_beyond_source_class_names_maximum():
    X, y = np.zeros((5, 1)), np.array(["1", "1", "2", "2", "2"])
    with pytest.raises(
        ValueError,
        match=r"'budget' parameter of LabelFlip must be at most 2 "
        r"\(the training samples of class '1'\); got 3\.",
    ):
        ATTACKS.create("label_flip", budget=3).poison(X, y)
    with pytest.raises(
        ValueError,
        match=r"'source' parameter of LabelFlip must be one of the "
        r"classes \{1, 2\}; got '9'",
    ):
        ATTACKS.create("label_flip", source="9").poison(X, y)


def test_success_rate_counts_source_predicted_as_target():
    attack = ATTACKS.create("label_flip", source="1", target="2")
    y_test = np.array(["1", "1", "1", "1", "2"])
    predictions = np.array(["2", "1", "2", "1", "2"])
    rate = attack.success_rate(
        lambda X: predictions[X[:, 0].astype(int)], np.arange(5).reshape(-1, 1), y_test
    )
    assert rate == 0.5


def test_inside_imblearn_pipeline_touches_only_training_data(digits):
    X_train, y_train = digits.X[:600], digits.y[:600]
    X_test = digits.X[600:700]
    seen = {}

    class Spy(SVC):
        def fit(self, X, y):
            seen["fit"] = (len(X), int((y == "8").sum()))
            return super().fit(X, y)

        def predict(self, X):
            seen["predict"] = X.copy()
            return super().predict(X)

    pipe = Pipeline(
        [
            ("poison", ATTACKS.create("label_flip", source="3", target="8", budget=20)),
            ("svc", Spy()),
        ]
    )
    pipe.fit(X_train, y_train)
    n_eights = int((y_train == "8").sum())
    assert seen["fit"] == (600, n_eights + 20)
    pipe.predict(X_test)
    assert np.array_equal(seen["predict"], X_test)  # the attack never sees test data
    assert len(pipe.named_steps["poison"].poison_indices_) == 20


def one_dimensional_three_classes():
    """'2' around -4, '1' between -1.5 and 1.5 (rows 3..7, shuffled), '3' around +4."""
    X = np.array([[-4.5], [-4.0], [-3.5], [-1.5], [1.5], [-0.5], [0.5], [0.0], [3.5], [4], [4.5]])
    y = np.array(["2", "2", "2", "1", "1", "1", "1", "1", "3", "3", "3"])
    return X, y


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        # nearest the '1'/'2' boundary (about -2): x = -1.5 (row 3), then -0.5 (row 5)
        ("boundary", [3, 5]),
        # deepest on the '1' side of it, even towards class '3': x = 1.5 (row 4), 0.5 (row 6)
        ("far", [4, 6]),
        # least likely to be a '2': the same two
        ("loss", [4, 6]),
    ],
)
def test_surrogate_selects_by_margin_and_loss(select, expected):
    X, y = one_dimensional_three_classes()
    result = ATTACKS.create(
        "label_flip",
        source="1",
        target="2",
        budget=2,
        select=select,
        surrogate=LinearDiscriminantAnalysis(),
    ).poison(X, y)
    assert result.poison_indices.tolist() == expected
    assert result.info["surrogate"] == "LinearDiscriminantAnalysis"
    assert result.y[expected].tolist() == ["2", "2"]


def test_default_surrogate_is_a_zoo_model_and_estimator_is_not_fitted():
    X, y = one_dimensional_three_classes()
    result = ATTACKS.create(
        "label_flip", source="1", target="2", budget=1, select="boundary"
    ).poison(X, y)
    assert result.poison_indices.tolist() == [3] and result.info["surrogate"] == "linear_svc"
    estimator = LinearDiscriminantAnalysis()
    ATTACKS.create("label_flip", budget=1, select="far", surrogate=estimator).poison(X, y)
    assert not hasattr(estimator, "classes_")  # cloned, never fitted in place


def test_binary_surrogate_margin_sign():
    # Two classes: decision_function has one column (for the second class, '2').
    X = np.array([[-3.0], [-2.0], [1.0], [2.0], [3.0], [4.0]])
    y = np.array(["2", "2", "1", "1", "1", "1"])
    for select, expected in [("boundary", [2]), ("far", [5]), ("loss", [5])]:
        result = ATTACKS.create(
            "label_flip", source="1", target="2", budget=1, select=select, surrogate="logreg"
        ).poison(X, y)
        assert result.poison_indices.tolist() == expected, select


def test_flipped_label_loss_is_cross_entropy_or_multiclass_hinge():
    X, y = one_dimensional_three_classes()
    proba_model = LinearDiscriminantAnalysis().fit(X, y)
    assert np.allclose(
        flipped_label_loss(proba_model, X, "2"), -np.log(proba_model.predict_proba(X)[:, 1])
    )
    hinge_model = LinearSVC().fit(X, y)
    f = hinge_model.decision_function(X)  # columns '1', '2', '3'
    expected = np.maximum(0, 1 + np.maximum(f[:, 0], f[:, 2]) - f[:, 1])
    assert np.allclose(flipped_label_loss(hinge_model, X, "2"), expected)


def test_unknown_surrogate_lists_the_zoo():
    X, y = one_dimensional_three_classes()
    with pytest.raises(
        ValueError,
        match=r"The 'surrogate' parameter of LabelFlip must be a model name from the "
        r"zoo \('svc', 'linear_svc'.*; got 'nope'\.",
    ):
        ATTACKS.create("label_flip", select="boundary", surrogate="nope").poison(X, y)


@pytest.mark.slow
def test_ranked_flips_hurt_more_than_first_on_the_lab(mnist):
    """ML 106 set-up, 100 '1's relabelled '2': how many test '1's become '2'."""
    split = split_by_ranges(mnist, (0, 2000), (60000, 61000))
    shared = SharedKernelSVC(SVC(random_state=42), split.X_train)
    K_test = shared.query_kernel(split.X_test)
    ones = split.y_test == "1"
    rate = {}
    for select in ("first", "boundary", "far"):
        attack = ATTACKS.create("label_flip", budget=100, select=select)
        poisoned = attack.poison(split.X_train, split.y_train)
        y_pred = shared.fit(poisoned.y).predict_from_kernel(K_test)
        rate[select] = np.mean(y_pred[ones] == "2")
    # Measured: first 0.135, boundary 0.183, far 0.817 (docs/attacks.md).
    assert rate["first"] < rate["boundary"] < rate["far"]
    assert rate["far"] >= 0.6 and rate["first"] <= 0.25


def test_scores_of_models_without_decision_function_are_finite():
    # k-NN gives exact zero probabilities: the scores must still rank (no log(0)).
    X, y = one_dimensional_three_classes()
    model = KNeighborsClassifier(n_neighbors=3).fit(X, y)
    scores = class_scores(model, X)
    assert np.isfinite(scores).all() and np.allclose(scores, model.predict_proba(X))
    result = ATTACKS.create(
        "label_flip", source="1", target="2", budget=1, select="boundary", surrogate="knn"
    ).poison(X, y)
    # x = -1.5 (row 3) is the only '1' with a '2' among its 3 nearest neighbours.
    assert result.poison_indices.tolist() == [3]
