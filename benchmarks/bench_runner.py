"""Benchmark: the study runner, as whole processes.

Part 1, ``examples/ml106.toml`` (45 runs, N = 0, 5, ..., 220) four ways: the baseline
``poisonlab lab ml106 --poison 0,5,...,220``, then ``poisonlab run`` serially, with ``-j 2``
and on a 2-worker local Dask cluster (``--dask-local 2``); each run into a fresh directory, and
each store checked equal to the lab's counts.

Part 2, how one sweep's time grows with the training size: MNIST training rows 0..n-1 for n in
2,000, 5,000, 10,000, 20,000 (test rows 60000..60999), SVC, the first N '1's relabelled '2' for
a few budgets; ``poisonlab run`` with ``--no-fast-path`` (a plain ``SVC.fit`` per run) against
the shared-kernel path. Both must store the same predictions.

    .venv/bin/python benchmarks/bench_runner.py [--sizes 2000,5000,10000,20000]
        [--budgets 0,100,200] [--skip-ml106] [--skip-scaling] [--skip-plain]

Part 3, a sweep of plain fits, where worker processes have work to share:
``examples/backdoor.toml`` (24 runs: SVC and logistic regression, nothing shared) serially,
with ``-j 2`` and with ``--dask-local 2``; the stores must be equal.

Every run reads MNIST from poisonlab's cache (``poisonlab datasets show mnist`` once first).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BUDGETS = list(range(0, 221, 5))

SCALING_SPEC = """
name = "scaling"

[dataset]
name = "mnist"
split = {{ train = [0, {n}], test = [60000, 61000] }}

[[models]]
name = "svc"

[[attacks]]
name = "label_flip"
params = {{ source = "1", target = "2", select = "first" }}
budget = [{budgets}]
"""


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"FAILED: {' '.join(cmd)}\n{proc.stderr}")
    return elapsed


def stored(directory: Path) -> dict[int, tuple[list, np.ndarray]]:
    """budget -> (incorrect by predicted class, y_pred) of a study's ok runs."""
    sys.path.insert(0, str(ROOT / "src"))
    from poisonlab.experiment.store import ResultStore

    with ResultStore(directory, create=False) as store:
        runs = store.runs(status="ok")
        return {
            r.budget: (
                r.metrics["per_class"]["incorrect_by_predicted"],
                store.arrays(r.key)["y_pred"],
            )
            for r in runs
        }


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k][0] == b[k][0] and np.array_equal(a[k][1], b[k][1]) for k in a
    )


def part_ml106(poisonlab: str, work: Path) -> None:
    print("Part 1: examples/ml106.toml, 45 runs")
    lab_dir = work / "lab"
    budgets = ",".join(map(str, BUDGETS))
    base = timed(
        [poisonlab, "lab", "ml106", "--poison", budgets, "--out", str(lab_dir), "--no-report"]
    )
    print(f"  {'poisonlab lab ml106 (baseline)':42s} {base:7.2f} s")
    reference = stored(lab_dir)
    spec = str(ROOT / "examples" / "ml106.toml")
    for name, extra in [
        ("poisonlab run (serial)", []),
        ("poisonlab run -j 2", ["-j", "2"]),
        ("poisonlab run --dask-local 2", ["--dask-local", "2"]),
    ]:
        out = work / name.replace(" ", "_")
        elapsed = timed([poisonlab, "run", spec, "-o", str(out), "--no-report", *extra])
        if not same(stored(out), reference):
            raise SystemExit(f"MISMATCH: {name} disagrees with the lab")
        print(f"  {name:42s} {elapsed:7.2f} s   {elapsed / base:5.2f}x the lab's time")
    print("  every store equals the lab's counts and predictions")


def part_scaling(poisonlab: str, work: Path, sizes: list[int], budgets: list[int]) -> None:
    print(f"Part 2: one sweep of {len(budgets)} budgets {budgets}, SVC, by training size")
    print(f"  {'n_train':>8s} {'plain (s)':>10s} {'shared (s)':>11s} {'speed-up':>9s}")
    for n in sizes:
        spec = work / f"scaling_{n}.toml"
        spec.write_text(SCALING_SPEC.format(n=n, budgets=", ".join(map(str, budgets))))
        plain_dir, shared_dir = work / f"plain_{n}", work / f"shared_{n}"
        plain = timed(
            [poisonlab, "run", str(spec), "-o", str(plain_dir), "--no-fast-path", "--no-report"]
        )
        shared = timed([poisonlab, "run", str(spec), "-o", str(shared_dir), "--no-report"])
        if not same(stored(plain_dir), stored(shared_dir)):
            raise SystemExit(f"MISMATCH at n = {n}: the shared path disagrees with plain fits")
        print(f"  {n:8d} {plain:10.2f} {shared:11.2f} {plain / shared:8.2f}x", flush=True)
    print("  shared-path predictions equal plain fits at every size")


def part_plain(poisonlab: str, work: Path) -> None:
    print("Part 3: examples/backdoor.toml, 24 plain fits")
    spec = str(ROOT / "examples" / "backdoor.toml")
    reference, base = None, None
    for name, extra in [
        ("poisonlab run (serial)", []),
        ("poisonlab run -j 2", ["-j", "2"]),
        ("poisonlab run --dask-local 2", ["--dask-local", "2"]),
    ]:
        out = work / ("plain_" + name.replace(" ", "_"))
        elapsed = timed([poisonlab, "run", spec, "-o", str(out), "--no-report", *extra])
        result = stored(out)
        if reference is None:
            reference, base = result, elapsed
        elif not same(result, reference):
            raise SystemExit(f"MISMATCH: {name} disagrees with the serial run")
        print(f"  {name:42s} {elapsed:7.2f} s   {elapsed / base:5.2f}x the serial time")
    print("  every store equals the serial one")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,5000,10000,20000")
    parser.add_argument("--budgets", default="0,100,200")
    parser.add_argument("--skip-ml106", action="store_true")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-plain", action="store_true")
    args = parser.parse_args()
    poisonlab = shutil.which("poisonlab", path=str(Path(sys.executable).parent)) or "poisonlab"
    subprocess.run([poisonlab, "datasets", "show", "mnist"], capture_output=True, check=True)
    with tempfile.TemporaryDirectory(prefix="bench_runner_") as tmp:
        work = Path(tmp)
        if not args.skip_ml106:
            part_ml106(poisonlab, work)
        if not args.skip_scaling:
            sizes = [int(s) for s in args.sizes.split(",")]
            budgets = [int(b) for b in args.budgets.split(",")]
            part_scaling(poisonlab, work, sizes, budgets)
        if not args.skip_plain:
            part_plain(poisonlab, work)


if __name__ == "__main__":
    main()
