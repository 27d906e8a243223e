"""What the benchmark scripts share: timing a whole process, and printing a Markdown table.

Every script prints its results as Markdown tables on stdout (progress goes to stderr), so
``tools/docs.py`` can paste them into ``docs/benchmarks.md`` between markers.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence


def timed_process(command: Sequence[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of one whole process; its failure is an error.

    CPU is user + system time of the process and its children: what it computed, whoever else
    shares the cores, where the wall time also holds its waits for a core.
    """
    _adopt_orphans()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(list(command), capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - start
    _reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise SystemExit(f"FAILED ({done.returncode}): {' '.join(command)}\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def _adopt_orphans() -> None:
    """Make this process the parent of its descendants that outlive their own parent
    (Linux's ``PR_SET_CHILD_SUBREAPER``): a multiprocessing forkserver, and through it forked
    Dask workers, outlives ``poisonlab run --dask-local``; adopted and reaped, their CPU time
    counts in the command's. Elsewhere a no-op."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux
        ctypes.CDLL(None).prctl(36, 1)  # 36 = PR_SET_CHILD_SUBREAPER


def _reap_orphans() -> None:
    """Wait for every adopted descendant to end (a forkserver ends when its parent has)."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def timed_python(code: str) -> tuple[float, float, dict]:
    """(wall, CPU, the JSON on its last line) of ``python -c code``."""
    wall, cpu, out = timed_process([sys.executable, "-c", code])
    return wall, cpu, json.loads(out.strip().splitlines()[-1])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table of ``rows`` (each as long as ``header``), cells as given."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(str(cell) for cell in line) + " |" for line in lines)


def progress(message: str) -> None:
    """A progress line on stderr (stdout holds only the tables)."""
    print(message, file=sys.stderr, flush=True)
