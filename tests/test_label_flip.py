import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from sklearn.svm import SVC

from poisonlab.attacks import ATTACKS


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
