"""Upper bound on a linear SVM's loss under sphere and slab filtering (Steinhardt et al. 2017)."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from .._validation import Interval, Options, Predicate
from .base import CERTIFICATES, BaseCertificate, binary_classes
from .features import FEATURES

#: The authors' settings for MNIST-1-7 (kohpangwei/data-poisoning-release, ``datasets.py`` and
#: ``generate_bounds.py``): radii at the 70th percentile of the clean distances, an SVM bias
#: inside the norm bound ``||w||^2 + b^2 <= 0.8``, step size 0.1 and 8,000 steps. Keyword
#: arguments of ``sphere_slab_bound`` (and of ``examples/certify_sphere_slab_curve.py``).
PAPER_SETTINGS = {"quantile": 0.7, "rho": 0.8**0.5, "bias": True, "eta": 0.1, "min_steps": 8000}

#: The paper's Figure 2(b) (MNIST-1-7), read off the figure as the authors' notebook
#: ``make_combined_paper_plots.ipynb`` (kohpangwei/data-poisoning-release, cell "Figure 2")
#: rendered it, one pixel = 0.00027 of loss: (epsilon, upper bound U*, the attack's test hinge
#: loss). Within 0.0005 from epsilon = 0.04 on, within 0.003 below (steep segments).
PAPER_FIGURE_2B = (
    (0.0, 0.030, 0.035),
    (0.01, 0.051, 0.042),
    (0.02, 0.059, 0.054),
    (0.03, 0.062, 0.062),
    (0.04, 0.063, 0.068),
    (0.05, 0.063, 0.068),
    (0.1, 0.063, 0.069),
    (0.2, 0.063, 0.069),
    (0.3, 0.063, 0.069),
)


@dataclass(frozen=True)
class SphereSlab:
    """The defender's feasible set, per class ``y`` in {-1, +1} (index 0 and 1).

    A point ``(x, y)`` passes when ``||x - mu_y|| <= radius_y`` (sphere) and
    ``|<x - mu_y, mu_y - mu_-y>| <= slab_y`` (slab), with the true class centroids ``mu``.
    """

    centroids: np.ndarray  # (2, n_features)
    radius: np.ndarray  # (2,)
    slab: np.ndarray  # (2,)

    @classmethod
    def fit(cls, X: np.ndarray, signs: np.ndarray, quantile: float) -> SphereSlab:
        """Centroids of the clean data, and radii at the given quantile of its distances."""
        mu = np.stack([X[signs == s].mean(axis=0) for s in (-1, 1)])
        radius, slab = np.empty(2), np.empty(2)
        for i, s in enumerate((-1, 1)):
            rows = X[signs == s] - mu[i]
            radius[i] = np.quantile(np.linalg.norm(rows, axis=1), quantile)
            slab[i] = np.quantile(np.abs(rows @ (mu[i] - mu[1 - i])), quantile)
        return cls(mu, radius, slab)

    def worst_point(self, theta: np.ndarray, bias: float = 0.0) -> tuple[np.ndarray, int, float]:
        """The feasible point of largest hinge loss under ``(theta, bias)``, its label and loss.

        For label ``y`` the loss ``1 - y theta.(mu_y + u)`` is largest where ``w.u`` is
        smallest (``w = y theta``) over ``||u|| <= r`` and ``|u.v| <= s``: in the plane of
        ``v`` and ``w``, on the sphere, at the angle to ``w`` the slab allows. The bias moves
        both labels' losses, not where they are largest.
        """
        best = (self.centroids[0], -1, -np.inf)
        for i, y in enumerate((-1, 1)):
            v = self.centroids[i] - self.centroids[1 - i]
            v_hat = v / max(np.linalg.norm(v), 1e-300)
            w = y * theta
            w_v = float(w @ v_hat)
            w_perp = w - w_v * v_hat
            perp = float(np.linalg.norm(w_perp))
            r, s = self.radius[i], self.slab[i] / max(np.linalg.norm(v), 1e-300)
            norm_w = float(np.hypot(w_v, perp))
            along = r * abs(w_v) / norm_w if norm_w > 0 else 0.0
            along = min(along, s, r)
            across = np.sqrt(max(r * r - along * along, 0.0))
            u = -np.sign(w_v) * along * v_hat
            if perp > 0:
                u = u - across * w_perp / perp
            x = self.centroids[i] + u
            loss = max(0.0, 1.0 - y * (float(theta @ x) + bias))
            if loss > best[2]:
                best = (x, y, loss)
        return best


def hinge(theta: np.ndarray, X: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """Hinge loss ``max(0, 1 - y theta.x)`` of each row."""
    return np.maximum(0.0, 1.0 - signs * (X @ theta))


def with_ones(X: np.ndarray) -> np.ndarray:
    """``X`` with a last column of ones: a bias as one more weight, inside the norm bound."""
    return np.hstack([X, np.ones((len(X), 1))])


def sphere_slab_upper_bound(
    X: np.ndarray,
    signs: np.ndarray,
    defence: SphereSlab,
    epsilon: float,
    rho: float,
    eta: float = 1.0,
    min_steps: int = 500,
    bias: bool = False,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Algorithm 1 of Steinhardt, Koh & Liang (2017): the bound and the candidate attack.

    Online learning (regularized dual averaging over ``||theta|| <= rho``) against the
    attacker's best response: at each of ``epsilon * n`` steps the attacker adds the feasible
    point of largest loss, and ``U = (1/n) L(theta; clean) + epsilon * max loss`` at the
    current ``theta`` is an upper bound on ``max_{D_p} min_theta (1/n)(L(theta; D_c) +
    L(theta; D_p))`` for any ``epsilon * n`` poisoned points that pass the filter; the best
    ``U`` over the steps is kept.

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
    signs : ndarray of shape (n,)
        Labels as -1 / +1.
    defence : SphereSlab
    epsilon : float
        Poisoned points per clean point.
    rho : float
        Norm bound of the defender's ``theta``.
    eta : float
        Step size (the paper's ``eta``; ``lambda`` starts at ``1 / eta``). Any ``theta`` gives
        a valid bound; the step size only decides how tight it gets.
    min_steps : int
        The paper runs ``epsilon * n`` steps; we run at least this many, since every step's
        ``theta`` gives a valid bound and more steps tighten it on small data.

    Returns
    -------
    bound : float
    X_poison : ndarray of shape (epsilon * n, n_features)
    y_poison : ndarray of shape (epsilon * n,)
        The candidate attack: ``epsilon * n`` of the attacker's points along the way, evenly
        spaced over the steps (all of them when there are ``epsilon * n`` steps).
    bias : bool
        The defender's SVM has a bias ``b``, with ``||theta||^2 + b^2 <= rho^2`` (the authors'
        code); the attacker cannot move it.
    """
    n, d = X.shape
    X_fit = with_ones(X) if bias else X
    n_poison = max(1, round(epsilon * n))
    steps = max(n_poison, min_steps)
    z = np.zeros(X_fit.shape[1])
    lam = 1.0 / eta
    theta = np.zeros(X_fit.shape[1])
    bound = np.inf
    points, labels = [], []
    for _ in range(steps):
        x_p, y_p, loss_p = defence.worst_point(theta[:d], float(theta[d]) if bias else 0.0)
        losses = hinge(theta, X_fit, signs)
        bound = min(bound, float(losses.mean()) + epsilon * loss_p)
        active = losses > 0
        grad = -(signs[active, None] * X_fit[active]).sum(axis=0) / n
        if loss_p > 0:
            grad = grad - epsilon * y_p * (np.append(x_p, 1.0) if bias else x_p)
        z -= grad
        lam = max(lam, float(np.linalg.norm(z)) / rho)
        theta = z / lam
        points.append(x_p)
        labels.append(y_p)
    keep = np.linspace(0, steps - 1, n_poison).round().astype(int)
    return bound, np.array(points)[keep], np.array(labels)[keep]


