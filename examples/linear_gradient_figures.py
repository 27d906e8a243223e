"""MNIST test error under ``logistic_gradient`` and ``ridge_gradient`` (docs/attacks.md, issue 15).

Biggio, Nelson & Laskov's set-up (``svm_poisoning_figures.py``), with the victim the model each
attack targets: MNIST 7 vs 1, pixels / 255, 100 training and 500 validation images drawn at
random from MNIST's training rows (one draw per seed), test error on every 7 and 1 among
MNIST's test rows (2,163 images). The victims are scikit-learn's ``LogisticRegression(C=1)``
and ``RidgeClassifier(alpha=1)``, the models the two attacks differentiate. Each attack adds
``--points`` points labelled ``1``, each starting from a random training 7 and moved by up to
100 gradient steps inside the box [0, 1] (the attacks' defaults), one after another, so the
first k points are the k-point attack. Beside them: as many random label flips of the 100
training labels (mean of 20 draws per seed), the same baseline as for ``svm_gradient``.

    .venv/bin/python examples/linear_gradient_figures.py [--seeds 5] [--points 5]

Prints, on standard output, the Markdown that sits in docs/attacks.md between ``docs: begin``
markers (``make docs`` regenerates it, tools/docs.py); progress goes to standard error. It runs
with one BLAS and one OpenMP thread, as a study's runs do, so reruns print the same digits.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from svm_poisoning_figures import PAIR, _spread, biggio_split, flip

from poisonlab.attacks import ATTACKS
from poisonlab.datasets import load
from poisonlab.experiment.execute import fixed_threads

#: (attack, victim shown, victim factory): each victim is the model its attack differentiates.
CASES = (
    ("logistic_gradient", "`LogisticRegression(C=1)`", lambda: LogisticRegression(C=1.0)),
    ("ridge_gradient", "`RidgeClassifier(alpha=1)`", lambda: RidgeClassifier(alpha=1.0)),
)
RANDOM_FLIPS = 20


def test_error(make_model, X_train, y_train, X_test, y_test) -> float:
    model = make_model().fit(X_train, y_train)
    return float(np.mean(model.predict(X_test) != y_test))


def errors(attack: str, make_model, seeds: int, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Test errors, shape (seeds, points + 1) each: under the attack, and under as many random
    label flips (mean of ``RANDOM_FLIPS`` draws); column k is k points or flips."""
    mnist = load("mnist")
    X, y = mnist.X, mnist.y
    attacked = np.zeros((seeds, points + 1))
    flipped = np.zeros((seeds, points + 1))
    for seed in range(seeds):
        train, val, test = biggio_split(y, seed)
        X_train, y_train, X_test, y_test = X[train] / 255, y[train], X[test] / 255, y[test]
        result = ATTACKS.create(
            attack,
            classes=PAIR,
            budget=points,
            validation=(X[val] / 255, y[val]),
            box=(0.0, 1.0),
            label="1",  # as Biggio et al.: a training 7 moved and labelled 1
        ).poison(X_train, y_train, random_state=seed)
        rng = np.random.default_rng(seed)
        for k in range(points + 1):
            rows = slice(0, len(train) + k)
            attacked[seed, k] = test_error(
                make_model, result.X[rows], result.y[rows], X_test, y_test
            )
            flipped[seed, k] = np.mean(
                [
                    test_error(
                        make_model,
                        X_train,
                        flip(y_train, rng.choice(len(train), k, replace=False)),
                        X_test,
                        y_test,
                    )
                    for _ in range(RANDOM_FLIPS)
                ]
            )
        print(f"{attack} seed {seed}: {attacked[seed].round(3)}", file=sys.stderr, flush=True)
    return attacked, flipped


@fixed_threads()
def main(seeds: int, points: int) -> None:
    header = " | ".join(str(k) for k in range(points + 1))
    lines = [
        f"| victim | poisoning (of 100 training) | {header} |",
        "| --- | --- |" + " --- |" * (points + 1),
    ]
    spreads = []
    for attack, victim, make_model in CASES:
        attacked, flipped = errors(attack, make_model, seeds, points)
        for name, table in ((f"`{attack}` points", attacked), ("random label flips", flipped)):
            cells = " | ".join(f"{m:.3f}" for m in table.mean(0))
            lines.append(f"| {victim} | {name} | {cells} |")
        spreads.append(
            f"`{attack}`: clean {_spread(attacked[:, 0])}, one point {_spread(attacked[:, 1])}, "
            f"{points} points {_spread(attacked[:, points])}"
        )
    print(
        f"Test error, mean of {seeds} draws (seeds 0-{seeds - 1}); the random flips are the mean "
        f"of {RANDOM_FLIPS} draws per seed:\n"
    )
    print("\n".join(lines))
    print(f"\nMean [min, max] over the draws: {'; '.join(spreads)}.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--points", type=int, default=5)
    args = parser.parse_args()
    main(args.seeds, args.points)
