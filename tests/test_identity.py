"""Run identity: seeds from a run's content, rows tied to the code that computed them, stored
metrics computed from the store (so asking for one more re-keys nothing), one package version."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import sqlite3
from pathlib import Path

import poisonlab
from poisonlab.experiment.provenance import code_fingerprint, environment, source_digest
from poisonlab.experiment.store import STORE_NAME, ResultStore
from poisonlab.experiment.study import prepare_study, run_study

from .conftest import run_cli

DIGITS = """
[[datasets]]
name = "digits"
split = { train = [0, 300], test = [1000, 1200] }
"""

MNIST = """
[[datasets]]
name = "mnist"
split = { train = [0, 300], test = [60000, 60200] }
"""

GRID = """
[[models]]
name = "svc"

[[attacks]]
name = "label_flip"
params = { source = "1", target = "7", select = "random" }
budget = [10]

[[defenses]]
name = "none"

[[defenses]]
name = "confident_learning"
"""


def study(tmp_path: Path, text: str, name: str = "spec.toml"):
    path = tmp_path / name
    path.write_text(text)
    return prepare_study(path)


def rows(out: Path, **where) -> dict:
    with ResultStore(out, create=False) as store:
        return {r.config["defense"]["name"]: r for r in store.runs(dataset="digits", **where)}


def test_a_run_has_the_same_seed_and_result_alone_or_beside_another_dataset(tmp_path):
    head = 'name = "t"\nseeds = [3]\n'
    alone = study(tmp_path, head + DIGITS + GRID, "alone.toml")
    both = study(tmp_path, head + DIGITS + MNIST + GRID, "both.toml")
    # The run ids differ (a dataset segment appears with two datasets); nothing else does.
    assert alone.runs[0].run_id != both.runs[0].run_id
    run_study(alone, tmp_path / "a")
    run_study(both, tmp_path / "b")
    a, b = rows(tmp_path / "a"), rows(tmp_path / "b")
    assert a.keys() == b.keys() == {"none", "confident_learning"}
    for name in a:
        assert a[name].key == b[name].key
        assert a[name].run_seed == b[name].run_seed
        assert a[name].metrics == b[name].metrics


def test_asking_for_a_stored_metric_computes_it_from_the_store_without_rerunning(tmp_path):
    head = 'name = "t"\n'
    few = study(tmp_path, head + 'metrics = ["accuracy"]\n' + DIGITS + GRID, "few.toml")
    full = study(tmp_path, head + DIGITS + GRID, "full.toml")
    assert [r.key for r in few.runs] == [r.key for r in full.runs]
    run_study(few, tmp_path / "out")
    assert "per_class" not in rows(tmp_path / "out")["none"].metrics
    # per_class, confusion and detection come from the stored arrays; success_rate and
    # certified_accuracy need the model, so the runs run again for them.
    with_stored = study(
        tmp_path, head + 'metrics = ["accuracy", "per_class", "detection"]\n' + DIGITS + GRID
    )
    summary = run_study(with_stored, tmp_path / "out")
    assert (summary.skipped, summary.ok) == (2, 0)
    run_study(full, tmp_path / "fresh")
    completed, fresh = rows(tmp_path / "out"), rows(tmp_path / "fresh")
    for name in fresh:
        for metric in ("accuracy", "per_class", "detection"):
            assert completed[name].metrics[metric] == fresh[name].metrics[metric]
    summary = run_study(full, tmp_path / "out")
    assert (summary.skipped, summary.ok) == (0, 2)


def test_rows_of_other_code_are_stale_hidden_and_recomputed(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text('name = "t"\n' + DIGITS + GRID.split("[[defenses]]")[0])
    out = tmp_path / "out"
    assert run_cli("run", str(spec), "-o", str(out), "--no-report").returncode == 0
    db = sqlite3.connect(out / STORE_NAME)
    with db:
        db.execute("UPDATE runs SET code = 'edited-code'")
    db.close()
    listed = run_cli("results", str(out), "--json")
    assert json.loads(listed.stdout) == [] and "1 stale rows" in listed.stderr
    assert len(json.loads(run_cli("results", str(out), "--include-stale", "--json").stdout)) == 1
    from poisonlab.report.study import load_study

    for include_stale, n in ((False, 0), (True, 1)):
        study_data = load_study(out, include_stale=include_stale)
        study_data.store.close()
        assert len(study_data.runs) == n
    # The stale row is not reused: the rerun computes the run again and replaces it.
    again = run_cli("run", str(spec), "-o", str(out), "--no-report")
    assert again.returncode == 0, again.stderr
    with ResultStore(out, create=False) as store:
        assert store.count_stale() == 0
        [row] = store.runs()
        assert row.code == code_fingerprint()


def test_the_fingerprint_follows_the_source_and_the_libraries(tmp_path):
    package = Path(poisonlab.__file__).parent
    copy = tmp_path / "poisonlab"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert source_digest(copy) == source_digest()
    # Code that only presents results leaves stored rows current...
    for presenting in (copy / "report" / "figures.py", copy / "cli.py"):
        presenting.write_text(presenting.read_text() + "\n# an edit\n")
    assert source_digest(copy) == source_digest()
    # ...code that computes them does not.
    attack = copy / "attacks" / "_label_flip.py"
    attack.write_text(attack.read_text() + "\n# an edit\n")
    assert source_digest(copy) != source_digest()
    versions = environment()
    assert versions["scikit-learn"] == importlib.metadata.version("scikit-learn")
    assert {"python", "numpy", "scipy", "cleanlab", "poisonlab"} <= set(versions)


def test_the_package_version_is_written_in_one_place():
    assert poisonlab.__version__ == importlib.metadata.version("poisonlab")
    package = Path(poisonlab.__file__).parent
    hard_coded = [p for p in package.rglob("*.py") if f'"{poisonlab.__version__}"' in p.read_text()]
    assert hard_coded == []
