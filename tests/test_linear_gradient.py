"""logistic_gradient and ridge_gradient: implicit-function gradients and the attacks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from sklearn.linear_model import LogisticRegression, Ridge

from poisonlab.attacks import ATTACKS
from poisonlab.attacks._linear_gradient import (
    LinearLoss,
    LinearPoisoning,
    fit_logistic,
    fit_ridge,
    solve_hessian,
)


def blobs(n, rng, centres=(-1.0, 1.0)):
    X = np.vstack([rng.normal(c, 1, (n, 2)) for c in centres])
    return X, np.repeat(np.arange(len(centres)), n)


def targets(labels, k):
    if k == 2:
        return np.where(labels == 1, 1.0, -1.0)[:, None]
    return np.where(labels[:, None] == np.arange(k)[None, :], 1.0, -1.0)


def numeric_gradient(problem, u, label, h=1e-4):
    return np.array(
        [
            (problem.validation_loss(u + h * e, label) - problem.validation_loss(u - h * e, label))
            / (2 * h)
            for e in np.eye(len(u))
        ]
    )


@pytest.mark.parametrize(("model", "strength"), [("logistic", 1.0), ("ridge", 2.0)])
@pytest.mark.parametrize("k", [2, 3])
def test_gradient_matches_finite_differences(model, strength, k):
    rng = np.random.default_rng(0)
    centres = (-1.0, 1.0) if k == 2 else (-2.0, 0.0, 2.0)
    (X_train, y_train), (X_val, y_val) = blobs(15, rng, centres), blobs(40, rng, centres)
    problem = LinearPoisoning(
        X_train, targets(y_train, k), X_val, targets(y_val, k), LinearLoss(model, strength)
    )
    u = np.array([1.2, 0.9])
    label = -1 if k == 2 else 0  # a point of the first class deep in the last one
    _, grad = problem.loss_and_gradient(u, label)
    assert np.allclose(grad, numeric_gradient(problem, u, label), rtol=1e-4, atol=1e-5)
    assert np.linalg.norm(grad) > 0.1


def test_loss_is_the_scikit_learn_models_validation_loss():
    rng = np.random.default_rng(1)
    (X_train, y_train), (X_val, y_val) = blobs(10, rng), blobs(20, rng)
    u = np.array([0.5, 0.5])
    for model, reference in (
        ("logistic", LogisticRegression(C=0.5, tol=1e-10)),
        ("ridge", Ridge(alpha=0.5)),
    ):
        problem = LinearPoisoning(
            X_train, targets(y_train, 2), X_val, targets(y_val, 2), LinearLoss(model, 0.5)
        )
        t_train = np.append(targets(y_train, 2)[:, 0], -1.0)
        fitted = reference.fit(np.vstack([X_train, u]), t_train)
        z = fitted.decision_function(X_val) if model == "logistic" else fitted.predict(X_val)
        t_val = targets(y_val, 2)[:, 0]
        expected = (
            np.logaddexp(0, -t_val * z).sum() if model == "logistic" else ((z - t_val) ** 2).sum()
        )
        assert problem.validation_loss(u, -1) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name", ["logistic_gradient", "ridge_gradient"])
def test_ascent_raises_the_loss_inside_the_box(name):
    rng = np.random.default_rng(0)
    X, labels = blobs(15, rng)
    y = np.where(labels == 1, "b", "a")
    X_val, l_val = blobs(40, rng)
    attack = ATTACKS.create(
        name,
        budget=2,
        validation=(X_val, np.where(l_val == 1, "b", "a")),
        box=(-2.0, 2.0),
        max_iter=20,
    )
    result = attack.poison(X, y, random_state=0)
    assert result.poison_indices.tolist() == [30, 31]
    assert result.X[30:].min() >= -2.0 and result.X[30:].max() <= 2.0
    for point, label in zip(result.info["points"], result.y[30:], strict=True):
        assert point["final_loss"] > point["initial_loss"]
        assert point["label"] == label and y[point["start_row"]] != label


def test_one_vs_rest_on_three_classes(tiny):
    X, y = tiny
    keep = np.isin(y, ["0", "1", "2"])
    attack = ATTACKS.create("logistic_gradient", budget=1, C=0.01, label="2", max_iter=3)
    result = attack.poison(X[keep], y[keep], random_state=0)
    assert result.info["classes"] == ["0", "1", "2"]
    assert result.y[-1] == "2" and y[keep][result.info["points"][0]["start_row"]] != "2"
    assert result.info["points"][0]["final_loss"] >= result.info["points"][0]["initial_loss"]


def test_label_outside_the_attacked_classes_is_named(tiny):
    X, y = tiny
    attack = ATTACKS.create("ridge_gradient", classes=("1", "7"), label="3")
    with pytest.raises(ValueError, match="The 'label' parameter of RidgeGradient"):
        attack.poison(X, y)


def logistic_optimality(X, t, C, w, b):
    """max |grad J| of 1/2 ||w||^2 + C sum log(1 + exp(-t (X w + b))) at (w, b)."""
    d1 = -t * expit(-t * (X @ w + b))
    return np.abs(np.append(w + C * (X.T @ d1), C * d1.sum())).max()


@st.composite
def fit_problems(draw):
    """(X, t, strength): up to 30 rows, up to 40 features, both targets present."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, d = draw(st.integers(4, 30)), draw(st.integers(1, 40))
    X = rng.normal(size=(n, d)) + rng.normal(size=d)
    t = np.where(np.arange(n) < rng.integers(1, n), 1.0, -1.0)
    return X, t, draw(st.sampled_from([0.01, 0.3, 1.0, 10.0, 100.0]))


