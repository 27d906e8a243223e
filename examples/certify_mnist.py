"""DPA on MNIST with fixed features: the tables of docs/certify.md.

Each feature map (``FEATURES[NAME]``: ``pixels``, ``deskew_hog``, ``deskew_hog7``) is computed
once for rows 0..60999, stored as float32 and, with ``--cache DIR``, kept there as
``NAME.npy`` (built when missing) so that several runs share it. Then ``dpa`` certifies the
first 1,000 test images (rows 60000..60999) for each run ``K:FEATURES:MODEL`` of ``--runs``
(``MODELS`` below), as ``poisonlab certify mnist --method dpa --features FEATURES`` does, with
one difference: the partitions hash the stored float32 features, the command line hashes
float64 ones, so the partitions, and the numbers, differ a little. The output is the Markdown
table of docs/certify.md, the paper's row (Table 1) first for each k.

    .venv/bin/python examples/certify_mnist.py --cache /tmp/certify_mnist

``--probe N`` instead fits each of ``--models`` on the first ``N`` of the ``--partitions``
hash partitions of ``--features`` and prints its mean test accuracy (``--seconds``: the
seconds per base model instead, which no rerun reproduces exactly).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one BLAS thread: the same sums in every run

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC

from poisonlab.certify import CERTIFICATES, FEATURES
from poisonlab.datasets import load
from poisonlab.defenses._partition import canonical_order, hash_partitions

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
    "logreg": lambda: LogisticRegression(C=10, max_iter=2000, random_state=42),
    "extra_trees": lambda: ExtraTreesClassifier(300, random_state=42),
}
#: How the table names them.
DESCRIPTIONS = {
    "1nn": "1-NN",
    "3nn": "3-NN (distance-weighted)",
    "1nn_cosine": "1-NN, cosine distance",
    "svc": "SVC",
    "svc_c10": "SVC (RBF, C 10)",
    "svc_poly": "SVC poly (degree 2, coef0 1, C 10)",
    "svc_poly3": "SVC poly (degree 3, coef0 1, C 10)",
    "svc_rbf_g05": "SVC (RBF, gamma 0.05, C 10)",
    "logreg": "logistic regression (C 10)",
    "extra_trees": "extra trees (300)",
}
FEATURE_NAMES = {
    "pixels": "pixels",
    "deskew_hog": "deskew+HOG",
    "deskew_hog7": "deskew+HOG, 7x7 cells (`deskew_hog7`)",
}
#: The runs of docs/certify.md's table, ``K:FEATURES:MODEL``.
DOCS_RUNS = ",".join(
    f"{k}:{run}"
    for k in (1200, 3000)
    for run in (
        "deskew_hog:1nn",
        "deskew_hog:svc",
        "deskew_hog:svc_poly",
        "deskew_hog:1nn_cosine",
        "deskew_hog7:svc_poly",
        "pixels:1nn",
        "pixels:svc",
    )
)
RADII = [100, 200, 300, 400, 500]


def features(cache: Path | None, name: str) -> np.ndarray:
    """Fixed features ``name`` of MNIST rows 0..60999, float32, from ``cache`` when there."""
    path = None if cache is None else cache / f"{name}.npy"
    if path is not None and path.exists():
        return np.load(path, allow_pickle=False)
    F = FEATURES[name](load("mnist").X[:61000]).astype(np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.npy")
        np.save(temporary, F, allow_pickle=False)
        temporary.replace(path)  # whole or not at all: another run may read it
    return F


def paper_rows() -> dict[int, tuple[float, int]]:
    """Table 1 of Levine & Feizi (2021): k -> (clean accuracy, median radius)."""
    from poisonlab.reproduce.entries import _DPA_TABLE

    return {k: (accuracy, radius) for k, accuracy, radius in _DPA_TABLE}


def table(cache: Path | None, runs: list[tuple[int, str, str]]) -> None:
    """Certify each run and print the Markdown table, row by row."""
    y = load("mnist").y[:61000]
    paper = paper_rows()
    print(
        "| k | base model | clean accuracy | median radius | cert. acc. r="
        + " / ".join(map(str, RADII))
        + " |"
    )
    print("| --- | --- | --- | --- | --- |")
    shown = set()
    for k, feature_name, model in runs:
        if k not in shown and k in paper:
            accuracy, radius = paper[k]
            print(
                f"| {k} | paper: NiN, augmentation, GPU (Table 1) | {accuracy:.2%} | {radius} | |"
            )
        shown.add(k)
        F = features(cache, feature_name)
        dpa = CERTIFICATES.create("dpa", n_partitions=k, estimator=MODELS[model]())
        result = dpa.certify(F[:60000], y[:60000], F[60000:], y[60000:])
        curve = " / ".join(f"{row['accuracy']:.1%}" for row in result.certified_accuracy(RADII))
        print(
            f"| {k} | {FEATURE_NAMES[feature_name]}, {DESCRIPTIONS[model]} | "
            f"{result.clean_accuracy:.2%} | {result.median_radius} | {curve} |",
            flush=True,
        )


def probe(F: np.ndarray, y: np.ndarray, k: int, names: list[str], n: int, seconds: bool) -> None:
    """Mean test accuracy (or seconds) of single base models, each fitted on one of the first
    ``n`` of DPA's ``k`` hash partitions (in DPA's canonical order): a quick ranking before a
    whole DPA run."""
    part = hash_partitions(F[:60000], k)
    column = "seconds per base model" if seconds else "one base model's mean accuracy"
    print(f"| base model (`MODELS` in the example) | | {column} |")
    print("| --- | --- | --- |")
    for name in names:
        start, scores = time.perf_counter(), []
        for p in range(n):
            rows = np.flatnonzero(part == p)
            rows = rows[canonical_order(F[rows], y[rows])]
            if len(np.unique(y[rows])) < 2:
                continue
            model = clone(MODELS[name]()).fit(F[rows], y[rows])
            scores.append(np.mean(model.predict(F[60000:]) == y[60000:]))
        cell = f"{(time.perf_counter() - start) / n:.2f}" if seconds else f"{np.mean(scores):.2%}"
        print(f"| `{name}` | {DESCRIPTIONS[name]} | {cell} |", flush=True)


def parse_runs(text: str) -> list[tuple[int, str, str]]:
    """``"1200:deskew_hog:1nn,..."`` -> ``[(1200, "deskew_hog", "1nn"), ...]``."""
    runs = []
    for item in text.split(","):
        k, feature_name, model = item.split(":")
        if feature_name not in FEATURE_NAMES or model not in MODELS:
            raise SystemExit(
                f"--runs: {item!r}: features {sorted(FEATURE_NAMES)}, models {sorted(MODELS)}"
            )
        runs.append((int(k), feature_name, model))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None, help="directory of feature files")
    parser.add_argument("--runs", default=DOCS_RUNS, help="K:FEATURES:MODEL,...")
    parser.add_argument("--probe", type=int, default=0, help="partitions per base model probed")
    parser.add_argument("--features", default="deskew_hog", choices=sorted(FEATURE_NAMES))
    parser.add_argument("--partitions", type=int, default=1200, help="k of the probe")
    parser.add_argument("--models", default="1nn,svc", help="base models of the probe")
    parser.add_argument("--seconds", action="store_true", help="the probe's time per model")
    args = parser.parse_args()
    if args.probe:
        F = features(args.cache, args.features)
        y = load("mnist").y[:61000]
        probe(F, y, args.partitions, args.models.split(","), args.probe, args.seconds)
    else:
        table(args.cache, parse_runs(args.runs))


if __name__ == "__main__":
    main()
