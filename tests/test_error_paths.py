"""Every error path through the real entry point: one line, the documented exit status, no
input changed, nothing half-written (docs/reliability.md lists which test proves what)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .test_hostile_input import assert_clean_outcome, digest, run_cli

SMALL = """name = "t"
seeds = [0]
[dataset]
name = "digits"
split = {{ train = [0, 120], test = [120, 200] }}
[[models]]
name = "{model}"
{model_params}
[[attacks]]
name = "none"
"""


def small_spec(tmp_path: Path, model: str = "logreg", model_params: str = "", **extra) -> Path:
    text = SMALL.format(model=model, model_params=model_params)
    text = "".join(f"{key} = {value}\n" for key, value in extra.items()) + text
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def one_error_line(code: int, stderr: str, *fragments: str) -> None:
    """Status 2 and exactly one ``poisonlab: error:`` line holding every fragment."""
    assert code == 2, (code, stderr)
    assert_clean_outcome(code, stderr)
    for fragment in fragments:
        assert fragment in stderr, (fragment, stderr)


# ------------------------------------------------------------------------- exit statuses


def test_run_exits_1_when_a_run_failed(tmp_path, monkeypatch):
    from poisonlab.experiment import execute

    def broken(*args, **kwargs):
        raise RuntimeError("every run fails")

    monkeypatch.setattr(execute, "_execute", broken)
    code, _, stderr = run_cli("run", str(small_spec(tmp_path)), "-o", str(tmp_path / "o"))
    assert code == 1, stderr
    assert "Traceback" not in stderr and "--status failed" in stderr


def test_run_exits_0_when_every_run_is_ok(tmp_path):
    code, stdout, stderr = run_cli(
        "run", str(small_spec(tmp_path)), "-o", str(tmp_path / "o"), "--no-report"
    )
    assert code == 0, stderr
    assert "1 ok, 0 failed" in stdout


def test_an_interrupt_says_how_many_runs_were_kept_and_exits_130(tmp_path, monkeypatch):
    from poisonlab.experiment import study

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(study, "run_sweep", interrupted)
    code, _, stderr = run_cli("run", str(small_spec(tmp_path)), "-o", str(tmp_path / "o"))
    assert code == 130
    assert stderr.count("\n") == 1 and "0 runs" in stderr and "resume" in stderr


# ------------------------------------------------------------------ specs refused up front


@pytest.mark.parametrize(
    ("model", "params", "fragments"),
    [
        ("sklearn.linear_model.LinearRegression", "", ["models[0]", "not a classifier"]),
        ("svc", 'params = { C = "big" }', ["models[0].params", "'C'", "big"]),
        ("knn", "params = { n_neighbors = 100000 }", ["models[0].params", "n_neighbors", "120"]),
        ("logreg", "sweep = { C = [1.0, -1.0] }", ["models[0].sweep.C[1]", "'C'"]),
    ],
)
def test_model_parameters_are_checked_before_anything_runs(tmp_path, model, params, fragments):
    out = tmp_path / "o"
    code, _, stderr = run_cli("run", str(small_spec(tmp_path, model, params)), "-o", str(out))
    one_error_line(code, stderr, *fragments)
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"repetitions": "0"}, "repetitions"),
        ({"repetitions": "-3"}, "repetitions"),
        ({"repetitions": "100000000"}, "max_runs"),
    ],
)
def test_empty_or_huge_studies_are_refused_in_one_line(tmp_path, extra, fragment):
    spec = small_spec(tmp_path, **extra)
    spec.write_text(spec.read_text().replace("seeds = [0]\n", ""))
    code, _, stderr = run_cli("run", str(spec), "-o", str(tmp_path / "o"))
    one_error_line(code, stderr, fragment)


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("seeds = [0]", "seeds = []", "seeds"),
        ('[[models]]\nname = "logreg"\n', "models = []\n", "models"),
        ('[[attacks]]\nname = "none"\n', "attacks = []\n", "attacks"),
        ('name = "t"', 'name = ".."', "name"),
        ('name = "t"', 'name = "a/b"', "name"),
    ],
)
def test_broken_specs_are_one_line(tmp_path, old, new, fragment):
    spec = small_spec(tmp_path)
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))
    if new.startswith(("models", "attacks")):  # a key of the top table: before any [table]
        spec.write_text(new + spec.read_text().replace(new, ""))
    code, _, stderr = run_cli("run", str(spec), "-o", str(tmp_path / "o"))
    one_error_line(code, stderr, fragment)
    assert not (tmp_path / "o").exists() and not (tmp_path.parent / "results.sqlite").exists()


def test_a_grid_above_max_runs_is_refused_and_the_limit_overridable(tmp_path):
    spec = small_spec(tmp_path)
    spec.write_text(spec.read_text().replace("seeds = [0]", "seeds = [0, 1, 2]"))
    code, _, stderr = run_cli("run", str(spec), "--max-runs", "2", "-o", str(tmp_path / "o"))
    one_error_line(code, stderr, "3 runs", "max_runs = 2")
    code, _, stderr = run_cli("run", str(spec), "--max-runs", "0")
    one_error_line(code, stderr, "--max-runs", "0")


def test_a_budget_range_with_step_0_names_the_step(tmp_path):
    spec = small_spec(tmp_path)
    text = spec.read_text().replace(
        '[[attacks]]\nname = "none"\n',
        '[[attacks]]\nname = "label_flip"\nbudget = { start = 0, stop = 10, step = 0 }\n',
    )
    spec.write_text(text)
    code, _, stderr = run_cli("run", str(spec))
    one_error_line(code, stderr, "attacks[0].budget.step", "at least 1")


def test_deeply_nested_brackets_are_one_line(tmp_path):
    spec = tmp_path / "deep.toml"
    spec.write_text("x = " + "[" * 2000 + "]" * 2000 + "\n")
    code, _, stderr = run_cli("run", str(spec))
    one_error_line(code, stderr, "nested too deeply")


# ------------------------------------------------------------------------------- stores


def test_reading_commands_refuse_a_file_that_is_not_a_store_and_leave_it(tmp_path):
    notes = tmp_path / "notes"
    notes.write_text("my notes\n" * 100)
    before = digest(notes)
    for command in ("results", "report"):
        code, _, stderr = run_cli(command, str(notes))
        one_error_line(code, stderr, str(notes))
        assert "not a poisonlab results store" in stderr or "is not a directory" in stderr
    assert digest(notes) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]


def test_reading_commands_refuse_an_sqlite_file_that_is_not_a_store(tmp_path):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    before = digest(other)
    code, _, stderr = run_cli("results", str(other))
    one_error_line(code, stderr, "not a poisonlab results store")
    assert digest(other) == before


def test_results_opens_the_store_read_only(tmp_path):
    out = tmp_path / "o"
    assert run_cli("run", str(small_spec(tmp_path)), "-o", str(out), "--no-report")[0] == 0
    store = out / "results.sqlite"
    before = {p.name: digest(p) for p in out.iterdir()}
    code, stdout, stderr = run_cli("results", str(out), "--format", "csv")
    assert code == 0, stderr
    assert "logreg" in stdout
    assert {p.name: digest(p) for p in out.iterdir()} == before
    assert store.exists()


def test_results_on_a_missing_folder_creates_nothing(tmp_path):
    code, _, stderr = run_cli("results", str(tmp_path / "none"))
    one_error_line(code, stderr, "no results store")
    assert not (tmp_path / "none").exists()


def test_lab_refuses_a_folder_holding_another_studys_store(tmp_path):
    out = tmp_path / "o"
    assert run_cli("run", str(small_spec(tmp_path)), "-o", str(out), "--no-report")[0] == 0
    before = digest(out / "results.sqlite")
    code, _, stderr = run_cli("lab", "ml106", "--poison", "1", "--out", str(out))
    one_error_line(code, stderr, "--out", "holds the study 't'")
    assert digest(out / "results.sqlite") == before


# ---------------------------------------------------------------------- unwritable outputs


def test_an_unwritable_store_names_the_path_and_the_cause(tmp_path, monkeypatch):
    from poisonlab.experiment import store

    real_connect = sqlite3.connect

    def refused(path, *args, **kwargs):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(store.sqlite3, "connect", refused)
    out = tmp_path / "o"
    code, _, stderr = run_cli("run", str(small_spec(tmp_path)), "-o", str(out))
    monkeypatch.setattr(store.sqlite3, "connect", real_connect)
    one_error_line(code, stderr, str(out / "results.sqlite"), "readonly database")


def test_a_full_disk_during_a_run_names_the_store_and_the_cause(tmp_path):
    # ulimit -f: the store cannot grow past 64 kB, as on a full disk (EFBIG; Python ignores
    # SIGXFSZ, so the write fails instead of killing the process).
    spec = small_spec(tmp_path)
    spec.write_text(spec.read_text().replace("seeds = [0]", "repetitions = 40"))
    out = tmp_path / "o"
    script = f"ulimit -f 64; exec {sys.executable} -m poisonlab run {spec} -o {out} --no-report"
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("poisonlab: error:") == 1
    assert str(out / "results.sqlite") in done.stderr
    with sqlite3.connect(out / "results.sqlite") as db:  # what was kept is whole
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --------------------------------------------------------------------------- option values


def test_an_unknown_lab_lists_the_labs():
    code, _, stderr = run_cli("lab", "ml999")
    one_error_line(code, stderr, "ml999", "ml106")


def test_audit_options_are_named_and_nothing_is_written(tmp_path):
    out = tmp_path / "audit"
    code, _, stderr = run_cli("audit", "digits", "--out", str(out), "--seed", "-1")
    one_error_line(code, stderr, "--seed", "-1")
    code, _, stderr = run_cli("audit", "digits", "--out", str(out), "--fail-on", "inf")
    one_error_line(code, stderr, "--fail-on", "inf")
    assert not out.exists()


# ---------------------------------------------------------------------------- interrupts


def _stored_rows(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True) as db:
            return db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


@pytest.mark.slow  # two whole processes and a sweep: ~20 s on a loaded machine
@pytest.mark.parametrize(
    ("model", "repetitions", "jobs", "signal_name"),
    [
        ("svc", 3000, [], "SIGTERM"),  # one shared-kernel batch, in this process
        # single-run batches, one share in the sweep's process and one in a worker process
        ("logreg", 3000, ["-j", "2"], "SIGINT"),
    ],
)
def test_a_signal_keeps_finished_runs_says_so_and_a_rerun_resumes(
    tmp_path, model, repetitions, jobs, signal_name
):
    import signal
    import time

    from .test_backends import _alive, _children

    spec = small_spec(tmp_path, model)
    spec.write_text(spec.read_text().replace("seeds = [0]", f"repetitions = {repetitions}"))
    out = tmp_path / "o"
    command = [sys.executable, "-m", "poisonlab", "run", str(spec), "-o", str(out), "--no-report"]
    proc = subprocess.Popen(
        [*command, *jobs], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while _stored_rows(out / "results.sqlite") < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    children = _children(proc.pid)
    proc.send_signal(getattr(signal, signal_name))
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    [line] = [x for x in stderr.splitlines() if x.startswith("poisonlab:")]
    assert "Traceback" not in stderr and "Exception" not in stderr, stderr
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(p) for p in children):
        time.sleep(0.1)
    assert not [p for p in children if _alive(p)], "processes outlived the sweep"
    assert line.endswith(f"resume with: poisonlab run {spec} -o {out}")
    kept = _stored_rows(out / "results.sqlite")
    assert f"; {kept} runs finished" in line
    with sqlite3.connect(out / "results.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    code, stdout, stderr = run_cli("run", str(spec), "-o", str(out), "--no-report")
    assert code == 0, stderr
    assert f"{kept} already finished" in stdout


def test_a_detector_needing_more_rows_than_the_split_is_refused(tmp_path):
    spec = small_spec(tmp_path)
    spec.write_text(
        spec.read_text() + '[[defenses]]\nname = "knn_label"\nparams = { n_neighbors = 5000 }\n'
    )
    code, _, stderr = run_cli("run", str(spec), "-o", str(tmp_path / "o"))
    one_error_line(code, stderr, "defenses[0]", "n_neighbors = 5000", "120")


def test_run_never_adds_tables_to_another_database(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    with sqlite3.connect(out / "results.sqlite") as db:
        db.execute("CREATE TABLE mine (x)")
    before = digest(out / "results.sqlite")
    code, _, stderr = run_cli("run", str(small_spec(tmp_path)), "-o", str(out))
    one_error_line(code, stderr, "not a poisonlab results store")
    assert digest(out / "results.sqlite") == before


def test_a_full_disk_while_writing_the_report_names_the_file_and_leaves_no_part(
    tmp_path, monkeypatch
):
    import errno

    out = tmp_path / "o"
    spec = small_spec(tmp_path)
    spec.write_text(
        spec.read_text().replace(
            'name = "none"',
            'name = "label_flip"\nparams = { source = "1", target = "7" }\nbudget = [0, 3]',
        )
    )
    assert run_cli("run", str(spec), "-o", str(out), "--no-report")[0] == 0

    real_write = Path.write_bytes
    calls = []

    def full_after_3_files(self, data):
        calls.append(self)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_after_3_files)
    code, _, stderr = run_cli("report", str(out), "--quiet", "--format", "md")  # 6 files
    monkeypatch.setattr(Path, "write_bytes", real_write)
    one_error_line(code, stderr, str(out / "report"), "No space left on device")
    assert len(calls) == 4
    assert list((out / "report").iterdir()) == []  # no temporary file, no part of a report


def test_an_unreadable_spec_names_the_path_and_the_cause(tmp_path):
    folder = tmp_path / "spec.toml"
    folder.mkdir()
    code, _, stderr = run_cli("run", str(folder))
    one_error_line(code, stderr, "SPEC", str(folder), "Is a directory")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b'name = "t"\xff\n')
    code, _, stderr = run_cli("run", str(binary))
    one_error_line(code, stderr, "SPEC", str(binary), "not UTF-8")


def test_an_output_folder_named_like_a_file_is_a_folder(tmp_path):
    # `-o run.5` once wrote the store as a file named `run.5`, which `report` then refused.
    out = tmp_path / "run.5"
    code, _, stderr = run_cli("run", str(small_spec(tmp_path)), "-o", str(out))
    assert code == 0, stderr
    assert (out / "results.sqlite").is_file() and (out / "report" / "index.html").is_file()


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_a_run_written_while_a_signal_comes_is_also_counted(signal_name):
    # The interrupted line counts the runs kept: the signal waits until a run written to the
    # store is counted, then interrupts as it would have.
    import os
    import signal

    from poisonlab.cli import _raise_keyboard_interrupt
    from poisonlab.experiment.runner import _interrupts_held

    number = getattr(signal, signal_name)
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    steps = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with _interrupts_held():
                steps.append("written")
                os.kill(os.getpid(), number)
                steps.append("counted")
            steps.append("went on")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert steps == ["written", "counted"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
