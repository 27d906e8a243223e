"""Bagging's intrinsic certificate (Jia, Cao & Gong 2021)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._validation import Interval
from ..defenses._partition import base_model_votes, count_votes, fit_base_models
from ._aggregation import _ESTIMATOR, _FEATURES, apply_features
from .base import CERTIFICATES, BaseCertificate


def vote_probability_bounds(
    counts: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clopper-Pearson bounds on the top class's and the rivals' vote probabilities.

    Each class's one-sided interval has level ``alpha / n_classes`` (Bonferroni), so all hold
    together with probability at least ``1 - alpha``; the rivals' bound is the largest rival
    upper bound, at most ``1 - p_lower``.

    Parameters
    ----------
    counts : ndarray of shape (n_samples, n_classes)
        Votes of ``N`` base models per class.
    alpha : float

    Returns
    -------
    winner : ndarray of shape (n_samples,)
        Class index with the most votes (ties to the smallest).
    p_lower : ndarray of shape (n_samples,)
        Lower bound on the winner's vote probability.
    p_upper : ndarray of shape (n_samples,)
        Upper bound on every other class's vote probability.
    """
    from scipy.stats import beta

    n_models = int(counts[0].sum()) if len(counts) else 0
    level = alpha / counts.shape[1]
    winner = np.argmax(counts, axis=1)
    rows = np.arange(len(counts))
    top = counts[rows, winner]
    p_lower = np.where(top > 0, beta.ppf(level, top, n_models - top + 1), 0.0)
    upper = np.where(counts < n_models, beta.ppf(1 - level, counts + 1, n_models - counts), 1.0)
    upper[rows, winner] = 0.0
    return winner, p_lower, np.minimum(upper.max(axis=1), 1 - p_lower)


def bagging_radius(
    p_lower: np.ndarray, p_upper: np.ndarray, n: int, k: int, max_radius: int | None = None
) -> np.ndarray:
    """Certified poisoning size of bagging: the largest ``r`` with the winner still on top.

    After ``r`` insertions, removals or modifications the poisoned set has ``n'`` samples,
    ``n - r <= n' <= n + r``, of which at least ``m = max(n, n') - r`` are clean. A bag of ``k``
    draws made only of those ``m`` samples is equally likely under either training set, up to
    the factor ``(n / n')^k``, and all other bags may vote for anything. Hence (the
    Neyman-Pearson argument of the paper's Theorem 1)::

        p'_a >= (n / n')^k * (p_a - 1 + (m / n)^k)
        p'_b <= (n / n')^k * min(p_b, (m / n)^k) + 1 - (m / n')^k

    and the prediction is certified at ``r`` when the first exceeds the second for every
    ``n'``. ``-1`` where it is not even certified without poisoning (``p_a <= p_b``).

    Parameters
    ----------
    p_lower, p_upper : ndarray of shape (n_samples,)
        From :func:`vote_probability_bounds`.
    n : int
        Training-set size.
    k : int
        Draws per bag.
    max_radius : int, optional
        Stop searching here; by default ``n``.

    Returns
    -------
    ndarray of shape (n_samples,), dtype int64
    """
    max_radius = n if max_radius is None else max_radius
    radius = np.where(p_lower > p_upper, 0, -1).astype(np.int64)
    alive = radius == 0
    for r in range(1, max_radius + 1):
        if not alive.any():
            break
        n_prime = np.arange(max(n - r, 1), n + r + 1, dtype=np.float64)
        m = np.maximum(n, n_prime) - r
        shrink = (n / n_prime) ** k
        clean_old = (m / n) ** k
        clean_new = (m / n_prime) ** k
        lower_a = shrink[None, :] * (p_lower[alive, None] - 1 + clean_old[None, :])
        upper_b = (
            shrink[None, :] * np.minimum(p_upper[alive, None], clean_old[None, :])
            + 1
            - clean_new[None, :]
        )
        holds = (lower_a > upper_b).all(axis=1)
        idx = np.flatnonzero(alive)
        radius[idx[holds]] = r
        alive[idx[~holds]] = False
    return radius


@CERTIFICATES.register("bagging")
class Bagging(BaseCertificate):
    """Bagging with its certified poisoning size (Jia, Cao & Gong 2021).

    ``n_models`` base models each train on ``bag_size`` training samples drawn uniformly with
    replacement (seeded); the prediction is their plurality vote. Clopper-Pearson bounds on the
    vote probabilities (:func:`vote_probability_bounds`) feed the radius of
    :func:`bagging_radius`. The certificate is probabilistic: for each test input it holds with
    probability at least ``1 - alpha`` over the draws of the bags.

    Parameters
    ----------
    estimator : scikit-learn classifier or None, default=None
        Base model; None is ``SVC(random_state=42)``.
    n_models : int, default=1000
        ``N``, the paper's number of base models on MNIST.
    bag_size : int, default=30
        ``k``, draws per bag.
    alpha : float, default=0.001
        One minus the confidence level (the paper's 0.001).
    seed : int, default=0
    features : str, default="pixels"
    """

    threat_model = (
        "insertions, removals and modifications (features and/or label) of training samples, "
        "one unit each; holds with probability >= 1 - alpha per test input"
    )
    reference = (
        "Jia, Cao & Gong, 'Intrinsic Certified Robustness of Bagging against Data Poisoning "
        "Attacks', AAAI 2021 (arXiv:2008.04495)."
    )
    _parameter_constraints = {
        "estimator": _ESTIMATOR,
        "n_models": [Interval(Integral, 1, None)],
        "bag_size": [Interval(Integral, 1, None)],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "seed": [Interval(Integral, 0, 2**32 - 1)],
        "features": _FEATURES,
    }

    def __init__(
        self,
        *,
        estimator=None,
        n_models: int = 1000,
        bag_size: int = 30,
        alpha: float = 0.001,
        seed: int = 0,
        features: str = "pixels",
    ):
        self.estimator = estimator
        self.n_models = n_models
        self.bag_size = bag_size
        self.alpha = alpha
        self.seed = seed
        self.features = features

    def _certify(self, X_train, y_train, X_test):
        from sklearn.svm import SVC

        X_train, X_test = apply_features(self.features, X_train, X_test)
        base = SVC(random_state=42) if self.estimator is None else self.estimator
        rng = np.random.default_rng(self.seed)
        n = len(X_train)
        bags = [rng.integers(n, size=self.bag_size) for _ in range(self.n_models)]
        classes = np.unique(y_train)
        estimators, fixed = fit_base_models(X_train, y_train, classes, bags, base)
        counts = count_votes(base_model_votes(estimators, fixed, classes, X_test), len(classes))
        winner, p_lower, p_upper = vote_probability_bounds(counts, self.alpha)
        # Many inputs share their bounds (e.g. every model agrees): compute each pair once.
        pairs, back = np.unique(np.stack([p_lower, p_upper], axis=1), axis=0, return_inverse=True)
        radius = bagging_radius(pairs[:, 0], pairs[:, 1], n, self.bag_size)[back.ravel()]
        info = {
            "n_models": self.n_models,
            "bag_size": self.bag_size,
            "alpha": self.alpha,
            "confidence": 1 - self.alpha,
            "seed": self.seed,
            "features": self.features,
        }
        return classes[winner], radius, info
