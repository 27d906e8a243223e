"""The runner: deterministic stores, the fast path equal to plain fits, failures recorded and
retried, resumption (including after a real ``kill -9``), local workers and a Dask cluster."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from poisonlab.experiment.plan import plan_batches
from poisonlab.experiment.runner import run_sweep
from poisonlab.experiment.store import STORE_NAME, ResultStore
from poisonlab.experiment.study import prepare_study, run_study

from .conftest import POISONLAB, run_cli

SPEC = """
name = "t"
seeds = [0, 1]

[dataset]
name = "digits"
split = { train = [0, 400], test = [1000, 1300] }

[[models]]
name = "svc"

[[models]]
name = "knn"

[[attacks]]
name = "label_flip"
params = { source = "1", target = "7", select = "random" }
budget = [0, 15]

[[defenses]]
name = "none"

[[defenses]]
name = "knn_label"
params = { n_neighbors = 5, n_components = 10 }
"""


def study_of(tmp_path: Path, text: str = SPEC, name: str = "spec.toml"):
    path = tmp_path / name
    path.write_text(text)
    return prepare_study(path)


def snapshot(directory: Path) -> dict:
    """Everything a run computed, by key: row fields except timings, and its arrays."""
    with ResultStore(directory, create=False) as store:
        out = {}
        for r in store.runs():
            arrays = {k: (v.dtype.str, v.tolist()) for k, v in store.arrays(r.key).items()}
            out[r.key] = (r.run_id, r.status, r.error, r.budget, r.run_seed, r.metrics, arrays)
        return out


def test_same_spec_and_seeds_give_identical_stores(tmp_path):
    study = study_of(tmp_path)
    a = run_study(study, tmp_path / "a")
    b = run_study(study, tmp_path / "b")
    assert (a.total, a.ok, a.failed) == (16, 16, 0) and b.ok == 16
    first, second = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    assert first == second
    # The seeds matter: random flips differ between seed0 and seed1.
    by_id = {v[0]: v for v in first.values()}
    flipped = [
        by_id[f"t/svc/label_flip[source=1,target=7,budget=15,select=random]/none/seed{s}"][6][
            "poison_indices"
        ][1]
        for s in (0, 1)
    ]
    assert len(flipped[0]) == 15 and flipped[0] != flipped[1]


def test_shared_kernel_path_equals_plain_fits(tmp_path):
    study = study_of(tmp_path)
    svc_runs = [r for r in study.runs if r.model == "svc"]
    batches = plan_batches(svc_runs)
    assert len(batches) == 1 and batches[0].shared and len(batches[0].runs) == 8
    # Over a memory budget the fast path stays, its kernel computed in blocks on demand.
    [small] = plan_batches(svc_runs, memory_budget=1000)
    assert small.shared and small.memory_limit == 1000
    with ResultStore(tmp_path / "fast") as store:
        run_sweep(svc_runs, store)
    with ResultStore(tmp_path / "plain") as store:
        run_sweep(svc_runs, store, fast_path=False)
    with ResultStore(tmp_path / "blocks") as store:
        run_sweep(svc_runs, store, memory_budget=1000)
    fast, plain = snapshot(tmp_path / "fast"), snapshot(tmp_path / "plain")
    assert fast == plain == snapshot(tmp_path / "blocks")
    # The knn_label runs dropped rows, which the shared path fits on a subset of its kernel.
    n_train = {v[0]: v[5]["n_train"] for v in fast.values()}
    assert any(n < 400 for i, n in n_train.items() if "knn_label" in i)


def test_a_shared_kernel_group_is_handed_out_when_the_next_model_begins(tmp_path):
    # Not at the end of the sweep, where one worker would fit it while the others wait.
    batches = plan_batches(study_of(tmp_path).runs)
    assert [len(b.runs) for b in batches] == [8] + [1] * 8
    assert batches[0].shared and {b.runs[0].model for b in batches[1:]} == {"knn"}


def test_metrics_of_a_run(tmp_path):
    study = study_of(tmp_path)
    run_study(study, tmp_path / "o")
    with ResultStore(tmp_path / "o", create=False) as store:
        (run,) = store.runs(
            run_id="t/knn/label_flip[source=1,target=7,budget=15,select=random]/"
            "knn_label[n_neighbors=5,n_components=10]/seed0"
        )
        arrays = store.arrays(run.key)
    m = run.metrics
    y_pred = arrays["y_pred"]
    from poisonlab.datasets import load

    y_test = load("digits").y[1000:1300]
    assert m["accuracy"] == pytest.approx(np.mean(y_pred == y_test))
    pc = m["per_class"]
    assert sum(pc["correct"]) + sum(pc["incorrect_by_predicted"]) == 300
    assert sum(pc["missed_by_true"]) == sum(pc["incorrect_by_predicted"])
    assert np.trace(np.array(m["confusion"])) == sum(pc["correct"])
    ones = y_test == "1"
    assert m["success_rate"] == pytest.approx(np.mean(y_pred[ones] == "7"))
    d = m["detection"]
    flagged = arrays["detector_flagged"]
    truth = np.isin(np.arange(400), arrays["poison_indices"])
    assert d["n_flagged"] == flagged.sum() and d["n_poisoned"] == 15
    assert d["recall"] == pytest.approx((flagged & truth).sum() / 15)
    assert m["n_train"] == 400 - flagged.sum() == sum(pc["train_counts"])
    assert run.timings.keys() >= {"poison", "detect", "fit", "metrics", "total"}
    assert run.config["defense"]["sanitize"] is True


def test_failures_are_recorded_retried_and_never_cached(tmp_path, monkeypatch):
    # Parameters refused together fail before the sweep (tests/test_errors_combinations.py); a
    # fit that fails only in the runs (as one depending on the poisoned data may) is recorded.
    from sklearn.base import BaseEstimator, ClassifierMixin

    from poisonlab.experiment import execute

    class Refuses(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            raise ValueError("the 'penalty' of this model is refused at fit")

    real = execute.make_estimator
    monkeypatch.setattr(
        execute, "make_estimator", lambda c: Refuses() if c["name"] == "knn" else real(c)
    )
    study = study_of(tmp_path)
    first = run_study(study, tmp_path / "o")
    assert (first.ok, first.failed) == (8, 8)
    with ResultStore(tmp_path / "o", create=False) as store:
        failed = store.runs(status="failed")
        assert len(failed) == 8 and all(r.model == "knn" for r in failed)
        assert "ValueError" in failed[0].error and "penalty" in failed[0].error
        assert failed[0].metrics == {} and store.arrays(failed[0].key) == {}
    executed = []
    again = run_study(study, tmp_path / "o", on_result=lambda r: executed.append(r.run_id))
    assert (again.skipped, again.failed) == (8, 8)
    assert sorted(executed) == sorted(r.run_id for r in failed)


def test_a_grown_grid_runs_only_its_new_runs(tmp_path):
    small = study_of(tmp_path, SPEC.replace("[0, 15]", "[0]"), "small.toml")
    run_study(small, tmp_path / "o")
    before = snapshot(tmp_path / "o")
    big = study_of(tmp_path, SPEC, "big.toml")
    executed = []
    summary = run_study(big, tmp_path / "o", on_result=lambda r: executed.append(r.run_id))
    assert summary.skipped == 8 and len(executed) == 8
    assert all("budget=15" in i for i in executed)
    after = snapshot(tmp_path / "o")
    assert {k: after[k] for k in before} == before
    forced = run_study(big, tmp_path / "o", force=True)
    assert forced.ok == 16 and snapshot(tmp_path / "o") == after


def test_a_store_of_another_study_is_refused(tmp_path):
    run_study(study_of(tmp_path, SPEC.replace("[0, 15]", "[0]")), tmp_path / "o")
    other = study_of(tmp_path, SPEC.replace('name = "t"', 'name = "u"'), "u.toml")
    with pytest.raises(ValueError, match="holds the study 't', not 'u'"):
        run_study(other, tmp_path / "o")


def _parallel_matches_serial(tmp_path: Path, **parallel) -> None:
    # Without the detector: worker start-up, not the runs, is what these tests pay for.
    study = study_of(tmp_path, SPEC[: SPEC.index("[[defenses]]")])
    assert len(study.runs) == 8
    run_study(study, tmp_path / "serial")
    run_study(study, tmp_path / "parallel", **parallel)
    assert snapshot(tmp_path / "parallel") == snapshot(tmp_path / "serial")


@pytest.mark.slow
def test_local_worker_processes_store_what_serial_stores(tmp_path):
    _parallel_matches_serial(tmp_path, n_jobs=2)


@pytest.mark.slow
def test_a_dask_cluster_stores_what_serial_stores(tmp_path):
    from distributed import LocalCluster

    # Two worker processes on the loopback interface, reached by address as --dask does.
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        _parallel_matches_serial(tmp_path, dask=cluster.scheduler_address)


# 56 runs of the lab's set-up on the shared-kernel path, each written as it finishes.
KILL_SPEC = """
name = "k"

