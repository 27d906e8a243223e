"""Reject On Negative Impact, batched by groups of similar samples with one neighbour query."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np

from .._random import seed_from
from .._validation import RANDOM_STATE, Interval
from ._inputs import as_labels_of, require_training_set
from ._one_thread import single_threaded
from ._reduce import N_COMPONENTS, fit_reducer, transform
from ._trusted import TRUSTED
from .base import DETECTORS, FLAG_CONSTRAINTS, BaseDetector


@DETECTORS.register("roni")
class RONI(BaseDetector):
    """Reject On Negative Impact: groups of training samples whose removal helps a trusted set.

    RONI (Nelson et al. 2008) measures each candidate's effect on a trusted validation set by
    training with and without it. Done naively that is one refit per training sample, and one
    sample's effect is mostly noise. This version is batched twice over:

    1. **Groups.** Samples are tested in groups of about ``group_size`` *similar* samples with
       the *same label*: k-means within each label (on the PCA features). A targeted label flip
       puts many similar samples under one wrong label, so they fall into the same groups, and
       a group's effect is far larger than a single sample's.
    2. **No refits.** The model is a ``n_neighbors``-nearest-neighbour classifier, whose
       leave-group-out predictions follow exactly from one neighbour query: each validation
       point's ``n_neighbors + largest group`` nearest training samples are found once, and
       removing a group just skips its members in that list.

    A group's impact is the sum, over validation points, of the change in the model's
    probability of the point's true class (the share of its neighbours with that label) when
    the group is removed: positive means the group hurts. Every sample gets its group's impact
    as its score; the default rule flags impact >= ``min_impact`` (three validation points
    worth of probability by default). A group that is no validation point's neighbour scores 0.

    The detector is transductive: it scores the samples it was fitted on.
    ``info`` holds ``groups`` (group id per sample) and ``group_impact``.

    Parameters
    ----------
    validation : TrustedSet
        Trusted labelled samples (X, y), with the training set's features.
    n_neighbors : int, default=10
        k of the k-NN model.
    group_size : int, default=20
        Average number of samples per group (k-means clusters per label:
        ceil(class size / group_size)).
    min_impact : float, default=3.0
        Default flagging rule: group impact at least this.
    n_components : int or None, default=50
        PCA components for the neighbour search and the grouping; None for raw features.
    threshold, contamination : float, optional
        See :meth:`BaseDetector.flag`.
    random_state : None, int or numpy.random.Generator
        Seeds PCA and k-means.
    """

    reference = (
        "Nelson et al., 'Exploiting Machine Learning to Subvert Your Spam Filter' (LEET 2008) "
        "and Barreno et al., 'The security of machine learning' (Machine Learning 2010): "
        "Reject On Negative Impact."
    )
    _parameter_constraints = {
        "validation": TRUSTED,
        "n_neighbors": [Interval(Integral, 1, None)],
        "group_size": [Interval(Integral, 1, None)],
        "min_impact": [Interval(Real, None, None)],
        "n_components": N_COMPONENTS,
        **FLAG_CONSTRAINTS,
        "random_state": RANDOM_STATE,
    }

    def __init__(
        self,
        *,
        validation=None,
        n_neighbors: int = 10,
        group_size: int = 20,
        min_impact: float = 3.0,
        n_components: int | None = 50,
        threshold: float | None = None,
        contamination: float | None = None,
        random_state=None,
    ) -> None:
        self.validation = validation
        self.n_neighbors = n_neighbors
        self.group_size = group_size
        self.min_impact = min_impact
        self.n_components = n_components
        self.threshold = threshold
        self.contamination = contamination
        self.random_state = random_state

    @single_threaded
    def _fit(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        self.validation.check("RONI", "validation", X.shape[1], need_y=True)
        if self.n_neighbors >= len(X):
            raise ValueError(
                f"The 'n_neighbors' parameter of RONI must be less than the number of "
                f"samples ({len(X)}); got {self.n_neighbors}."
            )
        reducer = fit_reducer(X, self.n_components, seed_from(rng))
        F = transform(reducer, X)
        groups = _group_by_label(F, y, self.group_size, seed_from(rng))
        impact = self._group_impact(F, y, groups, transform(reducer, self.validation.X))
        self.X_fit_ = X
        self.scores_ = impact[groups]
        self.info_ = {"groups": groups, "group_impact": impact}

    def _group_impact(
        self, F: np.ndarray, y: np.ndarray, groups: np.ndarray, F_val: np.ndarray
    ) -> np.ndarray:
        """Summed change of the true-class probability on validation when each group goes."""
        from sklearn.neighbors import NearestNeighbors

        k = self.n_neighbors
        depth = min(len(F), k + int(np.bincount(groups).max()))
        neighbors = (
            NearestNeighbors(n_neighbors=depth).fit(F).kneighbors(F_val, return_distance=False)
        )
        y_val = as_labels_of(self.validation.y, y)
        hits = y[neighbors] == y_val[:, None]  # (n_val, depth): neighbour has the true label
        member = groups[neighbors]
        impact = np.zeros(groups.max() + 1)
        for v in range(len(F_val)):
            before = hits[v, :k].mean()
            for g in np.unique(member[v, :k]):
                kept = hits[v][member[v] != g][:k]
                # Only when fewer than k samples remain in the whole set (tiny data).
                impact[g] += (kept.mean() if len(kept) else 0.0) - before
        return impact

    @single_threaded
    def _score(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        require_training_set("RONI", self.X_fit_, X)
        return self.scores_.copy()

    def _default_threshold(self, scores: np.ndarray) -> float:
        return float(self.min_impact)

    def _info(self) -> dict[str, Any]:
        return dict(self.info_)


def _group_by_label(F: np.ndarray, y: np.ndarray, group_size: int, seed: int) -> np.ndarray:
    """Group id per sample: k-means clusters of about ``group_size`` within each label."""
    from sklearn.cluster import KMeans

    groups = np.empty(len(F), dtype=np.intp)
    next_id = 0
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        n_clusters = int(np.ceil(len(rows) / group_size))
        if n_clusters == 1:
            ids = np.zeros(len(rows), dtype=np.intp)
        else:
            km = KMeans(n_clusters=n_clusters, n_init=1, random_state=seed).fit(F[rows])
            ids = km.labels_
        # k-means may leave a cluster empty; renumber so group ids stay contiguous.
        _, ids = np.unique(ids, return_inverse=True)
        groups[rows] = next_id + ids
        next_id += ids.max() + 1
    return groups
