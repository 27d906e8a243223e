"""Benchmark: a study serially, with ``-j 2`` and with ``--dask-local 2``, as whole processes.

Each variant runs into a fresh directory with ``--no-report``; its store must equal the serial
one (every run's row and arrays, timings aside), so speed is never bought with other results.
Rounds interleave the variants; the minimum over rounds is reported with the ratio to serial,
and the load average goes to stderr before and after (the machine is shared).

    .venv/bin/python benchmarks/bench_parallel.py [SPEC ...] [--rounds 1] [--skip-dask]
        [--baseline-src DIR]

Default spec: ``examples/random_flip.toml`` (80 independent runs, digits and MNIST).
``--baseline-src DIR`` adds ``--dask-local 2`` with another checkout's ``src`` first on
``PYTHONPATH`` (e.g. ``git archive main src | tar -x -C /tmp/base``), in the same rounds (its
store is not compared: other code keys its runs by its own fingerprint). CPU is that of the
command and every process it started, a forkserver and its Dask workers included
(``_process.timed_process`` adopts and reaps them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from _process import timed_process  # the same whole-process timing

ROOT = Path(__file__).resolve().parents[1]
POISONLAB = str(Path(sys.executable).parent / "poisonlab")
BASELINE = "--dask-local 2 (baseline src)"


def snapshot(directory: Path) -> dict:
    """Every run's row (timings aside) and arrays, by key."""
    from poisonlab.experiment.store import ResultStore

    with ResultStore(directory, create=False) as store:
        return {
            r.key: (
                r.status,
                r.metrics,
                {k: v.tobytes() for k, v in store.arrays(r.key).items()},
            )
            for r in store.runs()
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", default=[str(ROOT / "examples/random_flip.toml")])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--baseline-src", help="another checkout's src/, run with --dask-local 2")
    args = parser.parse_args()
    variants = {"serial": [], "-j 2": ["-j", "2"]}
    if not args.skip_dask:
        variants["--dask-local 2"] = ["--dask-local", "2"]
    envs = {}
    if args.baseline_src and not args.skip_dask:
        variants[BASELINE] = ["--dask-local", "2"]
        envs[BASELINE] = {**os.environ, "PYTHONPATH": str(Path(args.baseline_src).resolve())}
    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    for spec in args.specs:
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        with tempfile.TemporaryDirectory(prefix="bench-parallel-") as tmp:
            for r in range(args.rounds):
                for name, extra in variants.items():
                    out = Path(tmp) / f"{r}-{len(times[name])}-{name.replace(' ', '')}"
                    cmd = [POISONLAB, "run", spec, "-o", str(out), "--no-report", *extra]
                    wall, cpu, _ = timed_process(cmd, envs.get(name))
                    print(f"{name}: {wall:.2f} s", file=sys.stderr)
                    times[name].append((wall, cpu))
                    if name == "serial" and r == 0:
                        baseline = snapshot(out)
                    elif name != BASELINE and snapshot(out) != baseline:
                        raise SystemExit(f"{spec}: the store of {name} differs from serial")
                    shutil.rmtree(out)
        print_table(spec, times, len(baseline))
    print(f"load average after: {os.getloadavg()}", file=sys.stderr)


def variant_options(name: str) -> str:
    """The options a variant adds to ``poisonlab run``, with a leading space (or none)."""
    return "" if name == "serial" else " " + name.removesuffix(" (baseline src)")


def print_table(spec: str, times: dict[str, list[tuple[float, float]]], runs: int) -> None:
    """A Markdown table of each variant's best (wall, CPU) round and its wall ratio to serial."""
    serial = min(times["serial"])[0]
    shown = os.path.relpath(spec, ROOT)
    rounds = len(times["serial"])
    print(f"| `{shown}` ({runs} runs, best of {rounds}) | time | CPU | serial / this |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in times.items():
        wall, cpu = min(values)  # the round with the least wall time
        options = variant_options(name)
        label = f"`poisonlab run{options}`" + (" (baseline src)" if name == BASELINE else "")
        print(f"| {label} | {wall:.2f} s | {cpu:.2f} s | {serial / wall:.2f}x |")
    print()


if __name__ == "__main__":
    main()
