"""Biggio et al.'s experiment with a derivative-free search: one point, 10 draws, mean >= 15 %?

Issue 15 asks for a mean test error of at least 15 % over 10 draws with one poisoning point
(MNIST 7 vs 1, linear SVM, C = 1, 100 training and 500 validation images, pixels in [0, 1]).
Every gradient optimizer tried ends at the same local optima of the validation loss (about
12.5 %, ``svm_poisoning_ceiling.py``). This script runs ``svm_gradient(optimizer="cma")``:
CMA-ES on the validation error itself, over points ``clip(m + P z, 0, 1)`` with ``P`` the top
``--components`` principal directions of the attacker's 600 images, each evaluation a retrained
SVM; one search per label, the label whose SVM errs most on validation kept. Beside it, in the
same invocation, the paper's algorithm (one random start, hinge loss, 100 steps). The test set
(every 7 and 1 of MNIST's test set) is used for reporting only. Same draws as
``svm_poisoning_figures.py svm_gradient_average`` (seeds 0..9).

    cd examples && ../.venv/bin/python svm_poisoning_search.py [--seeds 10] [--components 30]
        [--evaluations 3000] [--jobs 2] [--times]

Prints a Markdown table of test errors (deterministic: same seeds, same table), and with
``--times`` the seconds per point too.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from joblib import Parallel, delayed
from svm_poisoning_figures import PAIR, _spread, biggio_split, linear_error

from poisonlab.attacks import ATTACKS
from poisonlab.datasets import load


def rows(components: int, evaluations: int) -> tuple[tuple[str, dict], ...]:
    """(row name, svm_gradient parameters) of each optimizer compared."""
    return (
        ("paper: 1 random start, hinge, 100 steps", {"label": PAIR[1]}),
        (
            f"CMA-ES on the validation error, {components} components, "
            f"{evaluations} evaluations per label",
            {
                "label": None,
                "optimizer": "cma",
                "components": components,
                "evaluations": evaluations,
            },
        ),
    )


def one_draw(seed: int, optimizers: tuple) -> tuple[float, list, list, list, list]:
    """Clean test error, then per optimizer: test error, validation error, seconds, label."""
    mnist = load("mnist")
    X, y = mnist.X, mnist.y
    train, val, test = biggio_split(y, seed)
    Xtr, ytr, Xte, yte = X[train] / 255, y[train], X[test] / 255, y[test]
    Xva, yva = X[val] / 255, y[val]
    errors, val_errors, seconds, labels = [], [], [], []
    for _, params in optimizers:
        attack = ATTACKS.create(
            "svm_gradient",
            classes=PAIR,
            budget=1,
            validation=(Xva, yva),
            box=(0.0, 1.0),
            max_iter=100,
            **params,
        )
        began = time.perf_counter()
        result = attack.poison(Xtr, ytr, random_state=seed)
        seconds.append(time.perf_counter() - began)
        errors.append(linear_error(result.X, result.y, Xte, yte))
        val_errors.append(linear_error(result.X, result.y, Xva, yva))
        labels.append(str(result.y[-1]))
    return linear_error(Xtr, ytr, Xte, yte), errors, val_errors, seconds, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--components", type=int, default=30)
    parser.add_argument("--evaluations", type=int, default=3000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--times", action="store_true", help="also print seconds per point")
    args = parser.parse_args()
    optimizers = rows(args.components, args.evaluations)
    draws = Parallel(n_jobs=args.jobs)(
        delayed(one_draw)(seed, optimizers) for seed in range(args.seeds)
    )
    clean = np.array([d[0] for d in draws])
    errors, val_errors, seconds = (np.array([d[k] for d in draws]) for k in (1, 2, 3))
    labels = [d[4] for d in draws]
    print(f"One point, test error over {args.seeds} draws (seeds 0-{args.seeds - 1}):\n")
    print("| optimizer | test error, mean [min, max] | per draw | validation error, mean | label |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| no attack | {_spread(clean)} | {' '.join(f'{v:.3f}' for v in clean)} | | |")
    for j, (name, _) in enumerate(optimizers):
        per_draw = " ".join(f"{v:.3f}" for v in errors[:, j])
        chosen = " ".join(sorted({draw[j] for draw in labels}))
        print(
            f"| {name} | {_spread(errors[:, j])} | {per_draw} | {val_errors[:, j].mean():.3f} "
            f"| {chosen} |"
        )
    if args.times:
        print("\n| optimizer | seconds per point, mean |\n| --- | --- |")
        for j, (name, _) in enumerate(optimizers):
            print(f"| {name} | {seconds[:, j].mean():.1f} |")


if __name__ == "__main__":
    main()
