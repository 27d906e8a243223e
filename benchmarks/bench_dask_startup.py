"""Benchmark: a local Dask cluster's start-up alone, workers spawned vs forked from a forkserver.

Each round starts, in a fresh process that has imported what ``poisonlab run`` has by then
(scikit-learn, the runner), a cluster of two workers as ``--dask-local 2`` does, waits until
each worker has imported what a run needs, and closes it: (a) workers spawned, Dask's default
(poisonlab before issue 18's fix: each worker imports everything itself); (b) workers forked
from a forkserver that imported it once (:func:`poisonlab.experiment.backends.start_local_workers`).
(b) here starts its forkserver when the cluster is made; ``poisonlab run --dask-local`` starts
it earlier, while it reads the spec, so a sweep waits for less than (b) shows.

    .venv/bin/python benchmarks/bench_dask_startup.py [--rounds 3]

Prints a Markdown table: the best round's seconds to a cluster whose workers are ready, to
closed, and ratios to (a); and the CPU seconds of the whole round, every process it started
included (a forkserver and its workers too: ``_process.timed_process`` adopts and reaps them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from _process import markdown_table, timed_python

CHILD = r"""
import json, os, time
import sklearn.svm  # noqa: F401 - `poisonlab run` has imported it before its cluster starts
from distributed import Client
from poisonlab.experiment import backends

def ready():
    import importlib
    for name in backends.DASK_WORKER_PRELOAD:  # what a run needs
        importlib.import_module(name)
    return os.getpid()

if __name__ == "__main__":
    start = time.perf_counter()
    make = backends._make_local_cluster if {spawn} else backends._local_cluster
    cluster = make(2, False)
    with Client(cluster) as client:
        workers = sorted(client.scheduler_info()["workers"])
        client.gather([client.submit(ready, workers=w, pure=False) for w in workers])
        ready_at = time.perf_counter() - start
    cluster.close()
    print(json.dumps({{"ready": ready_at, "closed": time.perf_counter() - start}}))
"""

VARIANTS = {"(a) workers spawned (Dask's default)": True, "(b) forked from a forkserver": False}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    best: dict[str, dict] = {}
    for _ in range(args.rounds):  # interleaved: a change of load affects both alike
        for name, spawn in VARIANTS.items():
            _, cpu, times = timed_python(CHILD.format(spawn=spawn))
            times["cpu"] = cpu
            print(f"{name}: {json.dumps(times)}", file=sys.stderr)
            if name not in best or times["ready"] < best[name]["ready"]:
                best[name] = times
    base = best[next(iter(VARIANTS))]
    rows = [
        [
            name,
            f"{t['ready']:.2f} s",
            f"{base['ready'] / t['ready']:.1f}x",
            f"{t['closed']:.2f} s",
            f"{base['closed'] / t['closed']:.1f}x",
            f"{t['cpu']:.2f} s",
        ]
        for name, t in best.items()
    ]
    header = ["two local workers", "ready", "(a) / this", "closed", "(a) / this", "CPU"]
    print(f"Best of {args.rounds} round(s).\n")
    print(markdown_table(header, rows))
    print(f"load average after: {os.getloadavg()}", file=sys.stderr)


if __name__ == "__main__":
    main()
