"""The results store: exact round trips of rows and arrays, replacement, filters, schema."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from poisonlab.experiment.store import (
    SCHEMA_VERSION,
    STORE_NAME,
    ResultStore,
    RunRecord,
    decode_array,
    encode_array,
    run_key,
)


def _record(budget: int, status: str = "ok", **changes) -> RunRecord:
    config = {"experiment": "t", "attack": {"name": "label_flip", "params": {"budget": budget}}}
    fields = {
        "key": run_key(config),
        "run_id": f"t/svc/label_flip[budget={budget}]/none/seed0",
        "experiment": "t",
        "dataset": "digits",
        "model": "svc",
        "attack": "label_flip",
        "defense": "none",
        "seed": 0,
        "run_seed": 7,
        "budget": budget,
        "status": status,
        "error": None if status == "ok" else "ValueError: boom",
        "config": config,
        "metrics": {"accuracy": 0.5} if status == "ok" else {},
        "timings": {"fit": 0.25, "total": 1.0},
        "fit_seconds": 0.25,
        "total_seconds": 1.0,
        "finished": "2026-01-01T00:00:00Z",
    }
    fields.update(changes)
    return RunRecord(**fields)


@pytest.mark.parametrize(
    "a",
    [
        np.array(["1", "2", "10"]),
        np.arange(6, dtype=np.int64).reshape(2, 3),
        np.array([0.5, -1.25]),
        np.array([True, False, True]),
        np.empty(0, dtype=np.int64),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    ],
)
def test_arrays_round_trip_exactly(a):
    back = decode_array(*encode_array(a))
    assert back.dtype == a.dtype and back.shape == a.shape
    np.testing.assert_array_equal(back, a)


def test_object_arrays_are_refused():
    with pytest.raises(TypeError, match="must not hold objects"):
        encode_array(np.array([{"a": 1}], dtype=object))


def test_run_key_depends_on_config_only():
    assert run_key({"a": 1, "b": 2}) == run_key({"b": 2, "a": 1})
    assert run_key({"a": 1}) != run_key({"a": 2})


def test_stale_rows_are_hidden_and_not_reused(tmp_path):
    # A row computed by other code (another fingerprint) is kept, listed only on request, and
    # not counted as finished, so a rerun computes it again (and replaces it).
    from dataclasses import replace

    stale = replace(_record(10), code="other-code")
    with ResultStore(tmp_path) as store:
        store.write_run(stale)
        store.write_run(_record(20))
        assert [r.budget for r in store.runs()] == [20]
        assert [r.budget for r in store.runs(include_stale=True)] == [10, 20]
        assert store.count_stale() == 1
        assert store.finished_keys() == {_record(20).key}
        assert store.runs()[0].environment["numpy"] == np.__version__


def test_a_version_1_store_is_upgraded_with_its_rows_stale(tmp_path):
    import sqlite3

    with ResultStore(tmp_path) as store:
        store.write_run(_record(10))
    db = sqlite3.connect(tmp_path / STORE_NAME)
    db.executescript(
        "ALTER TABLE runs DROP COLUMN code; ALTER TABLE runs DROP COLUMN environment;"
        "UPDATE meta SET value = '1' WHERE key = 'schema_version';"
    )
    db.close()
    before = (tmp_path / STORE_NAME).read_bytes()
    with ResultStore(tmp_path, create=False) as store:  # read-only: read as version 2
        assert store.meta()["schema_version"] == str(SCHEMA_VERSION)
        assert store.runs() == [] and store.count_stale() == 1
        assert store.runs(include_stale=True)[0].budget == 10
    assert (tmp_path / STORE_NAME).read_bytes() == before
    with ResultStore(tmp_path) as store:  # a writer upgrades the file
        assert store.meta()["schema_version"] == str(SCHEMA_VERSION)
        assert store.runs() == [] and store.count_stale() == 1
        assert store.runs(include_stale=True)[0].budget == 10
    with sqlite3.connect(tmp_path / STORE_NAME) as db:
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION),)


def test_write_and_read_back(tmp_path):
    y_pred = np.array(["1", "2", "2"])
    with ResultStore(tmp_path) as store:
        store.set_meta({"experiment": "t", "spec": "name = 't'\n"})
        store.write_run(_record(10), {"y_pred": y_pred, "poison_indices": np.array([3, 4])})
        store.write_run(_record(0))
    assert (tmp_path / STORE_NAME).exists()
    with ResultStore(tmp_path, create=False) as store:
        assert store.meta()["spec"] == "name = 't'\n"
        assert store.meta()["schema_version"] == str(SCHEMA_VERSION)
        runs = store.runs()
        assert [r.budget for r in runs] == [0, 10]
        assert runs[1] == _record(10)
        arrays = store.arrays(runs[1].key)
        np.testing.assert_array_equal(arrays["y_pred"], y_pred)
        assert arrays["poison_indices"].tolist() == [3, 4]
        assert store.arrays(runs[1].key, ["y_pred"]).keys() == {"y_pred"}
        assert store.runs(budget=10) == [_record(10)]


def test_failed_runs_are_not_finished_and_are_replaced(tmp_path):
    with ResultStore(tmp_path) as store:
        store.write_run(_record(10, status="failed"), {"y_pred": np.array(["1"])})
        assert store.finished_keys() == set()
        assert len(store.runs(status="failed")) == 1
        store.write_run(_record(10), {"poison_indices": np.array([1])})
        assert store.finished_keys() == {_record(10).key}
        assert len(store) == 1
        # The failed row's arrays went with it.
        assert store.arrays(_record(10).key).keys() == {"poison_indices"}


def test_bad_status_and_filters_are_errors(tmp_path):
    with ResultStore(tmp_path) as store:
        with pytest.raises(ValueError, match="status must be one of"):
            store.write_run(_record(1, status="done"))
        with pytest.raises(ValueError, match="cannot filter runs by 'colour'"):
            store.runs(colour="red")


def test_missing_store_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no results store"):
        ResultStore(tmp_path / "nowhere", create=False)


def test_a_transaction_that_fails_leaves_nothing(tmp_path):
    with ResultStore(tmp_path) as store:
        with pytest.raises(TypeError):
            store.write_run(_record(1), {"bad": np.array([object()], dtype=object)})
        assert len(store) == 0


def test_plain_sqlite_reads_the_documented_schema(tmp_path):
    with ResultStore(tmp_path) as store:
        store.write_run(_record(5), {"y_pred": np.array(["3", "4"])})
    db = sqlite3.connect(tmp_path / STORE_NAME)
    (mode,) = db.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"
    run_id, metrics, config = db.execute("SELECT run_id, metrics, config FROM runs").fetchone()
    assert run_id.endswith("/seed0") and json.loads(metrics) == {"accuracy": 0.5}
    assert json.loads(config)["attack"]["params"]["budget"] == 5
    dtype, shape, data = db.execute("SELECT dtype, shape, data FROM arrays").fetchone()
    a = np.frombuffer(data, dtype=np.dtype(dtype)).reshape(json.loads(shape))
    assert a.tolist() == ["3", "4"]
    db.close()


@pytest.mark.slow
def test_the_lab_writes_a_stored_study(tmp_path, mnist):
    from poisonlab.labs.ml106 import run_ml106

    result = run_ml106(poison=[10, 30], out=tmp_path)
    with ResultStore(tmp_path, create=False) as store:
        assert store.meta()["experiment"] == "ml106"
        assert "budget = [0, 10, 30]" in store.meta()["spec"]
        runs = {r.budget: r for r in store.runs()}
        assert sorted(runs) == [0, 10, 30]
        published = {0: (2, 12), 10: (2, 11), 30: (2, 13)}
        for n, (ones, twos) in published.items():
            run = runs[n]
            assert run.status == "ok"
            assert run.run_id == (
                f"ml106/svc/label_flip[source=1,target=2,budget={n},select=first]/none/seed0"
            )
            incorrect = run.metrics["per_class"]["incorrect_by_predicted"]
            assert (incorrect[1], incorrect[2]) == (ones, twos)
            lab_run = next(r for r in result.runs if r.n_poisoned == n)
            arrays = store.arrays(run.key)
            np.testing.assert_array_equal(arrays["y_pred"], lab_run.y_pred)
            assert arrays["poison_indices"].tolist() == lab_run.poison_indices.tolist()
            assert run.metrics["accuracy"] == pytest.approx(lab_run.table.accuracy)
        # 1 of the 126 test '1's is predicted '2' at N = 10 (the attack's success rate).
        assert runs[10].metrics["success_rate"] == pytest.approx(1 / 126)
        # The stored spec is a study whose runs have the lab's keys: `poisonlab run` on it
        # into this directory finds every run finished.
        from poisonlab.experiment.grid import expand
        from poisonlab.experiment.spec import parse_spec

        grid = expand(parse_spec(store.meta()["spec"]))
        assert {r.key for r in grid} == store.finished_keys()
        assert {r.run_id for r in grid} == {r.run_id for r in runs.values()}
