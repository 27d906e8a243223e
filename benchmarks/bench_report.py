"""Benchmark: ``poisonlab report`` on 45-, 162- and 1,000-run studies, as whole processes.

The studies are run once (``poisonlab run --no-report -j 2``, not timed here; reused with
``--keep DIR``):

(a) ``examples/ml106.toml``: 45 runs, the ML 106 sweep N = 0, 5, ..., 220 on MNIST (one seed,
    no defense): metric, per-class, confusion and gallery figures;
(b) ``examples/paper_study.toml``: 162 runs on digits (2 models x 9 attack budgets x 3 defenses
    x 3 seeds): every figure but the backdoor and certified ones, with intervals, paired
    differences and detector curves;
(c) a 1,000-run digits study: 2 models x 2 attacks x 10 budgets x 5 defenses (none and
    knn_label with 5, 10, 15 or 20 neighbours: cheap detectors, so the study is quick to make)
    x 5 seeds on 300 training rows.

For each, whole processes are timed: the baseline ``poisonlab results DIR --format json``
(start-up and reading the same store), then ``poisonlab report DIR --quiet`` (HTML) and
``--format png``. Printed as a Markdown table (progress on stderr): the medians over
``--repeat`` runs of the wall time and the CPU time (user + system, which depends less on what
else the shared machine runs), their ratios to the baseline's, and the size of
``index.html``.

With ``--before REV``, the same commands are also timed with the code of git revision REV
(its ``src/`` extracted with ``git archive`` and put first on ``PYTHONPATH``), in the same
invocation, so the ratio between the two does not depend on the machine's load.

    .venv/bin/python benchmarks/bench_report.py [--repeat 3] [--keep DIR] [--only NAME,...]
        [--before REV]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _process import markdown_table, progress, timed_process

ROOT = Path(__file__).resolve().parent.parent
POISONLAB = str(Path(sys.executable).parent / "poisonlab")

THOUSAND_SPEC = """
name = "thousand"
seeds = [0, 1, 2, 3, 4]

[dataset]
name = "digits"
split = { train_size = 300, test_size = 300, seed = 0 }

[[models]]
name = "svc"

[[models]]
name = "logreg"

[[attacks]]
name = "label_flip"
params = { source = "1", target = "7", select = "random" }
budget = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]

[[attacks]]
name = "random_flip"
budget = [0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18]

[[defenses]]
name = "none"

[[defenses]]
name = "knn_label"
sweep = { n_neighbors = [5, 10, 15, 20] }
"""


def run(*args: str) -> float:
    """Wall seconds of one whole process."""
    return timed(*args)[0]


def timed(*args: str, src: Path | None = None) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one whole process (the package from ``src``
    when given)."""
    env = dict(os.environ)
    command = [POISONLAB, *args]
    if src is not None:
        env["PYTHONPATH"] = str(src)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        command = [sys.executable, "-m", "poisonlab", *args]
    wall, cpu, _ = timed_process(command, env)
    return wall, cpu


def prepare(work: Path, only: list[str] | None) -> dict[str, Path]:
    spec = work / "thousand.toml"
    spec.write_text(THOUSAND_SPEC)
    specs = {
        "ml106": ROOT / "examples" / "ml106.toml",
        "paper": ROOT / "examples" / "paper_study.toml",
        "thousand": spec,
    }
    studies = {}
    for name, path in specs.items():
        if only and name not in only:
            continue
        out = work / name
        seconds = run("run", str(path), "-o", str(out), "--no-report", "-j", "2")
        # Finished runs are skipped, so with --keep a second invocation reuses the studies.
        progress(f"study {name}: ready in {seconds:.1f} s (not part of the benchmark)")
        studies[name] = out
    return studies


def extract(revision: str, work: Path) -> Path:
    """``src/`` of a git revision, extracted under ``work``."""
    target = work / f"src-{revision}"
    if not target.exists():
        target.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "src"


def time_study(
    name: str, out: Path, repeat: int, revision: str | None, before: Path | None
) -> list[list[str]]:
    """Table rows for one study: the medians over ``repeat`` runs of each command."""
    html = ["report", str(out), "--quiet"]
    png = ["report", str(out), "--format", "png", "--quiet"]
    variants = {
        "`poisonlab results DIR --format json` (baseline)": (
            ["results", str(out), "--format", "json"],
            None,
        ),
        "`poisonlab report DIR` (html)": (html, None),
        "`poisonlab report DIR --format png`": (png, None),
    }
    if before is not None:
        variants[f"html at {revision}"] = (html, before)
        variants[f"png at {revision}"] = (png, before)
    samples: dict[str, list] = {v: [] for v in variants}
    sizes = {}
    # Variants alternate within each repetition, so the load weighs on all alike.
    for _ in range(repeat):
        for variant, (argv, src) in variants.items():
            samples[variant].append(timed(*argv, src=src))
            progress(f"{name}, {variant}: {samples[variant][-1][0]:.1f} s")
            if argv is html:
                sizes[variant] = (out / "report" / "index.html").stat().st_size
    medians = {
        variant: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
        for variant, values in samples.items()
    }
    base_wall, base_cpu = next(iter(medians.values()))
    rows = []
    for variant, (wall, cpu) in medians.items():
        size = f"{sizes[variant] / 1e6:.2f} MB" if variant in sizes else ""
        rows.append(
            [
                name if not rows else "",
                variant,
                f"{wall:.2f} s",
                f"{cpu:.2f} s",
                f"{wall / base_wall:.1f}",
                f"{cpu / base_cpu:.1f}",
                size,
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Keep the studies here (reused if present).")
    parser.add_argument("--only", help="Comma-separated studies: ml106, paper, thousand.")
    parser.add_argument("--before", help="Also time the report of this git revision.")
    args = parser.parse_args()
    only = args.only.split(",") if args.only else None
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        studies = prepare(work, only)
        before = None if args.before is None else extract(args.before, work)
        rows = []
        for name, out in studies.items():
            rows += time_study(name, out, args.repeat, args.before, before)
        header = [
            "study",
            "command",
            "wall",
            "CPU",
            "wall / baseline",
            "CPU / baseline",
            "index.html",
        ]
        print(markdown_table(header, rows))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
