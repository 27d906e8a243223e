"""Which HOG cells make the best DPA base models on MNIST? The probe of docs/certify.md.

Each feature map is deskewing (``FEATURES["deskew"]``) then scikit-image's HOG with the cells
below (9 orientations, 2x2-cell blocks, L2-Hys, unless stated); maps joined by ``+`` are
concatenated. For each map and base model, the base model is fitted on each of the first 40 of
DPA's 1,200 hash partitions of MNIST's training rows, the *same* partitions for every map
(hashed on ``deskew_hog``), and its mean accuracy on the first 1,000 test images is printed.
Features are kept in ``--cache DIR`` (float32; built when missing). The output is the
Markdown table of docs/certify.md.

    .venv/bin/python examples/certify_mnist_hog_probe.py --cache /tmp/certify_hog_probe
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one BLAS thread: the same sums in every run

import numpy as np
from skimage.feature import hog
from sklearn.base import clone
from sklearn.svm import SVC

from poisonlab.certify import FEATURES
from poisonlab.datasets import load
from poisonlab.defenses._partition import canonical_order, hash_partitions

#: HOG settings by name (the keyword arguments of ``skimage.feature.hog``).
HOGS = {
    "hog4": {"pixels_per_cell": (4, 4)},
    "hog6": {"pixels_per_cell": (6, 6)},
    "hog7": {"pixels_per_cell": (7, 7)},
    "hog7_o12": {"pixels_per_cell": (7, 7), "orientations": 12},
    "hog14_b1": {"pixels_per_cell": (14, 14), "cells_per_block": (1, 1)},
}
#: How the table names the maps (a ``+`` joins the names of its parts).
MAP_NAMES = {
    "hog4": "4x4 cells (`deskew_hog`)",
    "hog6": "6x6 cells",
    "hog7": "7x7 cells (`deskew_hog7`)",
    "hog7_o12": "7x7 cells, 12 orientations",
    "hog14_b1": "14x14 cells (one-cell blocks)",
}
MODELS = {
    "svc_poly": lambda: SVC(kernel="poly", degree=2, coef0=1, C=10, random_state=42),
    "svc_poly3": lambda: SVC(kernel="poly", degree=3, coef0=1, C=10, random_state=42),
}


def features(name: str, images: np.ndarray, cache: Path) -> np.ndarray:
    """HOG ``name`` of the deskewed ``images``, float32, from ``cache`` when there."""
    path = cache / f"{name}.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    settings = {"orientations": 9, "cells_per_block": (2, 2), **HOGS[name]}
    F = np.stack([hog(image, block_norm="L2-Hys", **settings) for image in images])
    temporary = path.with_suffix(f".{os.getpid()}.npy")
    np.save(temporary, F.astype(np.float32), allow_pickle=False)
    temporary.replace(path)  # whole or not at all: another run may read it
    return F.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--maps", default="hog4,hog4+hog7,hog7,hog7_o12,hog6,hog7+hog14_b1")
    parser.add_argument("--models", default="svc_poly,svc_poly3")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    mnist = load("mnist")
    y = mnist.y[:61000]
    images = FEATURES["deskew"](mnist.X[:61000]).reshape(-1, 28, 28)
    partition = hash_partitions(features("hog4", images, args.cache)[:60000], 1200)
    models = args.models.split(",")
    print(f"| features (deskew, then HOG with) | features per image | {' | '.join(models)} |")
    print(f"| --- | --- |{' --- |' * len(models)}")
    for spec in args.maps.split(","):
        F = np.hstack([features(name, images, args.cache) for name in spec.split("+")])
        cells = []
        for model in models:
            scores = []
            for p in range(40):
                rows = np.flatnonzero(partition == p)
                rows = rows[canonical_order(F[rows], y[rows])]
                fitted = clone(MODELS[model]()).fit(F[rows], y[rows])
                scores.append(np.mean(fitted.predict(F[60000:]) == y[60000:]))
            cells.append(f"{np.mean(scores):.2%}")
        label = " and ".join(MAP_NAMES[name] for name in spec.split("+"))
        print(f"| {label} | {F.shape[1]:,} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
