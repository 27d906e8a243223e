"""What every check shares: the embedding, one neighbour graph, the out-of-fold probabilities.

Built once per audit (:func:`build_context`) so no check fits its own copy: the neighbour
graph serves ``neighbours``, ``outliers`` (LOF on the precomputed graph), ``duplicates`` and the
default out-of-fold probabilities of ``confident_learning`` (leave-one-out neighbour votes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Neighbours per row in the shared graph.
N_NEIGHBOURS = 10

#: Rows per chunk when querying neighbours (bounds the distance matrix in memory).
CHUNK = 4096


@dataclass(frozen=True)
class NeighbourGraph:
    """The k nearest neighbours of every row (the row itself excluded).

    Attributes
    ----------
    indices : ndarray of int, shape (n_samples, k)
    distances : ndarray of float32, shape (n_samples, k)
        Euclidean, in the embedding; ascending along each row.
    """

    indices: np.ndarray
    distances: np.ndarray

    def sparse(self):
        """The graph as scikit-learn's precomputed sparse distance matrix (CSR)."""
        from scipy.sparse import csr_matrix

        n, k = self.indices.shape
        # Exact duplicates sit at distance 0, which a sparse matrix would drop: a tiny floor.
        data = np.maximum(self.distances.ravel().astype(np.float64), 1e-12)
        indptr = np.arange(0, n * k + 1, k)
        return csr_matrix((data, self.indices.ravel(), indptr), shape=(n, n))


#: Above this many rows the graph is approximate (faiss IVF), below it exact.
EXACT_ROWS = 20_000


def neighbour_graph(
    Z: np.ndarray, k: int = N_NEIGHBOURS, on_chunk=None, seed: int = 0
) -> NeighbourGraph:
    """The k-nearest-neighbour graph of ``Z``, built once with faiss and queried in chunks.

    Up to :data:`EXACT_ROWS` rows the search is exact (``IndexFlatL2``: brute force on BLAS);
    above, an inverted-file index (``IndexIVFFlat``, 4 sqrt(n) k-means cells, 16 probed per
    query), whose k-means is seeded, so the graph is the same on every run.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_dims)
    k : int
        Neighbours per row; fewer when there are at most k other rows.
    on_chunk : callable, optional
        Called with the fraction done after each chunk (progress).
    seed : int
        Seeds the k-means of the approximate index.
    """
    import faiss

    Z = np.ascontiguousarray(Z, dtype=np.float32)
    n, d = Z.shape
    k = min(k, n - 1)
    if n <= EXACT_ROWS:
        index = faiss.IndexFlatL2(d)
    else:
        cells = int(4 * np.sqrt(n))
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(d), d, cells)
        index.cp.seed = seed
        rng = np.random.default_rng(seed)
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # k-means sums in one thread: the same cells every run
        try:
            index.train(Z[np.sort(rng.choice(n, min(n, 64 * cells), replace=False))])
        finally:
            faiss.omp_set_num_threads(threads)
        index.nprobe = 16
    index.add(Z)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, CHUNK * 4):
        stop = min(start + CHUNK * 4, n)
        dist, idx = index.search(Z[start:stop], k + 1)
        idx, dist = _drop_self(idx, np.sqrt(np.maximum(dist, 0.0)), np.arange(start, stop))
        indices[start:stop], distances[start:stop] = idx, dist
        if on_chunk is not None:
            on_chunk(stop / n)
    return NeighbourGraph(indices, distances)


def _drop_self(idx: np.ndarray, dist: np.ndarray, rows: np.ndarray) -> tuple:
    """Remove each row from its own neighbour list (not always first: exact duplicates tie)."""
    is_self = idx == rows[:, None]
    # Rows where self is missing (k+1 tied duplicates): drop the last neighbour instead.
    missing = ~is_self.any(axis=1)
    is_self[missing, -1] = True
    keep = ~is_self
    k = idx.shape[1] - 1
    return idx[keep].reshape(-1, k), dist[keep].reshape(-1, k)


