"""Spectral signatures (Tran, Li & Madry 2018), per class, on a network-free representation."""

from __future__ import annotations

import numpy as np

from .._validation import RANDOM_STATE
from ._one_thread import one_thread
from ._representation import REPRESENTATION_CONSTRAINTS, fit_representation, transform
from .base import DETECTORS, FLAG_CONSTRAINTS, BaseDetector

# MAD of a normal sample times this estimates its standard deviation.
_MAD_TO_SD = 1.4826


def class_rows(y: np.ndarray, classes: np.ndarray, owner: str) -> list[np.ndarray]:
    """Rows of each class of ``classes`` in ``y``; a label not among ``classes`` is an error."""
    known = np.isin(y, classes)
    if not known.all():
        bad = y[~known][0]
        raise ValueError(
            f"y passed to {owner}.score_samples holds the label {str(bad)!r}, which was not among "
            f"the classes it was fitted on ({', '.join(map(str, classes))})."
        )
    return [np.flatnonzero(y == c) for c in classes]


def require_labels(y: np.ndarray | None, n: int, owner: str) -> np.ndarray:
    """The labels, which per-class detectors need to score samples."""
    if y is None:
        raise ValueError(f"{owner}.score_samples needs y: it scores each sample within its class.")
    if y.shape != (n,):
        raise ValueError(
            f"y passed to {owner}.score_samples must have one label per row of X ({n}); "
            f"got shape {y.shape}."
        )
    return y


