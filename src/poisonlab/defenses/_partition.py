"""Deep Partition Aggregation (Levine & Feizi 2021): a certifiably robust ensemble."""

from __future__ import annotations

import hashlib
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, clone

from .._validation import Interval, Options, Predicate
from .mitigation import MITIGATIONS, BaseMitigation, is_classifier_like


def hash_partitions(X: Any, n_partitions: int) -> np.ndarray:
    """The partition of each row: SHA-256 of its features, modulo ``n_partitions``.

    The partition depends only on the feature values, so relabelling a sample cannot move
    it, and it is the same in every process (unlike Python's salted ``hash()``). Rows are
    hashed as float64 with negative zeros made positive, so the same values give the same
    partition whatever the input dtype.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_partitions : int

    Returns
    -------
    ndarray of shape (n_samples,), dtype int64
        Values in ``[0, n_partitions)``.
    """
    rows = np.ascontiguousarray(X, dtype=np.float64) + 0.0  # + 0.0 turns -0.0 into 0.0
    return np.fromiter(
        (
            int.from_bytes(hashlib.sha256(row.tobytes()).digest()[:8], "little") % n_partitions
            for row in rows
        ),
        dtype=np.int64,
        count=len(rows),
    )


def canonical_order(X: Any, y: Any) -> np.ndarray:
    """An order of the rows that depends only on the multiset of ``(row, label)`` samples.

    Rows are sorted by the SHA-256 of their float64 features (negative zeros made positive)
    followed by their label's text. A base model trained on its partition in this order is a
    function of the partition's *set* of samples, as DPA's certificate assumes (Levine & Feizi
    2021 train each base classifier on its partition in a sorted, deterministic order), so
    permuting the training rows cannot change a vote. Equal keys are equal samples, whose
    order cannot matter.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)

    Returns
    -------
    ndarray of shape (n_samples,), dtype int64
        Row indices in canonical order.
    """
    rows = np.ascontiguousarray(X, dtype=np.float64) + 0.0
    keys = [
        hashlib.sha256(row.tobytes() + b"\0" + str(label).encode()).digest()
        for row, label in zip(rows, np.asarray(y), strict=True)
    ]
    return np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)


