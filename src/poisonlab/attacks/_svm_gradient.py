"""Gradient-ascent poisoning of a binary SVM (Biggio, Nelson & Laskov, ICML 2012).

The attacker injects a point ``(u, y_c)`` and moves ``u`` to maximize the hinge loss that the
SVM trained on ``D_tr + {(u, y_c)}`` incurs on a validation set ``D_val``:

    L(u) = sum_k max(0, -g_k),   g_k = y_k f(x_k) - 1.

The gradient comes from the SVM's optimality (KKT) conditions, as in incremental SVM learning:
while ``u`` moves a little, the margin support vectors S keep ``g_s = 0`` and the constraint
``sum_j y_j alpha_j = 0`` holds, the error vectors keep ``alpha = C`` and the attack point keeps
its ``alpha_c``. Differentiating those conditions gives the linear system

    M [ db/du ; dalpha_S/du ] = - [ 0 ; alpha_c y_c y_S dK(x_S, u)/du ],
    M = [ 0  y_S^T ; y_S  Q_SS ],

with ``Q_ij = y_i y_j K(x_i, x_j)``, and then
``dg_k/du = y_k (K(x_k, x_S) (y_S * dalpha_S/du) + alpha_c y_c dK(x_k, u)/du + db/du)``,
``dL/du = -sum_{k: g_k < 0} dg_k/du``. Each step moves ``u`` by a fixed length along the
normalized gradient, projected onto the box of allowed feature values.

No library implements this derivative for scikit-learn's SVC (secml does, but it is a heavy
framework with its own classifier classes), so it is written here from the paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np

from .._validation import (
    BUDGET,
    RANDOM_STATE,
    Interval,
    Options,
    ParameterError,
    Predicate,
    check_params,
    check_X_y,
    resolve_budget,
)
from ._binary_svm import (
    CLASS_PAIR,
    GAMMA,
    Kernel,
    append_points,
    binary_view,
    hinge_losses,
    resolve_gamma,
)
from .base import ATTACKS, BaseAttack, PoisonResult

# libsvm's stopping tolerance for the surrogate SVM: the gradient assumes exact KKT conditions,
# and SVC's default (1e-3) leaves dual variables too rough for a faithful derivative.
_SVM_PARAMS = {"tol": 1e-6, "shrinking": True, "cache_size": 200, "max_iter": -1}


def _is_validation(value) -> bool:
    if not isinstance(value, tuple | list) or len(value) != 2:
        return False
    X_val, y_val = np.asarray(value[0]), np.asarray(value[1])
    return X_val.ndim == 2 and y_val.ndim == 1 and len(X_val) == len(y_val) > 0


def _is_box(value) -> bool:
    return (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, Real) and not isinstance(v, bool) for v in value)
        and np.isfinite(value).all()
        and value[0] < value[1]
    )


@dataclass
class PoisoningProblem:
    """The surrogate SVM on ``D_tr`` (plus points already injected) and the validation set.

    Parameters
    ----------
    X_train : ndarray of shape (n, n_features)
    y_train : ndarray of shape (n,)
        Labels as -1.0 / +1.0.
    X_val : ndarray of shape (m, n_features)
    y_val : ndarray of shape (m,)
        Labels as -1.0 / +1.0.
    kernel : Kernel
    C : float
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    kernel: Kernel
    C: float
    objective: str = "hinge"
    temperature: float = 0.1
    K_train: np.ndarray = field(init=False, repr=False)
    K_val: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Kernel values among fixed points are computed once; each step adds one row/column.
        self.K_train = self.kernel(self.X_train, self.X_train)
        self.K_val = self.kernel(self.X_val, self.X_train)

    def add(self, u: np.ndarray, sign: float) -> None:
        """Make ``(u, sign)`` part of the training set (the next point is optimized with it)."""
        k_u = self.kernel(self.X_train, u[None, :])[:, 0]
        k_uu = self.kernel(u[None, :], u[None, :])[0, 0]
        self.K_train = np.block([[self.K_train, k_u[:, None]], [k_u[None, :], k_uu]])
        self.K_val = np.hstack([self.K_val, self.kernel(self.X_val, u[None, :])])
        self.X_train = np.vstack([self.X_train, u])
        self.y_train = np.append(self.y_train, sign)

    def fit(self, u: np.ndarray, sign: float) -> tuple[np.ndarray, float, np.ndarray]:
        """Train the SVM on ``D_tr + {(u, sign)}``.

        Returns
        -------
        alpha : ndarray of shape (n + 1,)
            Dual variables (0 for non-support vectors); the attack point is last.
        b : float
            Intercept.
        k_val_u : ndarray of shape (m,)
            ``K(X_val, u)``.
        """
        from ..models.shared_kernel import fit_binary

        k_u = self.kernel(self.X_train, u[None, :])[:, 0]
        k_uu = self.kernel(u[None, :], u[None, :])[0, 0]
        K = np.block([[self.K_train, k_u[:, None]], [k_u[None, :], k_uu]])
        signs = np.append(self.y_train, sign)
        # The same libsvm fit as SVC(kernel="precomputed"), without SVC's per-call checks.
        params = {**_SVM_PARAMS, "C": self.C}
        support, dual_coef, intercept = fit_binary(K, (signs > 0).astype(float), params)
        alpha = np.zeros(len(signs))
        # dual_coef holds y_j alpha_j, signed so that decision > 0 means +1.
        alpha[support] = dual_coef * signs[support]
        return alpha, intercept, self.kernel(self.X_val, u[None, :])[:, 0]

    def validation_decision(self, u: np.ndarray, sign: float) -> np.ndarray:
        """``f(X_val)`` of the SVM trained with ``(u, sign)``, shape (m,)."""
        alpha, b, k_val_u = self.fit(u, sign)
        n = len(self.y_train)
        return self.K_val @ (alpha[:n] * self.y_train) + k_val_u * alpha[n] * sign + b

    def validation_error(self, u: np.ndarray, sign: float) -> float:
        """Fraction of the validation set misclassified by the SVM trained with ``(u, sign)``."""
        return float(np.mean(self.y_val * self.validation_decision(u, sign) <= 0))

    def validation_loss(self, u: np.ndarray, sign: float) -> float:
        """L(u): the validation hinge loss of the SVM trained with ``(u, sign)`` added."""
        return self.loss_and_gradient(u, sign, gradient=False)[0]

    def error_and_loss(self, u: np.ndarray, sign: float) -> tuple[float, float]:
        """The validation error and loss of the SVM trained with ``(u, sign)``, from one fit."""
        margins = self.y_val * self.validation_decision(u, sign)
        return float(np.mean(margins <= 0)), float(self.outer_losses(margins)[0].sum())

    def loss_and_gradient(
        self, u: np.ndarray, sign: float, *, gradient: bool = True
    ) -> tuple[float, np.ndarray | None, float]:
        """L(u), its gradient in u (the paper's KKT derivative), and the attack point's alpha.

        Parameters
        ----------
        u : ndarray of shape (n_features,)
        sign : float
            Label of the attack point, -1.0 or +1.0.
        gradient : bool, default=True
            Whether to compute the gradient (None otherwise).

        Returns
        -------
        loss : float
        grad : ndarray of shape (n_features,) or None
        alpha_c : float
        """
        alpha, b, k_val_u = self.fit(u, sign)
        n = len(self.y_train)
        y_all = np.append(self.y_train, sign)
        decision = (self.K_val @ (alpha[:n] * self.y_train)) + k_val_u * alpha[n] * sign + b
        losses, slopes = self.outer_losses(self.y_val * decision)
        if not gradient:
            return float(losses.sum()), None, float(alpha[n])
        return float(losses.sum()), self._gradient(u, sign, alpha, y_all, slopes), float(alpha[n])

    def outer_losses(self, margins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The attacker's per-sample validation losses and ``-d loss / d margin``.

        ``objective="hinge"``: the paper's ``max(0, 1 - m)`` (slope 1 where ``m < 1``);
        ``"sigmoid"``: ``sigmoid(-m / temperature)``, a smooth count of validation errors.

        Parameters
        ----------
        margins : ndarray of shape (m,)
            ``y_k f(x_k)`` on the validation set.
        """
        if self.objective == "hinge":
            losses = hinge_losses(np.ones_like(margins), margins)
            return losses, (losses > 0).astype(float)
        from scipy.special import expit

        losses = expit(-margins / self.temperature)
        return losses, losses * (1.0 - losses) / self.temperature

    def _gradient(
        self, u: np.ndarray, sign: float, alpha: np.ndarray, y_all: np.ndarray, slopes: np.ndarray
    ) -> np.ndarray:
        """dL/du, shape (n_features,), from the fitted duals ``alpha`` (n + 1,) and the slopes
        ``-d loss_k / d margin_k`` (m,) of the validation losses."""
        n = len(self.y_train)
        alpha_c = alpha[n]
        violated = slopes > 0
        if alpha_c == 0 or not violated.any():
            # The attack point is no support vector (it does not move the SVM) or nothing is
            # lost on validation: the gradient is zero, as the paper notes.
            return np.zeros_like(u)
        # Margin support vectors among the fixed training points (0 < alpha < C).
        S = np.flatnonzero((alpha[:n] > 0) & (alpha[:n] < self.C * (1.0 - 1e-8)))
        X_S, y_S = self.X_train[S], y_all[S]
        k_Su = self.kernel(X_S, u[None, :])[:, 0]
        M = np.zeros((len(S) + 1, len(S) + 1))
        M[0, 1:] = y_S
        M[1:, 0] = y_S
        M[1:, 1:] = np.outer(y_S, y_S) * self.K_train[np.ix_(S, S)]
        rhs = np.zeros((len(S) + 1, len(u)))
        rhs[1:] = (alpha_c * sign) * y_S[:, None] * self.kernel.gradient(X_S, u, k_Su)
        # The loss needs only v . (db, dalpha_S) with v = sum over violated k of
        # (y_k, y_k y_S K(x_k, x_S)); by symmetry of M, v . M^+ rhs = (M^+ v) . rhs, so one
        # solve with one right-hand side replaces a solve with n_features of them. Least
        # squares because M is singular when S is degenerate (empty, or more margin SVs than
        # the kernel's feature space has dimensions): the minimum-norm solution.
        y_v = self.y_val[violated] * slopes[violated]  # d margin_k = y_k d f(x_k)
        v = np.concatenate([[y_v.sum()], y_S * (y_v @ self.K_val[np.ix_(violated, S)])])
        w = np.linalg.lstsq(M, v, rcond=None)[0]
        X_v = self.X_val[violated]
        k_vu = self.kernel(X_v, u[None, :])[:, 0]
        direct = y_v @ self.kernel.gradient(X_v, u, k_vu)
        return w @ rhs - (alpha_c * sign) * direct


@dataclass(frozen=True)
class AttackedClasses:
    """The rows an SVM attack works on, with their labels coded as its problem reads them.

    A pair (two classes): codes are signs, -1.0 / +1.0 (:class:`BinaryView`'s); one-vs-rest
    (more classes): codes are class indices.

    Attributes
    ----------
    rows : ndarray of shape (n_attacked,)
        Rows of the training set, in row order.
    codes : ndarray of shape (n_attacked,)
    classes : ndarray of shape (n_classes,)
        The class labels as values of ``y``; a pair is ``(negative, positive)``.
    """

    rows: np.ndarray
    codes: np.ndarray
    classes: np.ndarray

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2

    def names(self) -> list[str]:
        return [str(c) for c in self.classes]

    def code_of(self, name: str) -> float | int:
        """The code of a class given by name."""
        k = self.names().index(str(name))
        return (1.0 if k == 1 else -1.0) if self.binary else k

    def label_of(self, code: float | int):
        """The class label (a value of ``y``) of a code."""
        return self.classes[int(code > 0) if self.binary else int(code)]

    def others(self, code: float | int) -> list:
        """The codes of every class but ``code``'s."""
        if self.binary:
            return [-float(code)]
        return [k for k in range(len(self.classes)) if k != code]


def attacked_classes(y: np.ndarray, classes: tuple | list | None) -> AttackedClasses:
    """The pair ``classes`` (or ``y``'s two classes), else every class of ``y``, one-vs-rest."""
    present = np.unique(y)
    if classes is None and len(present) > 2:
        present, codes = np.unique(y, return_inverse=True)
        return AttackedClasses(np.arange(len(y)), codes, present)
    view = binary_view(y, classes, owner="SVMGradient")
    return AttackedClasses(view.rows, view.signs, np.array([view.negative, view.positive]))


@dataclass
class OneVsRestProblem:
    """One-vs-rest SVMs under attack: one :class:`PoisoningProblem` per class.

    Problem ``k`` separates class ``k`` (+1) from the others (-1), as scikit-learn's
    ``OneVsRestClassifier(SVC)`` does; an attack point of class ``c`` is a positive of problem
    ``c`` and a negative of every other. The objective is the sum of the binary validation
    losses, so its gradient is the sum of their gradients (each the paper's KKT derivative);
    the prediction is the class of the largest decision value.

    Parameters
    ----------
    problems : list of PoisoningProblem
        One per class, in class order, on the same rows.
    y_val : ndarray of shape (m,)
        Validation labels as class indices.
    """

    problems: list[PoisoningProblem]
    y_val: np.ndarray

    @property
    def X_train(self) -> np.ndarray:
        return self.problems[0].X_train

    @property
    def X_val(self) -> np.ndarray:
        return self.problems[0].X_val

    def _signs(self, label: int) -> list[float]:
        return [1.0 if k == label else -1.0 for k in range(len(self.problems))]

    def add(self, u: np.ndarray, label: int) -> None:
        """Make ``(u, label)`` part of every problem's training set."""
        for problem, sign in zip(self.problems, self._signs(label), strict=True):
            problem.add(u, sign)

    def loss_and_gradient(
        self, u: np.ndarray, label: int, *, gradient: bool = True
    ) -> tuple[float, np.ndarray | None, float]:
        """The summed validation loss, its gradient in ``u`` and the point's largest alpha.

        Parameters
        ----------
        u : ndarray of shape (n_features,)
        label : int
            The attack point's class index.
        """
        total, grad, alpha_c = 0.0, np.zeros_like(u, dtype=float), 0.0
        for problem, sign in zip(self.problems, self._signs(label), strict=True):
            loss, g, alpha = problem.loss_and_gradient(u, sign, gradient=gradient)
            total += loss
            alpha_c = max(alpha_c, alpha)
            if gradient:
                grad += g
        return total, (grad if gradient else None), alpha_c

    def validation_loss(self, u: np.ndarray, label: int) -> float:
        """The summed validation loss of the SVMs trained with ``(u, label)`` added."""
        return self.loss_and_gradient(u, label, gradient=False)[0]

    def validation_error(self, u: np.ndarray, label: int) -> float:
        """Fraction of the validation set whose largest decision value is another class's."""
        decisions = np.column_stack(
            [
                problem.validation_decision(u, sign)
                for problem, sign in zip(self.problems, self._signs(label), strict=True)
            ]
        )
        return float(np.mean(decisions.argmax(axis=1) != self.y_val))

    def error_and_loss(self, u: np.ndarray, label: int) -> tuple[float, float]:
        """The validation error and summed loss, from one fit per binary SVM."""
        decisions = np.column_stack(
            [
                problem.validation_decision(u, sign)
                for problem, sign in zip(self.problems, self._signs(label), strict=True)
            ]
        )
        loss = sum(
            float(problem.outer_losses(problem.y_val * decisions[:, k])[0].sum())
            for k, problem in enumerate(self.problems)
        )
        return float(np.mean(decisions.argmax(axis=1) != self.y_val)), loss


@ATTACKS.register("svm_gradient")
class SVMGradient(BaseAttack):
    """Inject points crafted by gradient ascent on an SVM's validation hinge loss.

    Biggio, Nelson & Laskov (2012): each injected point starts as a copy of a random training
    point of one class (the attacked class) relabelled as the other (the attacking class),
    and moves by fixed-length steps along the gradient of the validation hinge loss, derived
    from the SVM's KKT conditions, inside a box of feature values. Points are added one after
    another, each optimized with the earlier ones in the training set. On multi-class data it
    attacks the binary SVM of one class pair (``classes``), or, with ``classes=None``, the
    one-vs-rest SVMs of every class (one binary SVM per class against the others; the
    objective is the sum of their validation losses, and its gradient the sum of theirs).

    Parameters
    ----------
    classes : None or pair of class labels, default=None
        ``(negative, positive)``: the two classes attacked. None: every class of ``y``, binary
        when there are two, one-vs-rest otherwise.
    budget : int or float, default=1
        Number of points injected, or a fraction of the training set (at most its size).
    kernel : {"linear", "rbf", "poly"}, default="linear"
    C : float, default=1.0
    gamma : {"scale", "auto"} or float, default="scale"
        Fixed once on the clean samples of the pair, as SVC computes it.
    degree : int, default=3
        Degree of the polynomial kernel.
    coef0 : float, default=0.0
        Constant term of the polynomial kernel.
    validation : None or (X_val, y_val), default=None
        The attacker's validation set ``D_val``; rows of classes outside the pair are ignored.
        None uses the pair's training samples themselves (an attacker who knows the training
        set and has no other data).
    box : None or (low, high), default=None
        Bounds on every feature of an injected point; None takes the smallest and largest
        value in the training data (e.g. 0 and 255 for MNIST pixels).
    step : float, default=0.05
        Length of each gradient step, as a fraction of ``high - low``.
    max_iter : int, default=100
        Largest number of gradient steps per injected point.
    tol : float, default=1e-5
        Stop a point when the validation loss changes by less than this between steps.
    label : None or class label, default=None
        Label of every injected point (the paper's attacking class, fixed); each point starts
        from a random training point of another class. None draws per point: a random
        training point, given a random other label.
    objective : {"hinge", "sigmoid"}, default="hinge"
        The validation loss ascended: the paper's hinge loss, or a smoothed error count.
    temperature : float, default=0.1
        Scale of the sigmoid objective's margins.
    restarts : int, default=1
        Gradient ascents per point; the one whose SVM errs most on validation is kept.
    start : {"random", "lookahead"}, default="random"
        Starting rows of the ascents: random (the paper), or those whose injection, flipped,
        raises the validation error most.
    optimizer : {"gradient", "cma"}, default="gradient"
        ``"gradient"``: the paper's projected gradient ascent. ``"cma"``: a derivative-free
        search of the validation error itself (CMA-ES, the ``cma`` package) over points
        ``clip(m + P z, box)``, with ``m`` the mean and ``P`` the top ``components``
        principal directions of the attacker's images (the pair's training and validation
        rows); each evaluation retrains the SVM; ties are broken by the objective's loss.
        Every label (or ``label``) gets one search; ``step``, ``max_iter``, ``tol``,
        ``restarts`` and ``start`` apply to the gradient only.
    components : int, default=30
        Principal directions searched by ``optimizer="cma"`` (at most as many as the
        attacker's images or features have; the number used is in ``info["points"]``).
    evaluations : int, default=3000
        SVM retrainings per label and point of ``optimizer="cma"``; CMA-ES stops after the
        generation of candidates that reaches this number.
    random_state : None, int or numpy.random.Generator, default=None
        Chooses the starting points (and labels when ``label`` is None), or CMA-ES's samples.
    """

    kind = "inject"
    reference = (
        "B. Biggio, B. Nelson & P. Laskov, 'Poisoning Attacks against Support Vector "
        "Machines', ICML 2012 (arXiv:1206.6389)."
    )
    _parameter_constraints = {
        "classes": CLASS_PAIR,
        "budget": BUDGET,
        "kernel": [Options("linear", "rbf", "poly")],
        "C": [Interval(Real, 0.0, None, closed="neither")],
        "gamma": GAMMA,
        "degree": [Interval(Integral, 1, None)],
        "coef0": [Interval(Real, None, None)],
        "validation": [Options(None), Predicate(_is_validation, "a pair (X_val, y_val)")],
        "box": [Options(None), Predicate(_is_box, "a pair (low, high) of finite low < high")],
        "step": [Interval(Real, 0.0, None, closed="neither")],
        "max_iter": [Interval(Integral, 0, None)],
        "tol": [Interval(Real, 0.0, None)],
        "label": [Options(None), Predicate(lambda v: isinstance(v, str | Integral), "a class")],
        "objective": [Options("hinge", "sigmoid")],
        "temperature": [Interval(Real, 0.0, None, closed="neither")],
        "restarts": [Interval(Integral, 1, None)],
        "start": [Options("random", "lookahead")],
        "optimizer": [Options("gradient", "cma")],
        "components": [Interval(Integral, 1, None)],
        "evaluations": [Interval(Integral, 1, None)],
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        classes: tuple | None = None,
        budget: int | float = 1,
        kernel: str = "linear",
        C: float = 1.0,
        gamma: str | float = "scale",
        degree: int = 3,
        coef0: float = 0.0,
        validation: tuple | None = None,
        box: tuple | None = None,
        step: float = 0.05,
        max_iter: int = 100,
        tol: float = 1e-5,
        label=None,
        objective: str = "hinge",
        temperature: float = 0.1,
        restarts: int = 1,
        start: str = "random",
        optimizer: str = "gradient",
        components: int = 30,
        evaluations: int = 3000,
        random_state=None,
    ) -> None:
        self.classes = classes
        self.budget = budget
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.validation = validation
        self.box = box
        self.step = step
        self.max_iter = max_iter
        self.tol = tol
        self.label = label
        self.objective = objective
        self.temperature = temperature
        self.restarts = restarts
        self.start = start
        self.optimizer = optimizer
        self.components = components
        self.evaluations = evaluations
        self.random_state = random_state

    def _poison(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> PoisonResult:
        attacked = attacked_classes(y, self.classes)
        count = resolve_budget(
            self.budget, len(y), owner="SVMGradient", available=len(y), what="training samples"
        )
        fixed = self._label_code(attacked)
        problem = self._surrogate(X, attacked)
        low, high = self.box if self.box is not None else (float(X.min()), float(X.max()))
        basis = self._basis(problem) if self.optimizer == "cma" else None
        points, codes, runs = [], [], []
        for _ in range(count):
            best = None
            tries = self._tries(problem, attacked, fixed, rng)
            for start, code in tries:
                if start is None:
                    u, run = cma_search(
                        problem, code, (low, high), basis, evaluations=self.evaluations, rng=rng
                    )
                else:
                    u, run = ascend(
                        problem,
                        problem.X_train[start].copy(),
                        code,
                        (low, high),
                        step=self.step,
                        max_iter=self.max_iter,
                        tol=self.tol,
                    )
                    run = {"start_row": int(attacked.rows[start]), **run}
                # Several tries: keep the one whose SVM errs most on validation (then the
                # larger objective); one try (the paper) needs no comparison.
                key = (
                    (problem.validation_error(u, code), run["final_loss"]) if len(tries) > 1 else 0
                )
                if best is None or key > best[0]:
                    best = (key, u, code, run)
            _, u, code, run = best
            problem.add(u, code)
            points.append(u)
            codes.append(code)
            runs.append(run if attacked.binary else {**run, "label": str(attacked.label_of(code))})
        X_out, y_out, added = append_points(X, y, points, [attacked.label_of(c) for c in codes])
        info = {
            "budget": count,
            "classes": attacked.names(),
            "kernel": self.kernel,
            "validation_size": len(problem.y_val),
            "box": (low, high),
            "points": runs,
        }
        return PoisonResult(X_out, y_out, added, info)

    def surrogate(self, X, y) -> PoisoningProblem | OneVsRestProblem:
        """The attacker's surrogate problem for a training set, before any point is injected.

        Exposes the validation loss and its gradient (``loss_and_gradient``) for study, e.g.
        the finite-difference comparison in ``benchmarks/bench_svm_poisoning.py``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        PoisoningProblem or OneVsRestProblem
            On the pair's training rows, with labels -1 / +1 (``classes[1]`` is +1); one
            problem per class when ``classes`` is None and ``y`` has more than two.
        """
        X, y = check_X_y(X, y, owner="SVMGradient")
        check_params("SVMGradient", self.get_params(deep=False), self._parameter_constraints)
        return self._surrogate(X, attacked_classes(y, self.classes))

    def _surrogate(
        self, X: np.ndarray, attacked: AttackedClasses
    ) -> PoisoningProblem | OneVsRestProblem:
        X_train = np.asarray(X[attacked.rows], dtype=float)
        if self.validation is None:
            X_val, val_codes = X_train, attacked.codes
        else:
            X_val, val_codes = self._validation_codes(X, attacked)
        kernel = Kernel(
            self.kernel,
            resolve_gamma(self.gamma, X_train),
            int(self.degree),
            float(self.coef0),
        )

        def problem(signs: np.ndarray, val_signs: np.ndarray) -> PoisoningProblem:
            return PoisoningProblem(
                X_train,
                signs,
                X_val,
                val_signs,
                kernel,
                float(self.C),
                self.objective,
                float(self.temperature),
            )

        if attacked.binary:
            return problem(attacked.codes.astype(float), val_codes.astype(float))
        return OneVsRestProblem(
            [
                problem(
                    np.where(attacked.codes == k, 1.0, -1.0), np.where(val_codes == k, 1.0, -1.0)
                )
                for k in range(len(attacked.classes))
            ],
            val_codes,
        )

    def _validation_codes(
        self, X: np.ndarray, attacked: AttackedClasses
    ) -> tuple[np.ndarray, np.ndarray]:
        X_val, y_val = np.asarray(self.validation[0]), np.asarray(self.validation[1]).astype(str)
        if X_val.shape[1] != X.shape[1] or X_val.dtype.kind not in "biuf":
            raise ParameterError(
                f"The 'validation' parameter of SVMGradient must hold numeric X_val with "
                f"{X.shape[1]} features, like X; got shape {X_val.shape}, dtype {X_val.dtype}.",
                path=("validation",),
            )
        keep = np.isin(y_val, attacked.names())
        if not keep.any():
            raise ParameterError(
                "The 'validation' parameter of SVMGradient must hold samples of the attacked "
                f"classes {{{', '.join(attacked.names())}}}; got none.",
                path=("validation",),
            )
        codes = np.array([attacked.code_of(label) for label in y_val[keep]])
        return np.asarray(X_val[keep], dtype=float), codes

    def _tries(
        self,
        problem: PoisoningProblem | OneVsRestProblem,
        attacked: AttackedClasses,
        fixed: float | None,
        rng: np.random.Generator,
    ) -> list[tuple[int | None, float]]:
        """(starting row, label) of each try; the row is None for a CMA-ES search."""
        if self.optimizer == "gradient":
            return self._starts(problem, attacked, fixed, rng)
        labels = [fixed] if fixed is not None else [attacked.code_of(c) for c in attacked.names()]
        return [(None, code) for code in labels]

    def _basis(self, problem: PoisoningProblem | OneVsRestProblem) -> tuple[np.ndarray, ...]:
        """Mean (n_features,) and top principal directions (n_features, k) of the attacker's
        images, each direction scaled to the images' standard deviation along it."""
        images = np.vstack([problem.X_train, problem.X_val])
        mean = images.mean(axis=0)
        _, spread, directions = np.linalg.svd(images - mean, full_matrices=False)
        k = min(int(self.components), len(spread))
        return mean, directions[:k].T * (spread[:k] / np.sqrt(len(images)))

    def _starts(
        self,
        problem: PoisoningProblem | OneVsRestProblem,
        attacked: AttackedClasses,
        fixed: float | None,
        rng: np.random.Generator,
    ) -> list[tuple[int, float]]:
        """Starting rows (of the attacked training rows) and labels of the ``restarts`` tries.

        ``start="random"``: each try draws a row as the paper does (with ``label``: a random
        row of another class; without: a random row, given a random other label).
        ``"lookahead"``: every candidate row is injected as it is, with every other label (or
        ``label``), and the ``restarts`` whose SVM errs most on validation (then with the
        largest objective) are the starts.
        """
        codes = attacked.codes
        if self.start == "random":
            tries = []
            for _ in range(self.restarts):
                if fixed is None:
                    start = int(rng.integers(len(codes)))
                    others = attacked.others(codes[start])
                    # One other label (a pair) takes no draw: the paper's random stream.
                    pick = int(rng.integers(len(others))) if len(others) > 1 else 0
                    tries.append((start, others[pick]))
                else:
                    tries.append((int(rng.choice(np.flatnonzero(codes != fixed))), fixed))
            return tries
        candidates = [
            (int(i), code)
            for i in (np.arange(len(codes)) if fixed is None else np.flatnonzero(codes != fixed))
            for code in (attacked.others(codes[i]) if fixed is None else [fixed])
        ]
        keys = [
            (
                problem.validation_error(problem.X_train[i], code),
                problem.validation_loss(problem.X_train[i], code),
            )
            for i, code in candidates
        ]
        order = sorted(range(len(candidates)), key=lambda j: (-keys[j][0], -keys[j][1], j))
        return [candidates[j] for j in order[: self.restarts]]

    def _label_code(self, attacked: AttackedClasses) -> float | None:
        if self.label is None:
            return None
        if str(self.label) not in attacked.names():
            raise ParameterError(
                f"The 'label' parameter of SVMGradient must be None or one of the attacked "
                f"classes {{{', '.join(attacked.names())}}}; got {self.label!r}.",
                path=("label",),
            )
        return attacked.code_of(str(self.label))


#: Weight of the validation loss (per validation sample) beside the validation error in the
#: CMA-ES search: it only breaks ties, since the error is flat between its steps.
_TIE_BREAK = 1e-3


def cma_search(
    problem,
    label,
    box: tuple[float, float],
    basis: tuple[np.ndarray, np.ndarray],
    *,
    evaluations: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict]:
    """CMA-ES search of the validation error for one attack point; the best point and a summary.

    The gradient ascent ends at local optima of the validation loss (issue 15 measured restarts,
    look-ahead starts, other objectives and steps all ending at the same ones); a
    derivative-free search of the error itself, over a low-dimensional parametrization of the
    point, reaches other optima. Each evaluation retrains the SVM with the point.

    Parameters
    ----------
    problem : object
        Has ``error_and_loss(u, label) -> (validation error, validation loss)`` and ``y_val``.
    label : object
        The attack point's label as ``problem`` reads it (a sign, or a class index).
    box : (low, high)
        Bounds on every feature.
    basis : (mean of shape (n_features,), directions of shape (n_features, k))
        The point is ``clip(mean + directions @ z, low, high)``; the search starts at z = 0
        with step size 1.
    evaluations : int
        Most evaluations (SVM retrainings).
    rng : numpy.random.Generator
        Draws every CMA-ES sample (numpy's global random state is left alone).

    Returns
    -------
    u : ndarray of shape (n_features,)
    summary : dict
        ``evaluations``, ``components`` (the dimension searched), ``final_error`` and
        ``final_loss`` (validation, of the point kept) and ``label``.
    """
    import cma

    mean, directions = basis
    low, high = box

    def point(z: np.ndarray) -> np.ndarray:
        return np.clip(mean + directions @ z, low, high)

    def cost(z: np.ndarray) -> float:
        error, loss = problem.error_and_loss(point(z), label)
        return -(error + _TIE_BREAK * loss / len(problem.y_val))

    options = {
        "maxfevals": int(evaluations),
        "verbose": -9,
        "seed": np.nan,  # "do nothing": the samples come from rng, through randn
        "randn": lambda count, dim: rng.standard_normal((count, dim)),
    }
    search = cma.CMAEvolutionStrategy(np.zeros(directions.shape[1]), 1.0, options)
    while not search.stop():
        candidates = search.ask()
        search.tell(candidates, [cost(z) for z in candidates])
    u = point(np.asarray(search.result.xbest))
    error, loss = problem.error_and_loss(u, label)
    return u, {
        "evaluations": int(search.result.evaluations),
        "components": int(directions.shape[1]),
        "final_error": error,
        "final_loss": loss,
        "label": float(label),
    }


def ascend(
    problem,
    u: np.ndarray,
    label,
    box: tuple[float, float],
    *,
    step: float,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, dict]:
    """Projected gradient ascent for one attack point; the best point seen and a summary.

    Parameters
    ----------
    problem : object
        Has ``loss_and_gradient(u, label) -> (loss, grad (n_features,), ...)``.
    u : ndarray of shape (n_features,)
        Starting point.
    label : object
        The attack point's label as ``problem`` reads it (a sign, or a class index).
    box : (low, high)
        Bounds on every feature.
    step : float
        Length of each step, as a fraction of ``high - low``.
    max_iter : int
        Largest number of steps.
    tol : float
        Stop when the loss changes by less than this between steps.

    Returns
    -------
    u : ndarray of shape (n_features,)
    summary : dict
        ``steps``, ``initial_loss``, ``final_loss`` (the best loss) and ``label``.
    """
    low, high = box
    u = np.clip(u, low, high)
    length = step * (high - low)
    loss, grad = problem.loss_and_gradient(u, label)[:2]
    best_u, best_loss, first_loss = u, loss, loss
    steps = 0
    while steps < max_iter:
        # Projected gradient: a feature at a bound cannot move further out.
        grad = np.where(((u <= low) & (grad < 0)) | ((u >= high) & (grad > 0)), 0.0, grad)
        norm = float(np.linalg.norm(grad))
        # Zero up to rounding: not a support vector, no validation loss, a box corner, or
        # a flat region (e.g. a linear SVM pinned by n_features + 1 margin SVs).
        if norm <= 1e-9 * (1.0 + abs(loss)):
            break
        u = np.clip(u + length * grad / norm, low, high)
        steps += 1
        new_loss, grad = problem.loss_and_gradient(u, label)[:2]
        if new_loss > best_loss:
            best_u, best_loss = u, new_loss
        change, loss = abs(new_loss - loss), new_loss
        if change < tol:
            break
    return best_u, {
        "steps": steps,
        "initial_loss": first_loss,
        "final_loss": best_loss,
        "label": float(label),
    }
