"""Gradient poisoning of logistic regression and ridge classifiers, binary or one-vs-rest.

The attacker injects ``(u, c)`` and moves ``u`` to maximize the loss that the model trained on
``D_tr + {(u, c)}`` incurs on a validation set. The model minimizes, for each binary problem
with targets ``t`` in {-1, +1} and scores ``z = w . x + b``,

    J(theta) = reg / 2 ||w||^2 + weight * sum_i l(z_i, t_i),

logistic regression as scikit-learn fits it (``reg = 1``, ``weight = C``,
``l = log(1 + exp(-t z))``) or a ridge classifier (``reg = 2 alpha``, ``weight = 1``,
``l = (z - t)^2``). The trained ``theta = (w, b)`` sets ``grad_theta J = 0``; differentiating
that in ``u`` (implicit function theorem, Mei & Zhu 2015) gives
``d theta / du = -H^-1 d(grad_theta J)/du`` with ``H`` the Hessian of ``J``. For the validation
loss ``L = sum_k l(z_k, t_k)`` with ``g = dL/dtheta``, ``v = H^-1 g`` (one solve) and ``l'``,
``l''`` the loss's derivatives in ``z`` at the attack point:

    dL/du = -weight * (l' v_w + l'' (v_w . u + v_b) w).

On more than two classes the surrogate is one-vs-rest (one binary problem per class, the attack
point a positive of its own class and a negative of every other), and ``L`` is the sum of the
binary validation losses, so ``dL/du`` is the sum of their gradients.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np

from .._validation import RANDOM_STATE, Interval, Options, Predicate, resolve_budget
from ._binary_svm import CLASS_PAIR, append_points
from ._svm_gradient import _is_box, _is_validation, ascend
from .base import ATTACKS, BaseAttack, PoisonResult, keyword_init


@dataclass(frozen=True)
class LinearLoss:
    """A linear model's training objective: ``reg/2 ||w||^2 + weight * sum l(z, t)``.

    Parameters
    ----------
    name : {"logistic", "ridge"}
    strength : float
        ``C`` of logistic regression, ``alpha`` of ridge.
    """

    name: str
    strength: float

    @property
    def reg(self) -> float:
        return 1.0 if self.name == "logistic" else 2.0 * self.strength

    @property
    def weight(self) -> float:
        return self.strength if self.name == "logistic" else 1.0

    def loss(self, z: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Per-sample loss ``l(z, t)``."""
        if self.name == "logistic":
            return np.logaddexp(0.0, -t * z)
        return (z - t) ** 2

    def derivatives(self, z: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``l'(z)`` and ``l''(z)`` (in ``z``), each of the shape of ``z``."""
        if self.name == "logistic":
            from scipy.special import expit

            return -t * expit(-t * z), expit(z) * expit(-z)
        return 2.0 * (z - t), np.full_like(z, 2.0)

    def fit(
        self, X: np.ndarray, t: np.ndarray, gram: np.ndarray | None = None
    ) -> tuple[np.ndarray, float]:
        """Train the model on targets ``t`` in {-1, +1}; returns ``(w, b)``.

        The optimum of scikit-learn's ``LogisticRegression(C)`` (``fit_logistic``: Newton's
        method past ``newton-cholesky``'s tolerance 1e-10, as the derivative assumes the
        optimum) or ``Ridge(alpha)`` (``fit_ridge``: its closed form), both through the
        n x n Gram matrix ``gram = X X^T`` when there are fewer rows than features.
        """
        if self.name == "logistic":
            return fit_logistic(X, t, self.strength, gram=gram)
        return fit_ridge(X, t, self.strength, gram=gram)


def solve_hessian(
    X: np.ndarray,
    d2: np.ndarray,
    c: float,
    g_w: np.ndarray,
    g_b: float,
    gram: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Solve ``(P + c Xb^T diag(d2) Xb) v = g`` for ``v = (v_w, v_b)``.

    ``Xb = [X, 1]`` and ``P = diag(1, ..., 1, 0)``: the Hessian of ``J / reg`` (the intercept
    is not penalized). With fewer rows than features the solve goes through the n x n matrix
    ``M = I + c S K S`` (``K = X X^T``, ``S = diag(sqrt(d2))``; Woodbury), whose eigenvalues
    are at least 1, so it costs O(n^2 d + n^3) instead of O(n d^2 + d^3).

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
    d2 : ndarray of shape (n,)
        Non-negative curvatures ``l''(z_i)``.
    c : float
        ``weight / reg``.
    g_w : ndarray of shape (n_features,)
    g_b : float
    gram : None or ndarray of shape (n, n)
        ``X X^T`` when the caller already has it (used only when n <= n_features).

    Returns
    -------
    v_w : ndarray of shape (n_features,)
    v_b : float
    """
    n, d = X.shape
    if n > d:  # the primal system is the smaller one
        Xb = np.hstack([X, np.ones((n, 1))])
        H = c * (Xb.T * d2) @ Xb
        H[np.arange(d), np.arange(d)] += 1.0
        g = np.append(g_w, g_b)
        try:  # H is positive definite unless l'' vanishes everywhere (then least squares)
            v = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            v = np.linalg.lstsq(H, g, rcond=None)[0]
        return v[:-1], float(v[-1])
    from scipy.linalg import cho_factor, cho_solve

    # With r = X v_w + v_b 1 the system reads v_w = g_w - c X^T D r, c 1^T D r = g_b;
    # q = S r solves M q = S X g_w + v_b s, linear in the unknown v_b.
    s = np.sqrt(d2)
    gram = X @ X.T if gram is None else gram
    M = c * (s[:, None] * gram * s[None, :])
    M[np.arange(n), np.arange(n)] += 1.0
    factor = cho_factor(M)
    q0 = cho_solve(factor, s * (X @ g_w))
    q1 = cho_solve(factor, s)
    curvature = float(s @ q1)  # zero only when l'' vanishes everywhere: v_b is then free
    v_b = (g_b / c - float(s @ q0)) / curvature if curvature > 0 else 0.0
    q = q0 + v_b * q1
    return g_w - c * (X.T @ (s * q)), v_b


def fit_logistic(
    X: np.ndarray,
    t: np.ndarray,
    C: float,
    *,
    gram: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> tuple[np.ndarray, float]:
    """L2-penalized logistic regression with an unpenalized intercept, as scikit-learn fits it.

    Minimizes ``J = 1/2 ||w||^2 + C sum log(1 + exp(-t (X w + b)))`` by Newton's method with a
    backtracking (Armijo) line search. It stops, as scikit-learn's ``newton-cholesky`` does on
    ``J / (C n)``, once ``max |grad J| <= tol C n`` and half the squared Newton decrement is
    ``<= tol C n``, and then takes that last Newton step as well (near the optimum Newton
    converges quadratically, so the result is closer to it than scikit-learn's).

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
    t : ndarray of shape (n,)
        Targets in {-1, +1}.
    C : float
        Inverse regularization.
    gram : None or ndarray of shape (n, n)
        ``X X^T`` when the caller has it (used only when n <= n_features).

    Returns
    -------
    w : ndarray of shape (n_features,)
    b : float
    """
    from scipy.special import expit

    def evaluate(w: np.ndarray, b: float) -> tuple[float, np.ndarray, np.ndarray, float]:
        """J, the scores z and grad J (in w and in b) at (w, b)."""
        z = X @ w + b
        d1 = -t * expit(-t * z)
        value = 0.5 * float(w @ w) + C * float(np.logaddexp(0.0, -t * z).sum())
        return value, z, w + C * (X.T @ d1), C * float(d1.sum())

    def size_of(grad_w: np.ndarray, grad_b: float) -> float:
        return max(float(np.abs(grad_w).max(initial=0.0)), abs(grad_b))

    w, b = np.zeros(X.shape[1]), 0.0
    value, z, grad_w, grad_b = evaluate(w, b)
    if gram is None and len(X) <= X.shape[1]:
        gram = X @ X.T
    scale = tol * C * len(t)
    for _ in range(max_iter):
        step_w, step_b = solve_hessian(X, expit(z) * expit(-z), C, -grad_w, -grad_b, gram)
        slope = float(grad_w @ step_w) + grad_b * step_b  # minus the squared Newton decrement
        if size_of(grad_w, grad_b) <= scale and -0.5 * slope <= scale:
            return w + step_w, b + step_b
        size = 1.0
        while True:
            trial = evaluate(w + size * step_w, b + size * step_b)
            # Armijo; or, as scikit-learn's line search allows, a change of J at rounding
            # level (near the optimum) with a smaller gradient.
            rounding = abs(trial[0] - value) <= 16 * np.finfo(float).eps * abs(value)
            if trial[0] <= value + 1e-4 * size * slope or (
                rounding and size_of(*trial[2:]) < size_of(grad_w, grad_b)
            ):
                break
            size /= 2
            if size < 1e-10:
                break
        w, b = w + size * step_w, b + size * step_b
        value, z, grad_w, grad_b = trial
    from sklearn.exceptions import ConvergenceWarning

    warnings.warn(
        f"Newton's method for logistic regression did not reach tolerance {tol} in "
        f"{max_iter} iterations; the gradient of the attack assumes the optimum.",
        ConvergenceWarning,
        stacklevel=2,
    )
    return w, b


def fit_ridge(
    X: np.ndarray, t: np.ndarray, alpha: float, *, gram: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Ridge regression with an unpenalized intercept: scikit-learn's ``Ridge(alpha)``.

    Minimizes ``||t - X w - b||^2 + alpha ||w||^2`` as scikit-learn's Cholesky solver does:
    on centred ``Xc``, ``tc``, ``w = Xc^T (Xc Xc^T + alpha I)^-1 tc`` when n <= n_features
    (the dual), else ``(Xc^T Xc + alpha I)^-1 Xc^T tc``; then ``b = mean(t) - mean(X) . w``.

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
    t : ndarray of shape (n,)
    alpha : float
    gram : None or ndarray of shape (n, n)
        ``X X^T`` (not centred) when the caller has it (used only when n <= n_features).

    Returns
    -------
    w : ndarray of shape (n_features,)
    b : float
    """
    from scipy.linalg import cho_factor, cho_solve

    x_mean, t_mean = X.mean(axis=0), float(t.mean())
    Xc, tc = X - x_mean, t - t_mean
    n, d = X.shape
    if n > d:
        A = Xc.T @ Xc
        A[np.arange(d), np.arange(d)] += alpha
        w = cho_solve(cho_factor(A), Xc.T @ tc)
    else:
        if gram is None:
            K = Xc @ Xc.T
        else:  # Xc Xc^T = K - r 1^T - 1 r^T + mean(K), r = K 1 / n
            r = gram.mean(axis=1)
            K = gram - r[:, None] - r[None, :] + r.mean()
        K[np.arange(n), np.arange(n)] += alpha
        w = Xc.T @ cho_solve(cho_factor(K), tc)
    return w, t_mean - float(x_mean @ w)


@dataclass
class LinearPoisoning:
    """The surrogate linear model(s) on ``D_tr`` plus injected points, and the validation set.

    Parameters
    ----------
    X_train : ndarray of shape (n, n_features)
    T_train : ndarray of shape (n, n_problems)
        Targets in {-1, +1}: one column for a binary problem, one per class for one-vs-rest.
    X_val : ndarray of shape (m, n_features)
    T_val : ndarray of shape (m, n_problems)
    model : LinearLoss
    """

    X_train: np.ndarray
    T_train: np.ndarray
    X_val: np.ndarray
    T_val: np.ndarray
    model: LinearLoss
    _gram: np.ndarray | None = field(default=None, init=False, repr=False)

    def targets(self, label: int) -> np.ndarray:
        """The attack point's targets, shape (n_problems,): ``label`` is a sign for a binary
        problem, a column (class) index for one-vs-rest."""
        if self.T_train.shape[1] == 1:
            return np.array([float(label)])
        t = -np.ones(self.T_train.shape[1])
        t[int(label)] = 1.0
        return t

    def gram(self, u: np.ndarray) -> np.ndarray | None:
        """``X X^T`` of the training rows plus ``u`` (last), or None when there are more rows
        than features (the solves are then primal); kept for the training rows, so each call
        costs one product with ``u``."""
        n, d = self.X_train.shape
        if n + 1 > d:
            return None
        if self._gram is None:
            self._gram = self.X_train @ self.X_train.T
        cross = self.X_train @ u
        return np.block([[self._gram, cross[:, None]], [cross[None, :], np.array([[u @ u]])]])

    def add(self, u: np.ndarray, label: int) -> None:
        """Make ``(u, label)`` part of the training set."""
        self._gram = self.gram(u)
        self.X_train = np.vstack([self.X_train, u])
        self.T_train = np.vstack([self.T_train, self.targets(label)])

    def validation_loss(self, u: np.ndarray, label: int) -> float:
        """The validation loss of the model(s) trained with ``(u, label)`` added."""
        return self.loss_and_gradient(u, label, gradient=False)[0]

    def loss_and_gradient(
        self, u: np.ndarray, label: int, *, gradient: bool = True
    ) -> tuple[float, np.ndarray | None]:
        """The validation loss and its gradient in ``u`` (None when ``gradient`` is False).

        Parameters
        ----------
        u : ndarray of shape (n_features,)
        label : int
            A sign (binary) or a class index (one-vs-rest).
        """
        X = np.vstack([self.X_train, u])
        t_u = self.targets(label)
        gram = self.gram(u)
        total, grad = 0.0, np.zeros_like(u, dtype=float)
        for j in range(self.T_train.shape[1]):
            t = np.append(self.T_train[:, j], t_u[j])
            w, b = self.model.fit(X, t, gram)
            z_val = self.X_val @ w + b
            total += float(self.model.loss(z_val, self.T_val[:, j]).sum())
            if gradient:
                grad += self.point_gradient(X, t, w, b, z_val, self.T_val[:, j], gram)
        return total, (grad if gradient else None)

    def point_gradient(
        self,
        X: np.ndarray,
        t: np.ndarray,
        w: np.ndarray,
        b: float,
        z_val: np.ndarray,
        t_val: np.ndarray,
        gram: np.ndarray | None = None,
    ) -> np.ndarray:
        """dL/du for one binary problem; the attack point is the last row of ``X``.

        Parameters
        ----------
        X : ndarray of shape (n, n_features)
            The training rows the model was fitted on, the attack point last.
        t : ndarray of shape (n,)
            Their targets (-1 / +1).
        w, b : the fitted model.
        z_val, t_val : ndarray of shape (m,)
            Validation scores and targets.
        gram : None or ndarray of shape (n, n)
            ``X X^T``, when the caller has it.
        """
        model = self.model
        d1_val, _ = model.derivatives(z_val, t_val)
        g = np.append(self.X_val.T @ d1_val, d1_val.sum())
        _, d2 = model.derivatives(X @ w + b, t)
        # v = H^-1 g with H = reg * (P + (weight / reg) Xb^T diag(l'') Xb).
        v_w, v_b = solve_hessian(
            X, d2, model.weight / model.reg, g[:-1] / model.reg, g[-1] / model.reg, gram
        )
        u = X[-1]
        d1_u, d2_u = model.derivatives(np.array([u @ w + b]), t[-1:])
        return -model.weight * (d1_u[0] * v_w + d2_u[0] * (v_w @ u + v_b) * w)


class LinearGradient(BaseAttack):
    """Shared body of ``logistic_gradient`` and ``ridge_gradient`` (subclasses set ``model``)."""

    kind = "inject"
    model = ""
    _parameter_constraints = {
        "classes": CLASS_PAIR,
        "budget": [Interval(Integral, 0, None), Interval(Real, 0.0, 1.0)],
        "validation": [Options(None), Predicate(_is_validation, "a pair (X_val, y_val)")],
        "box": [Options(None), Predicate(_is_box, "a pair (low, high) of finite low < high")],
        "step": [Interval(Real, 0.0, None, closed="neither")],
        "max_iter": [Interval(Integral, 0, None)],
        "tol": [Interval(Real, 0.0, None)],
        "label": [Options(None), Predicate(lambda v: isinstance(v, str | Integral), "a class")],
        "random_state": RANDOM_STATE,
    }

    def _strength(self) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def _poison(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> PoisonResult:
        owner = type(self).__name__
        classes, rows = self._classes(y, owner)
        count = resolve_budget(
            self.budget, len(y), owner=owner, available=len(y), what="training samples"
        )
        fixed = self._label_index(classes, owner)
        problem = self._surrogate(X, y, classes, rows)
        low, high = self.box if self.box is not None else (float(X.min()), float(X.max()))
        index = np.searchsorted(classes, y[rows].astype(str))
        points, labels, runs = [], [], []
        for _ in range(count):
            if fixed is None:
                start = int(rng.integers(len(rows)))
                others = np.delete(np.arange(len(classes)), index[start])
                label = int(others[rng.integers(len(others))])
            else:
                label = fixed
                start = int(rng.choice(np.flatnonzero(index != label)))
            code = (1 if label == 1 else -1) if len(classes) == 2 else label
            u, run = ascend(
                problem,
                np.asarray(X[rows[start]], dtype=float),
                code,
                (low, high),
                step=self.step,
                max_iter=self.max_iter,
                tol=self.tol,
            )
            problem.add(u, code)
            points.append(u)
            labels.append(label)
            runs.append({"start_row": int(rows[start]), **run, "label": str(classes[label])})
        as_y = {str(c): c for c in np.unique(y)}
        X_out, y_out, added = append_points(X, y, points, [as_y[str(classes[k])] for k in labels])
        info = {
            "budget": count,
            "classes": [str(c) for c in classes],
            "model": self.model,
            "validation_size": len(problem.X_val),
            "box": (low, high),
            "points": runs,
        }
        return PoisonResult(X_out, y_out, added, info)

    def surrogate(self, X, y) -> LinearPoisoning:
        """The attacker's surrogate problem before any point is injected (for study and tests)."""
        from .._validation import check_params, check_X_y

        owner = type(self).__name__
        X, y = check_X_y(X, y, owner=owner)
        check_params(owner, self.get_params(deep=False), self._parameter_constraints)
        classes, rows = self._classes(y, owner)
        return self._surrogate(X, y, classes, rows)

    def _classes(self, y: np.ndarray, owner: str) -> tuple[np.ndarray, np.ndarray]:
        """The attacked classes (as str, sorted; a pair in the given order) and their rows."""
        labels = y.astype(str)
        present = np.unique(labels)
        if self.classes is None:
            return present, np.arange(len(y))
        for c in self.classes:
            if str(c) not in present:
                raise ValueError(
                    f"The 'classes' parameter of {owner} must name two of the classes "
                    f"{{{', '.join(present)}}}; got {tuple(self.classes)!r}."
                )
        pair = np.array(sorted(str(c) for c in self.classes))
        return pair, np.flatnonzero(np.isin(labels, pair))

    def _label_index(self, classes: np.ndarray, owner: str) -> int | None:
        if self.label is None:
            return None
        if str(self.label) not in classes:
            raise ValueError(
                f"The 'label' parameter of {owner} must be None or one of the attacked classes "
                f"{{{', '.join(classes)}}}; got {self.label!r}."
            )
        return int(np.flatnonzero(classes == str(self.label))[0])

    def _surrogate(
        self, X: np.ndarray, y: np.ndarray, classes: np.ndarray, rows: np.ndarray
    ) -> LinearPoisoning:
        owner = type(self).__name__
        X_train = np.asarray(X[rows], dtype=float)
        y_train = y[rows].astype(str)
        if self.validation is None:
            X_val, y_val = X_train, y_train
        else:
            X_val = np.asarray(self.validation[0])
            y_val = np.asarray(self.validation[1]).astype(str)
            if X_val.shape[1] != X.shape[1] or X_val.dtype.kind not in "biuf":
                raise ValueError(
                    f"The 'validation' parameter of {owner} must hold numeric X_val with "
                    f"{X.shape[1]} features, like X; got shape {X_val.shape}, dtype {X_val.dtype}."
                )
            keep = np.isin(y_val, classes)
            if not keep.any():
                raise ValueError(
                    f"The 'validation' parameter of {owner} must hold samples of the attacked "
                    f"classes {{{', '.join(classes)}}}; got none."
                )
            X_val, y_val = np.asarray(X_val[keep], dtype=float), y_val[keep]
        return LinearPoisoning(
            X_train,
            _targets(y_train, classes),
            X_val,
            _targets(y_val, classes),
            LinearLoss(self.model, self._strength()),
        )


def _targets(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Targets in {-1, +1}: one column (+1 = ``classes[1]``) for two classes, else one per class."""
    if len(classes) == 2:
        return np.where(labels == classes[1], 1.0, -1.0)[:, None]
    return np.where(labels[:, None] == classes[None, :], 1.0, -1.0)


def _defaults(**strength: float) -> dict:
    """Both attacks' parameters and defaults, in order, with the model's strength third."""
    return {
        "classes": None,
        "budget": 1,
        **strength,
        "validation": None,
        "box": None,
        "step": 0.05,
        "max_iter": 100,
        "tol": 1e-5,
        "label": None,
        "random_state": None,
    }


_COMMON_DOC = """
    Parameters
    ----------
    classes : None or pair of class labels, default=None
        A pair attacks the binary model of those two classes; None attacks all classes of
        ``y``: binary when there are two, one-vs-rest otherwise.
    budget : int or float, default=1
        Number of points injected, or a fraction of the training set (at most its size).
    {strength}
    validation : None or (X_val, y_val), default=None
        The attacker's validation set; rows of other classes are ignored. None uses the
        attacked training rows themselves.
    box : None or (low, high), default=None
        Bounds on every feature of an injected point; None: the training data's min and max.
    step : float, default=0.05
        Length of each gradient step, as a fraction of ``high - low``.
    max_iter : int, default=100
        Largest number of gradient steps per point.
    tol : float, default=1e-5
        Stop a point when the validation loss changes by less than this between steps.
    label : None or class label, default=None
        Label of every injected point, which starts from a random training point of another
        class. None: each point starts from a random training point and takes a random other
        class.
    random_state : None, int or numpy.random.Generator, default=None
        Chooses the starting points (and labels when ``label`` is None).
"""


@ATTACKS.register("logistic_gradient")
class LogisticGradient(LinearGradient):
    __doc__ = """Inject points crafted by gradient ascent on a logistic model's validation loss.

    The surrogate is scikit-learn's ``LogisticRegression(C)`` (L2 penalty, unpenalized
    intercept; its optimum computed by ``fit_logistic``, through the Gram matrix when there
    are fewer training rows than features); the objective is its validation log loss, the
    gradient from the implicit function theorem on the model's optimality conditions (Mei &
    Zhu 2015; secml's ``CAttackPoisoningLogisticRegression`` attacks the same model). Points
    are added one after another, each optimized with the earlier ones in the training set.
""" + _COMMON_DOC.format(strength="C : float, default=1.0\n        Inverse regularization.")

    model = "logistic"
    reference = (
        "S. Mei & X. Zhu, 'Using Machine Teaching to Identify Optimal Training-Set Attacks on "
        "Machine Learners', AAAI 2015; B. Biggio et al.'s gradient attack (ICML 2012) "
        "carried to logistic regression as in secml."
    )
    _parameter_constraints = {
        **LinearGradient._parameter_constraints,
        "C": [Interval(Real, 0.0, None, closed="neither")],
    }

    __init__ = keyword_init(**_defaults(C=1.0))

    def _strength(self) -> float:
        return float(self.C)


@ATTACKS.register("ridge_gradient")
class RidgeGradient(LinearGradient):
    __doc__ = """Inject points crafted by gradient ascent on a ridge classifier's validation loss.

    The surrogate is scikit-learn's ``Ridge(alpha)`` on targets -1 / +1 (what
    ``RidgeClassifier`` fits; its closed form, ``fit_ridge``); the objective is its validation
    squared loss, the gradient from the implicit function theorem on its normal equations
    (Xiao et al. 2015 for ridge and LASSO; secml's ``CAttackPoisoningRidge``).
""" + _COMMON_DOC.format(strength="alpha : float, default=1.0\n        L2 penalty.")

    model = "ridge"
    reference = (
        "H. Xiao, B. Biggio, G. Brown, G. Fumera, C. Eckert & F. Roli, 'Is Feature Selection "
        "Secure against Training Data Poisoning?', ICML 2015."
    )
    _parameter_constraints = {
        **LinearGradient._parameter_constraints,
        "alpha": [Interval(Real, 0.0, None, closed="neither")],
    }

    __init__ = keyword_init(**_defaults(alpha=1.0))

    def _strength(self) -> float:
        return float(self.alpha)
