"""Profile: where the CPU of ``poisonlab lab ml106 --poison 0,5,...,220 --json`` goes.

Runs the command in this process under ``cProfile`` with a CPU clock, its sweep on one thread
(``os.cpu_count`` reported as 1, so every run executes in the profiled thread), after importing
scikit-learn (whose import time ``python -X importtime`` shows better). Prints the functions
given with ``--show`` (substrings of ``file:line(function)``) with their calls and cumulative
CPU seconds, as a Markdown table. The profiler's overhead inflates Python-heavy code, so compare
two versions in the same conditions (``PYTHONPATH=OTHER/src`` profiles another checkout):

    .venv/bin/python benchmarks/profile_lab.py [--show fixed_threads,measure_stored,...]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import sys
import time

SHOW = (
    "cli.py:",  # main: the whole command
    "(run_sweep)",
    "(fit_binary)",
    "(_pair_gram)",
    "(_execute)",
    "(fixed_threads)",
    "(measure_stored)",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", default=",".join(SHOW), help="comma-separated substrings")
    parser.add_argument("--label", default="this checkout", help="says which code, above the table")
    args = parser.parse_args()
    import sklearn.svm  # noqa: F401 - outside the profile: scikit-learn's own start-up

    from poisonlab.cli import main as poisonlab

    os.cpu_count = lambda: 1  # the runner's batch threads: every run in this thread
    budgets = ",".join(map(str, range(0, 221, 5)))
    sys.argv = ["poisonlab", "lab", "ml106", "--poison", budgets, "--json"]
    profile = cProfile.Profile(time.process_time)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        profile.runcall(poisonlab)
    stats = pstats.Stats(profile).stats
    print(f"{args.label}:\n")
    print("| function | calls | cumulative CPU |")
    print("| --- | ---: | ---: |")
    for wanted in args.show.split(","):
        for (path, line, name), (_, calls, _, cumulative, _) in stats.items():
            where = f"{os.path.basename(path)}:{line}({name})"
            if wanted in where and (wanted != "cli.py:" or name == "main"):
                print(f"| `{where}` | {calls} | {cumulative:.3f} s |")
    print()


if __name__ == "__main__":
    main()
