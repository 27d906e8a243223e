"""Seconds per injected point of issue 15's attacks, on one small common set-up.

The set-up is Biggio et al.'s (draw 0 of ``examples/svm_poisoning_figures.py``): 100 training
and 500 validation images of MNIST 7 vs 1, pixels in [0, 1]. Each attack adds ``--points``
points (``feature_collision``: poisons for one test 7 to be read as 1; the defense-aware
attacks evade ``sphere_filter`` + ``slab_filter``), timed inside this one process. The
baseline, in the same invocation, is one fit of the victim ``SVC(kernel="linear", C=1)`` on
the 100 images (median of 20); the last column is the time per point in such fits.

    .venv/bin/python benchmarks/bench_attacks_per_point.py [--points 3]

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from svm_poisoning_figures import PAIR, biggio_split

from poisonlab.attacks import ATTACKS
from poisonlab.datasets import load


def attacks(validation, victim) -> list[tuple[str, str, dict]]:
    """(registry name, what the row shows, parameters) of every timed attack."""
    gradient = {"classes": PAIR, "validation": validation, "box": (0.0, 1.0), "label": "1"}
    return [
        ("svm_gradient", "the paper: 1 random start, 100 steps", gradient),
        (
            "svm_gradient",
            "look-ahead label and start, 6 tries",
            {**gradient, "label": None, "start": "lookahead", "restarts": 6},
        ),
        (
            "svm_gradient",
            "CMA-ES on the validation error, 2 labels x 3000 SVMs",
            {**gradient, "label": None, "optimizer": "cma"},
        ),
        ("logistic_gradient", "100 steps", gradient),
        ("ridge_gradient", "100 steps", gradient),
        ("min_max", "sphere + slab", {"classes": PAIR, "box": (0.0, 1.0)}),
        ("kkt", "sphere + slab", {"classes": PAIR, "box": (0.0, 1.0)}),
        ("influence", "sphere + slab, 20 steps", {"classes": PAIR, "box": (0.0, 1.0)}),
        ("feature_collision", "one victim 7 read as 1", {"victim": victim, "target": "1"}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=3)
    args = parser.parse_args()
    mnist = load("mnist")
    X, y = mnist.X, mnist.y
    train, val, test = biggio_split(y, 0)
    X_train, y_train = X[train] / 255, y[train]
    victim = X[test[y[test] == "7"][0]] / 255
    fits = []
    for _ in range(20):
        began = time.perf_counter()
        SVC(kernel="linear", C=1.0).fit(X_train, y_train)
        fits.append(time.perf_counter() - began)
    fit = float(np.median(fits))
    print(f"Baseline: one linear SVC fit on the 100 images, {fit * 1000:.1f} ms (median of 20).\n")
    print("| attack | variant | points | attack time | per point | per point, in SVC fits |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, variant, params in attacks((X[val] / 255, y[val]), victim):
        attack = ATTACKS.create(name, budget=args.points, **params)
        began = time.perf_counter()
        attack.poison(X_train, y_train, random_state=0)
        seconds = time.perf_counter() - began
        per_point = seconds / args.points
        print(
            f"| `{name}` | {variant} | {args.points} | {seconds:.2f} s | {per_point:.2f} s "
            f"| {per_point / fit:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
