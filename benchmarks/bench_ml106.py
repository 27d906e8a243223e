"""Benchmark: the ML 106 sweep N = 0, 5, ..., 220 (45 models) three ways, as whole processes.

(a) the lab's code as written: row-by-row ``numpy.concatenate`` and one ``predict`` per image;
(b) a plain scikit-learn loop: fit ``SVC(random_state=42)`` and a vectorized predict per N;
(c) ``poisonlab lab ml106 --poison 0,5,...,220``.

Each variant runs in its own process, which prints the lab's counts as JSON; the benchmark
checks the three agree on every number and prints a Markdown table of the wall and CPU
times and the ratios. All three read MNIST
from poisonlab's cache (run ``poisonlab datasets show mnist`` once first), so the comparison is
of the computation, not of the download.

    .venv/bin/python benchmarks/bench_ml106.py [--repeat 1] [--baseline-src DIR]

``--baseline-src DIR`` adds (c0): the same command with another checkout's ``src`` first on
``PYTHONPATH`` (e.g. ``git archive main src | tar -x -C /tmp/base``), to compare two versions of
poisonlab in one invocation, under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

BUDGETS = list(range(0, 221, 5))

LAB_AS_WRITTEN = r"""
import json, numpy
from sklearn.svm import SVC
from poisonlab.datasets import load
mnist = load("mnist")
X, y = mnist.X.astype(float), mnist.y  # fetch_openml(as_frame=False) gives float pixels
X_train_orig = numpy.array([[]]).reshape(0, 784)
y_train_orig = numpy.array([])
X_test_orig = numpy.array([]).reshape(0, 784)
y_test_orig = numpy.array([])
for i in range(2000):
  X_train_orig = numpy.concatenate((X_train_orig, [X[i]]), axis=0)
  y_train_orig = numpy.append(y_train_orig, y[i])
for i in range(1000):
  X_test_orig = numpy.concatenate((X_test_orig, [X[i+ 60000]]), axis=0)
  y_test_orig = numpy.append(y_test_orig, y[i + 60000])
runs = []
for n in BUDGETS:
  y_train_poisoned = y_train_orig.copy()
  number_poisoned = 0
  for i in range(2000):
    if number_poisoned == n:
      break
    if y_train_poisoned[i] == '1':
      y_train_poisoned[i] = '2'
      number_poisoned += 1
  svm_clf_poisoned = SVC(random_state=42)
  svm_clf_poisoned.fit(X_train_orig, y_train_poisoned)
  prediction_correct = [0,0,0,0,0,0,0,0,0,0]
  prediction_incorrect = [0,0,0,0,0,0,0,0,0,0]
  for i in range(1000):
    p = svm_clf_poisoned.predict([X_test_orig[i]])[0]
    if p == y_test_orig[i]:
      prediction_correct[int(p)] += 1
    else:
      prediction_incorrect[int(p)] += 1
  runs.append({"n_poisoned": n, "correct": prediction_correct,
               "incorrect": prediction_incorrect})
print(json.dumps({"runs": runs}))
"""

PLAIN_SKLEARN = r"""
import json, numpy as np
from sklearn.svm import SVC
from poisonlab.datasets import load
mnist = load("mnist")
X_train, y_train = mnist.X[:2000], mnist.y[:2000]
X_test, y_test = mnist.X[60000:61000], mnist.y[60000:61000]
classes = np.unique(mnist.y)
runs = []
for n in BUDGETS:
    y = y_train.copy()
    y[np.flatnonzero(y == "1")[:n]] = "2"
    pred = SVC(random_state=42).fit(X_train, y).predict(X_test)
    ok = pred == y_test
    runs.append({"n_poisoned": n,
                 "correct": [int(np.sum(pred[ok] == c)) for c in classes],
                 "incorrect": [int(np.sum(pred[~ok] == c)) for c in classes]})
