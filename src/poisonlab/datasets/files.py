"""User files: CSV, NPZ and Parquet, with one-line errors for everything a user can get wrong.

NPZ files are read with ``allow_pickle=False``: a user's file is never unpickled.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from .base import Dataset, image_shape_for

SUPPORTED = (".csv", ".npz", ".parquet")


def load_file(path_text: str, *, label: str | None) -> Dataset:
    """Load ``file:<path>``.

    Parameters
    ----------
    path_text : str
        Path to a ``.csv``, ``.npz`` or ``.parquet`` file.
    label : str or None
        The label column (CSV, Parquet) or array name (NPZ, default ``"y"``; features in ``"X"``).

    Returns
    -------
    Dataset
    """
    path = Path(path_text)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise ValueError(
            f"dataset file {path_text!r} has an unsupported type {suffix!r}; "
            f"supported: {', '.join(SUPPORTED)}."
        )
    if not path.is_file():
        raise ValueError(f"dataset file {path_text!r} does not exist.")
    if path.stat().st_size == 0:
        raise ValueError(f"dataset file {path_text!r} is empty.")
    if suffix == ".npz":
        X, y, names = _read_npz(path, label or "y")
    else:
        if label is None:
            raise ValueError(
                f"dataset file {path_text!r} needs --label: the name of its label column."
            )
        frame = _read_table(path, suffix)
        X, y, names = _split_frame(frame, label, path_text)
    X = _check_features(X, path_text)
    y = labels_as_str(y, where=f"label column {label!r} of {path_text!r}")
    if len(np.unique(y)) < 2:
        raise ValueError(
            f"dataset file {path_text!r} has fewer than two classes in its label "
            f"{label!r}: {np.unique(y).tolist()}."
        )
    return Dataset(f"file:{path_text}", X, y, "file", names, image_shape_for(X.shape[1]))


def _read_table(path: Path, suffix: str) -> pd.DataFrame:
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError("reading Parquet needs pyarrow: pip install pyarrow") from None
        return pd.read_parquet(path)
    try:
        frame = pd.read_csv(path, low_memory=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"dataset file {str(path)!r} is empty.") from None
    except pd.errors.ParserError as exc:
        raise ValueError(
            f"dataset file {str(path)!r} is not valid CSV: {str(exc).strip().splitlines()[-1]}"
        ) from None
    if frame.empty:
        raise ValueError(f"dataset file {str(path)!r} has a header but no rows.")
    return frame


def _delimiter_hint(columns: list[str]) -> str:
    if len(columns) == 1:
        for sep, name in ((";", "';'"), ("\t", "a tab"), ("|", "'|'")):
            if sep in columns[0]:
                return f" (the file seems to use {name} as delimiter; poisonlab reads ',')"
    return ""


def _split_frame(
    frame: pd.DataFrame, label: str, path_text: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    columns = [str(c) for c in frame.columns]
    if label not in columns:
        shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
        raise ValueError(
            f"label column {label!r} not found in {path_text!r}; columns found: "
            f"{shown}{_delimiter_hint(columns)}."
        )
    frame.columns = columns
    y = frame[label].to_numpy()
    features = frame.drop(columns=[label])
    if features.shape[1] == 0:
        raise ValueError(f"dataset file {path_text!r} has no feature columns besides {label!r}.")
    non_numeric = [
        c
        for c in features.columns
        if not pd.api.types.is_numeric_dtype(features[c]) or pd.api.types.is_bool_dtype(features[c])
    ]
    if non_numeric:
        shown = ", ".join(repr(c) for c in non_numeric[:10])
        raise ValueError(
            f"dataset file {path_text!r} has non-numeric feature columns: {shown}"
            f"{' ...' if len(non_numeric) > 10 else ''}; poisonlab needs numbers."
        )
    return features.to_numpy(dtype=np.float64), y, list(features.columns)


def _read_npz(path: Path, label: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, AttributeError):
        raise ValueError(
            f"dataset file {str(path)!r} is not a readable NPZ file of plain arrays."
        ) from None
    if "X" not in arrays or label not in arrays:
        raise ValueError(
            f"NPZ file {str(path)!r} must hold arrays 'X' and {label!r}; found: "
            f"{', '.join(arrays) or 'none'}."
        )
    X, y = arrays["X"], arrays[label]
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"NPZ file {str(path)!r}: 'X' must be 2-D and {label!r} 1-D with one "
            f"label per row; got shapes {X.shape} and {y.shape}."
        )
    return X, y, [f"x{i}" for i in range(X.shape[1])]


def _check_features(X: np.ndarray, path_text: str) -> np.ndarray:
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"dataset file {path_text!r}: features must be numeric; got dtype {X.dtype}."
        )
    if len(X) == 0:
        raise ValueError(f"dataset file {path_text!r} has no rows.")
    if X.dtype.kind == "f":
        bad = ~np.isfinite(X)
        if bad.any():
            rows = np.flatnonzero(bad.any(axis=1))
            raise ValueError(
                f"dataset file {path_text!r} has {int(bad.sum())} NaN or infinite "
                f"feature values (first in row {int(rows[0])})."
            )
    return X


def labels_as_str(y: np.ndarray, *, where: str) -> np.ndarray:
    """Labels as a numpy str array; integral floats become ``'1'``, not ``'1.0'``.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    where : str
        Names the label source in error messages.

    Returns
    -------
    ndarray of shape (n_samples,), dtype str
    """
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            rows = np.flatnonzero(~np.isfinite(y))
            raise ValueError(
                f"{where} has {len(rows)} missing labels (first in row {int(rows[0])})."
            )
        if not np.array_equal(y, np.round(y)):
            raise ValueError(
                f"{where} holds non-integer floats (e.g. {y[y != np.round(y)][0]!r})"
                "; classification needs class labels, not a continuous target."
            )
        y = y.astype(np.int64)
    if y.dtype.kind == "O":
        missing = pd.isna(y)
        if missing.any():
            rows = np.flatnonzero(missing)
            raise ValueError(
                f"{where} has {len(rows)} missing labels (first in row {int(rows[0])})."
            )
    return y.astype(str)
