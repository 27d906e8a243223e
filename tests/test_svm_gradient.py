import numpy as np
import pytest
from sklearn.base import clone
from sklearn.svm import SVC

from poisonlab.attacks import ATTACKS
from poisonlab.attacks._binary_svm import Kernel
from poisonlab.attacks._svm_gradient import PoisoningProblem, ascend


def blobs(n, rng):
    X = np.vstack([rng.normal(-1, 1, (n, 2)), rng.normal(1, 1, (n, 2))])
    return X, np.r_[-np.ones(n), np.ones(n)]


@pytest.mark.parametrize(
    "kernel", [Kernel("linear"), Kernel("rbf", gamma=0.5), Kernel("poly", 0.5, 2, 1.0)]
)
def test_kkt_gradient_matches_finite_differences(kernel):
    rng = np.random.default_rng(0)
    (X_train, y_train), (X_val, y_val) = blobs(15, rng), blobs(50, rng)
    problem = PoisoningProblem(X_train, y_train, X_val, y_val, kernel, C=1.0)
    u, sign = np.array([1.2, 0.9]), -1.0  # a '-1' point deep in the '+1' blob
    loss, grad, alpha_c = problem.loss_and_gradient(u, sign)
    assert alpha_c == pytest.approx(1.0)  # an error vector, as the derivative assumes
    # h = 1e-3: libsvm keeps kernel values in single precision, so smaller steps hit noise.
    h = 1e-3
    numeric = [
        (problem.validation_loss(u + h * e, sign) - problem.validation_loss(u - h * e, sign))
        / (2 * h)
        for e in np.eye(2)
    ]
    assert np.allclose(grad, numeric, rtol=2e-3, atol=2e-3)
    assert np.linalg.norm(grad) > 0.5
    # The loss is the validation hinge loss of a plain SVC trained with the point added.
    model = SVC(
        kernel=kernel.name, gamma=kernel.gamma, degree=kernel.degree, coef0=kernel.coef0, tol=1e-6
    ).fit(np.vstack([X_train, u]), np.append(y_train, sign))
    expected = np.maximum(0, 1 - y_val * model.decision_function(X_val)).sum()
    assert loss == pytest.approx(expected, rel=1e-4)


def test_a_non_support_vector_has_zero_gradient():
    rng = np.random.default_rng(0)
    (X_train, y_train), (X_val, y_val) = blobs(15, rng), blobs(20, rng)
    problem = PoisoningProblem(X_train, y_train, X_val, y_val, Kernel("linear"), C=1.0)
    _, grad, alpha_c = problem.loss_and_gradient(np.array([4.0, 4.0]), 1.0)  # far, correct
    assert alpha_c == 0 and not grad.any()


def test_ascent_raises_validation_loss_within_the_box():
    rng = np.random.default_rng(0)
    X, signs = blobs(15, rng)
    y = np.where(signs > 0, "b", "a")
    X_val, s_val = blobs(50, rng)
    attack = ATTACKS.create(
        "svm_gradient",
        budget=3,
        kernel="rbf",
        validation=(X_val, np.where(s_val > 0, "b", "a")),
        box=(-2.0, 2.0),
        step=0.05,
        max_iter=30,
    )
    result = attack.poison(X, y, random_state=0)
    injected = result.X[len(X) :]
    assert result.poison_indices.tolist() == [30, 31, 32]
    assert injected.shape == (3, 2) and injected.min() >= -2.0 and injected.max() <= 2.0
    assert result.info["validation_size"] == 100
    for point, label in zip(result.info["points"], result.y[30:], strict=True):
        assert point["final_loss"] > point["initial_loss"]
        assert label == ("b" if point["label"] > 0 else "a")
        assert y[point["start_row"]] != label  # started from a point of the other class


def test_fixed_label_uint8_data_and_training_set_as_validation(digits):
    X, y = digits.X[:200].astype(np.uint8), digits.y[:200]
    result = ATTACKS.create(
        "svm_gradient", classes=("3", "8"), budget=2, label="8", max_iter=5
    ).poison(X, y, random_state=1)
    assert result.X.dtype == np.float64 and np.array_equal(result.X[:200], X)
    assert result.y[200:].tolist() == ["8", "8"]
    assert result.info["box"] == (0.0, 16.0)
    assert result.info["validation_size"] == int(np.isin(y, ["3", "8"]).sum())