print(json.dumps({"runs": runs}))
"""


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    elapsed = time.perf_counter() - start
    return elapsed, json.loads(proc.stdout.strip().splitlines()[-1])


def cpu_seconds(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall, user + sys CPU) seconds of one run of ``cmd``, and what it printed.

    CPU time is what the process computed, whoever else shares the cores; its wall time also
    holds the waits for a core, which vary with the load (see docs/benchmarks.md).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, used, proc.stdout


def compile_sources(python: str, baseline_src: str | None) -> None:
    """Write the bytecode of poisonlab's modules (and the baseline's), as an installed package
    has it. An editable install under ``PYTHONDONTWRITEBYTECODE=1`` (this project's sessions
    set it) otherwise compiles the lab's ~50 poisonlab modules from source in every process:
    0.1-0.2 s of CPU, which the plain loop, importing 5 of them, hardly pays."""
    package = subprocess.run(
        [python, "-c", "import poisonlab, os; print(os.path.dirname(poisonlab.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for root in [package, *([baseline_src] if baseline_src else [])]:
        subprocess.run([python, "-m", "compileall", "-q", root], check=True)


def counts(doc: dict) -> list[tuple]:
    # poisonlab's --json names the lab's count as the store does (incorrect_by_predicted); the
    # lab's own code, the plain loop and older poisonlab (--baseline-src) call it incorrect.
    return [
        (r["n_poisoned"], r["correct"], r.get("incorrect_by_predicted", r.get("incorrect")))
        for r in doc["runs"]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each variant (best kept)")
    parser.add_argument("--skip-lab-code", action="store_true", help="skip (a), the slowest")
    parser.add_argument("--baseline-src", help="another checkout's src/ to time as (c0)")
    args = parser.parse_args()
    python = sys.executable
    poisonlab = shutil.which("poisonlab", path=str(Path(python).parent)) or "poisonlab"
    budgets = ",".join(map(str, BUDGETS))
    prelude = f"BUDGETS = {BUDGETS!r}\n"
    variants = {
        "(c) poisonlab lab ml106": [poisonlab, "lab", "ml106", "--poison", budgets],
        "(b) plain scikit-learn loop": [python, "-c", prelude + PLAIN_SKLEARN],
    }
    envs: dict[str, dict | None] = {}
    if args.baseline_src:
        name = "(c0) baseline lab ml106"
        variants[name] = [poisonlab, "lab", "ml106", "--poison", budgets]
        envs[name] = {**os.environ, "PYTHONPATH": str(Path(args.baseline_src).resolve())}
    if not args.skip_lab_code:
        variants["(a) the lab's code as written"] = [python, "-c", prelude + LAB_AS_WRITTEN]
    subprocess.run([poisonlab, "datasets", "show", "mnist"], capture_output=True, check=True)
    compile_sources(python, args.baseline_src)
    # (c) prints its tables as a user sees them; a JSON twin run gives the numbers to compare.
    # Repeats are interleaved (each round runs every variant once), so a change in the
    # machine's load affects all variants alike.
    results, times = {}, dict.fromkeys(variants, float("inf"))
    cpu = dict.fromkeys(variants, float("inf"))
    for _ in range(args.repeat):
        for name, cmd in variants.items():
            env = envs.get(name)
            elapsed, seconds, printed = cpu_seconds(cmd, env)
            if name.startswith("(c"):  # it prints tables for a user; a JSON twin run for us
                _, doc = timed([*cmd, "--json"], env)
            else:
                doc = json.loads(printed.strip().splitlines()[-1])
            times[name], results[name] = min(times[name], elapsed), counts(doc)
            cpu[name] = min(cpu[name], seconds)
            print(f"{name}: {elapsed:.2f} s (load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    reference = results["(c) poisonlab lab ml106"]
    for name, value in results.items():
        if value != reference:
            raise SystemExit(f"MISMATCH: {name} disagrees with poisonlab on the lab's counts")
    fast, fast_cpu = times["(c) poisonlab lab ml106"], cpu["(c) poisonlab lab ml106"]
    print(
        f"Best of {args.repeat} run(s) each; all variants agree on every count of all "
        f"{len(BUDGETS)} models.\n"
    )
    print("| variant | wall | (c) faster by (wall) | CPU, user + sys | (c) cheaper by (CPU) |")
    print("| --- | --- | --- | --- | --- |")
    for name in variants:
        ours = name.startswith("(c)")
        print(
            f"| {name} | {times[name]:.2f} s | {'' if ours else f'{times[name] / fast:.1f}x'} "
            f"| {cpu[name]:.2f} s | {'' if ours else f'{cpu[name] / fast_cpu:.1f}x'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