[dataset]
name = "mnist"
split = { train = [0, 2000], test = [60000, 61000] }

[[models]]
name = "svc"

[[attacks]]
name = "label_flip"
params = { source = "1", target = "2", select = "first" }
budget = { start = 0, stop = 220, step = 4 }
"""


def _ok_rows(db_path: Path) -> dict[str, float]:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute("SELECT key, total_seconds FROM runs WHERE status = 'ok'").fetchall()
    except sqlite3.OperationalError:  # the schema is not there yet
        rows = []
    finally:
        db.close()
    return dict(rows)


@pytest.mark.slow
def test_kill_9_mid_sweep_then_resume_loses_and_recomputes_nothing(tmp_path):
    spec = tmp_path / "k.toml"
    spec.write_text(KILL_SPEC)
    out = tmp_path / "o"
    db_path = out / STORE_NAME
    proc = subprocess.Popen(
        [POISONLAB, "run", str(spec), "-o", str(out), "--no-report"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if db_path.exists() and len(_ok_rows(db_path)) >= 10:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    survived = _ok_rows(db_path)
    assert 10 <= len(survived) < 56
    with ResultStore(out, create=False) as store:
        for key in survived:  # every committed row is whole: its arrays are there
            assert store.arrays(key).keys() >= {"poison_indices", "y_pred"}
    again = run_cli("run", str(spec), "-o", str(out), "--no-report")
    assert again.returncode == 0, again.stderr
    assert f"{len(survived)} already finished" in again.stdout
    final = _ok_rows(db_path)
    assert len(final) == 56
    # No finished run was recomputed: its row, down to the measured time, is unchanged.
    assert {k: final[k] for k in survived} == survived
    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()


@pytest.mark.slow
def test_run_and_results_commands(tmp_path):
    spec = tmp_path / "t.toml"
    spec.write_text(SPEC.replace("seeds = [0, 1]", "seeds = [0]"))
    out = tmp_path / "o"
    proc = run_cli("run", str(spec), "-o", str(out), "--no-report")
    assert proc.returncode == 0, proc.stderr
    assert "8 runs: 8 ok, 0 failed, 0 already finished" in proc.stdout
    csv_text = run_cli("results", str(out), "--format", "csv", "--where", "model=svc").stdout
    lines = csv_text.splitlines()
    assert lines[0].startswith("run_id,status,dataset,model,attack,defense,seed,budget,accuracy")
    assert len(lines) == 5 and all(",svc," in line for line in lines[1:])
    runs = json.loads(run_cli("results", str(out), "--format", "json", "--status", "ok").stdout)
    assert len(runs) == 8 and {"config", "metrics", "timings"} <= runs[0].keys()
    bad = run_cli("results", str(out), "--where", "colour=red")
    assert bad.returncode == 2 and "cannot filter runs by 'colour'" in bad.stderr


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))


@pytest.mark.slow
def test_the_ml106_example_reproduces_the_lab(tmp_path, mnist):
    from poisonlab.labs.ml106 import run_ml106

    study = prepare_study(Path(__file__).parents[1] / "examples" / "ml106.toml")
    summary = run_study(study, tmp_path)
    assert (summary.total, summary.ok) == (45, 45)
    lab = {r.n_poisoned: r for r in run_ml106(poison=range(0, 221, 5)).runs}
    with ResultStore(tmp_path, create=False) as store:
        runs = {r.budget: r for r in store.runs()}
        assert sorted(runs) == sorted(lab) == list(range(0, 221, 5))
        for n, run in runs.items():
            assert (
                run.metrics["per_class"]["incorrect_by_predicted"]
                == lab[n].table.incorrect.tolist()
            )
            np.testing.assert_array_equal(store.arrays(run.key)["y_pred"], lab[n].y_pred)
    published = {0: (2, 12), 10: (2, 11), 30: (2, 13)}  # incorrect 1's and 2's, by predicted class
    for n, counts in published.items():
        incorrect = runs[n].metrics["per_class"]["incorrect_by_predicted"]
        assert (incorrect[1], incorrect[2]) == counts


def test_a_certified_model_reports_certified_accuracy(tmp_path):
    text = SPEC.replace(
        'name = "knn"',
        'name = "partition_ensemble"\nparams = { n_partitions = 5, estimator = { name = "knn" } }',
    )
    study = study_of(tmp_path, text[: text.index("[[defenses]]")].replace("[0, 1]", "[0]"))
    run_study(study, tmp_path / "o")
    with ResultStore(tmp_path / "o", create=False) as store:
        runs = {r.model: r for r in store.runs(budget=15)}
    ensemble = runs['partition_ensemble[n_partitions=5,estimator={"name":"knn"}]']
    table = ensemble.metrics["certified_accuracy"]
    assert [row["radius"] for row in table] == [0, 1, 2]
    assert table[0]["certified_accuracy"] == pytest.approx(ensemble.metrics["accuracy"])
    assert table[2]["n_certified"] <= table[1]["n_certified"] <= table[0]["n_certified"]
    assert runs["svc"].metrics["certified_accuracy"] is None


BACKDOOR_SPEC = """
name = "b"