def test_errors_name_the_parameter():
    X, y = np.arange(8.0).reshape(4, 2), np.array(["a", "a", "b", "b"])
    with pytest.raises(ValueError, match=r"'validation' parameter of SVMGradient must hold"):
        ATTACKS.create("svm_gradient", validation=(np.zeros((3, 5)), ["a"] * 3)).poison(X, y)
    with pytest.raises(ValueError, match=r"'validation' parameter of SVMGradient must hold s"):
        ATTACKS.create("svm_gradient", validation=(np.zeros((3, 2)), ["c"] * 3)).poison(X, y)
    with pytest.raises(ValueError, match=r"'label' parameter of SVMGradient must be None or"):
        ATTACKS.create("svm_gradient", label="c").poison(X, y)
    with pytest.raises(ValueError, match=r"'box' parameter of SVMGradient must be None or"):
        ATTACKS.create("svm_gradient", box=(1.0, 0.0)).poison(X, y)
    with pytest.raises(ValueError, match=r"'validation' parameter of SVMGradient must be"):
        ATTACKS.create("svm_gradient", validation=np.zeros((3, 2))).poison(X, y)


@pytest.mark.slow
def test_one_point_raises_mnist_7_vs_1_error(mnist):
    # The paper's set-up: 100 training and 500 validation 7s and 1s, linear SVM, C = 1,
    # pixels in [0, 1]; test on the 7s and 1s of MNIST's test rows.
    X, y = mnist.X, mnist.y  # uint8; the rows used are scaled to [0, 1] below
    pool = np.flatnonzero(np.isin(y[:60000], ["7", "1"]))
    rows = np.random.default_rng(2).choice(pool, 600, replace=False)
    train, val = rows[:100], rows[100:]
    test = 60000 + np.flatnonzero(np.isin(y[60000:], ["7", "1"]))

    def error(X_train, y_train):
        model = SVC(kernel="linear", C=1.0).fit(X_train, y_train)
        return np.mean(model.predict(X[test] / 255) != y[test])

    attack = ATTACKS.create(
        "svm_gradient",
        classes=("7", "1"),
        validation=(X[val] / 255, y[val]),
        box=(0.0, 1.0),
        max_iter=100,
        tol=0.0,
    )
    result = attack.poison(X[train] / 255, y[train], random_state=2)
    clean, poisoned = error(X[train] / 255, y[train]), error(result.X, result.y)
    assert clean < 0.03
    assert poisoned > clean + 0.08


def test_clone_copies_the_validation_set():
    X_val, y_val = np.ones((3, 2)), np.array(["a", "b", "a"])
    attack = ATTACKS.create("svm_gradient", validation=(X_val, y_val))
    twin = clone(attack)
    assert twin.validation[0] is not X_val and np.array_equal(twin.validation[0], X_val)
    assert np.array_equal(twin.validation[1], y_val)


def test_surrogate_is_the_pair_with_signed_labels():
    X = np.arange(12.0).reshape(6, 2)
    y = np.array(["p", "x", "q", "p", "x", "q"])
    problem = ATTACKS.create("svm_gradient", classes=("q", "p")).surrogate(X, y)
    assert problem.y_train.tolist() == [1.0, -1.0, 1.0, -1.0]
    assert np.array_equal(problem.X_train, X[[0, 2, 3, 5]])
    assert np.array_equal(problem.X_val, problem.X_train)  # no validation: the training pair
    assert np.allclose(problem.K_train, problem.X_train @ problem.X_train.T)


@pytest.mark.parametrize("kernel", [Kernel("linear"), Kernel("rbf", gamma=0.5)])
def test_sigmoid_objective_gradient_matches_finite_differences(kernel):
    rng = np.random.default_rng(0)
    (X_train, y_train), (X_val, y_val) = blobs(15, rng), blobs(50, rng)
    problem = PoisoningProblem(
        X_train, y_train, X_val, y_val, kernel, C=1.0, objective="sigmoid", temperature=0.5
    )
    u, h = np.array([1.2, 0.9]), 1e-3
    loss, grad, _ = problem.loss_and_gradient(u, -1.0)
    numeric = [
        (problem.validation_loss(u + h * e, -1.0) - problem.validation_loss(u - h * e, -1.0))
        / (2 * h)
        for e in np.eye(2)
    ]
    assert np.allclose(grad, numeric, rtol=2e-3, atol=2e-3)
    model = SVC(kernel=kernel.name, gamma=kernel.gamma, tol=1e-6).fit(
        np.vstack([X_train, u]), np.append(y_train, -1.0)
    )
    margins = y_val * model.decision_function(X_val)
    assert loss == pytest.approx(np.sum(1 / (1 + np.exp(margins / 0.5))), rel=1e-4)
    assert problem.validation_error(u, -1.0) == np.mean(margins <= 0)