@dataclass
class AuditContext:
    """The data every check reads.

    Attributes
    ----------
    Z : ndarray of float32, shape (n_samples, n_dims)
        The embedding (see :func:`poisonlab.audit.table.make_encoder`).
    y : ndarray of str, shape (n_samples,)
    classes : ndarray of str, shape (n_classes,)
    yi : ndarray of int, shape (n_samples,)
        Index of each row's label in ``classes``.
    graph : NeighbourGraph
    pred_probs : ndarray of shape (n_samples, n_classes)
        Out-of-fold probabilities, columns in ``classes`` order.
    probs_source : str
        Where they came from, for the summary.
    row_keys : ndarray of uint64, shape (n_samples,)
        A hash of each row's feature values (exact duplicates share it).
    groups : dict of str to ndarray of int
        Named groupings of the rows (categorical columns, clusters) for the group check.
    Z_ref, y_ref : ndarray or None
        The reference set's embedding and labels.
    pair_alpha : float
        Per-pair significance at which a flip pattern alone fails the gate.
    seed : int
        Seeds what the checks draw at random (the excess test's null subsets).
    """

    Z: np.ndarray
    y: np.ndarray
    classes: np.ndarray
    yi: np.ndarray
    graph: NeighbourGraph
    pred_probs: np.ndarray
    probs_source: str
    row_keys: np.ndarray
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    Z_ref: np.ndarray | None = None
    y_ref: np.ndarray | None = None
    pair_alpha: float = 1e-4
    group_alpha: float = 1e-6
    seed: int = 0
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def neighbour_votes(self) -> np.ndarray:
        """Per row and class, how many of its graph neighbours carry that class."""
        if "votes" not in self.cache:
            self.cache["votes"] = count_votes(self.yi[self.graph.indices], self.n_classes)
        return self.cache["votes"]

    def row_hash_groups(self) -> np.ndarray:
        """Group id per row; rows with identical feature values share one."""
        return np.unique(self.row_keys, return_inverse=True)[1]

    def reference_distances(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Robust z of each row's log distance to the reference, the reference's own z, spacing.

        Returns
        -------
        z : ndarray of shape (n_samples,)
        own_z : ndarray of shape (n_reference,)
            The same statistic for each reference row against the other reference rows.
        typical : float
            The reference's median nearest-neighbour spacing.
        """
        if "ref_dist" in self.cache:
            return self.cache["ref_dist"]
        from sklearn.neighbors import NearestNeighbors

        index = NearestNeighbors(n_neighbors=2).fit(self.Z_ref)
        own = index.kneighbors(self.Z_ref)[0][:, 1]
        dist = index.kneighbors(self.Z, n_neighbors=1)[0][:, 0]
        positive = own[own > 0]
        floor = positive.min() if len(positive) else 1.0
        log_own, log_dist = np.log(np.maximum(own, floor)), np.log(np.maximum(dist, floor))
        center = np.median(log_own)
        spread = 1.4826 * np.median(np.abs(log_own - center)) or 1.0
        result = ((log_dist - center) / spread, (log_own - center) / spread, float(np.exp(center)))
        self.cache["ref_dist"] = result
        return result

    def reference_votes(self) -> tuple[np.ndarray, int]:
        """Per row and class, votes of the k nearest reference rows; and k."""
        if "ref_votes" not in self.cache:
            from sklearn.neighbors import NearestNeighbors

            k = min(N_NEIGHBOURS, len(self.Z_ref))
            index = NearestNeighbors(n_neighbors=k).fit(self.Z_ref)
            idx = index.kneighbors(self.Z, return_distance=False)
            self.cache["ref_votes"] = (count_votes(self.ref_yi()[idx], self.n_classes), k)
        return self.cache["ref_votes"]

    def ref_yi(self) -> np.ndarray:
        """Reference labels as indices into ``classes`` (-1 for a class training lacks)."""
        where = {c: i for i, c in enumerate(self.classes)}
        return np.array([where.get(c, -1) for c in self.y_ref], dtype=np.int64)


def count_votes(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Per row, counts of each class among ``labels`` (shape (n, k); -1 entries ignored)."""
    n = labels.shape[0]
    votes = np.zeros((n, n_classes), dtype=np.int32)
    rows = np.repeat(np.arange(n), labels.shape[1])
    flat = labels.ravel()
    keep = flat >= 0
    np.add.at(votes, (rows[keep], flat[keep]), 1)
    return votes


def loo_probabilities(votes: np.ndarray, yi: np.ndarray) -> np.ndarray:
    """Leave-one-out class probabilities from neighbour votes, smoothed by the class prior.

    ``(votes + prior) / (k + 1)``: never exactly 0 or 1, which cleanlab's thresholds need.
    """
    prior = np.bincount(yi, minlength=votes.shape[1]) / len(yi)
    k = votes.sum(axis=1, keepdims=True)
    return (votes + prior) / (k + 1.0)
