"""DataFrames in, DataFrames out: give arrays back the pandas form of the input they came from.

Attacks and detectors compute on NumPy arrays. When a user passes a ``pandas.DataFrame`` (for
instance inside a pipeline configured with ``set_output(transform="pandas")``), the result
should come back as one too, with the same column names and, where the values allow it, the
same dtypes, so that the next step sees the feature names it was fitted with.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _pandas():
    # pandas is imported only when the input is already a pandas object (so it is loaded).
    import pandas as pd

    return pd


def is_frame(X: Any) -> bool:
    """Whether ``X`` is a pandas DataFrame (without importing pandas)."""
    return type(X).__module__.startswith("pandas") and hasattr(X, "columns")


def is_series(y: Any) -> bool:
    """Whether ``y`` is a pandas Series (without importing pandas)."""
    return type(y).__module__.startswith("pandas") and hasattr(y, "name") and y.ndim == 1


def like_X(template: Any, X: np.ndarray, rows: np.ndarray | None = None) -> Any:
    """``X`` in the form of ``template``: a DataFrame with its columns, or ``X`` unchanged.

    Parameters
    ----------
    template : array-like of shape (n_samples, n_features)
        The user's input.
    X : ndarray of shape (n_out, n_features)
        The computed features.
    rows : ndarray of shape (n_out,), dtype int, optional
        Which input row each output row is (then the output keeps those rows' index labels);
        by default the input's index when ``n_out == n_samples``, else a fresh RangeIndex.

    Returns
    -------
    DataFrame or ndarray
        A column keeps its input dtype when the values survive the round trip exactly (a label
        attack's, a detector's kept rows); otherwise it takes the computed dtype (an int column
        moved by a feature attack becomes float).
    """
    if not is_frame(template):
        return X
    pd = _pandas()
    if rows is not None:
        index = template.index[rows]
    elif len(X) == len(template):
        index = template.index
    else:
        index = pd.RangeIndex(len(X))
    columns = {}
    for j, name in enumerate(template.columns):
        values, dtype = X[:, j], template.dtypes.iloc[j]
        columns[name] = _as_dtype(values, dtype)
    return pd.DataFrame(columns, index=index)


def _as_dtype(values: np.ndarray, dtype: Any) -> Any:
    try:
        cast = values.astype(dtype)
    except (TypeError, ValueError):
        return values
    same = np.array_equal(np.asarray(cast, dtype=values.dtype), values, equal_nan=True)
    return cast if same else values


def like_y(template: Any, y: np.ndarray, index: Any = None) -> Any:
    """``y`` in the form of ``template``: a Series with its name and dtype, or ``y`` unchanged.

    Parameters
    ----------
    template : array-like of shape (n_samples,)
    y : ndarray of shape (n_out,)
        Labels drawn from ``template``'s own values, so its dtype holds them.
    index : pandas Index, optional
        The output's index (the poisoned X's); by default the input's index when ``n_out ==
        n_samples``, else a fresh RangeIndex.
    """
    if not is_series(template):
        return y
    pd = _pandas()
    if index is None:
        index = template.index if len(y) == len(template) else pd.RangeIndex(len(y))
    return pd.Series(y, name=template.name, index=index).astype(template.dtype)