def _blob_attack(**params):
    rng = np.random.default_rng(3)
    X, signs = blobs(15, rng)
    X_val, s_val = blobs(50, rng)
    y = np.where(signs > 0, "b", "a")
    attack = ATTACKS.create(
        "svm_gradient",
        validation=(X_val, np.where(s_val > 0, "b", "a")),
        box=(-3.0, 3.0),
        label="b",
        **{"max_iter": 15, **params},
    )
    return attack, X, y


def test_restarts_keep_the_try_with_the_largest_validation_error():
    attack, X, y = _blob_attack(restarts=4)
    result = attack.poison(X, y, random_state=0)
    problem = attack.surrogate(X, y)
    chosen = problem.validation_error(result.X[-1], 1.0)
    # The four tries the attack drew (same generator calls), each run on its own.
    rng = np.random.default_rng(0)
    starts = [int(rng.choice(np.flatnonzero(y == "a"))) for _ in range(4)]
    for start in starts:
        u, _ = ascend(problem, X[start].copy(), 1.0, (-3.0, 3.0), step=0.05, max_iter=15, tol=1e-5)
        assert problem.validation_error(u, 1.0) <= chosen
    assert result.info["points"][0]["start_row"] in starts


def test_one_restart_is_the_paper_algorithm():
    attack, X, y = _blob_attack()
    paper = attack.poison(X, y, random_state=5)
    again = clone(attack).set_params(restarts=1, start="random", objective="hinge")
    assert np.array_equal(paper.X, again.poison(X, y, random_state=5).X)


def test_lookahead_starts_from_the_most_damaging_flip():
    attack, X, y = _blob_attack(start="lookahead", restarts=1, max_iter=0)
    problem = attack.surrogate(X, y)
    candidates = np.flatnonzero(y == "a")
    errors = [problem.validation_error(X[i], 1.0) for i in candidates]
    result = attack.poison(X, y, random_state=0)
    start = result.info["points"][0]["start_row"]
    assert problem.validation_error(X[start], 1.0) == max(errors)
    assert np.array_equal(result.X[-1], np.clip(X[start], -3.0, 3.0))  # no steps: the start


def _digits_pair(digits, rows=200):
    X, y = digits.X[:rows].astype(float), digits.y[:rows]
    keep = np.isin(y, ["3", "8"])
    return X[keep], y[keep]


def test_cma_search_raises_validation_error_and_reports_it_exactly(digits):
    X, y = _digits_pair(digits)
    half = len(y) // 2
    attack = ATTACKS.create(
        "svm_gradient",
        classes=("3", "8"),
        kernel="linear",
        validation=(X[half:], y[half:]),
        optimizer="cma",
        components=5,
        evaluations=100,
    )
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (the global state is the subject)
    result = attack.poison(X[:half], y[:half], random_state=0)
    # CMA-ES draws its samples from random_state, not from numpy's global state.
    assert np.array_equal(np.random.get_state()[1], state)  # noqa: NPY002
    point, run = result.X[half:][0], result.info["points"][0]
    assert point.min() >= 0.0 and point.max() <= 16.0 and "start_row" not in run
    assert run["components"] == 5
    # Both labels were searched (100 evaluations each, CMA-ES stops at the generation's end).
    assert 100 <= run["evaluations"] < 100 + 20

    # The reported error is a plain SVC's, trained with the point, on the validation set.
    def val_error(X_train, y_train):
        model = SVC(kernel="linear", C=1.0, tol=1e-6).fit(X_train, y_train)
        return np.mean(model.predict(X[half:]) != y[half:])

    assert run["final_error"] == pytest.approx(val_error(result.X, result.y))
    assert run["final_error"] > val_error(X[:half], y[:half]) + 0.05
    again = clone(attack).poison(X[:half], y[:half], random_state=0)
    assert np.array_equal(again.X, result.X) and np.array_equal(again.y, result.y)


def test_cma_search_with_a_fixed_label_on_one_vs_rest(digits):
    X, y = digits.X[:90].astype(float), digits.y[:90]
    attack = ATTACKS.create(
        "svm_gradient", label="2", optimizer="cma", components=3, evaluations=30
    )
    result = attack.poison(X, y, random_state=0)
    run = result.info["points"][0]
    assert result.y[-1] == "2" and run["evaluations"] >= 30 and run["components"] == 3


def test_optimizer_errors_name_the_parameter():
    X, y = np.arange(8.0).reshape(4, 2), np.array(["a", "a", "b", "b"])
    with pytest.raises(ValueError, match=r"'optimizer' parameter of SVMGradient must be"):
        ATTACKS.create("svm_gradient", optimizer="adam").poison(X, y)
    with pytest.raises(ValueError, match=r"'components' parameter of SVMGradient must be"):
        ATTACKS.create("svm_gradient", optimizer="cma", components=0).poison(X, y)
