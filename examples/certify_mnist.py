"""DPA on MNIST with fixed deskew + HOG features: the numbers of docs/certify.md.

The features are computed once for rows 0..60999 (``FEATURES["deskew_hog"]``, stored as
float32) and, with ``--cache PATH``, kept in a ``.npy`` file so that several runs share them;
then ``dpa`` certifies the first 1,000 test images (rows 60000..60999) for each number of
partitions and base model, exactly as ``poisonlab certify mnist --method dpa --features
deskew_hog`` does (``features="pixels"`` on the stored features is the identity).

    .venv/bin/python examples/certify_mnist.py --cache /tmp/mnist_deskew_hog.npy \
        --partitions 1200,3000 --models 1nn,svc
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

from poisonlab.certify import CERTIFICATES, FEATURES
from poisonlab.datasets import load

MODELS = {"1nn": lambda: KNeighborsClassifier(1), "svc": lambda: SVC(random_state=42)}


def features(cache: Path | None) -> np.ndarray:
    """deskew + HOG of MNIST rows 0..60999, float32, from ``cache`` when it exists."""
    if cache is not None and cache.exists():
        return np.load(cache, allow_pickle=False)
    mnist = load("mnist")
    F = FEATURES["deskew_hog"](mnist.X[:61000]).astype(np.float32)
    if cache is not None:
        np.save(cache, F, allow_pickle=False)
    return F


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--partitions", default="1200,3000")
    parser.add_argument("--models", default="1nn,svc")
    args = parser.parse_args()
    F = features(args.cache)
    y = load("mnist").y[:61000]
    print("| k | base model | clean accuracy | median radius | seconds |")
    print("| --- | --- | --- | --- | --- |")
    for k in [int(v) for v in args.partitions.split(",")]:
        for name in args.models.split(","):
            dpa = CERTIFICATES.create("dpa", n_partitions=k, estimator=MODELS[name]())
            start = time.perf_counter()
            result = dpa.certify(F[:60000], y[:60000], F[60000:], y[60000:])
            print(
                f"| {k} | deskew+HOG, {name} | {result.clean_accuracy:.4f} | "
                f"{result.median_radius} | {time.perf_counter() - start:.0f} |",
                flush=True,
            )
            radii = [100, 200, 300, 400, 500]
            curve = {r["radius"]: r["accuracy"] for r in result.certified_accuracy(radii)}
            print(f"<!-- certified accuracy at {radii}: {curve} -->", flush=True)


if __name__ == "__main__":
    main()
