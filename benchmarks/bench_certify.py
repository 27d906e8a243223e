"""Benchmark: each certificate on MNIST, each in its own process (time and peak memory).

Every run is ``poisonlab certify mnist ... --json`` timed from outside by ``/usr/bin/time``
(Python start-up, imports and loading MNIST included): wall seconds and peak resident memory.
The baseline, run in the same invocation, is a process that loads MNIST and computes the
1,000 x 60,000 Euclidean distances of the test images to the training images (one k-NN
query), so the ratios say how many such queries each certificate costs whatever the load.

    .venv/bin/python benchmarks/bench_certify.py [--only dpa,knn]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

POISONLAB = str(Path(sys.executable).parent / "poisonlab")
ONE_NN = ["--model", "knn", "--model-param", "n_neighbors=1"]
ONE_SEVEN = ["--classes", "1,7"]

RUNS = {
    "dpa": ["--method", "dpa", "--partitions", "1200", *ONE_NN],
    "finite_aggregation": [
        "--method", "finite_aggregation", "--partitions", "1200",
        "--param", "spread_factor=2", *ONE_NN,
    ],
    "bagging": ["--method", "bagging", "--param", "n_models=1000", "--param", "bag_size=30",
                *ONE_NN],
    "knn": ["--method", "knn", "--param", "n_neighbors=100"],
    "label_flip_linear": ["--method", "label_flip_linear", "--param", "ridge=3000", *ONE_SEVEN],
    "sphere_slab_bound": [
        "--method", "sphere_slab_bound", "--param", "fractions=[0.05,0.1]", *ONE_SEVEN,
    ],
}  # fmt: skip

BASELINE = r"""
from poisonlab.datasets import load
from sklearn.metrics.pairwise import euclidean_distances
mnist = load("mnist")
euclidean_distances(mnist.X[60000:61000].astype(float), mnist.X[:60000].astype(float))
"""


def timed(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak memory in MB and stdout of a process."""
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", *command], capture_output=True, text=True, check=True
    )
    seconds, kilobytes = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kilobytes) / 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(RUNS), help="comma-separated certificates")
    names = parser.parse_args().only.split(",")
    base_s, base_mb, _ = timed([sys.executable, "-c", BASELINE])
    print("| process | time | x baseline | peak memory | clean acc. | median radius |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| baseline (1,000 x 60,000 distances) | {base_s:.1f} s | 1.00 | {base_mb:.0f} MB | | |")
    for name in names:
        seconds, mb, out = timed([POISONLAB, "certify", "mnist", *RUNS[name], "--json"])
        got = json.loads(out)
        print(
            f"| `{name}` | {seconds:.1f} s | {seconds / base_s:.2f} | {mb:.0f} MB | "
            f"{got['clean_accuracy']:.4f} | {got['median_radius']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
