"""``poisonlab reproduce``: the registry, its rules, the ml106 entry and the command."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from poisonlab import cli
from poisonlab.reproduce import FAIL, PASS, PENDING, REPRODUCTIONS, reproduce
from poisonlab.reproduce.base import at_least, at_most, between, exact, within_seeds

from .conftest import run_cli

# -- rules: exact small cases -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "values", "holds"),
    [
        (exact(2), [2.0], True),
        (exact(2), [3.0], False),
        (exact(2), [2.0, 2.0, 3.0], False),
        (between(0.15, 0.20), [0.12], False),
        (between(0.15, 0.20), [0.14, 0.22], True),  # the mean, 0.18
        (between(0.15, 0.20, tolerance=0.03), [0.12], True),
        (at_least(0.5), [0.5], True),
        (at_least(0.5), [0.49], False),
        (at_most(0.05), [0.04, 0.07], False),
        (within_seeds(0.15), [0.07, 0.17], True),
        (within_seeds(0.15), [0.07, 0.12], False),
        (within_seeds(0.15, tolerance=0.03), [0.07, 0.12], True),
    ],
)
def test_rules(rule, values, holds):
    assert rule.holds(np.asarray(values)) is holds


_values = st.lists(st.floats(-10, 10), min_size=1, max_size=8).map(np.asarray)


@given(_values, st.floats(-10, 10), st.floats(0, 5))
def test_between_is_at_least_and_at_most(values, low, width):
    high = low + width
    assert between(low, high).holds(values) == (
        at_least(low).holds(values) and at_most(high).holds(values)
    )


@given(_values, st.floats(-10, 10))
def test_within_seeds_of_one_value_is_exact(values, published):
    one = values[:1]
    assert within_seeds(published).holds(one) == exact(published).holds(one)


def test_rules_describe_themselves():
    assert between(0.15, 0.2).describe() == "mean in [0.15, 0.2]"
    assert exact(12).describe() == "exactly 12"
    assert within_seeds(0.15).describe() == "0.15 within the seeds' [min, max]"


def test_registry_lists_every_entry_and_pending_ones_say_why():
    assert REPRODUCTIONS.names() == [
        "ml106",
        "biggio2012",
        "paudice2018",
        "dpa2021",
        "steinhardt2017",
        "koh2022",
    ]
    for name in ("dpa2021", "steinhardt2017", "koh2022"):
        entry = REPRODUCTIONS.get(name)
        assert entry.pending and not entry.spec and not entry.figures
    for name in ("ml106", "biggio2012", "paudice2018"):
        entry = REPRODUCTIONS.get(name)
        assert entry.spec and entry.figures and not entry.pending


# -- ml106: the fast entry ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def ml106_store(tmp_path_factory):
    """ml106's study, run once: later runs of the entry resume it (nothing runs again)."""
    out = tmp_path_factory.mktemp("ml106")
    return out, reproduce(REPRODUCTIONS.get("ml106"), out)


def test_ml106_reproduces_the_lab_exactly(ml106_store):
    _, result = ml106_store
    assert result.status == PASS
    measured = {f.figure.name: f.values for f in result.figures}
    assert measured["clean: incorrect 2's"] == (12.0,)
    assert measured["N = 10: incorrect 2's"] == (11.0,)
    assert measured["N = 30: incorrect 2's"] == (13.0,)
    assert measured["N = 100: incorrect 2's"] == (33.0,)
    assert all(f.status == PASS for f in result.figures)


def _wrong_ml106():
    """ml106 with one deliberately wrong published figure (the lab's N = 10 count + 1)."""
    entry = REPRODUCTIONS.get("ml106")
    figures = list(entry.figures)
    figures[3] = dataclasses.replace(figures[3], published="12", rule=exact(12))
    return dataclasses.replace(entry, figures=tuple(figures))


def test_a_wrong_published_value_fails(ml106_store):
    out, _ = ml106_store
    result = reproduce(_wrong_ml106(), out)
    assert result.status == FAIL
    statuses = [f.status for f in result.figures]
    assert statuses == [PASS, PASS, PASS, FAIL, PASS, PASS, PASS, PASS]