def _fractions_ok(value) -> bool:
    values = np.asarray(value, dtype=np.float64)
    return values.ndim == 1 and len(values) > 0 and bool(((values > 0) & (values <= 1)).all())


@CERTIFICATES.register("sphere_slab_bound")
class SphereSlabBound(BaseCertificate):
    """Dataset-level upper bound on a linear SVM's loss with sphere+slab filtering (binary).

    Not a per-input certificate: for each poison fraction ``epsilon`` it bounds the average
    hinge loss that any ``epsilon * n`` poisoned points passing the defender's sphere and slab
    filters can force on a norm-bounded linear SVM, and gives the attack its
    iterations produce. ``certify`` predicts with the clean model and reports radius -1; the
    bounds are in ``info["bounds"]``.

    Parameters
    ----------
    fractions : list of float, default=(0.05, 0.1, 0.2, 0.3)
        Poison fractions ``epsilon`` (poisoned points per clean point), each in (0, 1].
    rho : float, default=2.0
        Norm bound of the defender's weight vector.
    quantile : float, default=1.0
        Sphere and slab radii at this quantile of the clean class's distances (1.0: no clean
        point is filtered, an assumption of the bound; the authors' code uses 0.7).
    bias : bool, default=False
        Give the SVM a bias, inside the norm bound: ``||theta||^2 + b^2 <= rho^2``.
    eta : float, default=1.0
        Step size of the dual averaging (the authors': 0.1); only the bound's tightness
        depends on it.
    min_steps : int, default=500
        Steps at least (the paper runs ``epsilon * n``; the authors' code 8,000).
    features : str, default="pixels"

    :data:`PAPER_SETTINGS` holds the authors' values of ``quantile``, ``rho``, ``bias``,
    ``eta`` and ``min_steps``.
    """

    threat_model = (
        "insertion of a fraction epsilon of points that pass the sphere and slab filters; "
        "bounds the loss, not a prediction"
    )
    reference = (
        "Steinhardt, Koh & Liang, 'Certified Defenses for Data Poisoning Attacks', NeurIPS "
        "2017 (arXiv:1706.03691)."
    )
    per_input = False
    _parameter_constraints = {
        "fractions": [Predicate(_fractions_ok, "a non-empty list of floats in (0, 1]")],
        "rho": [Interval(Real, 0, None, closed="neither")],
        "quantile": [Interval(Real, 0, 1, closed="right")],
        "bias": [Options(True, False)],
        "eta": [Interval(Real, 0, None, closed="neither")],
        "min_steps": [Interval(Integral, 1, None, closed="left")],
        "features": [Options(*FEATURES)],
    }

    def __init__(
        self,
        *,
        fractions=(0.05, 0.1, 0.2, 0.3),
        rho: float = 2.0,
        quantile: float = 1.0,
        bias: bool = False,
        eta: float = 1.0,
        min_steps: int = 500,
        features: str = "pixels",
    ):
        self.fractions = fractions
        self.rho = rho
        self.quantile = quantile
        self.bias = bias
        self.eta = eta
        self.min_steps = min_steps
        self.features = features

    def _certify(self, X_train, y_train, X_test):
        classes = binary_classes(y_train, type(self).__name__, "bounds binary linear SVMs")
        featurize = FEATURES[self.features]
        X, X_test = featurize(X_train), featurize(X_test)
        signs = np.where(y_train == classes[1], 1, -1)
        defence = SphereSlab.fit(X, signs, self.quantile)
        bounds = []
        for epsilon in np.asarray(self.fractions, dtype=np.float64).tolist():
            bound, _, y_p = sphere_slab_upper_bound(
                X,
                signs,
                defence,
                epsilon,
                self.rho,
                eta=self.eta,
                min_steps=self.min_steps,
                bias=self.bias,
            )
            bounds.append({"epsilon": epsilon, "upper_bound": bound, "n_poison": len(y_p)})
        if self.bias:
            X, X_test = with_ones(X), with_ones(X_test)
        clean_theta = _clean_theta(X, signs, self.rho)
        predictions = classes[(X_test @ clean_theta >= 0).astype(int)]
        info = {
            "bounds": bounds,
            "rho": self.rho,
            "quantile": self.quantile,
            "bias": self.bias,
            "eta": self.eta,
            "min_steps": self.min_steps,
            "features": self.features,
        }
        return predictions, np.full(len(X_test), -1), info


def _clean_theta(X: np.ndarray, signs: np.ndarray, rho: float, steps: int = 500) -> np.ndarray:
    """The norm-bounded hinge minimiser on clean data, by the same dual averaging."""
    n = len(X)
    z, lam, theta = np.zeros(X.shape[1]), 1.0, np.zeros(X.shape[1])
    for _ in range(steps):
        active = hinge(theta, X, signs) > 0
        z += (signs[active, None] * X[active]).sum(axis=0) / n
        lam = max(lam, float(np.linalg.norm(z)) / rho)
        theta = z / lam
    return theta
