"""Benchmark: each label-poisoning detector, default settings, on all 60,000 MNIST training images.

Each detector runs in its own process: load MNIST (from poisonlab's cache), relabel the first
1,000 training '1's as '2', ``detect``. The process's wall time is measured from outside
(Python start-up, imports and loading included); "detect" is the detector alone, timed inside.
The baseline, run in the same invocation, is a process doing the same loading plus one
randomized PCA to 50 components of the whole 60,000 x 784 matrix on one thread (the detectors
run their numerical work on one thread, see ``defenses/_one_thread.py``), so the ratios say how
many such PCAs each detector costs whatever the machine's load.

Trusted data, for the detectors that need them: MNIST test rows 60000..60999 (RONI's validation
set, ``output_shift``'s reference training set) and 61000..61999 (``output_shift``'s held-out
inputs). The budgets of the issue: 60 s for knn_label, label_stats and outliers, 120 s for the
others.

    .venv/bin/python benchmarks/bench_label_detectors.py [--only roni,knn_label] [--repeat 1]
"""

from __future__ import annotations

import argparse

from _process import markdown_table, progress, timed_python

BUDGET_SECONDS = {
    "label_stats": 60,
    "knn_label": 60,
    "outliers": 60,
    "confident_learning": 120,
    "roni": 120,
    "output_shift": 120,
}

PRELUDE = r"""
import json, time, numpy as np
from poisonlab.datasets import load
from poisonlab.attacks import ATTACKS
mnist = load("mnist")
X, y = mnist.X[:60000], mnist.y[:60000]
y = np.array(ATTACKS.create("label_flip", budget=1000, select="first").poison(X, y).y)
"""

BASELINE = (
    PRELUDE
    + r"""
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits
start = time.perf_counter()
with threadpool_limits(limits=1):  # as the detectors run their numerical work
    PCA(n_components=50, svd_solver="randomized", random_state=0).fit(X.astype(np.float64))
print(json.dumps({"seconds": time.perf_counter() - start, "flagged": 0}))
"""
)

DETECT = (
    PRELUDE
    + r"""
from poisonlab.defenses import DETECTORS, TrustedSet
name = NAME
params = {}
trusted = TrustedSet(mnist.X[60000:61000], mnist.y[60000:61000])
if name == "roni":
    params["validation"] = trusted
if name == "output_shift":
    params.update(reference=trusted, holdout=TrustedSet(mnist.X[61000:62000]))
start = time.perf_counter()
result = DETECTORS.create(name, random_state=0, **params).detect(X, y)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "flagged": int(result.flagged.sum())}))
"""
)


def best_of(code: str, repeat: int) -> tuple[float, float, dict]:
    """The run of ``code`` with the shortest wall time among ``repeat``."""
    return min((timed_python(code) for _ in range(repeat)), key=lambda r: r[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated detector names")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each (best kept)")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BUDGET_SECONDS)
    wall, cpu, doc = best_of(BASELINE, args.repeat)
    base = doc["seconds"]
    progress(f"baseline: process {wall:.1f} s, PCA {base:.2f} s")
    rows = [["baseline: load + PCA(50)", f"{wall:.1f}", f"{cpu:.1f}", f"{base:.1f}", "1.0", "", ""]]
    for name in names:
        wall, cpu, doc = best_of(DETECT.replace("NAME", repr(name)), args.repeat)
        progress(f"{name}: process {wall:.1f} s")
        verdict = "" if wall <= BUDGET_SECONDS[name] else " OVER"
        rows.append(
            [
                name,
                f"{wall:.1f}",
                f"{cpu:.1f}",
                f"{doc['seconds']:.1f}",
                f"{doc['seconds'] / base:.1f}",
                f"{BUDGET_SECONDS[name]}{verdict}",
                f"{doc['flagged']:,}",
            ]
        )
    header = [
        "detector",
        "process, wall (s)",
        "process, CPU (s)",
        "detect (s)",
        "detect / PCA",
        "budget (s)",
        "flagged",
    ]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
