"""DPA on MNIST with fixed deskew + HOG features: the numbers of docs/certify.md.

The features are computed once for rows 0..60999 (``FEATURES[--features]``, default
``deskew_hog``, stored as float32) and, with ``--cache PATH``, kept in a ``.npy`` file so that
several runs share them; then ``dpa`` certifies the first 1,000 test images (rows
60000..60999) for each number of partitions and base model, as ``poisonlab certify mnist
--method dpa --features deskew_hog`` does, with one difference: the partitions hash the stored
float32 features, the command line hashes float64 ones, so the partitions, and the numbers,
differ a little (k = 1,200, polynomial SVC on ``deskew_hog``: 92.80 % and median radius 453
here, 92.40 % and 449 from the command line in docs/benchmarks.md).

    .venv/bin/python examples/certify_mnist.py --cache /tmp/mnist_deskew_hog.npy \
        --partitions 1200,3000 --models 1nn,svc
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

from poisonlab.certify import CERTIFICATES, FEATURES
from poisonlab.datasets import load

#: Base models on the fixed features, each cloned per partition (about 50 images at k = 1,200).
MODELS = {
    "1nn": lambda: KNeighborsClassifier(1),
    "3nn": lambda: KNeighborsClassifier(3, weights="distance"),
    "1nn_cosine": lambda: KNeighborsClassifier(1, metric="cosine", algorithm="brute"),
    "svc": lambda: SVC(random_state=42),
    "svc_c10": lambda: SVC(C=10, random_state=42),
    "svc_poly": lambda: SVC(kernel="poly", degree=2, coef0=1, C=10, random_state=42),
    "svc_poly3": lambda: SVC(kernel="poly", degree=3, coef0=1, C=10, random_state=42),
    "svc_rbf_g05": lambda: SVC(gamma=0.05, C=10, random_state=42),
    "logreg": lambda: LogisticRegression(C=10, max_iter=2000),
    "extra_trees": lambda: ExtraTreesClassifier(300, random_state=42),
}


def features(cache: Path | None, name: str = "deskew_hog") -> np.ndarray:
    """Fixed features ``name`` of MNIST rows 0..60999, float32, from ``cache`` when it exists."""
    if cache is not None and cache.exists():
        return np.load(cache, allow_pickle=False)
    mnist = load("mnist")
    F = FEATURES[name](mnist.X[:61000]).astype(np.float32)
    if cache is not None:
        np.save(cache, F, allow_pickle=False)
    return F


def probe(F: np.ndarray, y: np.ndarray, ks: list[int], names: list[str], n: int) -> None:
    """Mean test accuracy of single base models, each fitted on one of the first ``n`` of DPA's
    ``k`` hash partitions (in DPA's canonical order): a quick ranking before a whole DPA run."""
    from sklearn.base import clone

    from poisonlab.defenses._partition import canonical_order, hash_partitions

    print("| k | base model | mean accuracy of one base model | seconds per base model |")
    print("| --- | --- | --- | --- |")
    for k in ks:
        part = hash_partitions(F[:60000], k)
        for name in names:
            start, scores = time.perf_counter(), []
            for p in range(n):
                rows = np.flatnonzero(part == p)
                rows = rows[canonical_order(F[rows], y[rows])]
                if len(np.unique(y[rows])) < 2:
                    continue
                model = clone(MODELS[name]()).fit(F[rows], y[rows])
                scores.append(np.mean(model.predict(F[60000:]) == y[60000:]))
            seconds = (time.perf_counter() - start) / n
            print(f"| {k} | {name} | {np.mean(scores):.4f} | {seconds:.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--features", default="deskew_hog", choices=sorted(FEATURES))
    parser.add_argument("--partitions", default="1200,3000")
    parser.add_argument("--models", default="1nn,svc")
    parser.add_argument(
        "--probe",
        type=int,
        default=0,
        help="only fit each base model on this many partitions and print their mean accuracy",
    )
    args = parser.parse_args()
    F = features(args.cache, args.features)
    y = load("mnist").y[:61000]
    if args.probe:
        ks = [int(v) for v in args.partitions.split(",")]
        probe(F, y, ks, args.models.split(","), args.probe)
        return
    print("| k | base model | clean accuracy | median radius | seconds |")
    print("| --- | --- | --- | --- | --- |")
    for k in [int(v) for v in args.partitions.split(",")]:
        for name in args.models.split(","):
            dpa = CERTIFICATES.create("dpa", n_partitions=k, estimator=MODELS[name]())
            start = time.perf_counter()
            result = dpa.certify(F[:60000], y[:60000], F[60000:], y[60000:])
            print(
                f"| {k} | {args.features}, {name} | {result.clean_accuracy:.4f} | "
                f"{result.median_radius} | {time.perf_counter() - start:.0f} |",
                flush=True,
            )
            radii = [100, 200, 300, 400, 500]
            curve = {r["radius"]: r["accuracy"] for r in result.certified_accuracy(radii)}
            print(f"<!-- certified accuracy at {radii}: {curve} -->", flush=True)


if __name__ == "__main__":
    main()
