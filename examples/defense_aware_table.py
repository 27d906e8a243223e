"""Defense-aware attacks against sanitizers on MNIST 1 vs 7 (the table in docs/attacks.md).

Koh, Steinhardt & Liang (2022)'s question on their MNIST-1-7 data set: does a sanitizer that
stops naive poisoning survive an attacker who knows it? Training set: the 1s and 7s among MNIST
training rows 0..4999 (1,113 images), pixels / 255; test set: every 1 and 7 among MNIST's test
rows (2,163). Victim: ``SVC(kernel="linear", C=1)``. Every attack poisons 3 % of the training
set (33 points). A defense is a detector fitted on the poisoned training set with its default
rule; the flagged rows are dropped and the SVM retrained.

``min_max``, ``kkt`` and ``influence`` are given the defense of their column when they can
model it (sphere, slab, SVD), sphere + slab (the paper's usual pair) against the others, and
only the box of pixel values against no defense.

    .venv/bin/python examples/defense_aware_table.py [--aware min_max kkt influence]
        [--no-baselines]

Prints, on standard output, the Markdown table that sits in docs/attacks.md between
``docs: begin`` markers (``make docs`` regenerates it, tools/docs.py): test error, and how many
of the 33 poisoned rows the defense removed. Progress and times go to standard error. It runs
with one BLAS and one OpenMP thread, as a study's runs do, so reruns print the same digits.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from sklearn.svm import SVC

from poisonlab.attacks import ATTACKS
from poisonlab.datasets import load
from poisonlab.defenses import DETECTORS
from poisonlab.experiment.execute import fixed_threads

PAIR = ("7", "1")
DEFENSES = (
    "none",
    "sphere_filter",
    "slab_filter",
    "loss_filter",
    "svd_filter",
    "knn_label",
    "outliers",
)
MODELLED = {"sphere_filter", "slab_filter", "svd_filter"}


def awareness(defense: str):
    """The ``defense`` parameter a defense-aware attack gets in a column."""
    if defense == "none":
        return None
    return defense if defense in MODELLED else ["sphere_filter", "slab_filter"]


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@fixed_threads()
def main(aware: list[str], baselines: bool) -> None:
    mnist = load("mnist")
    X, y = mnist.X, mnist.y
    train = np.flatnonzero(np.isin(y[:5000], PAIR))
    test = 60000 + np.flatnonzero(np.isin(y[60000:], PAIR))
    X_train, y_train = X[train] / 255, y[train]
    X_test, y_test = X[test] / 255, y[test]
    budget = round(0.03 * len(train))
    progress(f"{len(train)} training images, {len(test)} test images, {budget} poisoned points")

    def error(X_fit, y_fit) -> float:
        model = SVC(kernel="linear", C=1.0).fit(X_fit, y_fit)
        return float(np.mean(model.predict(X_test) != y_test))

    def defended(result, defense: str) -> str:
        if defense == "none":
            return f"{error(result.X, result.y):.3f}"
        detection = DETECTORS.create(defense, random_state=0).detect(result.X, result.y)
        kept = ~detection.flagged
        removed = int(detection.flagged[result.poison_indices].sum())
        return f"{error(result.X[kept], result.y[kept]):.3f} ({removed})"

    rng = np.random.default_rng(0)
    flipped = y_train.copy()
    rows = rng.choice(len(train), budget, replace=False)
    flipped[rows] = np.where(y_train[rows] == "1", "7", "1")
    fixed = {}
    if baselines:
        fixed["no attack"] = _Result(X_train, y_train, np.array([], dtype=np.int64))
        fixed["label flips (random)"] = _Result(X_train, flipped, np.sort(rows))
        began = time.perf_counter()
        fixed["svm_gradient"] = ATTACKS.create(
            "svm_gradient", budget=budget, box=(0.0, 1.0), max_iter=10
        ).poison(X_train, y_train, random_state=0)
        progress(f"svm_gradient: {time.perf_counter() - began:.0f} s")

    header = "| attack | " + " | ".join(DEFENSES) + " |"
    lines = [header, "| --- |" + " --- |" * len(DEFENSES)]
    for name, result in fixed.items():
        lines.append(f"| {name} | " + " | ".join(defended(result, d) for d in DEFENSES) + " |")
        progress(lines[-1])
    for name in aware:
        cells, by_awareness = [], {}
        for defense in DEFENSES:
            key = str(awareness(defense))
            if key not in by_awareness:  # the same attack serves every column it knows alike
                began = time.perf_counter()
                by_awareness[key] = ATTACKS.create(
                    name, budget=budget, defense=awareness(defense), box=(0.0, 1.0)
                ).poison(X_train, y_train)
                progress(f"{name} aware of {key}: {time.perf_counter() - began:.0f} s")
            cells.append(defended(by_awareness[key], defense))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        progress(lines[-1])
    print("\n".join(lines))


class _Result:
    """A poisoned set that no attack class produced (no attack, random flips)."""

    def __init__(self, X, y, poison_indices):
        self.X, self.y, self.poison_indices = X, y, poison_indices


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--aware",
        nargs="*",
        default=["min_max", "kkt", "influence"],
        help="defense-aware attacks to run",
    )
    parser.add_argument("--no-baselines", action="store_true", help="skip the first three rows")
    args = parser.parse_args()
    main(args.aware, not args.no_baselines)
