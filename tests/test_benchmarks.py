"""The benchmark scripts still run: each answers ``--help``, and those with a small size run
once at it, each through a subprocess as a user runs them (a merge once broke
``bench_parallel.py`` silently: nothing ran it). No timing is checked here; the scripts time.
Slow: some import scikit-learn and the attacks at module level, and a tiny run still starts
several processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))

pytestmark = pytest.mark.slow

TINY_SPEC = """
name = "tiny"

[dataset]
name = "digits"
split = { train = [0, 300], test = [1500, 1600] }

[[models]]
name = "svc"

[[attacks]]
name = "label_flip"
params = { source = "1", target = "2", select = "first" }
budget = [0, 5]
"""


def _script(name: str, *args: str, cwd: Path | None = None) -> str:
    """Run ``benchmarks/NAME ARGS`` with this Python; its stdout, or the failure's stderr."""
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_every_benchmark_answers_help(script):
    assert "usage:" in _script(script.name, "--help")


def test_bench_parallel_on_a_tiny_study(tmp_path):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY_SPEC)
    table = _script("bench_parallel.py", str(spec), "--skip-dask")
    assert "| `poisonlab run` |" in table and "| `poisonlab run -j 2` |" in table


def test_bench_dask_startup_one_round():
    table = _script("bench_dask_startup.py", "--rounds", "1")
    assert "(a) workers spawned" in table and "(b) forked from a forkserver" in table


def test_bench_full_mnist_at_a_tiny_size():
    out = _script(
        "bench_full_mnist.py",
        *("--train-size", "300", "--test-size", "50", "--budgets", "0,10", "--memory-gb", "0.01"),
    )
    assert "every prediction equal" in out
