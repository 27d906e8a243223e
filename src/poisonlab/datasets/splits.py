"""Train/test splits: contiguous index ranges (as in the ML 106 lab) or stratified random."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import ParameterError
from .base import Dataset


@dataclass(frozen=True)
class Split:
    """A train/test split of a dataset.

    Attributes
    ----------
    X_train : ndarray of shape (n_train, n_features)
    y_train : ndarray of shape (n_train,)
    X_test : ndarray of shape (n_test, n_features)
    y_test : ndarray of shape (n_test,)
    train_rows, test_rows : ndarray of int
        Rows of the dataset each part came from.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    train_rows: np.ndarray
    test_rows: np.ndarray


def _take(ds: Dataset, train_rows: np.ndarray, test_rows: np.ndarray) -> Split:
    return Split(
        ds.X[train_rows], ds.y[train_rows], ds.X[test_rows], ds.y[test_rows], train_rows, test_rows
    )


def split_by_ranges(ds: Dataset, train: tuple[int, int], test: tuple[int, int]) -> Split:
    """Rows ``train[0]..train[1]-1`` for training and ``test[0]..test[1]-1`` for testing.

    Parameters
    ----------
    ds : Dataset
    train, test : tuple of (int, int)
        Half-open row ranges ``[start, stop)``.
    """
    n = len(ds.y)
    for name, (start, stop) in (("train", train), ("test", test)):
        if not 0 <= start < stop <= n:
            raise ParameterError(
                f"the {name} range [{start}, {stop}) must lie within the "
                f"{n} rows of {ds.name!r} and hold at least one row.",
                path=("split", name),
            )
    if train[0] < test[1] and test[0] < train[1]:
        raise ParameterError(
            f"the train range [{train[0]}, {train[1]}) and test range "
            f"[{test[0]}, {test[1]}) overlap.",
            path=("split",),
        )
    return _take(ds, np.arange(*train), np.arange(*test))


def split_stratified(ds: Dataset, train_size: int, test_size: int, *, seed: int) -> Split:
    """A stratified random split of ``train_size`` and ``test_size`` rows.

    Parameters
    ----------
    ds : Dataset
    train_size, test_size : int
    seed : int
        Seed of the split.
    """
    from sklearn.model_selection import train_test_split

    n = len(ds.y)
    if train_size < 1 or test_size < 1 or train_size + test_size > n:
        raise ParameterError(
            f"train_size ({train_size}) + test_size ({test_size}) must be at least "
            f"1 each and at most the {n} rows of {ds.name!r}.",
            path=("split",),
        )
    rows = np.arange(n)
    train_rows, test_rows = train_test_split(
        rows, train_size=train_size, test_size=test_size, stratify=ds.y, random_state=seed
    )
    return _take(ds, np.sort(train_rows), np.sort(test_rows))
