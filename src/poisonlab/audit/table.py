"""The audited table: reading it, the role of each column, and its encoding into numbers.

A training set arrives as CSV, Parquet or NPZ (or a built-in dataset) with columns of any
kind. Each column gets a **role**, inferred from its values and overridable from the command
line:

``numeric``
    Numbers (integers, floats). Imputed with the median plus a missing-value indicator, then
    standardized, so no result depends on a column's units.
``categorical``
    Strings, booleans, pandas categories, and numbers with few distinct values given with
    ``--categorical``. Imputed with a ``"missing"`` category, one-hot encoded (categories
    rarer than 1 % of rows pooled).
``date``
    Strings that parse as dates, or datetime columns: days since the earliest date, then as
    numeric.
``text``
    Free text (long strings with many distinct values): hashed word counts, TF-IDF weighted.
``id``
    A row identifier (every value distinct): reported, never a feature.
``ignore``
    Left out (``--ignore``).

Image data (the built-in MNIST and digits, whose columns are pixels of one picture) is one
block in one unit: scaled by one standard deviation for all pixels, so a pixel that is nearly
always blank does not weigh as much as a stroke.

The encoding is scikit-learn's ``ColumnTransformer``; with more than :data:`N_COMPONENTS`
encoded columns, PCA (randomized) reduces it. Everything downstream (the neighbour graph, the
models) sees only this embedding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

ROLES = ("numeric", "categorical", "date", "text", "id", "ignore")

#: Dimensions of the embedding every check works in.
N_COMPONENTS = 20

#: A string column with at most this many distinct values (or 5 % of rows) is categorical.
MAX_CATEGORIES = 50


@dataclass
class AuditTable:
    """A training set as the audit sees it.

    Attributes
    ----------
    name : str
        What was audited (a path or a dataset name).
    frame : pandas.DataFrame
        The feature columns (label column removed), one row per sample.
    y : ndarray of shape (n_samples,), dtype str
        Labels as strings; ``""`` where the label is missing.
    roles : dict of str to str
        Column name -> role (see :data:`ROLES`).
    image_shape : tuple of int or None
        (height, width) when the columns are the pixels of one image.
    source : Path or None
        The input file, if any.
    """

    name: str
    frame: pd.DataFrame
    y: np.ndarray
    roles: dict[str, str]
    image_shape: tuple[int, int] | None = None
    source: Path | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def columns_with(self, role: str) -> list[str]:
        """Columns whose role is ``role``, in table order."""
        return [c for c, r in self.roles.items() if r == role]

    @property
    def ids(self) -> tuple[str, np.ndarray] | None:
        """(name, values) of the first ``id`` column, or None."""
        ids = self.columns_with("id")
        return None if not ids else (ids[0], self.frame[ids[0]].to_numpy())

    def missing(self) -> dict[str, int]:
        """Missing values per feature column that has any (the label is counted separately)."""
        counts = self.frame.isna().sum()
        return {str(c): int(n) for c, n in counts.items() if n}


# ----------------------------------------------------------------------------------- reading


def read_frame(path: Path) -> pd.DataFrame:
    """Read a CSV, Parquet or NPZ file into a DataFrame (CSV and Parquet through pyarrow).

    NPZ: the 2-D array ``X`` becomes columns ``x0..``, every 1-D array of the same length a
    column of its own name. Nothing is unpickled (``allow_pickle=False``).
    """
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ValueError(f"DATA: {str(path)!r} is not a file.")
    if path.stat().st_size == 0:
        raise ValueError(f"DATA: {str(path)!r} is empty.")
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".parquet":
        return pd.read_parquet(path, engine="pyarrow")
    if suffix == ".npz":
        return _read_npz(path)
    raise ValueError(
        f"DATA: {str(path)!r} must end in .csv, .parquet or .npz, or be a built-in dataset name."
    )


def _read_csv(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(path)
    except pa.ArrowInvalid as exc:
        raise ValueError(f"DATA: {str(path)!r} is not a readable CSV file: {exc}") from None
    return table.to_pandas()


def _read_npz(path: Path) -> pd.DataFrame:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    columns: dict[str, np.ndarray] = {}
    if "X" in arrays:
        X = arrays.pop("X")
        if X.ndim != 2:
            raise ValueError(f"DATA: array 'X' of {str(path)!r} must be 2-D; got {X.shape}.")
        columns.update({f"x{j}": X[:, j] for j in range(X.shape[1])})
    n = len(next(iter(columns.values()))) if columns else None
    for key, value in arrays.items():
        if value.ndim == 1 and (n is None or len(value) == n):
            columns[key] = value
    return pd.DataFrame(columns)


# ------------------------------------------------------------------------------------- roles


def infer_roles(frame: pd.DataFrame, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The role of each column: ``overrides`` where given, else inferred from the values.

    Parameters
    ----------
    frame : pandas.DataFrame
    overrides : dict of str to str, optional
        Column -> role; every column must exist and every role be one of :data:`ROLES`.

    Returns
    -------
    dict of str to str
    """
    overrides = overrides or {}
    for column, role in overrides.items():
        if column not in frame.columns:
            shown = ", ".join(map(str, list(frame.columns)[:10]))
            raise ValueError(
                f"--{role if role != 'id' else 'id'}: column {column!r} not found; columns: "
                f"{shown}{', ...' if frame.shape[1] > 10 else ''}."
            )
    return {str(c): overrides.get(str(c)) or _infer(frame[c]) for c in frame.columns}


