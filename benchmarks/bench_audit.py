"""Benchmark: ``poisonlab audit`` on a 100,000-row, 50-column numeric CSV, as whole processes.

The issue asks for such a file to audit within 2 minutes and 4 GB of memory. The CSV is made
by scikit-learn's ``make_classification`` (5 classes, 10 informative features, seed 0), with 200
rows duplicated under another label so the duplicates check has something to find. Two
processes run in the same invocation: the baseline, ``poisonlab datasets show`` (loading the
CSV only), and the audit. For each the benchmark prints wall time, CPU time (user + system),
peak resident memory (``ru_maxrss`` of that process alone, measured by a small wrapper
process) and the exit status, then the audit / baseline ratios and the load average, since the
machine is shared.

    .venv/bin/python benchmarks/bench_audit.py [--rows 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Runs one command and prints its resource use as JSON (getrusage of that one child).
WRAPPER = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "peak_mb": usage.ru_maxrss / 1024, "exit": code}))
"""


def make_csv(path: Path, rows: int) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=rows,
        n_features=50,
        n_informative=10,
        n_classes=5,
        n_clusters_per_class=2,
        random_state=0,
    )
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(50)])
    frame["label"] = y
    copies = frame.iloc[:200].assign(label=(y[:200] + 1) % 5)
    frame = pd.concat([frame, copies], ignore_index=True)
    frame = frame.iloc[np.random.default_rng(0).permutation(len(frame))]
    frame.to_csv(path, index=False)


def measure(command: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="Write the CSV and the audit here and keep them.")
    args = parser.parse_args()
    poisonlab = shutil.which("poisonlab", path=str(Path(sys.executable).parent)) or "poisonlab"
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_audit_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        data = work / "data.csv"
        make_csv(data, args.rows)
        load_before = os.getloadavg()
        baseline = measure([poisonlab, "datasets", "show", f"file:{data}", "--label", "label"])
        audit = measure(
            [poisonlab, "audit", str(data), "--label", "label", "--out", str(work / "out")]
        )
        load_after = os.getloadavg()
        n_rows = args.rows + 200
        print(f"data: {n_rows} rows x 50 features ({data.stat().st_size / 1e6:.0f} MB CSV)")
        for name, r in (("baseline (load only)", baseline), ("poisonlab audit", audit)):
            print(
                f"{name:22s} wall {r['wall']:6.1f} s  cpu {r['cpu']:6.1f} s  "
                f"peak {r['peak_mb']:6.0f} MB  exit {r['exit']}"
            )
        print(
            f"audit / baseline: wall {audit['wall'] / baseline['wall']:.1f}x, "
            f"peak memory {audit['peak_mb'] / baseline['peak_mb']:.1f}x"
        )
        print(f"load average (1 min) before {load_before[0]:.1f}, after {load_after[0]:.1f}")
        verdict = audit["wall"] <= 120 and audit["peak_mb"] <= 4096 and audit["exit"] in (0, 1)
        print("within 2 minutes and 4 GB:", "yes" if verdict else "NO")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