[dataset]
name = "digits"
split = { train = [0, 400], test = [1000, 1300] }

[[models]]
name = "knn"

[[attacks]]
name = "backdoor"
params = { target = "0", size = 2 }
budget = [40]

[[defenses]]
name = "none"

[[defenses]]
name = "strip"
params = { n_blends = 4, n_calibration = 100 }
"""


def test_backdoor_success_and_a_test_time_detector(tmp_path):
    run_study(study_of(tmp_path, BACKDOOR_SPEC), tmp_path / "o")
    with ResultStore(tmp_path / "o", create=False) as store:
        runs = {r.defense: r for r in store.runs()}
        arrays = {d: store.arrays(r.key) for d, r in runs.items()}
    assert all(r.status == "ok" for r in runs.values()), [r.error for r in runs.values()]
    none = runs["none"]
    y_test = np.array(__import__("poisonlab.datasets").datasets.load("digits").y[1000:1300])
    triggered = arrays["none"]["y_pred_triggered"]
    others = y_test != "0"
    assert none.metrics["success_rate"] == pytest.approx(np.mean(triggered[others] == "0"))
    # STRIP scores the 300 clean test inputs, then their 300 triggered copies (the poisons).
    strip = runs["strip"].metrics["detection"]
    assert len(arrays["strip"]["detector_scores"]) == 600 and strip["n_poisoned"] == 300
    assert strip["n_flagged"] == int(arrays["strip"]["detector_flagged"].sum())
    # STRIP leaves training alone: the model, and so its predictions, are the undefended ones.
    np.testing.assert_array_equal(arrays["strip"]["y_pred"], arrays["none"]["y_pred"])
