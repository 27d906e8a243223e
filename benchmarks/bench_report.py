"""Benchmark: ``poisonlab report`` on 45-run studies, as whole processes.

Two studies of 45 runs each are run once (``poisonlab run --no-report``, not timed here):

(a) ``examples/ml106.toml``: the ML 106 sweep N = 0, 5, ..., 220 on MNIST (one seed, no
    defense): metric, per-class, confusion and gallery figures;
(b) a digits sweep, 5 budgets x 3 seeds x 3 defenses (none, knn_label, outliers): every figure
    but the backdoor and certified ones, with bands over seeds and detector curves.

For each, whole processes are timed: the baseline ``poisonlab results DIR --format json``
(start-up and reading the same store), then ``poisonlab report DIR --format html`` and
``--format png``. Shown: the medians over ``--repeat`` runs of the wall time and the CPU time
(user + system, which depends less on what else the shared machine runs), the report's own
wall time (minus the baseline) and the ratio of wall times to the baseline.

    .venv/bin/python benchmarks/bench_report.py [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POISONLAB = str(Path(sys.executable).parent / "poisonlab")

DIGITS_SPEC = """
name = "digits-detectors"
seeds = [0, 1, 2]

[dataset]
name = "digits"
split = { train_size = 1000, test_size = 500, seed = 0 }

[[models]]
name = "svc"

[[attacks]]
name = "label_flip"
params = { source = "1", target = "7", select = "random" }
budget = [0, 20, 40, 60, 80]

[[defenses]]
name = "none"

[[defenses]]
name = "knn_label"

[[defenses]]
name = "outliers"
"""


def run(*args: str) -> float:
    """Wall seconds of one whole process."""
    return timed(*args)[0]


def timed(*args: str) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([POISONLAB, *args], check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def prepare(work: Path) -> dict[str, Path]:
    studies = {}
    spec = work / "digits.toml"
    spec.write_text(DIGITS_SPEC)
    for name, path in {"ml106 (MNIST)": ROOT / "examples" / "ml106.toml", "digits": spec}.items():
        out = work / name.split()[0]
        seconds = run("run", str(path), "-o", str(out), "--no-report")
        # Finished runs are skipped, so with --keep a second invocation reuses the studies.
        print(f"study {name}: 45 runs ready in {seconds:.1f} s (not part of the benchmark)")
        studies[name] = out
    return studies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Keep the studies here (reused if present).")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        studies = prepare(work)
        print(
            f"\n{'study':<15}{'variant':<26}{'wall (s)':>9}{'cpu (s)':>9}{'report':>8}{'ratio':>7}"
        )
        for name, out in studies.items():
            variants = {
                "baseline: results --json": ["results", str(out), "--format", "json"],
                "report --format html": ["report", str(out), "--quiet"],
                "report --format png": ["report", str(out), "--format", "png", "--quiet"],
            }
            times = {}
            for variant, argv in variants.items():
                samples = [timed(*argv) for _ in range(args.repeat)]
                times[variant] = tuple(statistics.median(x) for x in zip(*samples, strict=True))
            base = times["baseline: results --json"][0]
            for variant, (wall, cpu) in times.items():
                extra = "" if variant.startswith("baseline") else f"{wall - base:.2f}"
                print(
                    f"{name:<15}{variant:<26}{wall:>9.2f}{cpu:>9.2f}{extra:>8}{wall / base:>7.2f}"
                )
            files = sorted(p.name for p in (out / "report").iterdir())
            size = (out / "report" / "index.html").stat().st_size
            print(f"{'':<16}{len(files)} files; index.html {size / 1e6:.2f} MB")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
