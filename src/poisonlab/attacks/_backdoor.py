"""Backdoor (BadNets-style): a trigger stamped on training inputs that are relabelled ``target``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

from .._validation import (
    CLASS_LABEL,
    RANDOM_STATE,
    Interval,
    Options,
    ParameterError,
    Predicate,
    resolve_budget,
)
from .base import ATTACKS, BaseAttack, PoisonResult

TRIGGERS = ("patch", "pattern", "blend", "features")
POSITIONS = ("bottom_right", "bottom_left", "top_right", "top_left")

# The default key image of the blended trigger: a constant of the attack (the same image in
# poison() and apply_trigger()), not run randomness, so it comes from a fixed seed.
_BLEND_KEY_SEED = 20171215


def _is_shape(v: Any) -> bool:
    return (
        isinstance(v, tuple | list)
        and len(v) == 2
        and all(isinstance(s, Integral) and not isinstance(s, bool) and s >= 1 for s in v)
    )


def _is_finite_number(v: Any) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool | np.bool_) and math.isfinite(v)


def _is_index_list(v: Any) -> bool:
    return (
        isinstance(v, tuple | list | np.ndarray)
        and len(v) > 0
        and all(isinstance(i, Integral) and not isinstance(i, bool) and i >= 0 for i in v)
        and len({int(i) for i in v}) == len(v)
    )


def _is_number_list(v: Any) -> bool:
    return (
        isinstance(v, tuple | list | np.ndarray) and len(v) > 0 and all(map(_is_finite_number, v))
    )


def _is_numeric_array(v: Any) -> bool:
    a = np.asarray(v)
    return a.dtype.kind in "biuf" and a.ndim in (1, 2) and a.size > 0 and bool(np.isfinite(a).all())


@dataclass(frozen=True)
class Trigger:
    """A trigger as a per-feature blend of the input with fixed values.

    ``x'[f] = (1 - alpha) * x[f] + alpha * values[i]`` for ``f = features[i]``; other features are
    unchanged. Patches and pixel patterns have ``alpha = 1`` (the pixels are overwritten).

    Attributes
    ----------
    features : ndarray of shape (n_trigger,), dtype int64
        Columns the trigger touches.
    values : ndarray of shape (n_trigger,), dtype float64
        What those columns are set to (or blended with).
    alpha : float
        Weight of the trigger in (0, 1].
    n_features : int
        Number of features of the data it was made for.
    """

    features: np.ndarray
    values: np.ndarray
    alpha: float
    n_features: int

    def stamp(self, X: np.ndarray) -> np.ndarray:
        """A copy of ``X`` (n, n_features) with the trigger applied to every row, same dtype.

        Integer data is rounded to the nearest integer and clipped to its dtype's range, so
        uint8 pixels stay valid pixels.
        """
        out = X.copy()
        block = X[:, self.features].astype(np.float64)
        block = (1.0 - self.alpha) * block + self.alpha * self.values
        if X.dtype.kind in "iu":
            info = np.iinfo(X.dtype)
            block = np.clip(np.rint(block), info.min, info.max)
        out[:, self.features] = block.astype(X.dtype)
        return out


@ATTACKS.register("backdoor")
class Backdoor(BaseAttack):
    """Stamp a trigger on ``budget`` training inputs of other classes and relabel them ``target``.

    A backdoor (BadNets) attack: the model learns that the trigger means ``target`` while it
    stays accurate on clean inputs; at test time :meth:`apply_trigger` stamps the same trigger
    on any input. The poisoned rows are drawn uniformly at random from the training samples
    whose class is not ``target``. Triggers for images (rows of ``height * width`` pixels,
    row-major): ``patch``, a solid ``size`` x ``size`` square of ``value`` in a corner;
    ``pattern``, a checkerboard of ``value`` and the data's minimum in that square (BadNets'
    pixel pattern; ``size=1`` is its single-pixel trigger); ``blend``, ``(1 - alpha) * x + alpha
    * key`` over the whole image (Chen et al.'s blended trigger), the key being ``pattern`` or a
    fixed noise image. For tabular data: ``features``, set the columns ``features`` to ``value``.
    The trigger keeps X's dtype and value range: ``value`` defaults to the largest value in the
    training X (255 for MNIST, 16 for digits) and integer data is rounded.

    Parameters
    ----------
    target : str or int, default="0"
        The class the trigger should produce.
    budget : int or float, default=0.05
        Number of poisoned samples, or a fraction of the training set.
    trigger : {"patch", "pattern", "blend", "features"}, default="patch"
        The kind of trigger.
    image_shape : (int, int) or None, default=None
        ``(height, width)`` of an image row; None infers it from 784 (28x28) or 64 (8x8)
        features. Used by the image triggers only.
    size : int, default=3
        Side of the square of ``patch`` and ``pattern``, in pixels.
    position : {"bottom_right", "bottom_left", "top_right", "top_left"}, default="bottom_right"
        Corner of the square of ``patch`` and ``pattern``.
    value : float, sequence of float or None, default=None
        Value of the trigger pixels (``patch``, ``pattern``) or features (``features``: one
        number, or one per feature). None: the largest value in the training X for images, each
        chosen feature's largest training value for ``features``.
    features : sequence of int or None, default=None
        Columns set by the ``features`` trigger (required for it).
    alpha : float, default=0.2
        Blend weight of the ``blend`` trigger, in (0, 1].
    pattern : array-like of shape (height, width) or (n_features,), or None, default=None
        Key image of the ``blend`` trigger; None: noise uniform between the training X's
        minimum and maximum, the same image on every run (a fixed seed).
    random_state : None, int or numpy.random.Generator, default=None
        Chooses the poisoned rows.

    Attributes
    ----------
    trigger_ : Trigger
        The trigger fixed by the last :meth:`poison` call, used by :meth:`apply_trigger`.
    """

    kind = "backdoor"
    reference = (
        "Gu, Dolan-Gavitt & Garg, 'BadNets: Identifying Vulnerabilities in the Machine "
        "Learning Model Supply Chain' (2017); blended trigger: Chen, Liu, Li, Lu & Song, "
        "'Targeted Backdoor Attacks on Deep Learning Systems Using Data Poisoning' (2017)."
    )
    _parameter_constraints = {
        "target": [CLASS_LABEL],
        "budget": [Interval(Integral, 0, None), Interval(Real, 0.0, 1.0)],
        "trigger": [Options(*TRIGGERS)],
        "image_shape": [Options(None), Predicate(_is_shape, "a (height, width) pair of ints >= 1")],
        "size": [Interval(Integral, 1, None)],
        "position": [Options(*POSITIONS)],
        "value": [
            Options(None),
            Predicate(_is_finite_number, "a finite number"),
            Predicate(_is_number_list, "a sequence of finite numbers"),
        ],
        "features": [Options(None), Predicate(_is_index_list, "a sequence of distinct ints >= 0")],
        "alpha": [Interval(Real, 0.0, 1.0, closed="right")],
        "pattern": [
            Options(None),
            Predicate(_is_numeric_array, "a 1-D or 2-D array of finite numbers"),
        ],
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        target: str | int = "0",
        budget: int | float = 0.05,
        trigger: str = "patch",
        image_shape: tuple[int, int] | None = None,
        size: int = 3,
        position: str = "bottom_right",
        value: float | list[float] | None = None,
        features: list[int] | None = None,
        alpha: float = 0.2,
        pattern: Any = None,
        random_state=None,
    ) -> None:
        self.target = target
        self.budget = budget
        self.trigger = trigger
        self.image_shape = image_shape
        self.size = size
        self.position = position
        self.value = value
        self.features = features
        self.alpha = alpha
        self.pattern = pattern
        self.random_state = random_state

    # ------------------------------------------------------------------ public extras

    def apply_trigger(self, X: Any) -> np.ndarray:
        """Stamp the trigger on test inputs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            A new array, with X's dtype.
        """
        trigger = getattr(self, "trigger_", None)
        if trigger is None:
            raise ValueError(
                "Backdoor.apply_trigger needs the trigger fixed by poison(); call "
                "poison(X_train, y_train) first."
            )
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != trigger.n_features or X.dtype.kind not in "biuf":
            raise ValueError(
                f"X passed to Backdoor.apply_trigger must be a numeric 2-D array with "
                f"{trigger.n_features} features, as in training; got shape {X.shape}, "
                f"dtype {X.dtype}."
            )
        return trigger.stamp(X)

    def success_rate(self, predict, X_test, y_test) -> float | None:
        """Fraction of triggered non-``target`` test inputs predicted as ``target``."""
        mask = np.asarray(y_test).astype(str) != str(self.target)
        if not mask.any():
            return None
        predicted = np.asarray(predict(self.apply_trigger(np.asarray(X_test)[mask])))
        return float(np.mean(predicted.astype(str) == str(self.target)))

    # ------------------------------------------------------------------ computation

    def _poison(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> PoisonResult:
        classes = [str(c) for c in np.unique(y)]
        if str(self.target) not in classes:
            raise ParameterError(
                f"The 'target' parameter of Backdoor must be one of the classes "
                f"{{{', '.join(classes)}}}; got {self.target!r}.",
                path=("target",),
            )
        trigger = self._make_trigger(X)
        candidates = np.flatnonzero(y.astype(str) != str(self.target))
        count = resolve_budget(
            self.budget,
            len(y),
            owner="Backdoor",
            available=len(candidates),
            what=f"training samples not of class {str(self.target)!r}",
        )
        chosen = np.sort(rng.choice(candidates, size=count, replace=False)).astype(np.int64)
        X_out = X.copy()
        X_out[chosen] = trigger.stamp(X[chosen])
        y_out = y.copy()
        y_out[chosen] = np.asarray(self.target).astype(y.dtype)
        self.trigger_ = trigger
        return PoisonResult(
            X_out,
            y_out,
            chosen,
            {
                "budget": count,
                "target": str(self.target),
                "trigger": self.trigger,
                "trigger_features": trigger.features.tolist(),
            },
        )

    def _make_trigger(self, X: np.ndarray) -> Trigger:
        """The trigger for training data X: its columns, values and weight."""
        low, high = float(X.min()), float(X.max())
        if self.trigger == "features":
            features = self._check_features(X.shape[1])
            default = X[:, features].max(axis=0).astype(np.float64)
            values = self._values(len(features), default, X.dtype)
            return Trigger(features, values, 1.0, X.shape[1])
        height, width = self._image_shape(X.shape[1])
        if self.trigger == "blend":
            key = self._blend_key(height * width, low, high)
            features = np.arange(height * width, dtype=np.int64)
            return Trigger(features, key, float(self.alpha), X.shape[1])
        rows, cols = self._square(height, width)
        features = (rows * width + cols).astype(np.int64)
        values = self._values(1, np.array([high]), X.dtype)
        values = np.full(len(features), values[0])
        if self.trigger == "pattern":
            # Checkerboard anchored on the square's first pixel: bright, dark, bright, ...
            dark = (rows - rows.min() + cols - cols.min()) % 2 == 1
            values[dark] = low
        return Trigger(features, values, 1.0, X.shape[1])

    def _image_shape(self, n_features: int) -> tuple[int, int]:
        from ..datasets.base import image_shape_for

        shape = self.image_shape if self.image_shape is not None else image_shape_for(n_features)
        if shape is None:
            raise ParameterError(
                f"The 'image_shape' parameter of Backdoor must be given for the "
                f"{self.trigger!r} trigger on {n_features} features (only 784 = 28x28 and "
                f"64 = 8x8 are inferred); got None.",
                path=("image_shape",),
            )
        height, width = int(shape[0]), int(shape[1])
        if height * width != n_features:
            raise ParameterError(
                f"The 'image_shape' parameter of Backdoor must multiply to the number of "
                f"features, {n_features}; got {tuple(shape)!r}.",
                path=("image_shape",),
            )
        if self.trigger in ("patch", "pattern") and self.size > min(height, width):
            raise ParameterError(
                f"The 'size' parameter of Backdoor must be at most {min(height, width)} "
                f"(the image is {height}x{width}); got {self.size}.",
                path=("size",),
            )
        return height, width

    def _square(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of each pixel of the size x size square, row-major."""
        top = height - self.size if self.position.startswith("bottom") else 0
        left = width - self.size if self.position.endswith("right") else 0
        rows, cols = np.mgrid[top : top + self.size, left : left + self.size]
        return rows.ravel(), cols.ravel()

    def _check_features(self, n_features: int) -> np.ndarray:
        if self.features is None:
            raise ParameterError(
                "The 'features' parameter of Backdoor must be a sequence of column indices "
                "when trigger='features'; got None.",
                path=("features",),
            )
        features = np.asarray(self.features, dtype=np.int64)
        if features.max() >= n_features:
            raise ParameterError(
                f"The 'features' parameter of Backdoor must hold column indices below "
                f"{n_features}; got {list(self.features)!r}.",
                path=("features",),
            )
        return features

    def _values(self, n: int, default: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """The trigger values: ``value`` broadcast to n, or ``default``; checked against dtype."""
        if self.value is None:
            return default.astype(np.float64)
        values = np.atleast_1d(np.asarray(self.value, dtype=np.float64))
        if len(values) not in (1, n) or (len(values) != 1 and self.trigger != "features"):
            raise ParameterError(
                "The 'value' parameter of Backdoor must be one number"
                + (f" or {n} numbers (one per feature)" if self.trigger == "features" else "")
                + f"; got {self.value!r}.",
                path=("value",),
            )
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            if values.min() < info.min or values.max() > info.max:
                raise ParameterError(
                    f"The 'value' parameter of Backdoor must lie in [{info.min}, {info.max}] "
                    f"for X of dtype {dtype}; got {self.value!r}.",
                    path=("value",),
                )
        return np.broadcast_to(values, (n,)).copy()

    def _blend_key(self, n_features: int, low: float, high: float) -> np.ndarray:
        if self.pattern is None:
            return np.random.default_rng(_BLEND_KEY_SEED).uniform(low, high, size=n_features)
        key = np.asarray(self.pattern, dtype=np.float64).ravel()
        if key.size != n_features:
            raise ParameterError(
                f"The 'pattern' parameter of Backdoor must have {n_features} values (one per "
                f"pixel); got shape {np.asarray(self.pattern).shape}.",
                path=("pattern",),
            )
        return key
