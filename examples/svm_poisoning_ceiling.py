"""How far one point can go: Biggio et al.'s experiment against an oracle that sees the test set.

Issue 15 asks for a mean test error of at least 15 % over 10 draws with one poisoning point
(MNIST 7 vs 1, linear SVM, C = 1, 100 training and 500 validation images, pixels in [0, 1]).
This script runs ``svm_gradient``'s strongest optimizer of that threat model, the label and
start chosen by a look-ahead over every training point of both classes, flipped (``label=None,
start="lookahead"``), several ascents, the try whose SVM errs most on validation kept, with the
paper's hinge objective and with the smoothed validation error (``objective="sigmoid"``).

Beside it, as a diagnostic and NOT an attack, the same optimizer handed the test set itself as
its validation set (the "oracle" rows): it climbs the test loss directly, so its test error
bounds what this optimizer family can reach from these starts, whatever validation data the
attacker had. Same draws as ``svm_poisoning_figures.py svm_gradient_average`` (seeds 0..9).

    .venv/bin/python examples/svm_poisoning_ceiling.py [--seeds 10] [--starts 6] [--jobs 2]

Prints the per-draw test errors and a Markdown table.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from joblib import Parallel, delayed
from svm_poisoning_figures import PAIR, _spread, biggio_split, linear_error

from poisonlab.attacks import ATTACKS
from poisonlab.datasets import load

#: (row name, objective parameters, whether the optimizer sees the test set).
ROWS = (
    ("look-ahead label and start, hinge", {}, False),
    (
        "look-ahead label and start, sigmoid 0.3",
        {"objective": "sigmoid", "temperature": 0.3},
        False,
    ),
    ("ORACLE (test set as validation), hinge", {}, True),
    (
        "ORACLE (test set as validation), sigmoid 0.3",
        {"objective": "sigmoid", "temperature": 0.3},
        True,
    ),
)


def one_draw(seed: int, starts: int) -> tuple[float, list[float], list[float], list[str]]:
    """Clean test error, then per row: test error, seconds and the chosen label."""
    mnist = load("mnist")
    X, y = mnist.X, mnist.y
    train, val, test = biggio_split(y, seed)
    Xtr, ytr, Xte, yte = X[train] / 255, y[train], X[test] / 255, y[test]
    errors, seconds, labels = [], [], []
    for _, params, oracle in ROWS:
        attack = ATTACKS.create(
            "svm_gradient",
            classes=PAIR,
            budget=1,
            validation=(Xte, yte) if oracle else (X[val] / 255, y[val]),
            box=(0.0, 1.0),
            max_iter=100,
            label=None,  # the look-ahead tries both labels
            start="lookahead",
            restarts=starts,
            **params,
        )
        began = time.perf_counter()
        result = attack.poison(Xtr, ytr, random_state=seed)
        seconds.append(time.perf_counter() - began)
        errors.append(linear_error(result.X, result.y, Xte, yte))
        labels.append(str(result.y[-1]))
    return linear_error(Xtr, ytr, Xte, yte), errors, seconds, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--starts", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    draws = Parallel(n_jobs=args.jobs)(
        delayed(one_draw)(seed, args.starts) for seed in range(args.seeds)
    )
    clean = np.array([d[0] for d in draws])
    errors = np.array([d[1] for d in draws])
    seconds = np.array([d[2] for d in draws])
    for seed, (c, e, _, labels) in enumerate(draws):
        print(
            f"seed {seed}: clean {c:.3f}, "
            + ", ".join(f"{v:.3f} ({lab})" for v, lab in zip(e, labels, strict=True))
        )
    print(f"\nOne point, {args.starts} starts, test error over {args.seeds} draws:")
    print("| optimizer | test error, mean [min, max] | per draw | seconds per point |")
    print("| --- | --- | --- | --- |")
    print(f"| no attack | {_spread(clean)} | {' '.join(f'{v:.3f}' for v in clean)} | |")
    for j, (name, _, _) in enumerate(ROWS):
        per_draw = " ".join(f"{v:.3f}" for v in errors[:, j])
        print(f"| {name} | {_spread(errors[:, j])} | {per_draw} | {seconds[:, j].mean():.1f} |")


if __name__ == "__main__":
    main()
