"""A sweep holds one batch of run descriptions, not its grid: the grid is read by index
arithmetic (:class:`~poisonlab.experiment.grid.Grid`), the runner looks its rows up a chunk at a
time and the backends take batches as workers free up. The grid it reads is the one the eager
expansion built, run for run."""

from __future__ import annotations

import gc
import hashlib
import itertools
import tracemalloc
from pathlib import Path

import pytest

from poisonlab.experiment import runner
from poisonlab.experiment.grid import RunSpec, expand
from poisonlab.experiment.plan import iter_batches
from poisonlab.experiment.runner import pending_runs, run_sweep
from poisonlab.experiment.spec import load_spec, parse_spec
from poisonlab.experiment.store import ResultStore

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

HUGE = """name = "huge"
repetitions = 1000000
max_runs = 2000000
[dataset]
name = "digits"
split = { train = [0, 120], test = [120, 200] }
[[models]]
name = "logreg"
[[attacks]]
name = "random_flip"
budget = 5
"""

# sha256 of every run's (id, key, seeds, origin, metrics) in grid order, as the eager
# expansion of commit a498489 (a list of RunSpec) gave them. paper_study.toml has since moved its
# budgets to `fraction =`: the same ids, keys and seeds, origins `.fraction[j]` for `.budget[j]`.
BEFORE = {
    "alfa.toml": (4, "3fdce86a24d11d36"),
    "backdoor.toml": (24, "917463a1d1b5e13c"),
    "defenses.toml": (16, "075f98059027ca5e"),
    "ml106.toml": (45, "39960aef3f1ded64"),
    "paper_study.toml": (162, "7ea074ff8752599d"),
    "random_flip.toml": (80, "e687fc4ac9784f69"),
    "regularization.toml": (20, "68e4d17d7634175f"),
}


def grid_digest(runs) -> str:
    h = hashlib.sha256()
    for r in runs:
        fields = (r.run_id, r.key, r.run_seed, r.attack_seed, sorted(r.origin.items()), r.metrics)
        h.update(repr(fields).encode())
    return h.hexdigest()[:16]


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_the_lazy_grid_is_the_eager_one_run_for_run(name):
    spec, _ = load_spec(EXAMPLES / name)
    grid = expand(spec)
    assert (len(grid), grid_digest(grid)) == BEFORE[name]
    assert [grid[i] for i in range(len(grid))] == list(grid)  # index arithmetic = iteration
    assert grid[-1] == grid[len(grid) - 1] and grid[1:3] == [grid[1], grid[2]]


def test_a_million_run_grid_is_counted_and_indexed_without_building_it():
    tracemalloc.start()
    grid = expand(parse_spec(HUGE))
    assert len(grid) == 1_000_000
    last = grid[999_999]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert last.seed == 999_999
    assert last.run_id == "huge/logreg/random_flip[budget=5]/none/seed999999"
    assert peak < 2**20  # a list of the runs would take some 4 GB


def _peak_reading(grid, store, n_runs: int) -> int:
    """Peak bytes allocated while the runner's pipeline (pending runs, then batches) reads the
    first ``n_runs`` runs of ``grid``."""
    gc.collect()
    tracemalloc.start()
    for _ in iter_batches(itertools.islice(pending_runs(grid, store, force=False), n_runs)):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_reading_more_of_the_grid_does_not_take_more_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "CHUNK_RUNS", 40)
    grid = expand(parse_spec(HUGE))
    with ResultStore(tmp_path / "store") as store:
        _peak_reading(grid, store, 40)  # warm the caches (estimator check, registries)
        small, large = _peak_reading(grid, store, 200), _peak_reading(grid, store, 1_000)
    # Five times the runs; an eager list would take five times the memory.
    assert large < 1.5 * small, (small, large)


def test_a_sweep_holds_a_chunk_and_a_batch_of_runs_not_its_grid(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "CHUNK_RUNS", 4)
    text = HUGE.replace("repetitions = 1000000", "repetitions = 24")
    grid = expand(parse_spec(text))
    alive: list[int] = []

    def count_alive(record) -> None:
        alive.append(sum(isinstance(o, RunSpec) for o in gc.get_objects()))

    with ResultStore(tmp_path / "store") as store:
        summary = run_sweep(grid, store, on_result=count_alive)
    assert summary.ok == 24 and len(alive) == 24
    assert max(alive) <= 4 + 1, alive  # the chunk being read and the run being executed
