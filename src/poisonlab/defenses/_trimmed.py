"""Iterative trimmed-loss training: refit while dropping the highest-loss samples."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, clone

from .._validation import Interval, Options, Predicate
from .mitigation import MITIGATIONS, BaseMitigation, is_classifier_like


def per_sample_loss(model, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Loss of a fitted classifier on each sample; higher = fits the sample worse.

    The log loss ``-log p(y | x)`` when the model has ``predict_proba``; otherwise the
    multi-class margin loss ``max_{c != y} f_c(x) - f_y(x)`` from ``decision_function``.
    A label the model never saw (its class was trimmed away) gets an infinite loss.

    Parameters
    ----------
    model : fitted scikit-learn classifier
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    classes = model.classes_
    idx = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    known = classes[idx] == y
    rows = np.arange(len(y))
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(X)
        loss = -np.log(np.clip(proba[rows, idx], 1e-300, None))
    else:
        f = model.decision_function(X)
        if f.ndim == 1:  # binary: f > 0 favours classes_[1]; the loss is -f or f, as hinge's
            f = np.column_stack([-f / 2, f / 2])
        own = f[rows, idx]
        others = f.copy()
        others[rows, idx] = -np.inf
        loss = others.max(axis=1) - own
    return np.where(known, loss, np.inf)


@MITIGATIONS.register("trimmed")
class TrimmedClassifier(ClassifierMixin, BaseMitigation):
    """Train on the samples the model fits best: refit while dropping the highest-loss ones.

    Iterative trimmed loss minimization: fit on every sample, compute each sample's loss
    (:func:`per_sample_loss`, in-sample), keep the ``1 - trim_fraction`` with the lowest
    loss and refit on them, until the kept set stops changing or ``max_iter`` fits were made.
    Poisoned samples that disagree with the bulk of the data (flipped labels) keep a high loss
    and stay out. The kept set is over all classes, so a class could in principle be trimmed
    away entirely; ``kept_`` shows what was used.

    Parameters
    ----------
    estimator : scikit-learn classifier or None, default=None
        The model; None uses ``SVC(random_state=42)``.
    trim_fraction : float in [0, 0.5), default=0.1
        Fraction of the training set left out of each refit (rounded half up).
    max_iter : int, default=10
        Most fits made.

    Attributes
    ----------
    estimator_ : fitted estimator
        The last fit, on the ``kept_`` rows.
    kept_ : ndarray of shape (n_samples,), dtype bool
        Rows the last fit used.
    losses_ : ndarray of shape (n_samples,)
        Per-sample losses under the last fit.
    n_iter_ : int
        Fits made.
    converged_ : bool
        Whether the kept set stopped changing before ``max_iter``.
    """

    kind = "robust training"
    reference = (
        "Shen & Sanghavi, 'Learning with Bad Training Data via Iterative Trimmed Loss "
        "Minimization', ICML 2019; cf. TRIM in Jagielski et al., IEEE S&P 2018."
    )
    _parameter_constraints = {
        "estimator": [Options(None), Predicate(is_classifier_like, "a scikit-learn classifier")],
        "trim_fraction": [Interval(Real, 0.0, 0.5, closed="left")],
        "max_iter": [Interval(Integral, 1, None)],
    }

    def __init__(self, *, estimator=None, trim_fraction: float = 0.1, max_iter: int = 10) -> None:
        self.estimator = estimator
        self.trim_fraction = trim_fraction
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any) -> TrimmedClassifier:
        """Fit, trimming the highest-loss samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        X, y, base = self._start_fit(X, y)
        n_keep = len(y) - int(np.floor(self.trim_fraction * len(y) + 0.5))
        kept = np.ones(len(y), dtype=bool)
        self.converged_, self.n_iter_ = False, 0
        while self.n_iter_ < self.max_iter:
            model, fitted_on = clone(base).fit(X[kept], y[kept]), kept
            self.n_iter_ += 1
            losses = per_sample_loss(model, X, y)
            # The n_keep lowest losses; a stable sort breaks ties by row, deterministically.
            new_kept = np.zeros(len(y), dtype=bool)
            new_kept[np.argsort(losses, kind="stable")[:n_keep]] = True
            if np.array_equal(new_kept, kept):
                self.converged_ = True
                break
            kept = new_kept
        self.estimator_, self.kept_, self.losses_ = model, fitted_on, losses
        self.classes_ = model.classes_
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions of the last fit; ndarray of shape (n_samples,)."""
        if not hasattr(self, "estimator_"):
            raise ValueError("TrimmedClassifier must be fitted before predicting.")
        return self.estimator_.predict(X)