@DETECTORS.register("spectral_signature")
class SpectralSignature(BaseDetector):
    """Flag samples far out along each class's top singular direction (spectral signature).

    For each class, the representations are centred on the class mean and the top right
    singular vector ``v`` of that centred matrix is found, as in the paper. A backdoor's
    poisoned samples, a minority of their (target) class that differs from it consistently,
    pull ``v`` towards themselves. The paper scores ``((r - mean) . v) ** 2`` and removes
    ``1.5 * eps * n_c`` samples of every class, which needs an upper bound ``eps`` on the
    poisoned fraction. Here the projection ``p = (r - mean) . v`` is standardized robustly
    within the class, ``(p - median(p)) / (1.4826 * MAD(p))``, and oriented towards the side
    where a minority cluster lies (the sign of its skew): the score is a one-sided robust
    z-score, comparable across classes, so one threshold serves every class. It assumes the
    poisoned samples are a minority of their class, as the paper does.

    The default representation whitens the features (see
    :mod:`poisonlab.defenses._representation`): on raw pixels a small trigger has too little
    variance to steer ``v``, which follows the digits' shapes instead.

    Parameters
    ----------
    representation : {"raw", "whitened", "pca", "nystroem"}, default="whitened"
        What the detector reads instead of a network's activations.
    n_components : int, default=64
        PCA components or Nystroem landmarks.
    gamma : "scale" or float, default="scale"
        RBF width of the Nystroem map.
    threshold : float or None, default=None
        Flag scores at or above this (a robust z-score); None flags ``contamination`` or, when
        that is None too, scores of at least 3.5 (Iglewicz & Hoaglin's outlier rule).
    contamination : float in (0, 0.5] or None, default=None
        Flag this fraction of samples with the highest scores.
    random_state : None, int or numpy.random.Generator, default=None
    """

    reference = (
        "Tran, Li & Madry, 'Spectral Signatures in Backdoor Attacks', NeurIPS 2018; "
        "robust per-class standardization is poisonlab's."
    )
    #: The default threshold: a robust z-score of 3.5 (Iglewicz & Hoaglin's outlier rule).
    DEFAULT_THRESHOLD = 3.5
    _parameter_constraints = {
        **REPRESENTATION_CONSTRAINTS,
        **FLAG_CONSTRAINTS,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        representation: str = "whitened",
        n_components: int = 64,
        gamma: str | float = "scale",
        threshold: float | None = None,
        contamination: float | None = None,
        random_state=None,
    ) -> None:
        self.representation = representation
        self.n_components = n_components
        self.gamma = gamma
        self.threshold = threshold
        self.contamination = contamination
        self.random_state = random_state

    def _fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        self.transformer_ = fit_representation(
            X,
            representation=self.representation,
            n_components=self.n_components,
            gamma=self.gamma,
            rng=rng,
        )
        R = transform(self.transformer_, X)
        self.classes_ = np.unique(y)
        # Per class: mean, top direction, and the centre and scale of the projections on it.
        self.means_ = np.zeros((len(self.classes_), R.shape[1]))
        self.directions_ = np.zeros_like(self.means_)
        self.centres_ = np.zeros(len(self.classes_))
        self.scales_ = np.ones(len(self.classes_))
        self.signs_ = np.ones(len(self.classes_))
        for k, rows in enumerate(class_rows(y, self.classes_, type(self).__name__)):
            self.means_[k] = R[rows].mean(axis=0)
            self.directions_[k] = top_direction(R[rows] - self.means_[k])
            p = (R[rows] - self.means_[k]) @ self.directions_[k]
            self.centres_[k] = np.median(p)
            self.scales_[k] = robust_scale(p)
            self.signs_[k] = minority_side(p)

    def _score(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        y = require_labels(y, len(X), type(self).__name__)
        R = transform(self.transformer_, X)
        scores = np.zeros(len(X))
        for k, rows in enumerate(class_rows(y, self.classes_, type(self).__name__)):
            p = (R[rows] - self.means_[k]) @ self.directions_[k]
            scores[rows] = self.signs_[k] * (p - self.centres_[k]) / self.scales_[k]
        return scores

    def _default_threshold(self, scores: np.ndarray) -> float:
        return self.DEFAULT_THRESHOLD


def top_direction(centred: np.ndarray) -> np.ndarray:
    """Top right singular vector of a centred matrix (n, d); zeros when it is all zero.

    Its sign is fixed so that the largest-magnitude coordinate is positive, which makes the
    result deterministic.
    """
    if not np.any(centred):
        return np.zeros(centred.shape[1])
    return top_directions(centred, 1)[:, 0]


def top_directions(centred: np.ndarray, k: int) -> np.ndarray:
    """The top ``k`` right singular vectors of a centred matrix (n, d), as columns (d, k).

    Computed from the smaller of the d x d scatter matrix ``centred.T @ centred`` and the
    n x n Gram matrix (whose eigenvectors map back through ``centred.T``), which is much
    cheaper than an SVD of a tall class of 6,000 MNIST rows. Each column's largest-magnitude
    coordinate is made positive. ``k`` is capped at ``min(n, d)``.
    """
    from scipy.linalg import eigh

    n, d = centred.shape
    k = min(k, n, d)
    small = centred @ centred.T if n < d else centred.T @ centred
    m = small.shape[0]
    with one_thread():  # see _one_thread.py
        _, vecs = eigh(small, subset_by_index=[m - k, m - 1])
    vecs = vecs[:, ::-1]  # largest first
    if n < d:
        vecs = centred.T @ vecs
    norms = np.linalg.norm(vecs, axis=0)
    vecs = vecs / np.where(norms > 0, norms, 1.0)
    signs = np.sign(vecs[np.argmax(np.abs(vecs), axis=0), np.arange(vecs.shape[1])])
    return vecs * np.where(signs == 0, 1.0, signs)


def minority_side(p: np.ndarray) -> float:
    """+1 or -1: the side of the median where a minority cluster lies, by the sign of the skew.

    A mixture of a large cluster and a small one, separated along ``p``, is skewed towards
    the small one; a symmetric distribution gives +1.
    """
    centred = p - p.mean()
    return -1.0 if float(np.mean(centred**3)) < 0 else 1.0


def robust_scale(p: np.ndarray) -> float:
    """1.4826 * MAD of ``p`` (a robust standard deviation), falling back to the std, then 1."""
    mad = float(np.median(np.abs(p - np.median(p)))) * _MAD_TO_SD
    if mad > 0:
        return mad
    sd = float(np.std(p))
    return sd if sd > 0 else 1.0
