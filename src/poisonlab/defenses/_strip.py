"""STRIP (Gao et al. 2019): flag test inputs whose prediction survives being blended."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import clone

from .._validation import RANDOM_STATE, Interval, Options, Predicate
from ._one_thread import one_thread
from ._spectral import robust_scale
from .base import DETECTORS, FLAG_CONSTRAINTS, BaseDetector

# Inputs blended per batch: bounds memory to about batch x n_blends x n_features floats.
_BATCH_ROWS = 16_384


def _has_predict_proba(value) -> bool:
    return not isinstance(value, type) and all(
        hasattr(value, m) for m in ("fit", "predict_proba", "get_params")
    )


def default_strip_model():
    """Multinomial logistic regression on min-max-scaled features (has ``predict_proba``)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    return make_pipeline(MinMaxScaler(), LogisticRegression(max_iter=100, tol=1e-3))


@DETECTORS.register("strip")
class Strip(BaseDetector):
    """Flag test inputs whose predictions stay confident when blended with clean samples.

    STRIP superimposes each input on ``n_blends`` randomly drawn training samples,
    ``alpha * x + (1 - alpha) * x_j``, and measures the mean Shannon entropy (in bits) of the
    model's predicted class probabilities over those blends. A clean input blended with
    another image gives mixed, uncertain predictions (high entropy); an input carrying a
    backdoor trigger keeps being predicted as the target class (low entropy). The score is the
    negated entropy, so higher = more suspicious.

    ``fit`` trains a clone of ``estimator`` on the (possibly poisoned) training set, as the
    victim model would be, keeps the training rows as the pool of blending samples, and
    calibrates the default threshold as in the paper: it scores ``n_calibration`` training
    rows, fits a normal distribution to their entropies and flags inputs below its
    ``frr`` quantile (the false-rejection rate on clean inputs). The normal is fitted
    robustly (median, and 1.4826 * MAD as its standard deviation), because the training rows
    may include poisoned ones, whose entropy is low.

    Parameters
    ----------
    estimator : scikit-learn classifier with ``predict_proba`` or None, default=None
        The model; None uses min-max scaling + multinomial logistic regression. (``SVC``
        needs ``CalibratedClassifierCV`` for probabilities.)
    n_blends : int, default=100
        Blends per input (as in the paper).
    alpha : float in (0, 1), default=0.5
        Weight of the input in each blend.
    frr : float in (0, 0.5], default=0.01
        False-rejection rate on clean inputs that sets the default threshold.
    n_calibration : int, default=1000
        Training rows scored to calibrate the default threshold.
    threshold, contamination : float or None, default=None
        As for every detector; either wins over the calibrated threshold.
    random_state : None, int or numpy.random.Generator, default=None
        Seeds the choice of blending samples and calibration rows.
    """

    reference = (
        "Gao et al., 'STRIP: A Defence Against Trojan Attacks on Deep Neural Networks', "
        "ACSAC 2019 (arXiv:1902.06531)."
    )
    scope = "test"
    _parameter_constraints = {
        "estimator": [
            Options(None),
            Predicate(_has_predict_proba, "a scikit-learn classifier with predict_proba"),
        ],
        "n_blends": [Interval(Integral, 1, None)],
        "alpha": [Interval(Real, 0.0, 1.0, closed="neither")],
        "frr": [Interval(Real, 0.0, 0.5, closed="right")],
        "n_calibration": [Interval(Integral, 2, None)],
        **FLAG_CONSTRAINTS,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        estimator=None,
        n_blends: int = 100,
        alpha: float = 0.5,
        frr: float = 0.01,
        n_calibration: int = 1000,
        threshold: float | None = None,
        contamination: float | None = None,
        random_state=None,
    ) -> None:
        self.estimator = estimator
        self.n_blends = n_blends
        self.alpha = alpha
        self.frr = frr
        self.n_calibration = n_calibration
        self.threshold = threshold
        self.contamination = contamination
        self.random_state = random_state

    def _fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        base = default_strip_model() if self.estimator is None else self.estimator
        with one_thread():  # see _one_thread.py
            self.model_ = clone(base).fit(X, y)
        self.pool_ = X.copy()  # blending partners; a copy, so later edits of X cannot leak in
        self.decision_ = _affine_decision(self.model_, X[:5])
        # For a model affine in x, the blends' decision values are blends of decision values.
        self.pool_decision_ = None if self.decision_ is None else self.decision_(X)
        # One seed for the blends, fixed at fit time, so scoring the same inputs twice gives
        # the same scores.
        self.blend_seed_ = int(rng.integers(2**63 - 1))
        calibration = rng.choice(len(X), size=min(self.n_calibration, len(X)), replace=False)
        entropy = -self._score(X[np.sort(calibration)], None)
        # The median and MAD rather than the mean and std: the training rows may hold
        # poisoned, low-entropy samples, which would drag a normal fit down and widen it.
        self.entropy_centre_ = float(np.median(entropy))
        self.entropy_scale_ = robust_scale(entropy)

    def _score(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        rng = np.random.default_rng(self.blend_seed_)
        partners = rng.integers(len(self.pool_), size=(len(X), self.n_blends))
        entropy = np.empty(len(X))
        step = max(1, _BATCH_ROWS // self.n_blends)
        a = self.alpha
        with one_thread():
            own = None if self.decision_ is None else self.decision_(X)
            for start in range(0, len(X), step):
                stop = min(start + step, len(X))
                if own is not None:
                    logits = (
                        a * own[start:stop, None, :]
                        + (1 - a) * self.pool_decision_[partners[start:stop]]
                    )
                    h = _softmax_entropy_bits(logits.reshape(-1, logits.shape[-1]))
                else:
                    batch = X[start:stop, None, :].astype(np.float64)
                    blends = a * batch + (1 - a) * self.pool_[partners[start:stop]]
                    h = _entropy_bits(self.model_.predict_proba(blends.reshape(-1, X.shape[1])))
                entropy[start:stop] = h.reshape(stop - start, -1).mean(axis=1)
        return -entropy

    def _default_threshold(self, scores: np.ndarray) -> float:
        from scipy.stats import norm

        # Entropy below mean + z_frr * std (z_frr < 0) is flagged; scores are -entropy.
        return -(self.entropy_centre_ + norm.ppf(self.frr) * self.entropy_scale_)

    def _info(self) -> dict:
        return {
            "clean_entropy_median": self.entropy_centre_,
            "clean_entropy_scale": self.entropy_scale_,
        }


def _affine_decision(model, probe: np.ndarray):
    """Decision values as an (n, n_classes) function of X, if the model is affine; else None.

    A ``LogisticRegression``, alone or after affine scalers (``StandardScaler``,
    ``MaxAbsScaler``, ``MinMaxScaler`` without ``clip``), has class probabilities that are the
    softmax of an affine function of x. The decision values of a blend
    ``alpha * x + (1 - alpha) * x_j`` are then ``alpha * f(x) + (1 - alpha) * f(x_j)``, so
    STRIP needs one decision per input and per pool sample instead of one prediction per blend
    (100 times fewer). The shortcut is used only if it reproduces ``predict_proba`` on
    ``probe`` rows.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

    steps = [step for _, step in model.steps] if isinstance(model, Pipeline) else [model]
    affine = all(
        type(step) in (StandardScaler, MaxAbsScaler)
        or (type(step) is MinMaxScaler and not step.clip)
        for step in steps[:-1]
    )
    if not (affine and type(steps[-1]) is LogisticRegression):
        return None

    def decision(X: np.ndarray) -> np.ndarray:
        f = model.decision_function(X)
        return np.column_stack([np.zeros(len(f)), f]) if f.ndim == 1 else f

    probe = probe.astype(np.float64)
    logits = decision(probe)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    same = np.allclose(e / e.sum(axis=1, keepdims=True), model.predict_proba(probe), atol=1e-9)
    return decision if same else None


def _softmax_entropy_bits(logits: np.ndarray) -> np.ndarray:
    """Entropy in bits of ``softmax(logits)`` for each row, computed stably."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_z
    return -(np.exp(log_p) * log_p).sum(axis=1) / np.log(2)


def _entropy_bits(proba: np.ndarray) -> np.ndarray:
    """Shannon entropy in bits of each row of class probabilities."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(proba > 0, proba * np.log2(proba), 0.0)
    return -terms.sum(axis=1)
