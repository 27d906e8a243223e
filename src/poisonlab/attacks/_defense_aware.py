"""Defense-aware poisoning of binary linear models (Koh, Steinhardt & Liang 2022).

``min_max``, ``kkt`` and ``influence``; see each class for its algorithm.

Each attack knows the sanitizers they must get past and keep every poisoned point inside their
feasible set: the box of feature values and, for each defense, the set of points it keeps,
``beta(x, y) <= tau_y`` with ``beta`` and ``tau_y`` those of the poisonlab detector of that name
computed on the clean training data (``attacks/_feasible.py``, shared with the detectors in
``defenses/_sanitizers.py``). The sphere, slab and SVD
defenses give convex sets (a ball, a slab between two hyperplanes, a cylinder around a
subspace), so every step below is a convex program, solved with cvxpy (Clarabel).

- ``min_max`` (Steinhardt, Koh & Liang 2017, Algorithm 1, in the retraining form): one point at
  a time, fit the model on the clean data plus the points so far, then add the feasible point,
  of either label, on which that model's loss is largest. For a linear model the loss falls
  with the margin ``y (w . x + b)`` (hinge and logistic alike), so the point minimizes a linear
  function over the feasible set.
- ``kkt`` (Koh et al. 2022, Section 4.3): pick decoy parameters ``theta_d`` with a high loss (a
  model fitted on the clean data plus the same budget of label-flipped training points), then
  place ``n_+`` copies of one point ``x_+`` and ``n_-`` of one point ``x_-`` so that ``theta_d``
  satisfies the hinge SVM's optimality (KKT) conditions on the poisoned data: with ``g`` the
  subgradient of the clean objective at ``theta_d``, ``C (n_+ x_+ - n_- x_-) = g_w`` and
  ``C (n_+ - n_-) = g_b``, the points violating ``theta_d``'s margin. The first is solved in the
  least-squares sense over the feasible set; the split ``n_+ / n_-`` is chosen among a few
  candidates by the clean training loss of the retrained model.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np

from .._validation import RANDOM_STATE, Interval, Options, Predicate, resolve_budget
from ._binary_svm import CLASS_PAIR, BinaryView, append_points, binary_view
from ._feasible import (
    class_centroids,
    percentile_radii,
    slab_directions,
    slab_measure,
    sphere_measure,
    subspace_basis,
    svd_measure,
)
from ._svm_gradient import _is_box
from .base import ATTACKS, BaseAttack, PoisonResult, keyword_init

# Relative safety margin on every defense's threshold.
_INSIDE = 1e-5

#: Sanitizers whose feasible sets the attacks can model (convex sets).
MODELLED_DEFENSES = ("sphere_filter", "slab_filter", "svd_filter")


def _is_defense_list(value) -> bool:
    names = [value] if isinstance(value, str) else value
    return (
        isinstance(names, list | tuple)
        and all(isinstance(n, str) and n in MODELLED_DEFENSES for n in names)
        and len(set(names)) == len(names)
    )


DEFENSE = [
    Options(None),
    Predicate(_is_defense_list, "a name or a list of names among " + ", ".join(MODELLED_DEFENSES)),
]


def defense_names(defense) -> list[str]:
    """The ``defense`` parameter as a list of names."""
    if defense is None:
        return []
    return [defense] if isinstance(defense, str) else list(defense)


class FeasibleSet:
    """Points that the box and the named sanitizers keep, per label (-1 / +1).

    Each sanitizer's statistics and per-class thresholds are those its detector computes on
    the same data (``attacks/_feasible.py`` holds both's formulas).

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
        The clean training rows of the pair.
    signs : ndarray of shape (n,)
        Their labels, -1.0 / +1.0.
    defenses : list of str
        Names among :data:`MODELLED_DEFENSES`.
    percentile : float
        The defenses' per-class percentile.
    box : (low, high)
    n_components : int, default=10
        Rank of ``svd_filter``'s subspace (its default).
    """

    def __init__(
        self,
        X: np.ndarray,
        signs: np.ndarray,
        defenses: list[str],
        percentile: float,
        box: tuple[float, float],
        n_components: int = 10,
    ) -> None:
        self.box = box
        self.classes = np.array([-1.0, 1.0])
        index = (signs > 0).astype(int)
        self.centroids = class_centroids(X, signs, self.classes)
        self.directions = slab_directions(self.centroids)
        self.basis = subspace_basis(X, n_components) if "svd_filter" in defenses else None
        measures = {
            "sphere_filter": lambda: sphere_measure(X, self.centroids[index]),
            "slab_filter": lambda: slab_measure(X, self.centroids[index], self.directions[index]),
            "svd_filter": lambda: svd_measure(X, self.basis),
        }
        #: Per defense, the thresholds of the classes -1 and +1.
        self.radii = {
            name: percentile_radii(measures[name](), signs, self.classes, percentile)
            for name in defenses
        }

    def constraints(self, x, sign: float) -> list:
        """cvxpy constraints on the variable ``x`` for a point labelled ``sign``."""
        import cvxpy as cp

        low, high = self.box
        out = [x >= low, x <= high]
        k = int(sign > 0)
        for name, radii in self.radii.items():
            # A hair inside: interior-point solutions may overshoot a bound by about 1e-6.
            radius = float(radii[k]) * (1.0 - _INSIDE)
            if name == "sphere_filter":
                out.append(cp.norm(x - self.centroids[k], 2) <= radius)
            elif name == "slab_filter":
                offset = self.directions[k] @ (x - self.centroids[k])
                out += [offset <= radius, offset >= -radius]
            else:  # svd_filter: the part of x outside the subspace spanned by the basis
                # min_c ||x - V c|| is that distance, so a free c keeps the constraint exact
                # and sparse (V is n_features x k; V V^T would be dense n_features^2).
                coefficients = cp.Variable(self.basis.shape[1])
                out.append(cp.norm(x - self.basis @ coefficients, 2) <= radius)
        return out

    def contains(self, x: np.ndarray, sign: float) -> bool:
        """Whether every defense keeps ``(x, sign)`` (and ``x`` is in the box)."""
        low, high = self.box
        k = int(sign > 0)
        row = x[None, :]
        measure = {
            "sphere_filter": lambda: sphere_measure(row, self.centroids[k][None]),
            "slab_filter": lambda: slab_measure(
                row, self.centroids[k][None], self.directions[k][None]
            ),
            "svd_filter": lambda: svd_measure(row, self.basis),
        }
        return bool(
            np.all((x >= low) & (x <= high))
            and all(measure[name]()[0] <= radii[k] for name, radii in self.radii.items())
        )

    def minimize_linear(self, c: np.ndarray, sign: float) -> np.ndarray:
        """The feasible point labelled ``sign`` that minimizes ``c . x``."""
        import cvxpy as cp

        x = cp.Variable(len(c))
        solve(cp.Problem(cp.Minimize(c @ x), self.constraints(x, sign)))
        return self._clip(x.value)

    def project(self, z: np.ndarray, sign: float) -> np.ndarray:
        """The feasible point labelled ``sign`` nearest ``z`` (Euclidean)."""
        import cvxpy as cp

        x = cp.Variable(len(z))
        solve(cp.Problem(cp.Minimize(cp.norm(x - z, 2)), self.constraints(x, sign)))
        return self._clip(x.value)

    def _clip(self, value: np.ndarray) -> np.ndarray:
        # Interior-point solutions sit within about 1e-8 of the bounds, on either side.
        return np.clip(np.asarray(value, dtype=float), *self.box)


def solve(problem) -> None:
    """Solve a cvxpy problem with Clarabel, or SCS where Clarabel fails numerically.

    cvxpy's accuracy warning is not passed on: the solution is clipped to the box and kept a
    hair inside each threshold, and ``kkt`` checks its points against the detectors.
    """
    import warnings

    import cvxpy as cp

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        try:
            problem.solve(solver=cp.CLARABEL)
        except cp.error.SolverError:
            problem.solve(solver=cp.SCS, eps=1e-9)


def _fit_linear(X: np.ndarray, signs: np.ndarray, loss: str, C: float) -> tuple[np.ndarray, float]:
    """The victim's linear model on ``(X, signs)``: ``(w, b)``.

    ``hinge``: scikit-learn's ``SVC(kernel="linear")`` (libsvm, exact dual);
    ``logistic``: ``LogisticRegression`` (Newton-Cholesky).
    """
    if loss == "hinge":
        from sklearn.svm import SVC

        model = SVC(kernel="linear", C=C).fit(X, signs)
    else:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=C, solver="newton-cholesky", max_iter=1000).fit(X, signs)
    return np.asarray(model.coef_, dtype=float).ravel(), float(model.intercept_[0])


def _mean_loss(X, signs, w, b, loss) -> float:
    margins = signs * (X @ w + b)
    return float(
        np.mean(np.maximum(0, 1 - margins) if loss == "hinge" else np.logaddexp(0, -margins))
    )


class DefenseAware(BaseAttack):
    """Shared parameters and output of ``min_max`` and ``kkt``."""

    kind = "inject"
    _parameter_constraints = {
        "classes": CLASS_PAIR,
        "budget": [Interval(Integral, 0, None), Interval(Real, 0.0, 1.0)],
        "defense": DEFENSE,
        "percentile": [Interval(Real, 0.0, 100.0, closed="right")],
        "n_components": [Interval(Integral, 1, None)],
        "C": [Interval(Real, 0.0, None, closed="neither")],
        "box": [Options(None), Predicate(_is_box, "a pair (low, high) of finite low < high")],
        "random_state": RANDOM_STATE,
    }

    def _setup(self, X: np.ndarray, y: np.ndarray):
        owner = type(self).__name__
        view = binary_view(y, self.classes, owner=owner)
        count = resolve_budget(
            self.budget, len(y), owner=owner, available=len(y), what="training samples"
        )
        box = self.box if self.box is not None else (float(X.min()), float(X.max()))
        X_pair = np.asarray(X[view.rows], dtype=float)
        feasible = FeasibleSet(
            X_pair,
            view.signs,
            defense_names(self.defense),
            float(self.percentile),
            box,
            int(self.n_components),
        )
        return view, count, box, X_pair, feasible

    @classmethod
    def adapt_to(cls, defense: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters of an attacker who knows the defense it faces (``adaptive = true``).

        Against a sanitizer it can model (:data:`MODELLED_DEFENSES`) the attack evades exactly
        that one, with its percentile (and ``svd_filter``'s rank); against no defense it keeps
        only to the box. Against any other detector it cannot model the kept set, so it keeps
        its own ``defense`` parameter: ``{}``.

        Parameters
        ----------
        defense : str
            The study's detector name, or ``"none"``.
        params : mapping
            That detector's parameters as the spec gives them (defaults left out).

        Raises
        ------
        ValueError
            When the sanitizer flags by ``threshold`` or ``contamination`` rather than its
            percentile rule, which the feasible set does not model.
        """
        if defense == "none":
            return {"defense": None}
        if defense not in MODELLED_DEFENSES:
            return {}
        ruled = [k for k in ("threshold", "contamination") if params.get(k) is not None]
        if ruled:
            raise ValueError(
                f"{cls.__name__} models {defense}'s percentile rule only; got "
                f"{ruled[0]} = {params[ruled[0]]!r}. Remove it or set adaptive = false."
            )
        defaults = inspect.signature(cls.__init__).parameters
        out = {
            "defense": defense,
            "percentile": params.get("percentile", defaults["percentile"].default),
        }
        if defense == "svd_filter":
            out["n_components"] = params.get("n_components", defaults["n_components"].default)
        return out

    def _result(
        self,
        X: np.ndarray,
        y: np.ndarray,
        view: BinaryView,
        points: list[np.ndarray],
        signs: list[float],
        info: dict,
    ) -> PoisonResult:
        count = len(points)
        X_out, y_out, added = append_points(X, y, points, [view.label_of(s) for s in signs])
        distinct = len(np.unique(np.column_stack([X_out[added], signs]), axis=0)) if count else 0
        info = {
            "budget": count,
            "classes": (str(view.negative), str(view.positive)),
            "defense": defense_names(self.defense),
            "locations": distinct,
            **info,
        }
        return PoisonResult(X_out, y_out, added, info)


def _defaults(model: dict | None = None, ascent: dict | None = None) -> dict:
    """The attacks' parameters and defaults in signature order: the shared ones, with a
    ``model`` choice before ``C`` and ``ascent`` options after ``box``."""
    return {
        "classes": None,
        "budget": 0.03,
        "defense": ("sphere_filter", "slab_filter"),
        "percentile": 95.0,
        "n_components": 10,
        **(model or {}),
        "C": 1.0,
        "box": None,
        **(ascent or {}),
        "random_state": None,
    }


_SHARED_DOC = """
    Parameters
    ----------
    classes : None or pair of class labels, default=None
        ``(negative, positive)``: the binary model attacked; None requires binary ``y``.
    budget : int or float, default=0.03
        Number of points injected, or a fraction of the training set.
    defense : None, str or list of str, default=("sphere_filter", "slab_filter")
        The sanitizers to evade, among ``sphere_filter``, ``slab_filter``, ``svd_filter``; their
        feasible sets are computed on the clean training data. None: only the box.
    percentile : float, default=95
        The defenses' per-class percentile (as the detectors' parameter).
    n_components : int, default=10
        Rank of ``svd_filter``'s subspace (as that detector's parameter).
    {model}C : float, default=1.0
        The model's regularization (as scikit-learn's ``C``).
    box : None or (low, high), default=None
        Bounds on every feature; None: the training data's min and max.
    random_state : None, int or numpy.random.Generator
        Unused (the attack is deterministic); accepted for the common protocol.
"""


@ATTACKS.register("min_max")
class MinMax(DefenseAware):
    __doc__ = """Inject, one at a time, the feasible point on which the current model loses most.

    Steinhardt, Koh & Liang's online min-max attack as Koh et al. (2022) use it against
    sanitizers: the model is refitted on the clean data plus the points so far, and the next
    point is the one, of either label, inside the defenses' feasible set with the smallest
    margin under that model (the largest hinge or logistic loss); a linear program over a
    convex set. Points pile up at a few locations (``info["locations"]``).
""" + _SHARED_DOC.format(
        model='loss : {"hinge", "logistic"}, default="hinge"\n'
        "        The model: a linear SVM or logistic regression.\n    "
    )

    reference = (
        "J. Steinhardt, P. W. Koh & P. Liang, 'Certified Defenses for Data Poisoning Attacks', "
        "NeurIPS 2017 (Algorithm 1); P. W. Koh, J. Steinhardt & P. Liang, 'Stronger data "
        "poisoning attacks break data sanitization defenses', Machine Learning 111 (2022)."
    )
    _parameter_constraints = {
        **DefenseAware._parameter_constraints,
        "loss": [Options("hinge", "logistic")],
    }

    __init__ = keyword_init(**_defaults(model={"loss": "hinge"}))

    def _poison(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> PoisonResult:
        view, count, _, X_pair, feasible = self._setup(X, y)
        points: list[np.ndarray] = []
        signs: list[float] = []
        for _ in range(count):
            w, b = _fit_linear(
                np.vstack([X_pair, *points]) if points else X_pair,
                np.concatenate([view.signs, signs]),
                self.loss,
                float(self.C),
            )
            best = None
            for sign in (-1.0, 1.0):
                x = feasible.minimize_linear(sign * w, sign)
                margin = sign * (w @ x + b)
                if best is None or margin < best[0]:
                    best = (margin, x, sign)
            points.append(best[1])
            signs.append(best[2])
        return self._result(X, y, view, points, signs, {"loss": self.loss})


@ATTACKS.register("kkt")
class KKT(DefenseAware):
    __doc__ = """Inject copies of two points that make decoy parameters optimal for a linear SVM.

    Koh, Steinhardt & Liang (2022)'s KKT attack for the hinge loss: decoy parameters with a high
    loss (a linear SVM fitted on the clean data plus ``budget`` label-flipped copies of the
    training points it classifies most confidently), then ``n_+`` copies of ``x_+`` and
    ``n_-`` of ``x_-`` inside the defenses' feasible set, violating the decoy's margin, chosen so
    that the decoy satisfies the SVM's stationarity condition on the poisoned data (least
    squares, cvxpy). The split ``n_+ / n_-`` is the one, among five, whose retrained model has
    the largest hinge loss on the clean training data.
""" + _SHARED_DOC.format(model="")

    reference = (
        "P. W. Koh, J. Steinhardt & P. Liang, 'Stronger data poisoning attacks break data "
        "sanitization defenses', Machine Learning 111 (2022), Section 4.3 (KKT attack)."
    )

    __init__ = keyword_init(**_defaults())

    def _poison(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> PoisonResult:
        view, count, _, X_pair, feasible = self._setup(X, y)
        C, signs = float(self.C), view.signs
        if count == 0:
            return self._result(X, y, view, [], [], {"decoy_loss": None})
        w_d, b_d = self._decoy(X_pair, signs, count)
        # Subgradient of the clean objective 1/2 ||w||^2 + C sum hinge at the decoy.
        violating = signs * (X_pair @ w_d + b_d) < 1
        g_w = w_d - C * (signs[violating] @ X_pair[violating])
        best = None
        for n_plus in sorted({round(f * count) for f in (0.0, 0.25, 0.5, 0.75, 1.0)}):
            n_minus = count - n_plus
            x_plus, x_minus = self._place(feasible, g_w, w_d, b_d, n_plus, n_minus)
            points = [x_plus] * n_plus + [x_minus] * n_minus
            point_signs = [1.0] * n_plus + [-1.0] * n_minus
            w, b = _fit_linear(
                np.vstack([X_pair, *points]), np.concatenate([signs, point_signs]), "hinge", C
            )
            loss = _mean_loss(X_pair, signs, w, b, "hinge")
            if best is None or loss > best[0]:
                best = (loss, points, point_signs)
        decoy_loss = _mean_loss(X_pair, signs, w_d, b_d, "hinge")
        return self._result(
            X, y, view, best[1], best[2], {"decoy_loss": decoy_loss, "attack_loss": best[0]}
        )

    def _decoy(self, X_pair: np.ndarray, signs: np.ndarray, count: int):
        """A linear SVM on the clean data plus ``count`` flipped copies of its surest points."""
        w, b = _fit_linear(X_pair, signs, "hinge", float(self.C))
        order = np.argsort(-(signs * (X_pair @ w + b)), kind="stable")
        chosen = order[np.arange(count) % len(order)]
        return _fit_linear(
            np.vstack([X_pair, X_pair[chosen]]),
            np.concatenate([signs, -signs[chosen]]),
            "hinge",
            float(self.C),
        )

    def _place(self, feasible, g_w, w_d, b_d, n_plus, n_minus):
        """``x_+``, ``x_-`` with ``C (n_+ x_+ - n_- x_-)`` closest to ``g_w``, margin-violating."""
        import cvxpy as cp

        d = len(g_w)
        x_plus, x_minus = cp.Variable(d), cp.Variable(d)
        C = float(self.C)
        constraints = [
            *feasible.constraints(x_plus, 1.0),
            *feasible.constraints(x_minus, -1.0),
            w_d @ x_plus + b_d <= 1,  # inside or beyond the decoy's margin: hinge active
            -(w_d @ x_minus + b_d) <= 1,
        ]
        residual = C * (n_plus * x_plus - n_minus * x_minus) - g_w
        solve(cp.Problem(cp.Minimize(cp.sum_squares(residual)), constraints))
        if x_plus.value is not None:
            points = feasible._clip(x_plus.value), feasible._clip(x_minus.value)
            if feasible.contains(points[0], 1.0) and feasible.contains(points[1], -1.0):
                return points
        # No (accurate) solution: the feasible points deepest across the decoy's boundary.
        return feasible.minimize_linear(w_d, 1.0), feasible.minimize_linear(-w_d, -1.0)


@ATTACKS.register("influence")
class Influence(DefenseAware):
    __doc__ = (
        """Move two piles of poisons along the influence gradient, inside the feasible set.

    Koh, Steinhardt & Liang (2022)'s influence attack, with their two ideas: the poisons are
    concentrated (``budget // 2`` copies of ``x_-`` labelled negative, the rest copies of
    ``x_+``), and each step is projected onto the defenses' feasible set. The attacker's
    objective is the loss on the clean training data (a stand-in for the test loss) of a
    logistic regression (a smooth stand-in for the SVM's hinge, as the paper smooths it) fitted
    on the clean data plus the poisons; its gradient in each location comes from the implicit
    function theorem (``logistic_gradient``'s derivative, times the number of copies). Both
    locations start at ``min_max``'s first points, step ``step`` times the box width along
    their normalized gradients and are projected back (a cvxpy least-squares problem); the
    best pair seen is kept.
"""
        + _SHARED_DOC.format(model="")
        + """    step : float, default=0.05
        Step length, as a fraction of the box width (``high - low``) times sqrt(n_features).
    max_iter : int, default=20
        Gradient steps.
"""
    )

    reference = (
        "P. W. Koh, J. Steinhardt & P. Liang, 'Stronger data poisoning attacks break data "
        "sanitization defenses', Machine Learning 111 (2022), Section 4.1 (influence attack)."
    )
    _parameter_constraints = {
        **DefenseAware._parameter_constraints,
        "step": [Interval(Real, 0.0, None, closed="neither")],
        "max_iter": [Interval(Integral, 0, None)],
    }

    __init__ = keyword_init(**_defaults(ascent={"step": 0.05, "max_iter": 20}))

    def _poison(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> PoisonResult:
        from ._linear_gradient import LinearLoss, LinearPoisoning

        view, count, box, X_pair, feasible = self._setup(X, y)
        signs = view.signs
        copies = {-1.0: count // 2, 1.0: count - count // 2}
        model = LinearLoss("logistic", float(self.C))
        problem = LinearPoisoning(X_pair, signs[:, None], X_pair, signs[:, None], model)
        w, b = model.fit(X_pair, signs)
        where = {s: feasible.minimize_linear(s * w, s) for s in (-1.0, 1.0)}
        length = float(self.step) * (box[1] - box[0]) * np.sqrt(X.shape[1])
        best = None
        for _ in range(int(self.max_iter) + 1):
            X_all, t_all = self._poisoned(X_pair, signs, where, copies)
            w, b = model.fit(X_all, t_all)
            z = X_pair @ w + b
            loss = float(model.loss(z, signs).sum())
            if best is None or loss > best[0]:
                best = (loss, dict(where))
            for s in (-1.0, 1.0):
                if copies[s] == 0:
                    continue
                # The point's gradient with the location as the last row; times its copies.
                rows = np.vstack([X_all, where[s]])
                grad = copies[s] * problem.point_gradient(rows, np.append(t_all, s), w, b, z, signs)
                norm = float(np.linalg.norm(grad))
                if norm > 0:
                    where[s] = feasible.project(where[s] + length * grad / norm, s)
        points = [best[1][s] for s in (-1.0, 1.0) for _ in range(copies[s])]
        point_signs = [s for s in (-1.0, 1.0) for _ in range(copies[s])]
        return self._result(X, y, view, points, point_signs, {"attack_loss": best[0]})

    @staticmethod
    def _poisoned(X_pair, signs, where, copies):
        X_all = np.vstack([X_pair] + [np.repeat(where[s][None], copies[s], 0) for s in where])
        t_all = np.concatenate([signs] + [np.full(copies[s], s) for s in where])
        return X_all, t_all
