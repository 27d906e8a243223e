"""``svm_gradient`` on more than two classes: one-vs-rest SVMs, the summed KKT gradient."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import SVC

from poisonlab.attacks import ATTACKS
from poisonlab.attacks._svm_gradient import OneVsRestProblem


def three_blobs(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    centres = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])
    X = np.vstack([rng.normal(c, 0.8, (n, 2)) for c in centres])
    return X, np.repeat(np.array(["a", "b", "c"]), n)


# Points inside the 'b' blob, labelled 'c' (a linear SVM on 2 features is pinned, gradient 0,
# at many points: one where it is not).
@pytest.mark.parametrize(("kernel", "point"), [("linear", [1.8, 0.3]), ("rbf", [2.2, 0.0])])
def test_gradient_matches_finite_differences(kernel, point):
    rng = np.random.default_rng(1)
    (X, y), (X_val, y_val) = three_blobs(12, rng), three_blobs(30, rng)
    attack = ATTACKS.create("svm_gradient", kernel=kernel, gamma=0.5, validation=(X_val, y_val))
    problem = attack.surrogate(X, y)
    assert isinstance(problem, OneVsRestProblem) and len(problem.problems) == 3
    u, label = np.array(point), 2
    _, grad, _ = problem.loss_and_gradient(u, label)
    # The paper's derivative holds the point's alpha fixed: true where it is no support vector
    # or an error vector (alpha = C) of each binary SVM, as here; it is not for a margin one.
    alphas = [
        p.loss_and_gradient(u, s)[2] for p, s in zip(problem.problems, (-1, -1, 1), strict=True)
    ]
    assert alphas == [0.0, 1.0, 1.0]
    # h = 1e-3: libsvm keeps kernel values in single precision, so smaller steps hit noise.
    h = 1e-3
    numeric = [
        (problem.validation_loss(u + h * e, label) - problem.validation_loss(u - h * e, label))
        / (2 * h)
        for e in np.eye(2)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=2e-3, atol=5e-3)
    assert np.linalg.norm(grad) > 0.5


def test_loss_and_error_are_scikit_learns_one_vs_rest_svms():
    rng = np.random.default_rng(2)
    (X, y), (X_val, y_val) = three_blobs(12, rng), three_blobs(30, rng)
    attack = ATTACKS.create("svm_gradient", validation=(X_val, y_val))
    problem = attack.surrogate(X, y)
    u = np.array([0.0, 2.0])
    model = OneVsRestClassifier(SVC(kernel="linear", tol=1e-6)).fit(
        np.vstack([X, u]), np.append(y, "a")
    )
    decision = model.decision_function(X_val)
    targets = np.where(y_val[:, None] == model.classes_[None, :], 1.0, -1.0)
    expected = np.maximum(0.0, 1.0 - targets * decision).sum()
    assert problem.validation_loss(u, 0) == pytest.approx(expected, rel=1e-4)
    error = np.mean(model.predict(X_val) != y_val)
    assert problem.validation_error(u, 0) == pytest.approx(error)


def test_poisoning_three_classes_raises_the_loss_and_labels_the_points(tiny):
    X, y = tiny
    keep = np.isin(y, ["0", "1", "2"])
    X, y = X[keep].astype(float), y[keep]
    attack = ATTACKS.create("svm_gradient", budget=2, label="2", max_iter=3)
    result = attack.poison(X, y, random_state=0)
    assert result.info["classes"] == ["0", "1", "2"]
    assert list(result.y[-2:]) == ["2", "2"]
    for point in result.info["points"]:
        assert point["label"] == "2" and y[point["start_row"]] != "2"
        assert point["final_loss"] >= point["initial_loss"]
    again = attack.poison(X, y, random_state=0)
    np.testing.assert_array_equal(result.X, again.X)
