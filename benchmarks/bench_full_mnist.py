"""Benchmark: the ML 106 poisoning at full MNIST scale, shared kernel against plain SVC fits.

The lab's attack (the first N training '1's relabelled '2') on MNIST's 60,000 training and
10,000 test images, for N = 0, 1000, 3000, 6000, two ways, each in its own process:

(plain) ``SVC(random_state=42).fit(X, y_N).predict(X_test)`` for each N;
(shared) one :class:`~poisonlab.models.shared_kernel.SharedKernelSVC` with a memory limit: the
        whole Gram matrix (28.8 GB) does not fit, so each class-pair block is computed from its
        rows when first needed and the pairs the attack did not touch are fitted once.

The benchmark checks that every prediction of every N is equal, and prints each side's wall
time, peak memory (maximum resident set) and the ratio. With ``--lab`` it also runs (lab)
``poisonlab lab ml106 --train-size ... --test-size ... --poison ... --memory ...G --json``, the
lab through the study runner within that memory budget, in its own process. Smaller sizes for
a quick look:

    .venv/bin/python benchmarks/bench_full_mnist.py [--train-size 60000] [--test-size 10000]
        [--budgets 0,1000,3000,6000] [--memory-gb 8] [--lab]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

SIDE = r"""
import json, sys, time
import numpy as np
from sklearn.svm import SVC
from poisonlab.datasets import load
side, n_train, n_test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
budgets, memory = [int(b) for b in sys.argv[4].split(",")], float(sys.argv[5])
mnist = load("mnist")
X, y = mnist.X[:n_train].astype(np.float64), mnist.y[:n_train]
X_test = mnist.X[60000:60000 + n_test].astype(np.float64)
ones = np.flatnonzero(y == "1")
start = time.perf_counter()
if side == "shared":
    from poisonlab.models.shared_kernel import SharedKernelSVC
    shared = SharedKernelSVC(SVC(random_state=42), X, memory_limit=int(memory * 2**30))
    K_test = shared.query_kernel(X_test)
predictions = {}
for n in budgets:
    y_n = y.copy()
    y_n[ones[:n]] = "2"
    if side == "shared":
        predictions[n] = shared.fit(y_n).predict_from_kernel(K_test).tolist()
    else:
        predictions[n] = SVC(random_state=42).fit(X, y_n).predict(X_test).tolist()
    print(f"{side} N={n} at {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
json.dump({"seconds": time.perf_counter() - start, "predictions": predictions}, sys.stdout)
"""


def side_command(side: str, args: argparse.Namespace) -> list[str]:
    sizes = [str(args.train_size), str(args.test_size)]
    if side == "lab":
        poisonlab = os.path.join(os.path.dirname(sys.executable), "poisonlab")
        return [
            poisonlab,
            "lab",
            "ml106",
            "--train-size",
            sizes[0],
            "--test-size",
            sizes[1],
            "--poison",
            args.budgets,
            "--memory",
            f"{args.memory_gb}G",
            "--json",
        ]
    return [sys.executable, "-c", SIDE, side, *sizes, args.budgets, str(args.memory_gb)]


def run_side(side: str, args: argparse.Namespace) -> dict:
    """Run one side in a fresh process; its result with wall time and peak memory."""
    started = time.perf_counter()
    process = subprocess.Popen(side_command(side, args), stdout=subprocess.PIPE)
    output = process.stdout.read()
    # wait4 gives this child's own resource usage: its peak resident memory.
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"the {side} side exited with status {process.returncode}")
    result = json.loads(output)
    result.update(wall=time.perf_counter() - started, peak_gb=usage.ru_maxrss / 2**20)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=60000)
    parser.add_argument("--test-size", type=int, default=10000)
    parser.add_argument("--budgets", default="0,1000,3000,6000")
    parser.add_argument("--memory-gb", type=float, default=8.0)
    parser.add_argument("--lab", action="store_true", help="also time poisonlab lab ml106")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    lab = run_side("lab", args) if args.lab else None  # first: its checks fail fast
    shared = run_side("shared", args)
    plain = run_side("plain", args)
    assert shared["predictions"] == plain["predictions"], "predictions differ"
    print(f"MNIST {args.train_size} train / {args.test_size} test, N = {args.budgets}")
    print("| side | wall (s) | peak memory (GB) |")
    print("| --- | --- | --- |")
    sides = [("shared kernel", shared), ("plain SVC", plain)]
    sides += [("poisonlab lab ml106 (whole process)", lab)] if lab else []
    for name, side in sides:
        print(f"| {name} | {side['wall']:.1f} | {side['peak_gb']:.2f} |")
    print(f"ratio (plain / shared): {plain['wall'] / shared['wall']:.2f}x; every prediction equal")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