def certified_radius(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plurality vote (ties to the smallest class) and its certified radius.

    With ``n_c`` votes for class ``c`` and the winner ``c*``, the radius is the paper's
    ``floor((n_c* - max_{c != c*} (n_c + [c < c*])) / 2)``: each poisoned training sample
    (inserted or removed) lies in one partition and changes at most one vote, taking one from
    ``c*`` and giving one to a rival; a rival ``c < c*`` wins ties, hence the ``+ 1``.

    Parameters
    ----------
    counts : ndarray of shape (n_samples, n_classes)
        Votes per class, classes in sorted order.

    Returns
    -------
    winner : ndarray of shape (n_samples,)
        Index of the predicted class.
    radius : ndarray of shape (n_samples,), dtype int64
        How many poisoned training samples provably cannot change the prediction.
    """
    counts = np.asarray(counts, dtype=np.int64)
    winner = np.argmax(counts, axis=1)  # the first maximum: the smallest class wins ties
    n, m = counts.shape
    rows = np.arange(n)
    rivals = counts + (np.arange(m)[None, :] < winner[:, None])
    rivals[rows, winner] = np.iinfo(np.int64).min
    runner_up = rivals.max(axis=1) if m > 1 else np.zeros(n, dtype=np.int64)
    return winner, (counts[rows, winner] - runner_up) // 2


def fit_base_models(
    X: np.ndarray, y: np.ndarray, classes: np.ndarray, subsets: list[np.ndarray], base: Any
) -> tuple[list, np.ndarray]:
    """One clone of ``base`` per subset of rows, each trained in canonical order.

    A subset holding a single class votes for it; an empty one for ``classes[0]`` (a fixed
    classifier, as one trained on nothing would be).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    classes : ndarray of shape (n_classes,)
        Sorted classes of ``y``.
    subsets : list of ndarray of int
        Row indices of each base model's training set.
    base : scikit-learn classifier

    Returns
    -------
    estimators : list of (estimator or None)
        None where the subset votes for a fixed class.
    fixed_votes : ndarray of shape (n_subsets,), dtype int64
        Class index of each fixed vote, -1 where a model was fitted.
    """
    rank = np.empty(len(X), dtype=np.int64)
    rank[canonical_order(X, y)] = np.arange(len(X))
    estimators: list = []
    fixed_votes = np.full(len(subsets), -1, dtype=np.int64)
    for i, rows in enumerate(subsets):
        rows = np.asarray(rows)[np.argsort(rank[rows])]  # canonical: a set, not a list
        present = np.unique(y[rows])
        if len(present) < 2:
            label = present[0] if len(present) else classes[0]
            fixed_votes[i] = np.searchsorted(classes, label)
            estimators.append(None)
        else:
            estimators.append(clone(base).fit(X[rows], y[rows]))
    return estimators, fixed_votes


def base_model_votes(
    estimators: list, fixed_votes: np.ndarray, classes: np.ndarray, X: np.ndarray
) -> np.ndarray:
    """Class index each base model predicts; ndarray of shape (n_samples, n_models)."""
    votes = np.empty((len(X), len(estimators)), dtype=np.int64)
    for i, (model, fixed) in enumerate(zip(estimators, fixed_votes, strict=True)):
        votes[:, i] = fixed if model is None else np.searchsorted(classes, model.predict(X))
    return votes


def count_votes(votes: np.ndarray, n_classes: int) -> np.ndarray:
    """Votes per class, ndarray of shape (n_samples, n_classes), from per-model class indices."""
    counts = np.zeros((len(votes), n_classes), dtype=np.int64)
    np.add.at(counts, (np.arange(len(votes))[:, None], votes), 1)
    return counts


@MITIGATIONS.register("partition_ensemble")
class PartitionEnsemble(ClassifierMixin, BaseMitigation):
    """Deep Partition Aggregation: one model per hash partition, a vote, a certified radius.

    The training set is split into ``n_partitions`` disjoint parts by a hash of each sample's
    features (:func:`hash_partitions`); a clone of ``estimator`` is trained on each part, its
    rows in a canonical order (:func:`canonical_order`) so that it depends on the part's set
    of samples and not on the order of the training rows, and the ensemble predicts the
    plurality vote, ties going to the smallest class. Since a
    poisoned sample sits in one partition, it changes at most one vote, which gives each
    prediction a certified radius (:func:`certified_radius`): that many insertions or
    removals of training samples, of any content, cannot change it. A relabelled sample stays
    in its partition, so a label flip counts once; a sample whose features are changed counts
    twice (it leaves one partition and joins another).

    A partition holding a single class votes for that class; an empty one votes for the
    smallest class (a fixed classifier, as one trained on nothing would be). Either way the
    certificate holds, since poisoning it still changes only that partition's vote.

    Parameters
    ----------
    estimator : scikit-learn classifier or None, default=None
        Base learner; None uses ``SVC(random_state=42)`` (the ML 106 lab's model).
    n_partitions : int, default=50
        Number of partitions (base models); the radius is at most ``n_partitions // 2``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    partitions_ : ndarray of shape (n_samples,)
        The partition of each training row.
    estimators_ : list of (estimator or None)
        Fitted base models; None where the partition votes for a fixed class.
    fixed_votes_ : ndarray of shape (n_partitions,)
        Class index of each fixed vote, -1 where a model was fitted.
    """

    kind = "certified"
    reference = (
        "Levine & Feizi, 'Deep Partition Aggregation: Provable Defenses against General "
        "Poisoning Attacks', ICLR 2021 (arXiv:2006.14768)."
    )
    _parameter_constraints = {
        "estimator": [Options(None), Predicate(is_classifier_like, "a scikit-learn classifier")],
        "n_partitions": [Interval(Integral, 1, None)],
    }

    def __init__(self, *, estimator=None, n_partitions: int = 50) -> None:
        self.estimator = estimator
        self.n_partitions = n_partitions

    def fit(self, X: Any, y: Any) -> PartitionEnsemble:
        """Fit one base model per partition.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        X, y, base = self._start_fit(X, y)
        self.classes_ = np.unique(y)
        self.partitions_ = hash_partitions(X, self.n_partitions)
        subsets = [np.flatnonzero(self.partitions_ == p) for p in range(self.n_partitions)]
        self.estimators_, self.fixed_votes_ = fit_base_models(X, y, self.classes_, subsets, base)
        self.n_features_in_ = X.shape[1]
        return self

    def vote_counts(self, X: Any) -> np.ndarray:
        """Votes per class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), dtype int64
            Column ``j`` counts the base models that predict ``classes_[j]``.
        """
        votes = base_model_votes(
            self.estimators_, self.fixed_votes_, self.classes_, self._check_X(X)
        )
        return count_votes(votes, len(self.classes_))

    def predict(self, X: Any) -> np.ndarray:
        """The plurality vote, ties to the smallest class; ndarray of shape (n_samples,)."""
        return self.classes_[np.argmax(self.vote_counts(X), axis=1)]

    def predict_with_radius(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Predictions and their certified radii, each an ndarray of shape (n_samples,)."""
        winner, radius = certified_radius(self.vote_counts(X))
        return self.classes_[winner], radius

    def certified_accuracy(self, X: Any, y: Any, radii: Any = None) -> list[dict[str, float | int]]:
        """Certified accuracy versus radius.

        Parameters
        ----------
        X : array-like of shape (n_test, n_features)
        y : array-like of shape (n_test,)
        radii : array-like of int, optional
            Radii to report; by default ``0, 1, ..., n_partitions // 2``.

        Returns
        -------
        list of dict
            One row per radius ``r``: ``radius``, ``certified_accuracy`` (the fraction of test
            samples predicted correctly with a radius of at least ``r``) and ``n_certified``.
            At ``r = 0`` it is the ensemble's accuracy.
        """
        y = np.asarray(y)
        pred, radius = self.predict_with_radius(X)
        if y.shape != pred.shape:
            raise ValueError(
                f"y passed to PartitionEnsemble.certified_accuracy must have one label per row "
                f"of X ({len(pred)}); got shape {y.shape}."
            )
        return certified_accuracy_table(pred == y, radius, self.n_partitions, radii)

    def _check_X(self, X: Any) -> np.ndarray:
        if not hasattr(self, "estimators_"):
            raise ValueError("PartitionEnsemble must be fitted before predicting.")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X passed to PartitionEnsemble must have {self.n_features_in_} features; "
                f"got shape {X.shape}."
            )
        return X


def certified_accuracy_table(
    correct: np.ndarray, radius: np.ndarray, n_partitions: int, radii: Any = None
) -> list[dict[str, float | int]]:
    """Rows ``{radius, certified_accuracy, n_certified}`` for each radius (see above)."""
    radii = np.arange(n_partitions // 2 + 1) if radii is None else np.asarray(radii)
    if radii.ndim != 1 or radii.dtype.kind not in "iu" or (radii < 0).any():
        raise ValueError(
            f"The 'radii' parameter of certified_accuracy must be a list of whole numbers "
            f">= 0; got {radii.tolist()}."
        )
    n = len(correct)
    rows = []
    for r in radii.tolist():
        certified = int(np.sum(correct & (radius >= r)))
        rows.append(
            {
                "radius": r,
                "certified_accuracy": certified / n if n else 0.0,
                "n_certified": certified,
            }
        )
    return rows