@settings(max_examples=40, deadline=None)
@given(fit_problems())
def test_newton_logistic_fit_is_scikit_learns(problem):
    """The (w, b) of LogisticRegression(newton-cholesky), with fewer rows or fewer features.

    At tolerance 1e-10 scikit-learn stops once max |grad J| <= 1e-10 C n, up to ~1e-8 from
    the optimum on separable data with a large C; the new solver goes on to rounding level.
    So: at least as optimal as scikit-learn at 1e-10, and within 1e-8 of it at 1e-13.
    """
    X, t, C = problem
    w, b = fit_logistic(X, t, C)
    for tol in (1e-10, 1e-13):
        reference = LogisticRegression(C=C, solver="newton-cholesky", tol=tol, max_iter=1000)
        reference.fit(X, t)
        w_ref, b_ref = reference.coef_[0], reference.intercept_[0]
        assert logistic_optimality(X, t, C, w, b) <= max(
            logistic_optimality(X, t, C, w_ref, b_ref), 1e-12 * C * len(t)
        )
    assert np.allclose(w, w_ref, rtol=0, atol=1e-8)
    assert b == pytest.approx(b_ref, abs=1e-8)
    w_gram, b_gram = fit_logistic(X, t, C, gram=X @ X.T)
    assert np.allclose(w_gram, w, rtol=0, atol=1e-12) and b_gram == pytest.approx(b, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(fit_problems())
def test_closed_form_ridge_fit_is_scikit_learns(problem):
    """The (w, b) of Ridge(alpha, solver="cholesky"), from X or from a given X X^T."""
    X, t, alpha = problem
    reference = Ridge(alpha=alpha, solver="cholesky").fit(X, t)
    for gram in (None, X @ X.T):
        w, b = fit_ridge(X, t, alpha, gram=gram)
        assert np.allclose(w, reference.coef_, rtol=0, atol=1e-8)
        assert b == pytest.approx(reference.intercept_, abs=1e-8)


@pytest.mark.parametrize(("model", "strength"), [("logistic", 1.0), ("ridge", 2.0)])
def test_gradient_with_fewer_rows_than_features(model, strength):
    """The Gram-matrix (dual) solves, before and after a point is added (the cached X X^T)."""
    rng = np.random.default_rng(3)
    X_train, X_val = rng.normal(size=(6, 12)), rng.normal(size=(20, 12))
    t_train, t_val = np.repeat([-1.0, 1.0], 3)[:, None], rng.choice([-1.0, 1.0], (20, 1))
    problem = LinearPoisoning(X_train, t_train, X_val, t_val, LinearLoss(model, strength))
    problem.add(rng.normal(size=12), 1)
    u = rng.normal(size=12)
    _, grad = problem.loss_and_gradient(u, -1)
    assert np.allclose(grad, numeric_gradient(problem, u, -1), rtol=1e-4, atol=1e-6)
    assert np.linalg.norm(grad) > 0.1


@pytest.mark.parametrize(("n", "d"), [(12, 5), (5, 12)])
def test_hessian_solve_matches_the_dense_system(n, d):
    """Both branches of solve_hessian (primal, and Woodbury through the Gram matrix)."""
    rng = np.random.default_rng(n)
    X, d2, g = rng.normal(size=(n, d)), rng.uniform(0.0, 2.0, n), rng.normal(size=d + 1)
    Xb = np.hstack([X, np.ones((n, 1))])
    H = 0.7 * (Xb.T * d2) @ Xb + np.diag(np.append(np.ones(d), 0.0))
    v_w, v_b = solve_hessian(X, d2, 0.7, g[:-1], g[-1])
    assert np.allclose(np.append(v_w, v_b), np.linalg.solve(H, g), rtol=1e-10, atol=1e-10)
