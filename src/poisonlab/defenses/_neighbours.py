"""Nearest neighbours in a fixed order, whatever the number of threads searching.

scikit-learn's neighbour search breaks distance ties by how its OpenMP threads split the work
(a row's k-th neighbour among equidistant points changed between one and two threads on
``digits``), so a detector that votes among neighbours would depend on the thread count. Here
the search only proposes candidates: their distances are recomputed exactly, row by row, and
the k nearest are taken in (distance, index) order. Searching may then use every core.
"""

from __future__ import annotations

import numpy as np

_CHUNK_ROWS = 8192  # query rows per exact-distance pass: bounds the (rows, m, d) temporary
# Squared distances closer than this (relative to the points' squared norms) are not trusted to
# be ordered by the search's |x|^2 - 2 x.z + |z|^2 arithmetic: far above its rounding error.
_RELATIVE_TOLERANCE = 1e-9


class OrderedNeighbours:
    """A neighbour index whose answers are the k nearest in (distance, index) order.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_features), float64
        The points searched.
    """

    def __init__(self, Z: np.ndarray) -> None:
        from sklearn.neighbors import NearestNeighbors

        self.Z = np.ascontiguousarray(Z, dtype=np.float64)
        self._sq_norms = np.einsum("ij,ij->i", self.Z, self.Z)
        self._index = NearestNeighbors().fit(self.Z)

    def kneighbors(self, Q: np.ndarray, k: int, *, exclude_self: bool = False) -> np.ndarray:
        """Indices of the ``k`` nearest points of each query, nearest first, ties by index.

        Parameters
        ----------
        Q : ndarray of shape (n_queries, n_features)
            Queries; with ``exclude_self``, the searched points themselves (``Q`` is ``Z``),
            each of which is left out of its own neighbours.
        k : int
            Neighbours per query, fewer than the points left to choose from.
        exclude_self : bool, default=False

        Returns
        -------
        ndarray of shape (n_queries, k), int
        """
        Q = np.ascontiguousarray(Q, dtype=np.float64)
        result = np.empty((len(Q), k), dtype=np.intp)
        pending = np.arange(len(Q))
        extra = k  # candidates beyond those needed; grown for rows whose ties reach past them
        while len(pending):
            m = min(k + int(exclude_self) + extra, len(self.Z))
            candidates = self._index.kneighbors(Q[pending], n_neighbors=m, return_distance=False)
            settled = np.zeros(len(pending), dtype=bool)
            for start in range(0, len(pending), _CHUNK_ROWS):
                part = slice(start, start + _CHUNK_ROWS)
                rows = pending[part]
                chosen, settled[part] = self._order(
                    Q[rows], candidates[part], rows, k, exclude_self
                )
                result[rows[settled[part]]] = chosen[settled[part]]
            pending = pending[~settled]
            extra *= 4
        return result

    def _order(
        self, Q: np.ndarray, candidates: np.ndarray, rows: np.ndarray, k: int, exclude_self: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k first candidates in (exact distance, index) order, and which rows are settled:
        those whose k-th distance is clearly below every point the search left out."""
        sq = ((self.Z[candidates] - Q[:, None, :]) ** 2).sum(axis=2)  # exact, row by row
        is_self = candidates == rows[:, None] if exclude_self else np.zeros(sq.shape, bool)
        sq[is_self] = np.inf
        order = np.lexsort((candidates, sq), axis=1)
        sq = np.take_along_axis(sq, order, axis=1)
        chosen = np.take_along_axis(candidates, order, axis=1)[:, :k]
        # The farthest candidate that is a real neighbour (the row itself sorts last).
        last = sq.shape[1] - 1 - is_self.any(axis=1)
        farthest = sq[np.arange(len(sq)), last]
        tolerance = _RELATIVE_TOLERANCE * (np.einsum("ij,ij->i", Q, Q) + self._sq_norms.max())
        complete = candidates.shape[1] == len(self.Z)
        settled = complete | (sq[:, k - 1] < farthest - tolerance)
        return chosen, settled
