"""What the optimized SVM attacks share: a class pair read as -1/+1, kernels and their gradients.

Both ``alfa`` and ``svm_gradient`` attack a *binary* SVM. On multi-class data they work on two
chosen classes (``classes=(negative, positive)``) and leave every other row untouched, which is
also how libsvm trains a multi-class SVC: one binary SVM per pair of classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

from .._validation import Constraint, Interval, Options, ParameterError, Predicate


def _is_class_pair(value: Any) -> bool:
    return (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, str | Integral) and not isinstance(v, bool) for v in value)
        and str(value[0]) != str(value[1])
    )


#: ``classes``: None (y must be binary) or two distinct class labels (negative, positive).
CLASS_PAIR: list[Constraint] = [
    Options(None),
    Predicate(_is_class_pair, "a pair of two distinct class labels (negative, positive)"),
]

#: ``gamma`` as scikit-learn's SVC reads it.
GAMMA: list[Constraint] = [Options("scale", "auto"), Interval(Real, 0.0, None, closed="neither")]


@dataclass(frozen=True)
class BinaryView:
    """The rows of a class pair, with labels as -1 (negative) / +1 (positive).

    Attributes
    ----------
    rows : ndarray of shape (n_pair,)
        Rows of the full training set that belong to the pair, in row order.
    signs : ndarray of shape (n_pair,)
        -1.0 for ``negative``, +1.0 for ``positive``.
    negative, positive : object
        The two class labels, as values of the input's ``y`` dtype.
    """

    rows: np.ndarray
    signs: np.ndarray
    negative: Any
    positive: Any

    def label_of(self, sign: float) -> Any:
        """The class label for a sign (+1 -> positive, -1 -> negative)."""
        return self.positive if sign > 0 else self.negative


def binary_view(y: np.ndarray, classes: tuple | list | None, *, owner: str) -> BinaryView:
    """Select the class pair an attack works on.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    classes : None or pair of labels
        None requires ``y`` to hold exactly two classes (the sorted first is negative).
    owner : str
        Class name for messages.

    Returns
    -------
    BinaryView
    """
    present = np.unique(y)
    names = [str(c) for c in present]
    if classes is None:
        if len(present) != 2:
            raise ParameterError(
                f"The 'classes' parameter of {owner} must name two classes when y has "
                f"{len(present)} classes ({{{', '.join(names)}}}); got None.",
                path=("classes",),
            )
        negative, positive = present
    else:
        for c in classes:
            if str(c) not in names:
                raise ParameterError(
                    f"The 'classes' parameter of {owner} must name two of the classes "
                    f"{{{', '.join(names)}}}; got {tuple(classes)!r}.",
                    path=("classes",),
                )
        negative, positive = (present[names.index(str(c))] for c in classes)
    as_str = y.astype(str)
    rows = np.flatnonzero((as_str == str(negative)) | (as_str == str(positive)))
    signs = np.where(as_str[rows] == str(positive), 1.0, -1.0)
    return BinaryView(rows, signs, negative, positive)


def resolve_gamma(gamma: str | float, X: np.ndarray) -> float:
    """A numeric gamma, computed as SVC does on ``X`` for ``'scale'`` and ``'auto'``.

    The attacks fix gamma on the clean training data: with ``'scale'`` recomputed after every
    change of the data, the kernel (and so the gradient) would shift under the attack's feet.
    """
    if gamma == "scale":
        var = float(np.asarray(X, dtype=float).var())
        return 1.0 / (X.shape[1] * var) if var > 0 else 1.0
    if gamma == "auto":
        return 1.0 / X.shape[1]
    return float(gamma)


@dataclass(frozen=True)
class Kernel:
    """A kernel function ``k(a, b)`` with its gradient in the second argument.

    Parameters
    ----------
    name : {"linear", "rbf", "poly"}
    gamma : float
    degree : int
    coef0 : float
    """

    name: str
    gamma: float = 1.0
    degree: int = 3
    coef0: float = 0.0

    def __call__(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """Kernel matrix of shape (len(A), len(B)), as SVC computes it."""
        if self.name == "linear":
            return A @ B.T
        if self.name == "rbf":
            sq = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * (A @ B.T)
            return np.exp(-self.gamma * np.maximum(sq, 0.0))
        return (self.gamma * (A @ B.T) + self.coef0) ** self.degree

    def gradient(self, A: np.ndarray, u: np.ndarray, k_Au: np.ndarray) -> np.ndarray:
        """d k(a_i, u) / du for every row a_i of A.

        Parameters
        ----------
        A : ndarray of shape (n, n_features)
        u : ndarray of shape (n_features,)
        k_Au : ndarray of shape (n,)
            ``k(A, u)``, already computed by the caller.

        Returns
        -------
        ndarray of shape (n, n_features)
        """
        if self.name == "linear":
            return A
        if self.name == "rbf":
            return (2.0 * self.gamma * k_Au)[:, None] * (A - u[None, :])
        inner = self.gamma * (A @ u) + self.coef0
        return (self.degree * self.gamma * inner ** (self.degree - 1))[:, None] * A


def hinge_losses(signs: np.ndarray, decision: np.ndarray) -> np.ndarray:
    """Per-sample hinge loss max(0, 1 - y f(x)), shape (n,)."""
    return np.maximum(0.0, 1.0 - signs * decision)


def append_points(
    X: np.ndarray, y: np.ndarray, points, labels
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The training set with injected points appended after its rows.

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
    y : ndarray of shape (n,)
    points : sequence of ndarray of shape (n_features,), or ndarray (k, n_features)
    labels : sequence of k labels (values of ``y``'s kind)

    Returns
    -------
    X_out : ndarray of shape (n + k, n_features)
        Float: X's dtype if it is float, else float64 (injected points are not rounded).
    y_out : ndarray of shape (n + k,)
    indices : ndarray of shape (k,), dtype int64
        The appended rows, ``n .. n + k - 1``.
    """
    dtype = X.dtype if X.dtype.kind == "f" else np.float64
    injected = np.asarray(points, dtype=dtype).reshape(len(labels), X.shape[1])
    X_out = np.vstack([X.astype(dtype), injected])
    y_out = np.concatenate([y, np.asarray(labels, dtype=y.dtype)])
    return X_out, y_out, np.arange(len(X), len(X) + len(labels), dtype=np.int64)
