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
The results are Markdown tables on stdout (wall and CPU time, and ratios against each part's
baseline); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from _process import markdown_table, progress, timed_process

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


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole process."""
    wall, cpu, _ = timed_process(cmd)
    progress(f"{' '.join(cmd[1:3])}: {wall:.2f} s")
    return wall, cpu


def ratio_row(name: str, wall: float, cpu: float, base: tuple[float, float]) -> list[str]:
    """A table row: wall and CPU seconds, each also as a multiple of the baseline's."""
    return [
        name,
        f"{wall:.2f} s",
        f"{wall / base[0]:.2f}x",
        f"{cpu:.2f} s",
        f"{cpu / base[1]:.2f}x",
    ]


def part_ml106(poisonlab: str, work: Path) -> None:
    lab_dir = work / "lab"
    budgets = ",".join(map(str, BUDGETS))
    lab = [poisonlab, "lab", "ml106", "--poison", budgets, "--out", str(lab_dir), "--no-report"]
    base = timed(lab)
    reference = stored(lab_dir)
    spec = str(ROOT / "examples" / "ml106.toml")
    rows = [ratio_row("`poisonlab lab ml106 --poison 0,5,...,220` (baseline)", *base, base)]
    for name, extra in [
        ("`poisonlab run examples/ml106.toml` (serial)", []),
        ("`... -j 2`", ["-j", "2"]),
        ("`... --dask-local 2`", ["--dask-local", "2"]),
    ]:
        out = work / f"ml106_{len(rows)}"
        wall, cpu = timed([poisonlab, "run", spec, "-o", str(out), "--no-report", *extra])
        if not same(stored(out), reference):
            raise SystemExit(f"MISMATCH: {name} disagrees with the lab")
        rows.append(ratio_row(name, wall, cpu, base))
    print(
        "**Part 1**, `examples/ml106.toml` (45 runs); every store equals the lab's counts and "
        "predictions:\n"
    )
    print(markdown_table(["variant", "wall", "x lab (wall)", "CPU", "x lab (CPU)"], rows) + "\n")


def part_scaling(poisonlab: str, work: Path, sizes: list[int], budgets: list[int]) -> None:
    rows = []
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
        rows.append(
            [
                f"{n:,}",
                f"{plain[0]:.2f} s",
                f"{shared[0]:.2f} s",
                f"{plain[0] / shared[0]:.1f}x",
                f"{plain[1]:.2f} s",
                f"{shared[1]:.2f} s",
                f"{plain[1] / shared[1]:.1f}x",
                f"{8 * (2 * n * n + 1000 * n) / 1e9:.2f} GB",
            ]
        )
    print(
        f"**Part 2**, one sweep of {len(budgets)} budgets {budgets} by training size; the "
        "shared path's predictions equal plain fits at every size:\n"
    )
    header = [
        "n_train",
        "plain (wall)",
        "shared (wall)",
        "speed-up (wall)",
        "plain (CPU)",
        "shared (CPU)",
        "speed-up (CPU)",
        "shared kernels, 8 (2n² + 1000 n) bytes",
    ]
    print(markdown_table(header, rows) + "\n")


def part_plain(poisonlab: str, work: Path) -> None:
    spec = str(ROOT / "examples" / "backdoor.toml")
    reference, base, rows = None, None, []
    for name, extra in [
        ("`poisonlab run examples/backdoor.toml` (serial, baseline)", []),
        ("`... -j 2`", ["-j", "2"]),
        ("`... --dask-local 2`", ["--dask-local", "2"]),
    ]:
        out = work / f"backdoor_{len(rows)}"
        elapsed = timed([poisonlab, "run", spec, "-o", str(out), "--no-report", *extra])
        result = stored(out)
        if reference is None:
            reference, base = result, elapsed
        elif not same(result, reference):
            raise SystemExit(f"MISMATCH: {name} disagrees with the serial run")
        rows.append(ratio_row(name, *elapsed, base))
    print(
        "**Part 3**, `examples/backdoor.toml` (24 plain fits); every store equals the serial one:\n"
    )
    print(markdown_table(["variant", "wall", "x serial (wall)", "CPU", "x serial (CPU)"], rows))


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
