"""Benchmark: `knn_label` and `confident_learning` on 60,000 MNIST rows against the obvious code.

Each side is a whole process (start-up, imports and loading MNIST included), run in the same
invocation, the sides interleaved, the best of ``--repeat`` kept. Every side loads MNIST's
60,000 training images and relabels the first 1,000 '1's as '2'; then

(knn_label)          ``DETECTORS.create("knn_label", random_state=0).detect(X, y)``;
(plain kNN vote)     scikit-learn alone: ``PCA(20, svd_solver="randomized")`` of all rows, a
                     10-nearest-neighbour search (``NearestNeighbors.kneighbors()``, each sample
                     excluded) and the majority vote against each row's label (ties to the row);
(confident_learning) ``DETECTORS.create("confident_learning", random_state=0).detect(X, y)``;
(plain cleanlab)     ``cross_val_predict`` of ``PCA(50) + KNeighborsClassifier(10)`` over
                     ``StratifiedKFold(5, shuffle=True)``, then cleanlab's
                     ``find_label_issues(..., filter_by="prune_by_noise_rate")``.

The plain sides use scikit-learn's and cleanlab's default thread counts (every core); the
detectors choose theirs (``defenses/_one_thread.py``). Flag counts are printed beside the times
(the plain sides compute the same rule; the counts differ only where the detectors' choices,
PCA on a 10,000-row subset and the (distance, index) neighbour order, differ).

    .venv/bin/python benchmarks/bench_detectors_60k.py [--repeat 3] [--only knn,cl]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

PRELUDE = r"""
import json, time
start = time.perf_counter()
import numpy as np
from poisonlab.datasets import load
mnist = load("mnist")
X, y = mnist.X[:60000].astype(np.float64), np.array(mnist.y[:60000])
y[np.flatnonzero(y == "1")[:1000]] = "2"
"""

SIDES = {
    "knn_label": r"""
from poisonlab.defenses import DETECTORS
flagged = DETECTORS.create("knn_label", random_state=0).detect(X, y).flagged.sum()
""",
    "plain kNN vote": r"""
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
Z = PCA(n_components=20, svd_solver="randomized", random_state=0).fit_transform(X)
neighbours = NearestNeighbors(n_neighbors=10).fit(Z).kneighbors(return_distance=False)
classes, codes = np.unique(y, return_inverse=True)
counts = np.zeros((len(y), len(classes)))
np.add.at(counts, (np.arange(len(y))[:, None], codes[neighbours]), 1)
own = counts[np.arange(len(y)), codes]
counts[np.arange(len(y)), codes] = -1
best = counts.max(axis=1)
flagged = ((best >= 5) & (best > own)).sum()
""",
    "confident_learning": r"""
from poisonlab.defenses import DETECTORS
flagged = DETECTORS.create("confident_learning", random_state=0).detect(X, y).flagged.sum()
""",
    "plain cleanlab": r"""
from cleanlab.filter import find_label_issues
from sklearn.decomposition import PCA
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
classes, codes = np.unique(y, return_inverse=True)
model = make_pipeline(
    PCA(n_components=50, svd_solver="randomized", random_state=0),
    KNeighborsClassifier(n_neighbors=10),
)
folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
probs = cross_val_predict(model, X, codes, cv=folds, method="predict_proba")
flagged = find_label_issues(codes, probs, filter_by="prune_by_noise_rate").sum()
""",
}
GROUPS = {"knn": ["knn_label", "plain kNN vote"], "cl": ["confident_learning", "plain cleanlab"]}
EPILOGUE = r"""
print(json.dumps({"inside": time.perf_counter() - start, "flagged": int(flagged)}))
"""


def run_side(name: str) -> dict:
    """One side in a fresh process: its wall time (whole process) and flag count."""
    started = time.perf_counter()
    code = PRELUDE + SIDES[name] + EPILOGUE
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"the {name} side failed:\n{proc.stderr}")
    return {"wall": wall, **json.loads(proc.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds (best kept)")
    parser.add_argument("--only", default="knn,cl", help="comma-separated groups: knn, cl")
    args = parser.parse_args()
    names = [name for group in args.only.split(",") for name in GROUPS[group]]
    print(f"load average before: {os.getloadavg()}", flush=True)
    walls: dict[str, list[float]] = {name: [] for name in names}
    flagged: dict[str, int] = {}
    for round_ in range(args.repeat):
        for name in names:  # interleaved: each round sees the sides under similar load
            result = run_side(name)
            walls[name].append(result["wall"])
            flagged[name] = result["flagged"]
            print(f"round {round_ + 1}: {name} {result['wall']:.1f} s", file=sys.stderr)
    print("| side | best process wall (s) | all rounds (s) | flagged |")
    print("| --- | ---: | --- | ---: |")
    for name in names:
        rounds = ", ".join(f"{w:.1f}" for w in walls[name])
        print(f"| {name} | {min(walls[name]):.1f} | {rounds} | {flagged[name]} |")
    for group in args.only.split(","):
        ours, plain = GROUPS[group]
        print(f"{ours} / {plain}: {min(walls[ours]) / min(walls[plain]):.2f}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
