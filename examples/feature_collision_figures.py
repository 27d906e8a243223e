"""Victim flip rates of ``feature_collision`` (docs/attacks.md), against random-base baselines.

For each of 50 victims (test inputs the clean model classifies correctly), 5 clean-label
poisons of the target class are injected and the model retrained; a victim flips when the
poisoned model predicts the target. Three poisonings per victim:

- ``feature_collision`` from the 5 target-class training points nearest the victim (bases),
- ``feature_collision`` from 5 random target-class bases,
- the baseline: copies of 5 random target-class training points (clean-label, no collision).

Data sets: MNIST (training rows 0..999, pixels / 255, victims among test rows 60000..; target:
the class the clean model ranks second) and scikit-learn's bundled breast-cancer table
(standardized, 400 training and 169 test rows in a seeded shuffle; target: the other class).
Model: ``SVC(kernel="linear", C=1)``, whose representation is the input itself.

    .venv/bin/python examples/feature_collision_figures.py [--victims 50] [--beta 0.25 1]

Prints the Markdown table that sits in docs/attacks.md between ``docs: begin`` markers
(``make docs`` regenerates it, tools/docs.py), with one BLAS and one OpenMP thread as a study's
runs, so reruns print the same digits.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.svm import SVC

from poisonlab.attacks import ATTACKS
from poisonlab.datasets import load
from poisonlab.experiment.execute import fixed_threads

POISONS = 5


def mnist_case():
    mnist = load("mnist")
    X, y = mnist.X / 255.0, mnist.y
    return X[:1000], y[:1000], X[60000:61000], y[60000:61000]


def breast_cancer_case():
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer()
    order = np.random.default_rng(0).permutation(len(data.target))
    X, y = data.data[order], data.target[order].astype(str)
    scaler = StandardScaler().fit(X[:400])
    return scaler.transform(X[:400]), y[:400], scaler.transform(X[400:]), y[400:]


def victims_and_targets(model, X_test, y_test, count):
    """The first ``count`` correctly classified test rows and, for each, the runner-up class."""
    scores = model.decision_function(X_test)
    if scores.ndim == 1:  # binary: the other class
        scores = np.column_stack([-scores, scores])
    predicted = model.classes_[np.argmax(scores, axis=1)]
    rows = np.flatnonzero(predicted == y_test)[:count]
    runner_up = model.classes_[np.argsort(-scores[rows], axis=1)[:, 1]]
    return rows, runner_up


def flip_rates(X, y, X_test, y_test, victims: int, betas) -> dict[str, tuple[float, float]]:
    """{poisons: (fraction of victims flipped, mean poison-base distance)}."""
    clean = SVC(kernel="linear", C=1.0).fit(X, y)
    rows, targets = victims_and_targets(clean, X_test, y_test, victims)
    variants = {f"collision, nearest bases, beta {b:g}": ("nearest", b) for b in betas}
    variants.update({f"collision, random bases, beta {b:g}": ("random", b) for b in betas})
    variants["copies of random bases (baseline)"] = ("random", None)
    flips = dict.fromkeys(variants, 0)
    distances = {name: [] for name in variants}
    for i, (row, target) in enumerate(zip(rows, targets, strict=True)):
        for name, (base, beta) in variants.items():
            attack = ATTACKS.create(
                "feature_collision",
                victim=X_test[row],
                target=target,
                budget=POISONS,
                base=base,
                beta=1e300 if beta is None else beta,  # no collision: the bases themselves
            )
            result = attack.poison(X, y, random_state=i)
            model = SVC(kernel="linear", C=1.0).fit(result.X, result.y)
            flips[name] += attack.success_rate(model.predict)
            distances[name].append(np.mean(result.info["base_distances"]))
    return {name: (flips[name] / len(rows), float(np.mean(distances[name]))) for name in variants}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--victims", type=int, default=50)
    parser.add_argument("--beta", type=float, nargs="+", default=[0.25, 1.0])
    args = parser.parse_args()
    print("| data | poisons | victims flipped | mean poison-base distance |")
    print("| --- | --- | --- | --- |")
    norms = []
    with fixed_threads():
        for label, case in (("MNIST", mnist_case), ("breast cancer", breast_cancer_case)):
            X, y, X_test, y_test = case()
            for name, (flipped, distance) in flip_rates(
                X, y, X_test, y_test, args.victims, args.beta
            ).items():
                print(f"| {label} | {name} | {flipped:.2f} | {distance:.2f} |", flush=True)
            norms.append(f"{label} {np.linalg.norm(X, axis=1).mean():.2f}")
    print(f"\nMean Euclidean norm of a training input, for scale: {', '.join(norms)}.")
