"""Fixed feature maps: functions of one input each, learned from no training data.

A certificate's proof treats everything fitted on the training set as a function of it: a
feature map fitted on the *whole* training set (PCA, a scaler, a network trained on it) would
let one poisoned sample change every base model and void a partition certificate. The maps
here depend on nothing but the input image, so applying them once, before partitioning, keeps
every certificate valid. They are selected by name only (:data:`FEATURES`), which is how the
certificates refuse maps that learn from the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def _as_images(X: np.ndarray) -> np.ndarray:
    side = math.isqrt(X.shape[1])
    if side * side != X.shape[1]:
        raise ValueError(
            f"features 'deskew' and 'hog' need square images; got {X.shape[1]} columns, "
            f"not a perfect square."
        )
    return np.asarray(X, dtype=np.float64).reshape(len(X), side, side)


def deskew(X: np.ndarray) -> np.ndarray:
    """Shear each image so that its principal axis is vertical (LeCun et al. 1998, sec. V-C).

    The shear ``alpha = cov(row, col) / var(row)`` of the image's ink, about its centre of
    mass, is undone by an affine resampling (bilinear, zeros outside).

    Parameters
    ----------
    X : ndarray of shape (n_samples, side * side)

    Returns
    -------
    ndarray of shape (n_samples, side * side), dtype float64
    """
    from scipy.ndimage import affine_transform

    images = _as_images(X)
    side = images.shape[1]
    grid = np.arange(side, dtype=np.float64)
    out = np.empty_like(images)
    centre = np.array([side / 2.0, side / 2.0])
    for i, image in enumerate(images):
        total = image.sum()
        if total <= 0:
            out[i] = image
            continue
        r = (grid[:, None] * image).sum() / total
        c = (grid[None, :] * image).sum() / total
        var_r = ((grid[:, None] - r) ** 2 * image).sum() / total
        cov = ((grid[:, None] - r) * (grid[None, :] - c) * image).sum() / total
        alpha = cov / var_r if var_r > 0 else 0.0
        matrix = np.array([[1.0, 0.0], [alpha, 1.0]])
        offset = np.array([r, c]) - matrix @ centre
        out[i] = affine_transform(image, matrix, offset=offset, order=1)
    return out.reshape(len(X), -1)


def hog(X: np.ndarray, cell: int = 4) -> np.ndarray:
    """Histograms of oriented gradients (Dalal & Triggs 2005) with scikit-image.

    9 orientations, ``cell`` x ``cell``-pixel cells, 2x2-cell blocks, L2-Hys: on 28x28 images
    1,296 features with 4x4 cells, 324 with 7x7 cells.

    Parameters
    ----------
    X : ndarray of shape (n_samples, side * side)
    cell : int
        Side of a cell, in pixels.

    Returns
    -------
    ndarray of shape (n_samples, n_hog_features), dtype float64
    """
    from skimage.feature import hog as skimage_hog

    images = _as_images(X)
    return (
        np.stack(
            [
                skimage_hog(
                    image,
                    orientations=9,
                    pixels_per_cell=(cell, cell),
                    cells_per_block=(2, 2),
                    block_norm="L2-Hys",
                )
                for image in images
            ]
        )
        if len(images)
        else np.empty((0, 0))
    )


def pixels(X: np.ndarray) -> np.ndarray:
    """The inputs as float64, unchanged."""
    return np.asarray(X, dtype=np.float64)


def unit_pixels(X: np.ndarray) -> np.ndarray:
    """8-bit pixels scaled to [0, 1] by the fixed factor 1/255 (not fitted to the data)."""
    return np.asarray(X, dtype=np.float64) / 255.0


#: Feature maps by name; each is a function of one input at a time.
FEATURES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "pixels": pixels,
    "unit_pixels": unit_pixels,
    "deskew": deskew,
    "hog": hog,
    "deskew_hog": lambda X: hog(deskew(X)),
    # Coarser cells: DPA's base models on ~50 images are more accurate with them (docs/certify.md).
    "deskew_hog7": lambda X: hog(deskew(X), cell=7),
}
