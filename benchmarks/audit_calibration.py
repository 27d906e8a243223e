"""The audit gate's false-alarm and detection rates, measured over many random datasets.

False alarms: ``--subsets`` random ``--rows``-row subsets of MNIST (clean labels), as many
clean mixed tables (:func:`poisonlab.audit.synthetic.mixed_table`, 3 % natural label noise,
a new seed each) and as many clean mixed tables with a genuine group effect (region north
declined more often, ``group_effect=1.5``). Detection: ``--poisoned`` poisoned ones per
setting: MNIST subsets with N rows of a random class s flipped to a random class t, and
mixed tables with N rows of (region north, approved) flipped to declined; N is 30 and 100
(MNIST), 40, 80 and 200 (mixed) per 2,000 rows, scaled to ``--rows``. Each dataset is
audited with the library call the command makes (``run_audit``, default options, seed 0),
running only the checks the gate reads (:data:`GATE_CHECKS`), so the verdicts are the
command's. Prints one line per setting and writes all p-values to ``--json``.

    .venv/bin/python benchmarks/audit_calibration.py [--subsets 100] [--poisoned 50]
        [--rows 2000] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter

import numpy as np


def mnist_sets(subsets: int, n_flip: int, seed: int, n_rows: int = 2000):
    """(X, y, image_shape) for ``subsets`` random MNIST subsets, ``n_flip`` rows flipped s -> t."""
    from poisonlab.datasets import load

    mnist = load("mnist")
    rng = np.random.default_rng(seed)
    for _ in range(subsets):
        rows = np.sort(rng.choice(len(mnist.y), n_rows, replace=False))
        y = mnist.y[rows].copy()
        if n_flip:
            s, t = rng.choice(mnist.classes, 2, replace=False)
            flip = rng.choice(np.flatnonzero(y == s), n_flip, replace=False)
            y[flip] = t
        yield mnist.X[rows], y, mnist.image_shape


def mixed_sets(subsets: int, n_flip: int, seed: int, n_rows: int = 2000, effect: float = 0.0):
    """(frame, labels, None) for ``subsets`` mixed tables, ``n_flip`` targeted flips.

    ``effect`` > 0: a genuine, clean group effect (region north declined more often).
    """
    from poisonlab.audit.synthetic import mixed_table

    for k in range(subsets):
        frame, _ = mixed_table(n_rows, seed=seed + k, n_poison=n_flip, group_effect=effect)
        yield frame.drop(columns="label"), frame["label"].to_numpy(), None


#: The row checks the gate's tests read (without a reference); the others only rank rows,
#: so leaving them out gives the command's verdict in a fraction of the time.
GATE_CHECKS = ("neighbours", "flip_pattern", "pair_mixing", "group")


def rate(sets, skip: int = 0, verbose: bool = False) -> tuple[float, list[dict]]:
    """Share of the datasets whose audit fails, and each audit's test p-values.

    The first ``skip`` datasets are drawn (so the rest are the same datasets) but not audited.
    """
    from poisonlab.audit import run_audit

    runs = []
    for k, (X, y, shape) in enumerate(sets):
        if k < skip:
            continue
        result = run_audit(X, y, image_shape=shape, random_state=0, checks=GATE_CHECKS)
        failing = [t.name for t in result.tests if t.gates and t.p_value < result.info["threshold"]]
        runs.append(
            {
                "failed": result.failed,
                "failing": failing,
                **{t.name: t.p_value for t in result.tests},
            }
        )
        if verbose:
            print(f"  dataset {k}: {'fails' if result.failed else 'passes'}", flush=True)
    return float(np.mean([r["failed"] for r in runs])), runs


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a rate of ``k`` in ``n``."""
    from scipy.stats import beta

    tail = (1 - level) / 2
    low = float(beta.ppf(tail, k, n - k + 1)) if k > 0 else 0.0
    high = float(beta.ppf(1 - tail, k + 1, n - k)) if k < n else 1.0
    return low, high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subsets", type=int, default=100)
    parser.add_argument("--poisoned", type=int, default=None, help="default: subsets / 2")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--only", default=None, help="Comma-separated setting numbers 1-8 (default: all)."
    )
    parser.add_argument("--skip", type=int, default=0, help="Audit from the K-th dataset on.")
    parser.add_argument("--verbose", action="store_true", help="One line per audit.")
    args = parser.parse_args()
    n, rows = args.subsets, args.rows
    half = args.poisoned if args.poisoned is not None else max(n // 2, 1)

    def flips(per_2000: int) -> int:
        return round(per_2000 * rows / 2000)

    print(f"{rows}-row datasets, seed 0, alpha 0.01", flush=True)
    settings = [
        ("MNIST, clean", mnist_sets(n, 0, 1, rows)),
        ("mixed table, clean", mixed_sets(n, 0, 1000, rows)),
        ("mixed table, clean, real region effect", mixed_sets(n, 0, 4000, rows, effect=1.5)),
        (f"MNIST, {flips(30)} flipped", mnist_sets(half, flips(30), 2, rows)),
        (f"MNIST, {flips(100)} flipped", mnist_sets(half, flips(100), 3, rows)),
        (f"mixed table, {flips(40)} flipped", mixed_sets(half, flips(40), 5000, rows)),
        (f"mixed table, {flips(80)} flipped", mixed_sets(half, flips(80), 2000, rows)),
        (f"mixed table, {flips(200)} flipped", mixed_sets(half, flips(200), 3000, rows)),
    ]
    if args.only:
        settings = [settings[int(i) - 1] for i in args.only.split(",")]
    report = {}
    for name, sets in settings:
        start = time.perf_counter()
        share, runs = rate(sets, args.skip, args.verbose)
        report[name] = runs
        fails = sum(r["failed"] for r in runs)
        low, high = clopper_pearson(fails, len(runs))
        by_test = Counter(t for r in runs for t in r["failing"])
        which = ", ".join(f"{t} {c}" for t, c in sorted(by_test.items())) or "none"
        print(
            f"{name}: {fails} of {len(runs)} audits fail ({share:.0%}, 95 % interval "
            f"{low:.1%}-{high:.1%}; failing tests: {which}); "
            f"{time.perf_counter() - start:.0f} s, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1)


if __name__ == "__main__":
    main()