def test_command_exits_1_when_an_entry_fails(ml106_store, monkeypatch, capsys):
    # In process, through the real entry point: the registry holds the wrong entry as ml106.
    out, _ = ml106_store
    monkeypatch.setitem(REPRODUCTIONS._entries, "ml106", _wrong_ml106())
    with pytest.raises(SystemExit) as exit_:
        cli.main(["reproduce", "ml106", "--out", str(out), "--json", "--no-report"])
    assert exit_.value.code == 1
    document = json.loads(capsys.readouterr().out)
    [entry] = document["entries"]
    assert entry["status"] == FAIL
    assert entry["figures"][3]["published"] == "12" and entry["figures"][3]["poisonlab"] == "11"


def test_command_exits_0_and_writes_the_report(ml106_store, capsys):
    out, _ = ml106_store
    with pytest.raises(SystemExit) as exit_:
        cli.main(["reproduce", "ml106", "--out", str(out)])
    assert exit_.value.code == 0
    printed = capsys.readouterr().out
    assert "ml106: pass" in printed and "exactly 13" in printed
    page = (out / "report" / "index.html").read_text()
    assert "Published: clean: incorrect 1&#39;s: 2" in page  # the published values, on the page


def test_markdown_section(ml106_store, capsys):
    out, _ = ml106_store
    with pytest.raises(SystemExit):
        cli.main(["reproduce", "ml106", "--out", str(out), "--markdown", "--no-report"])
    text = capsys.readouterr().out
    assert text.startswith("### `ml106`:")
    assert (
        "| N = 30: incorrect 2's | 13 | the lab's printed counts | 13 | exactly 13 | pass |" in text
    )


# -- the command: list, pending, errors ----------------------------------------------------------


def test_list_json_through_the_installed_command():
    done = run_cli("reproduce", "list", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["name"] for r in rows] == REPRODUCTIONS.names()
    pending = {r["name"]: r["pending"] for r in rows if r["status"] == PENDING}
    assert set(pending) == {"dpa2021", "steinhardt2017", "koh2022"}
    assert "poisonlab certify" in pending["dpa2021"]


def test_a_pending_entry_runs_nothing_and_says_why(tmp_path):
    done = run_cli("reproduce", "koh2022", "--json", "--out", str(tmp_path / "k"))
    assert done.returncode == 0, done.stderr
    [entry] = json.loads(done.stdout)["entries"]
    assert entry["status"] == PENDING and "issue 15" in entry["reason"]
    assert not (tmp_path / "k").exists()


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["reproduce", "nope"], "poisonlab: error: unknown reproduction 'nope'; known: ml106"),
        (["reproduce"], "poisonlab: error: NAME: give an entry's name, list, or --all"),
        (["reproduce", "ml106", "--all"], "poisonlab: error: NAME: give an entry's name"),
        (["reproduce", "list", "--json", "--markdown"], "poisonlab: error: --json and --markdown"),
    ],
)
def test_user_errors_are_one_line_exit_2(args, start, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(args)
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(start) and captured.err.count("\n") == 1, captured.err
    assert captured.out == ""


@pytest.mark.slow
def test_all_entries_through_the_installed_command(tmp_path):
    done = run_cli("reproduce", "--all", "--json", "--no-report", "--out", str(tmp_path))
    statuses = {e["name"]: e["status"] for e in json.loads(done.stdout)["entries"]}
    assert statuses == {
        "ml106": PASS,
        "biggio2012": FAIL,  # see docs/reproductions.md: the paper's validation set is missing
        "paudice2018": FAIL,
        "dpa2021": PENDING,
        "steinhardt2017": PENDING,
        "koh2022": PENDING,
    }
    assert done.returncode == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["biggio2012", "ml106", "paudice2018"]


# -- the dataset the Biggio and Paudice set-ups use ----------------------------------------------


def test_mnist_classes_dataset(mnist):
    from poisonlab.datasets import load

    pair = load("mnist:7,1")
    rows = np.flatnonzero(np.isin(mnist.y, ["7", "1"]))
    assert pair.X.shape == (15_170, 784) and pair.X.max() == 1.0
    np.testing.assert_array_equal(pair.y, mnist.y[rows])
    np.testing.assert_array_equal(pair.X[5], mnist.X[rows[5]] / 255.0)
    assert np.isin(mnist.y[:60_000], ["7", "1"]).sum() == 13_007  # the split the entries use
    with pytest.raises(ValueError, match="mnist:7,x"):
        load("mnist:7,x")
