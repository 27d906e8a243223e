"""Clean-label feature-collision poisoning (Shafahi et al. 2018, "Poison Frogs!").

Each poison starts from a base input ``b`` of the target class, keeps the target label (its
correct one: a clean label), and is moved so that its representation ``phi(x)`` collides with
the victim's ``phi(t)`` while ``x`` stays close to ``b``:

    x = argmin ||phi(x) - phi(t)||^2 + beta ||x - b||^2.

A model that learns ``phi(x)`` -> target near ``phi(t)`` then calls the victim ``target``.
Shafahi et al. solve this by forward-backward splitting: a gradient step on the collision
term, then the proximal step of the ``beta`` term, ``x = (x + lr beta b) / (1 + lr beta)``.
With ``phi`` the identity (a linear model's representation: the input itself) the minimizer is
closed-form, ``x = (t + beta b) / (1 + beta)``; for a kernel model ``phi`` is a Nystroem RBF
feature map fitted on the training set, and the splitting runs for ``max_iter`` steps.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from .._validation import CLASS_LABEL, RANDOM_STATE, Interval, Options, Predicate, resolve_budget
from ._binary_svm import GAMMA, append_points, resolve_gamma
from ._targeted import _is_vector, squared_distances
from .base import ATTACKS, BaseAttack, PoisonResult


@ATTACKS.register("feature_collision")
class FeatureCollision(BaseAttack):
    """Inject clean-label poisons of the target class whose features collide with a victim's.

    Each of ``budget`` poisons starts from a base: a training point of class ``target`` (the
    nearest to the victim in the representation, ``base="nearest"``, or random ones,
    ``"random"``), and solves ``min ||phi(x) - phi(t)||^2 + beta ||x - b||^2`` (Shafahi et al.,
    Eq. 1; forward-backward splitting, Algorithm 1). The poisons keep the label ``target``,
    which is their base's true class. ``representation="input"``: ``phi`` is the identity, the
    representation a linear model reads; closed form. ``"nystroem"``: ``phi`` is a Nystroem map
    of the RBF kernel (``n_components`` landmarks, ``gamma``), fitted on the training set, the
    representation of an RBF SVM. Points stay inside the training data's range.
    ``info["base_distances"]`` gives ``||x - b||`` for each poison, ``info["bases"]`` the base
    rows. ``success_rate`` is 1.0 when the model predicts ``target`` for the victim.

    Parameters
    ----------
    victim : array-like of shape (n_features,)
        The input to misclassify (e.g. one test row). Required.
    target : str or int, default="0"
        The class the victim should be given; the bases come from it.
    budget : int or float, default=5
        Number of poisons, or a fraction of the training set (at most the target's size).
    beta : float, default=0.25
        Weight of ``||x - b||^2``: larger keeps the poison closer to its base. It trades
        squared feature distances against squared input distances: with the input
        representation both are in input units; with Nystroem features (norms about 1)
        against raw inputs (e.g. 0..255 pixels), useful values are far smaller.
    representation : {"input", "nystroem"}, default="input"
    n_components : int, default=200
        Nystroem landmarks.
    gamma : {"scale", "auto"} or float, default="scale"
        RBF width, fixed on the training set as SVC computes it.
    max_iter : int, default=200
        Forward-backward steps (Nystroem only).
    learning_rate : float, default=0.1
        Step size of the collision term's gradient (Nystroem only), fixed so that the first
        step moves this fraction of the distance between base and victim.
    base : {"nearest", "random"}, default="nearest"
    random_state : None, int or numpy.random.Generator
        Seeds the Nystroem landmarks and the random bases.
    """

    kind = "inject"
    reference = (
        "A. Shafahi, W. R. Huang, M. Najibi, O. Suciu, C. Studer, T. Dumitras & T. Goldstein, "
        "'Poison Frogs! Targeted Clean-Label Poisoning Attacks on Neural Networks', "
        "NeurIPS 2018."
    )
    _parameter_constraints = {
        "victim": [Predicate(_is_vector, "a 1-D array of finite feature values (the victim)")],
        "target": [CLASS_LABEL],
        "budget": [Interval(Integral, 0, None), Interval(Real, 0.0, 1.0)],
        "beta": [Interval(Real, 0.0, None)],
        "representation": [Options("input", "nystroem")],
        "n_components": [Interval(Integral, 1, None)],
        "gamma": GAMMA,
        "max_iter": [Interval(Integral, 0, None)],
        "learning_rate": [Interval(Real, 0.0, None, closed="neither")],
        "base": [Options("nearest", "random")],
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        victim: Any = None,
        target: str | int = "0",
        budget: int | float = 5,
        beta: float = 0.25,
        representation: str = "input",
        n_components: int = 200,
        gamma: str | float = "scale",
        max_iter: int = 200,
        learning_rate: float = 0.1,
        base: str = "nearest",
        random_state=None,
    ) -> None:
        self.victim = victim
        self.target = target
        self.budget = budget
        self.beta = beta
        self.representation = representation
        self.n_components = n_components
        self.gamma = gamma
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.base = base
        self.random_state = random_state

    def success_rate(self, predict, X_test=None, y_test=None) -> float | None:
        """1.0 if the model predicts ``target`` for the victim, else 0.0 (test data unused)."""
        predicted = np.asarray(predict(np.asarray(self.victim)[None, :]))
        return float(str(predicted[0]) == str(self.target))

    def _poison(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> PoisonResult:
        owner = "FeatureCollision"
        victim = self._checked_victim(X, y, owner)
        pool = np.flatnonzero(y.astype(str) == str(self.target))
        count = resolve_budget(
            self.budget,
            len(y),
            owner=owner,
            available=len(pool),
            what=f"training samples of class {str(self.target)!r}",
        )
        low, high = float(X.min()), float(X.max())
        Xf = np.asarray(X, dtype=np.float64)
        feature_map = self._feature_map(Xf, rng)
        if self.base == "random":
            bases = np.sort(rng.choice(pool, count, replace=False))
        else:
            features = Xf[pool] if feature_map is None else feature_map.transform(Xf[pool])
            target_features = (
                victim if feature_map is None else feature_map.transform(victim[None])[0]
            )
            order = np.argsort(squared_distances(features, target_features), kind="stable")
            bases = pool[order[:count]]
        beta = float(self.beta)
        if feature_map is None:
            points = (victim[None, :] + beta * Xf[bases]) / (1.0 + beta)
        else:
            points = np.array(
                [self._collide(feature_map, victim, Xf[b], low, high) for b in bases]
            ).reshape(count, X.shape[1])
        points = np.clip(points, low, high)
        X_out, y_out, added = append_points(X, y, points, y[bases])
        info = {
            "budget": count,
            "target": str(self.target),
            "bases": bases.tolist(),
            "base_distances": np.linalg.norm(points - Xf[bases], axis=1).round(6).tolist(),
        }
        return PoisonResult(X_out, y_out, added, info)

    def _checked_victim(self, X: np.ndarray, y: np.ndarray, owner: str) -> np.ndarray:
        classes = [str(c) for c in np.unique(y)]
        if str(self.target) not in classes:
            raise ValueError(
                f"The 'target' parameter of {owner} must be one of the classes "
                f"{{{', '.join(classes)}}}; got {self.target!r}."
            )
        victim = np.asarray(self.victim, dtype=np.float64)
        if victim.shape != (X.shape[1],):
            raise ValueError(
                f"The 'victim' parameter of {owner} must have {X.shape[1]} values (one per "
                f"feature of X); got shape {victim.shape}."
            )
        return victim

    def _feature_map(self, X: np.ndarray, rng: np.random.Generator):
        """None for the input representation, else a Nystroem map fitted on ``X``."""
        if self.representation == "input":
            return None
        from sklearn.kernel_approximation import Nystroem

        return Nystroem(
            gamma=resolve_gamma(self.gamma, X),
            n_components=min(int(self.n_components), len(X)),
            random_state=int(rng.integers(0, 2**31 - 1)),
        ).fit(X)

    def _collide(self, feature_map, victim, base, low, high) -> np.ndarray:
        """Forward-backward splitting for one poison in the Nystroem representation."""
        landmarks = feature_map.components_
        gamma = feature_map.gamma
        projection = feature_map.normalization_  # phi(x) = K(x, landmarks) @ projection.T
        goal = feature_map.transform(victim[None])[0]
        beta = float(self.beta)
        x = base.copy()
        lr = None
        for _ in range(int(self.max_iter)):
            diff = x[None, :] - landmarks
            k = np.exp(-gamma * np.einsum("ij,ij->i", diff, diff))
            residual = k @ projection.T - goal
            # d phi / dx = projection @ (dk / dx), dk_i / dx = -2 gamma k_i (x - l_i).
            grad = 2.0 * ((residual @ projection) * k * (-2.0 * gamma)) @ diff
            if lr is None:
                # The first step moves learning_rate times the base-victim distance.
                scale = float(np.linalg.norm(grad)) or 1.0
                lr = float(self.learning_rate) * float(np.linalg.norm(base - victim)) / scale
            x = x - lr * grad
            x = np.clip((x + lr * beta * base) / (1.0 + lr * beta), low, high)
        return x
