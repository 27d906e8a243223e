"""Randomized smoothing over labels for least-squares classifiers (Rosenfeld et al. 2020)."""

from __future__ import annotations

from numbers import Real

import numpy as np

from .._validation import Interval, Options
from .base import CERTIFICATES, BaseCertificate, binary_classes
from .features import FEATURES


def hat_weights(X_train: np.ndarray, X_test: np.ndarray, ridge: float) -> np.ndarray:
    """``alpha(x) = X (X^T X + ridge I)^-1 x`` for each test input, with a bias column.

    The ridge regression's score at ``x`` is ``alpha(x) . y``: linear in the labels, which is
    what makes the smoothed classifier's vote probability computable without sampling.

    Returns
    -------
    ndarray of shape (n_test, n_train)
    """
    A = np.hstack([X_train, np.ones((len(X_train), 1))])
    B = np.hstack([X_test, np.ones((len(X_test), 1))])
    gram = A.T @ A + ridge * np.eye(A.shape[1])
    return B @ np.linalg.solve(gram, A.T)


def chernoff_log_error(alpha: np.ndarray, mu: np.ndarray, predict_one: bool) -> float:
    """Log of a Chernoff bound on the probability that the smoothed vote goes the other way.

    With noisy labels ``y~_i`` in {0, 1}, independent, ``P(y~_i = 1) = mu_i``, the score is
    ``S = alpha . y~`` and the classifier says 1 when ``S >= 1/2``. For ``t >= 0``,
    ``P(S < 1/2) <= exp(t/2) prod_i E exp(-t alpha_i y~_i)`` (and symmetrically for
    ``P(S >= 1/2)``); the bound is minimised over ``t`` (its logarithm is convex). Kept as a
    logarithm: the bound is often far below float64's resolution next to 1.

    Parameters
    ----------
    alpha : ndarray of shape (n_train,)
    mu : ndarray of shape (n_train,)
    predict_one : bool
        Bound ``P(S < 1/2)`` if True, else ``P(S >= 1/2)``.

    Returns
    -------
    float
        At most 0.
    """
    from scipy.optimize import minimize_scalar

    sign = -1.0 if predict_one else 1.0
    log_keep, log_flip = np.log1p(-mu), np.log(mu)

    def log_bound(t: float) -> float:
        return -sign * t / 2 + np.logaddexp(log_keep, log_flip + sign * t * alpha).sum()

    top = 1.0 / max(float(np.abs(alpha).max()), 1e-12)
    for _ in range(12):  # widen the search until the minimum is inside it
        best = minimize_scalar(log_bound, bounds=(0.0, top), method="bounded")
        if best.x < 0.9 * top:
            break
        top *= 10
    return float(min(best.fun, 0.0))


def _other_side_poisoned_mass(log_error: float, q: float, r: int) -> float:
    """The other side's largest probability after ``r`` label flips (see :func:`flip_radius`)."""
    from scipy.stats import binom

    j = np.arange(r, -1, -1)  # largest likelihood ratio first
    log_clean = binom.logpmf(j, r, q)
    log_before = np.concatenate([[-np.inf], np.logaddexp.accumulate(log_clean)[:-1]])
    # Fraction of each j's clean mass in the other side's region: 1 while the budget
    # exp(log_error) lasts, then the remainder, then 0.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        remainder = np.exp(log_error - log_clean) * -np.expm1(log_before - log_error)
    fraction = np.where(log_before >= log_error, 0.0, np.clip(remainder, 0.0, 1.0))
    return float(np.sum(fraction * binom.pmf(j, r, 1 - q)))


def flip_radius(log_error: float, q: float, max_radius: int) -> int:
    """Largest number of label flips against which the vote provably holds.

    The vote goes the other way with clean probability at most ``exp(log_error)``. Flipping
    ``r`` training labels changes the noise distribution only on those ``r`` labels. If ``j``
    of them come out of the noise equal to the attacker's labels, the likelihood ratio
    poisoned/clean is ``((1 - q) / q)^(2j - r)``, increasing in ``j``; ``j ~ Binomial(r, q)``
    under the clean labels and ``Binomial(r, 1 - q)`` under the poisoned ones. By the
    Neyman-Pearson lemma the other side's largest poisoned probability, given its clean
    probability, is reached by filling the largest ``j`` first; the vote holds while that stays
    below 1/2. That probability cannot fall as ``r`` grows (a region that ignores one more
    flipped label keeps both its probabilities), so a galloping then binary search finds the
    largest ``r``. ``-1`` when the clean bound itself is not below 1/2.
    """
    if log_error >= np.log(0.5):
        return -1

    def holds(r: int) -> bool:
        return _other_side_poisoned_mass(log_error, q, r) < 0.5

    good, step = 0, 1
    while good + step <= max_radius and holds(good + step):
        good += step
        step *= 2
    bad = min(good + step, max_radius + 1)
    while bad - good > 1:
        mid = (good + bad) // 2
        good, bad = (mid, bad) if holds(mid) else (good, mid)
    return good


@CERTIFICATES.register("label_flip_linear")
class LabelFlipLinear(BaseCertificate):
    """Smoothing over training labels for a ridge least-squares classifier (binary).

    Each training label is flipped independently with probability ``q``; the smoothed
    classifier predicts the label the least-squares classifier trained on the noisy labels
    most likely predicts. That classifier's score is linear in the labels
    (:func:`hat_weights`), so a Chernoff bound gives the vote probability in closed form
    (:func:`chernoff_log_error`), with no sampling, and :func:`flip_radius` turns it into
    the number of label flips that cannot change the prediction (Rosenfeld et al. 2020).

    Parameters
    ----------
    q : float, default=0.1
        Label-flip probability of the smoothing noise, in (0, 0.5).
    ridge : float, default=1.0
        Ridge penalty of the least-squares fit.
    features : str, default="pixels"
        A fixed feature map; the features must not be learned from the training labels or
        samples (they are the same for every noisy label vector).
    """

    threat_model = "label flips of training samples, one unit each (features are trusted)"
    reference = (
        "Rosenfeld, Winston, Ravikumar & Kolter, 'Certified Robustness to Label-Flipping "
        "Attacks via Randomized Smoothing', ICML 2020 (arXiv:2002.03018)."
    )
    radius_unit = "flipped training labels"
    _parameter_constraints = {
        "q": [Interval(Real, 0, 0.5, closed="neither")],
        "ridge": [Interval(Real, 0, None, closed="neither")],
        "features": [Options(*FEATURES)],
    }

    def __init__(self, *, q: float = 0.1, ridge: float = 1.0, features: str = "pixels"):
        self.q = q
        self.ridge = ridge
        self.features = features

    def _certify(self, X_train, y_train, X_test):
        classes = binary_classes(y_train, type(self).__name__, "certifies binary classifiers")
        featurize = FEATURES[self.features]
        alphas = hat_weights(featurize(X_train), featurize(X_test), self.ridge)
        ones = (y_train == classes[1]).astype(np.float64)
        mu = ones * (1 - self.q) + (1 - ones) * self.q  # P(noisy label = 1)
        predictions = np.empty(len(X_test), dtype=np.int64)
        radius = np.empty(len(X_test), dtype=np.int64)
        for i, alpha in enumerate(alphas):
            predict_one = bool(alpha @ mu >= 0.5)  # the side the mean score is on
            log_error = chernoff_log_error(alpha, mu, predict_one)
            predictions[i] = int(predict_one)
            radius[i] = flip_radius(log_error, self.q, len(X_train))
        info = {"q": self.q, "ridge": self.ridge, "features": self.features}
        return classes[predictions], radius, info
