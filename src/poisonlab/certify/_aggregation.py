"""Partition-aggregation certificates: DPA and Finite Aggregation."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np

from .._validation import Interval, Options, Predicate
from ..defenses._partition import (
    PartitionEnsemble,
    base_model_votes,
    certified_radius,
    count_votes,
    fit_base_models,
    hash_partitions,
)
from ..defenses.mitigation import is_classifier_like
from .base import CERTIFICATES, BaseCertificate
from .features import FEATURES


def check_deterministic(estimator: Any, owner: str) -> None:
    """Refuse a base model with an unset ``random_state``.

    Partition certificates assume each base model is a *function* of its training subset;
    a model seeded from the clock is not, and its vote could change without any poisoning.
    """
    if estimator is None:
        return
    for key, value in estimator.get_params(deep=True).items():
        if (key == "random_state" or key.endswith("__random_state")) and value is None:
            raise ValueError(
                f"The 'estimator' parameter of {owner} must be deterministic: its {key!r} is "
                f"None; set it to an int (the certificate assumes each base model is a "
                f"function of its training subset)."
            )


def apply_features(name: str, *arrays: np.ndarray) -> list[np.ndarray]:
    """Each array through the fixed feature map ``name`` (:data:`FEATURES`)."""
    return [FEATURES[name](X) for X in arrays]


_ESTIMATOR = [Options(None), Predicate(is_classifier_like, "a scikit-learn classifier")]
_FEATURES = [Options(*FEATURES)]


@CERTIFICATES.register("dpa")
class DPA(BaseCertificate):
    """Deep Partition Aggregation (Levine & Feizi 2021, Theorem 1).

    The training set is split into ``n_partitions`` by a hash of each sample's features, a
    base model is trained on each partition (in a canonical order, so it depends on the
    partition's set of samples), and the plurality vote is certified: a poisoned sample lies in
    one partition and changes at most one vote, so the radius is
    ``floor((n_c - max_{c' != c}(n_c' + [c' < c])) / 2)``.

    Parameters
    ----------
    estimator : scikit-learn classifier or None, default=None
        Base model, cloned per partition; None is ``SVC(random_state=42)``. Its ``random_state``
        must not be None.
    n_partitions : int, default=50
    features : str, default="pixels"
        A fixed feature map of :data:`~poisonlab.certify.features.FEATURES`, applied first.
    """

    threat_model = (
        "insertions and removals of training samples of any features and label, one unit each "
        "(a relabelled sample counts once, a sample with changed features twice)"
    )
    reference = (
        "Levine & Feizi, 'Deep Partition Aggregation: Provable Defenses against General "
        "Poisoning Attacks', ICLR 2021 (arXiv:2006.14768)."
    )
    _parameter_constraints = {
        "estimator": _ESTIMATOR,
        "n_partitions": [Interval(Integral, 1, None)],
        "features": _FEATURES,
    }

    def __init__(self, *, estimator=None, n_partitions: int = 50, features: str = "pixels"):
        self.estimator = estimator
        self.n_partitions = n_partitions
        self.features = features

    def _certify(self, X_train, y_train, X_test):
        check_deterministic(self.estimator, type(self).__name__)
        X_train, X_test = apply_features(self.features, X_train, X_test)
        ensemble = PartitionEnsemble(estimator=self.estimator, n_partitions=self.n_partitions)
        ensemble.fit(X_train, y_train)
        predictions, radius = ensemble.predict_with_radius(X_test)
        return predictions, radius, {"n_partitions": self.n_partitions, "features": self.features}


def spread(n_buckets: int, d: int, seed: int) -> np.ndarray:
    """Finite Aggregation's spread: the ``d`` base models that train on each bucket.

    Bucket ``b`` goes to models ``(pi(b) + j) mod n_buckets`` for ``j < d``, ``pi`` a seeded
    permutation: every bucket feeds ``d`` distinct models and every model reads ``d`` buckets.
    The certificate holds for any such map (Wang et al. 2022, Theorem 2).

    Returns
    -------
    ndarray of shape (n_buckets, d), dtype int64
    """
    pi = np.random.default_rng(seed).permutation(n_buckets)
    return (pi[:, None] + np.arange(d)[None, :]) % n_buckets


def finite_aggregation_radius(votes: np.ndarray, members: np.ndarray, n_classes: int):
    """Plurality vote of the base models and Finite Aggregation's certified radius.

    Poisoning one bucket can change the votes of its ``d`` models; against a rival ``c'`` the
    margin ``n_c - n_c' + [c < c']`` falls by at most 2 per model voting ``c``, 1 per model
    voting a third class, 0 per model voting ``c'``. The radius against ``c'`` is the largest
    ``r`` whose ``r`` largest bucket losses sum to less than the margin (Wang et al. 2022,
    Theorem 2); the certified radius is the smallest over rivals.

    Parameters
    ----------
    votes : ndarray of shape (n_samples, n_models)
        Class index predicted by each base model.
    members : ndarray of shape (n_buckets, d)
        The models each bucket feeds (:func:`spread`).
    n_classes : int

    Returns
    -------
    winner, radius : ndarrays of shape (n_samples,)
    """
    counts = count_votes(votes, n_classes)
    winner = np.argmax(counts, axis=1)
    n = len(votes)
    rows = np.arange(n)
    radius = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    for rival in range(n_classes):
        loss_per_model = np.where(votes == winner[:, None], 2, 1)
        loss_per_model[votes == rival] = 0
        losses = -np.sort(-loss_per_model[:, members].sum(axis=2), axis=1)
        margin = counts[rows, winner] - counts[:, rival] + (winner < rival)
        within = (np.cumsum(losses, axis=1) < margin[:, None]).sum(axis=1)
        radius = np.where(winner == rival, radius, np.minimum(radius, within))
    return winner, np.where(radius == np.iinfo(np.int64).max, len(members), radius)


@CERTIFICATES.register("finite_aggregation")
class FiniteAggregation(BaseCertificate):
    """Finite Aggregation (Wang, Levine & Feizi 2022): each sample in ``d`` of ``k * d`` subsets.

    Samples are hashed into ``k * d`` buckets, each bucket feeds ``d`` base models
    (:func:`spread`), each base model trains on its ``d`` buckets, and the plurality vote of
    the ``k * d`` models is certified by :func:`finite_aggregation_radius`. With ``d = 1`` it
    is DPA with ``k`` partitions.

    Parameters
    ----------
    estimator : scikit-learn classifier or None, default=None
        Base model; None is ``SVC(random_state=42)``. Its ``random_state`` must not be None.
    n_partitions : int, default=50
        ``k``: each base model sees about ``n / k`` samples, as in DPA with ``k`` partitions.
    spread_factor : int, default=4
        ``d``.
    seed : int, default=0
        Seed of the spread's permutation.
    features : str, default="pixels"
    """

    threat_model = DPA.threat_model
    reference = (
        "Wang, Levine & Feizi, 'Improved Certified Defenses against Data Poisoning with "
        "(Deterministic) Finite Aggregation', ICML 2022 (arXiv:2202.02628)."
    )
    _parameter_constraints = {
        "estimator": _ESTIMATOR,
        "n_partitions": [Interval(Integral, 1, None)],
        "spread_factor": [Interval(Integral, 1, None)],
        "seed": [Interval(Integral, 0, 2**32 - 1)],
        "features": _FEATURES,
    }

    def __init__(
        self,
        *,
        estimator=None,
        n_partitions: int = 50,
        spread_factor: int = 4,
        seed: int = 0,
        features: str = "pixels",
    ):
        self.estimator = estimator
        self.n_partitions = n_partitions
        self.spread_factor = spread_factor
        self.seed = seed
        self.features = features

    def _certify(self, X_train, y_train, X_test):
        check_deterministic(self.estimator, type(self).__name__)
        X_train, X_test = apply_features(self.features, X_train, X_test)
        from sklearn.svm import SVC

        base = SVC(random_state=42) if self.estimator is None else self.estimator
        n_buckets = self.n_partitions * self.spread_factor
        buckets = hash_partitions(X_train, n_buckets)
        members = spread(n_buckets, self.spread_factor, self.seed)
        rows_of_bucket = [np.flatnonzero(buckets == b) for b in range(n_buckets)]
        subsets: list[list[np.ndarray]] = [[] for _ in range(n_buckets)]
        for b, models in enumerate(members):
            for model in models:
                subsets[model].append(rows_of_bucket[b])
        classes = np.unique(y_train)
        estimators, fixed = fit_base_models(
            X_train, y_train, classes, [np.concatenate(s) for s in subsets], base
        )
        votes = base_model_votes(estimators, fixed, classes, X_test)
        winner, radius = finite_aggregation_radius(votes, members, len(classes))
        info = {
            "n_partitions": self.n_partitions,
            "spread_factor": self.spread_factor,
            "seed": self.seed,
            "features": self.features,
        }
        return classes[winner], radius, info


__all__ = ["DPA", "FiniteAggregation", "certified_radius"]