def _infer(column: pd.Series) -> str:
    values = column.dropna()
    if len(values) == 0:
        return "ignore"
    if pd.api.types.is_bool_dtype(column) or isinstance(column.dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(column):
        return "date"
    if pd.api.types.is_numeric_dtype(column):
        return "numeric"
    text = values.astype(str)
    distinct = text.nunique()
    if distinct <= max(MAX_CATEGORIES, 0.05 * len(text)) and distinct < len(text):
        return "categorical"
    if _looks_like_dates(text):
        return "date"
    if distinct == len(text) and text.str.len().mean() < 40 and not text.str.contains(" ").any():
        return "id"
    return "text"


def _looks_like_dates(text: pd.Series) -> bool:
    sample = text.iloc[:200]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.95)


def role_table(roles: dict[str, str]) -> dict[str, list[str]]:
    """Role -> its columns, for the summary (roles without columns left out)."""
    out: dict[str, list[str]] = {}
    for column, role in roles.items():
        out.setdefault(role, []).append(column)
    return out


# ---------------------------------------------------------------------------------- encoding


def make_encoder(table: AuditTable, random_state: int):
    """The scikit-learn pipeline that turns the table's feature columns into the embedding.

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``ColumnTransformer`` (per role) then, with more than :data:`N_COMPONENTS` encoded
        columns, PCA to :data:`N_COMPONENTS`.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    parts = []
    numeric = table.columns_with("numeric")
    if numeric and table.image_shape is not None:
        parts.append(("image", FunctionTransformer(_one_unit, validate=False), numeric))
    elif numeric:
        impute = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
        parts.append(("numeric", make_pipeline(impute, StandardScaler()), numeric))
    categorical = table.columns_with("categorical")
    if categorical:
        encode = OneHotEncoder(
            handle_unknown="infrequent_if_exist", min_frequency=0.01, sparse_output=False
        )
        as_text = FunctionTransformer(_as_category_text, validate=False)
        parts.append(("categorical", make_pipeline(as_text, encode), categorical))
    dates = table.columns_with("date")
    if dates:
        days = FunctionTransformer(_days, validate=False)
        impute = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
        parts.append(("date", make_pipeline(days, impute, StandardScaler()), dates))
    for column in table.columns_with("text"):
        words = HashingVectorizer(n_features=2**6, alternate_sign=False, norm=None)
        fill = FunctionTransformer(_filled_text, validate=False)
        parts.append((f"text:{column}", make_pipeline(fill, words, TfidfTransformer()), column))
    if not parts:
        raise ValueError("DATA: no feature column left to audit (all are id, ignored or empty).")
    columns = ColumnTransformer(parts, sparse_threshold=0.0)
    return make_pipeline(columns, _Reduce(N_COMPONENTS, random_state))


def _one_unit(X):
    values = np.asarray(X, dtype=np.float32)
    std = float(values.std()) or 1.0
    return (values - values.mean(axis=0)) / std


def _as_category_text(X):
    frame = pd.DataFrame(X)
    return frame.astype("string").fillna("missing").astype(object).to_numpy()


def _days(X):
    frame = pd.DataFrame(X)
    import warnings

    out = np.empty(frame.shape, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j, column in enumerate(frame.columns):
            parsed = pd.to_datetime(frame[column], errors="coerce", format="mixed", utc=True)
            out[:, j] = (parsed - pd.Timestamp("1970-01-01", tz="UTC")).dt.days.to_numpy(
                dtype=np.float64, na_value=np.nan
            )
    return out


def _filled_text(X):
    return pd.Series(np.asarray(X).ravel()).fillna("").astype(str).to_numpy()


class _Reduce(TransformerMixin, BaseEstimator):
    """PCA (randomized) to ``n_components`` when there are more encoded columns, else as is.

    Output is float32: the neighbour graph of a million rows then fits in memory.
    """

    def __init__(self, n_components: int = N_COMPONENTS, random_state: int = 0) -> None:
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        from sklearn.decomposition import PCA

        X = np.asarray(X, dtype=np.float32)
        self.pca_ = None
        if X.shape[1] > self.n_components:
            self.pca_ = PCA(
                self.n_components, svd_solver="randomized", random_state=self.random_state
            )
            # Fitted on at most 20,000 rows: the components are stable well before that.
            rng = np.random.default_rng(self.random_state)
            rows = rng.choice(len(X), min(len(X), 20_000), replace=False)
            self.pca_.fit(X[np.sort(rows)])
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=np.float32)
        return X if self.pca_ is None else self.pca_.transform(X).astype(np.float32)
