"""Measured figures for the optimized SVM attacks in docs/attacks.md (``svm_gradient``, ``alfa``).

``svm_gradient``: the headline experiment of Biggio, Nelson & Laskov (ICML 2012). MNIST 7 vs 1,
pixels scaled to [0, 1], linear SVM with C = 1, 100 training and 500 validation images drawn at
random from MNIST's training rows (one draw per seed), one poisoning point moved by up to 200
gradient steps inside the box [0, 1] (as in the paper's Fig. 2, the point starts as a
random training 7 labelled 1); error on every 7 and 1 among MNIST's test rows
60000..69999 (2,163 images). Beside it: every possible single label flip of the 100 training
labels (mean and worst), and several poisoning points added one after another against as many
random label flips.

``alfa``: ALFA against random flips of the same budget on the 444 7s and 1s among the ML 106
training rows 0..1999, tested on the 7s and 1s among test rows 60000..60999.

    .venv/bin/python examples/svm_poisoning_figures.py svm_gradient [--seeds 5] [--plot PNG]
    .venv/bin/python examples/svm_poisoning_figures.py alfa
    .venv/bin/python examples/svm_poisoning_figures.py svm_gradient_average [--seeds 10]

``svm_gradient_average``: the same one-point experiment over ``--seeds`` draws, the paper's
algorithm (one random start, hinge objective) against the stronger optimizers of the same
threat model (``restarts``, ``start="lookahead"``, the sigmoid objective).

``svm_gradient`` and ``alfa`` print, on standard output, exactly the Markdown that sits in
docs/attacks.md between ``docs: begin`` markers (``make docs`` regenerates it, tools/docs.py);
progress goes to standard error. They run with one BLAS and one OpenMP thread, as a study's
runs do, so reruns print the same digits.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from sklearn.svm import SVC

from poisonlab.attacks import ATTACKS
from poisonlab.datasets import load
from poisonlab.experiment.execute import fixed_threads

PAIR = ("7", "1")
CHECKPOINTS = (0, 10, 25, 50, 100, 200, 400)
#: The paper's words beside each of poisonlab's one-point figures (Biggio et al. 2012, Fig. 2).
PAPER = {
    "clean test error": '"initial error rates of 2–5%" (over 7 vs 1, 9 vs 8, 4 vs 0)',
    "after one attack point": '"15–20%" (Fig. 2 plots the error over iterations, axis ticks '
    "0, 200, 400)",
    "one random label flip": '"the errors in the first iteration of the rightmost plots of '
    'Fig. 2 are caused by single random label flips"',
}


def biggio_split(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """100 training and 500 validation rows of 7s and 1s, and the test rows of 7s and 1s."""
    pool = np.flatnonzero(np.isin(y[:60000], PAIR))
    rows = np.random.default_rng(seed).choice(pool, 600, replace=False)
    test = 60000 + np.flatnonzero(np.isin(y[60000:], PAIR))
    return rows[:100], rows[100:], test


def linear_error(X_train, y_train, X_test, y_test) -> float:
    model = SVC(kernel="linear", C=1.0).fit(X_train, y_train)
    return float(np.mean(model.predict(X_test) != y_test))


def flip(y: np.ndarray, rows: np.ndarray) -> np.ndarray:
    flipped = y.copy()
    flipped[rows] = np.where(y[rows] == PAIR[0], PAIR[1], PAIR[0])
    return flipped


@fixed_threads()
def svm_gradient(seeds: int, points: int, plot: str | None) -> None:
    mnist = load("mnist")
    X, y = mnist.X, mnist.y  # uint8; the rows used are scaled to [0, 1] below
    single = np.zeros((seeds, len(CHECKPOINTS)))
    single_val = np.zeros((seeds, len(CHECKPOINTS)))  # the paper's Fig. 2 plots both
    flips = np.zeros((seeds, 2))
    multi = np.zeros((seeds, points + 1))
    multi_random = np.zeros((seeds, points + 1))
    for seed in range(seeds):
        train, val, test = biggio_split(y, seed)
        Xtr, ytr, Xte, yte = X[train] / 255, y[train], X[test] / 255, y[test]

        def attack(budget: int, max_iter: int, seed=seed, val=val, Xtr=Xtr, ytr=ytr):
            return ATTACKS.create(
                "svm_gradient",
                classes=PAIR,
                budget=budget,
                validation=(X[val] / 255, y[val]),
                box=(0.0, 1.0),
                max_iter=max_iter,
                label="1",  # the paper's attacking class: a 7 from D_tr, relabelled 1
            ).poison(Xtr, ytr, random_state=seed)

        for j, iters in enumerate(CHECKPOINTS):
            result = attack(1, iters)
            model = SVC(kernel="linear", C=1.0).fit(result.X, result.y)
            single[seed, j] = np.mean(model.predict(Xte) != yte)
            single_val[seed, j] = np.mean(model.predict(X[val] / 255) != y[val])
        every_flip = [linear_error(Xtr, flip(ytr, np.array([i])), Xte, yte) for i in range(100)]
        flips[seed] = np.mean(every_flip), np.max(every_flip)
        # Points are added one after another, so the first k of `points` are the k-point attack.
        result = attack(points, 200)  # Fig. 3: more points into the same class
        rng = np.random.default_rng(seed)
        for k in range(points + 1):
            multi[seed, k] = linear_error(result.X[: 100 + k], result.y[: 100 + k], Xte, yte)
            multi_random[seed, k] = np.mean(
                [
                    linear_error(Xtr, flip(ytr, rng.choice(100, k, replace=False)), Xte, yte)
                    for _ in range(20)
                ]
            )
        print(
            f"seed {seed}: clean {multi[seed, 0]:.3f}, "
            f"one point after 200 steps {single[seed, -1]:.3f}, "
            f"single flip mean {flips[seed, 0]:.3f} worst {flips[seed, 1]:.3f}",
            file=sys.stderr,
            flush=True,
        )
    # The first checkpoint whose mean test error is the final one, as printed.
    final = f"{single.mean(0)[-1]:.3f}"
    plateau = next(
        c for c, m in zip(CHECKPOINTS, single.mean(0), strict=True) if f"{m:.3f}" == final
    )
    ours = {
        "clean test error": _spread(multi[:, 0]),
        "after one attack point": f"{_spread(single[:, -1])}, reached within {plateau} steps",
        "one random label flip": f"{_spread(flips[:, 0])} (mean over all 100 possible flips); "
        f"worst single flip {flips[:, 1].mean():.3f}",
    }
    print(f"| | the paper (Fig. 2, 7 vs 1) | poisonlab (mean [min, max] of {seeds} draws) |")
    print("| --- | --- | --- |")
    for row, paper in PAPER.items():
        print(f"| {row} | {paper} | {ours[row]} |")
    print(f"\nError by gradient step (one point; mean of the {seeds} draws):\n")
    print("| steps | " + " | ".join(str(c) for c in CHECKPOINTS) + " |")
    print("| --- |" + " --- |" * len(CHECKPOINTS))
    print("| test error | " + " | ".join(f"{m:.3f}" for m in single.mean(0)) + " |")
    print("| validation error | " + " | ".join(f"{m:.3f}" for m in single_val.mean(0)) + " |")
    print(
        f"\nAfter {CHECKPOINTS[-1]} steps, validation error {_spread(single_val[:, -1])}, "
        f"test error {_spread(single[:, -1])} (mean [min, max] of the {seeds} draws)."
    )
    print(
        f"\nSeveral points into the same class (each 200 steps) against as many random label "
        f"flips (mean of 20 draws), mean of the {seeds} draws:\n"
    )
    print("| points (of 100 training) | " + " | ".join(str(k) for k in range(points + 1)) + " |")
    print("| --- |" + " --- |" * (points + 1))
    print("| svm_gradient | " + " | ".join(f"{m:.3f}" for m in multi.mean(0)) + " |")
    print("| random flips | " + " | ".join(f"{m:.3f}" for m in multi_random.mean(0)) + " |")
    if plot:
        _plot(plot, single, single_val, flips, multi, multi_random)


def _spread(values: np.ndarray) -> str:
    return f"{values.mean():.3f} [{values.min():.3f}, {values.max():.3f}]"


def _plot(path, single, single_val, flips, multi, multi_random) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.plot(CHECKPOINTS, single.mean(0), "o-", label="test error, 1 point")
    left.fill_between(CHECKPOINTS, single.min(0), single.max(0), alpha=0.2)
    left.plot(CHECKPOINTS, single_val.mean(0), "^:", label="validation error, 1 point")
    left.axhline(flips[:, 0].mean(), color="gray", ls="--", label="test, 1 random label flip")
    left.set(xlabel="gradient steps", ylabel="error", title="MNIST 7 vs 1, one point")
    left.legend()
    ks = np.arange(multi.shape[1])
    right.plot(ks, multi.mean(0), "o-", label="svm_gradient")
    right.plot(ks, multi_random.mean(0), "s--", color="gray", label="random label flips")
    right.set(
        xlabel="poisoning points (of 100 training)", ylabel="test error", title="several points"
    )
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print(f"wrote {path}", file=sys.stderr)


#: (name, svm_gradient parameters) compared by ``svm_gradient_average``.
OPTIMIZERS = (
    ("paper: 1 random start, hinge", {}),
    ("10 random starts, hinge", {"restarts": 10}),
    ("10 look-ahead starts, hinge", {"restarts": 10, "start": "lookahead"}),
    (
        "10 look-ahead starts, sigmoid 0.5",
        {"restarts": 10, "start": "lookahead", "objective": "sigmoid", "temperature": 0.5},
    ),
)


def svm_gradient_average(seeds: int) -> None:
    """Test error after one point, mean over draws, for each optimizer of ``OPTIMIZERS``."""
    import time

    mnist = load("mnist")
    X, y = mnist.X, mnist.y
    errors = np.zeros((len(OPTIMIZERS), seeds))
    seconds = np.zeros(len(OPTIMIZERS))
    clean = np.zeros(seeds)
    for seed in range(seeds):
        train, val, test = biggio_split(y, seed)
        Xtr, ytr, Xte, yte = X[train] / 255, y[train], X[test] / 255, y[test]
        clean[seed] = linear_error(Xtr, ytr, Xte, yte)
        for j, (_, params) in enumerate(OPTIMIZERS):
            attack = ATTACKS.create(
                "svm_gradient",
                classes=PAIR,
                budget=1,
                validation=(X[val] / 255, y[val]),
                box=(0.0, 1.0),
                max_iter=100,
                label="1",
                **params,
            )
            began = time.perf_counter()
            result = attack.poison(Xtr, ytr, random_state=seed)
            seconds[j] += time.perf_counter() - began
            errors[j, seed] = linear_error(result.X, result.y, Xte, yte)
        print(
            f"seed {seed}: clean {clean[seed]:.3f}, "
            + ", ".join(f"{e:.3f}" for e in errors[:, seed]),
            flush=True,
        )
    print(f"\nOne point, test error, mean [min, max] of {seeds} draws (clean {_spread(clean)}):")
    print("| optimizer | test error | seconds per point |")
    print("| --- | --- | --- |")
    for j, (name, _) in enumerate(OPTIMIZERS):
        print(f"| {name} | {_spread(errors[j])} | {seconds[j] / seeds:.1f} |")


@fixed_threads()
def alfa() -> None:
    mnist = load("mnist")
    X, y = mnist.X[:2000] / 255, mnist.y[:2000]
    pair = np.flatnonzero(np.isin(y, PAIR))
    test = 60000 + np.flatnonzero(np.isin(mnist.y[60000:61000], PAIR))
    X_test, y_test = mnist.X[test] / 255, mnist.y[test]
    print(f"{len(pair)} training 7s and 1s, {len(test)} test 7s and 1s; test error:\n")
    print("| kernel | C | flips | clean | random flips (mean of 10) | alfa | LP/SVM rounds |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for kernel, C in (("linear", 1.0), ("linear", 0.1), ("rbf", 1.0)):

        def error(labels, kernel=kernel, C=C):
            model = SVC(kernel=kernel, C=C).fit(X[pair], labels[pair])
            return float(np.mean(model.predict(X_test) != y_test))

        for fraction in (0.05, 0.1, 0.2):
            budget = round(fraction * len(pair))
            attack = ATTACKS.create("alfa", classes=PAIR, budget=budget, kernel=kernel, C=C)
            result = attack.poison(X, y)
            rng = np.random.default_rng(0)
            random_errors = [
                error(flip(y, rng.choice(pair, budget, replace=False))) for _ in range(10)
            ]
            print(
                f"| {kernel} | {C:g} | {fraction:.0%} ({budget}) | {error(y):.3f} "
                f"| {np.mean(random_errors):.3f} | {error(result.y):.3f} "
                f"| {result.info['iterations']}{'' if result.info['converged'] else ' (cap)'} |",
                flush=True,
            )
    # Why max_iter defaults to 30: smaller C needs more rounds (default cap lifted here).
    budget = round(0.2 * len(pair))
    rounds = [
        ATTACKS.create("alfa", classes=PAIR, budget=budget, C=C, max_iter=100).poison(X, y).info
        for C in (0.01, 0.001)
    ]
    print(
        f"\nLinear kernel, 20% flips ({budget}): C = 0.01 and C = 0.001 took "
        f"{rounds[0]['iterations']} and {rounds[1]['iterations']} LP/SVM rounds "
        f"(converged: {rounds[0]['converged']}, {rounds[1]['converged']})."
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figure", choices=["svm_gradient", "svm_gradient_average", "alfa"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--points", type=int, default=5)
    parser.add_argument("--plot", default=None, help="write the svm_gradient figure (PNG)")
    args = parser.parse_args()
    if args.figure == "alfa":
        alfa()
    elif args.figure == "svm_gradient_average":
        svm_gradient_average(args.seeds)
    else:
        svm_gradient(args.seeds, args.points, args.plot)
