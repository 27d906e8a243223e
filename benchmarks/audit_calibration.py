"""The audit gate's false-alarm and detection rates, measured over many random datasets.

False alarms: ``--subsets`` random 2,000-row subsets of MNIST (clean labels) and as many
clean mixed tables (:func:`poisonlab.audit.synthetic.mixed_table`, 3 % natural label noise,
a new seed each). Detection: the same number of poisoned ones, half as many per setting: MNIST
subsets with N rows of a random class s flipped to a random class t, and mixed tables with
N rows of (region north, approved) flipped to declined. Each dataset is audited with the
library call the command makes (``run_audit``, default options, seed 0), so the rates are the
command's. Prints one line per setting and writes all p-values to ``--json``.

    .venv/bin/python benchmarks/audit_calibration.py [--subsets 100] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def mnist_sets(subsets: int, n_flip: int, seed: int):
    """(X, y, image_shape) for ``subsets`` random MNIST subsets, ``n_flip`` rows flipped s -> t."""
    from poisonlab.datasets import load

    mnist = load("mnist")
    rng = np.random.default_rng(seed)
    for _ in range(subsets):
        rows = np.sort(rng.choice(len(mnist.y), 2000, replace=False))
        y = mnist.y[rows].copy()
        if n_flip:
            s, t = rng.choice(mnist.classes, 2, replace=False)
            flip = rng.choice(np.flatnonzero(y == s), n_flip, replace=False)
            y[flip] = t
        yield mnist.X[rows], y, mnist.image_shape


def mixed_sets(subsets: int, n_flip: int, seed: int):
    """(frame, labels, None) for ``subsets`` mixed tables, ``n_flip`` targeted flips."""
    from poisonlab.audit.synthetic import mixed_table

    for k in range(subsets):
        frame, _ = mixed_table(2000, seed=seed + k, n_poison=n_flip)
        yield frame.drop(columns="label"), frame["label"].to_numpy(), None


def rate(sets) -> tuple[float, list[dict]]:
    """Share of the datasets whose audit fails, and each audit's test p-values."""
    from poisonlab.audit import run_audit

    runs = []
    for X, y, shape in sets:
        result = run_audit(X, y, image_shape=shape, random_state=0)
        runs.append({"failed": result.failed, **{t.name: t.p_value for t in result.tests}})
    return float(np.mean([r["failed"] for r in runs])), runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subsets", type=int, default=100)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    n, half = args.subsets, max(args.subsets // 2, 1)
    settings = [
        ("MNIST, clean", mnist_sets(n, 0, 1)),
        ("mixed table, clean", mixed_sets(n, 0, 1000)),
        ("MNIST, 30 flipped", mnist_sets(half, 30, 2)),
        ("MNIST, 100 flipped", mnist_sets(half, 100, 3)),
        ("mixed table, 80 flipped", mixed_sets(half, 80, 2000)),
        ("mixed table, 200 flipped", mixed_sets(half, 200, 3000)),
    ]
    report = {}
    for name, sets in settings:
        start = time.perf_counter()
        share, runs = rate(sets)
        report[name] = runs
        print(
            f"{name}: {sum(r['failed'] for r in runs)} of {len(runs)} audits fail "
            f"({share:.0%}); {time.perf_counter() - start:.0f} s",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1)


if __name__ == "__main__":
    main()
