"""``poisonlab reproduce``: the registry, its rules, the ml106 entry and the command."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from poisonlab import cli
from poisonlab.certify import Certification
from poisonlab.defenses._partition import certified_accuracy_table
from poisonlab.reproduce import (
    FAIL,
    NOT_COMPARABLE,
    PASS,
    PENDING,
    REPRODUCTIONS,
    Figure,
    Reproduction,
    entries,
    reproduce,
)
from poisonlab.reproduce.base import at_least, at_most, between, exact, within_seeds

from .conftest import run_cli

# -- certificate readers ------------------------------------------------------------------------


@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=1, max_size=30),
)
def test_median_radius_from_stored_rows_equals_the_certifications(rows):
    correct = np.array([c for c, _ in rows])
    radius = np.array([r for _, r in rows])
    y = np.zeros(len(rows), dtype=int)
    result = Certification("dpa", np.where(correct, 0, 1), radius, y, 0.0, {})
    table = certified_accuracy_table(correct, radius, 0, np.arange(radius.max() + 2))
    assert entries.median_certified_radius(table, len(rows)) == result.median_radius


def test_a_certificates_spec_entry_reads_what_the_certificate_gives(tmp_path):
    """A [[certificates]] spec run by the study runner: the figures read the accuracy and the
    median radius that the certificate itself computes on the same rows."""
    from poisonlab.certify import CERTIFICATES
    from poisonlab.datasets import load

    spec = """name = "dpa_digits"
seeds = [0]

[dataset]
name = "digits"
split = { train = [0, 1500], test = [1500, 1797] }

[[certificates]]
name = "dpa"
label = "dpa k=10"
params = { n_partitions = 10 }

[[attacks]]
name = "none"
"""
    entry = Reproduction(
        name="dpa_digits",
        title="T",
        reference="R.",
        setup="S.",
        spec=spec,
        figures=(
            Figure("accuracy", "?", None, entries.certified("dpa k=10", "clean_accuracy"), "", "x"),
            Figure("radius", "?", None, entries.certified("dpa k=10", "median_radius"), "", "x"),
        ),
    )
    result = reproduce(entry, tmp_path / "d")
    digits = load("digits")
    direct = CERTIFICATES.create("dpa", n_partitions=10).certify(
        digits.X[:1500], digits.y[:1500], digits.X[1500:], digits.y[1500:]
    )
    assert [f.values for f in result.figures] == [
        (direct.clean_accuracy,),
        (direct.median_radius,),
    ]


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


def test_registry_lists_every_entry_each_with_a_set_up_and_figures():
    assert REPRODUCTIONS.names() == [
        "ml106",
        "biggio2012",
        "paudice2018",
        "dpa2021",
        "dpa2021_2means",
        "steinhardt2017",
        "koh2022",
    ]
    for _, entry in REPRODUCTIONS.items():
        assert not entry.pending and entry.figures
        assert bool(entry.spec) != (entry.measure is not None)  # a study, or the Python API
    assert {n for n, e in REPRODUCTIONS.items() if e.measure} == {"steinhardt2017"}


def test_steinhardt2017_holds_the_paper_figure_to_its_reading_error():
    from poisonlab.certify._sphere_slab import PAPER_FIGURE_2B, PAPER_SETTINGS
    from poisonlab.reproduce.base import check_figure

    entry = REPRODUCTIONS.get("steinhardt2017")
    paper = {eps: bound for eps, bound, _ in PAPER_FIGURE_2B}
    assert PAPER_SETTINGS == {
        "quantile": 0.7,
        "rho": 0.8**0.5,
        "bias": True,
        "eta": 0.1,
        "min_steps": 8000,
    }
    for figure in entry.figures:
        eps = float(figure.name.rsplit("= ", 1)[1])
        assert figure.published.startswith(f"{paper[eps]:.3f}")
        near, far = paper[eps] + 0.0029, paper[eps] + 0.0031
        assert check_figure(figure, {f"bound_{eps}": [near]}).status == PASS
        assert check_figure(figure, {f"bound_{eps}": [far]}).status == FAIL
        assert check_figure(figure, {f"bound_{eps}": [paper[eps] - 0.0031]}).status == FAIL


def _runs(*rows):
    """Stored-run stand-ins with the columns and metrics the readers use."""
    return [SimpleNamespace(attack=a, budget=b, defense=d, metrics=m) for a, b, d, m in rows]


def test_readers_select_by_attack_budget_and_defense():
    runs = _runs(
        ("label_flip", 0, "none", {"accuracy": 0.99}),
        ("alfa", 100, "none", {"accuracy": 0.89}),
        ("alfa", 100, "knn_label", {"accuracy": 0.94}),
        ("label_flip", 100, "none", {"accuracy": 0.79}),
    )
    assert entries.error_removed(100, "knn_label", "alfa")(runs) == pytest.approx([0.5])
    with pytest.raises(RuntimeError, match="no stored run"):
        entries.error_removed(100, "knn_label", "label_flip")(runs)


def test_koh_readers_count_removed_points_and_the_error_gain():
    detection = {"recall": 0.25, "n_poisoned": 8}
    runs = _runs(
        ("min_max", 8, "slab_filter", {"accuracy": 0.90, "detection": detection}),
        ("random_flip", 8, "slab_filter", {"accuracy": 0.95, "detection": detection}),
    )
    assert entries.removed("min_max", "slab_filter")(runs) == [2.0]
    assert entries.error_gain("min_max", "random_flip", "slab_filter")(runs) == pytest.approx(
        [0.05]
    )


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
    assert {r["status"] for r in rows} == {"runnable"}


PENDING_ENTRY = Reproduction(
    name="later", title="Not built yet", reference="R.", setup="S.", pending="needs issue 99"
)


def test_a_pending_entry_runs_nothing_and_says_why(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(REPRODUCTIONS._entries, "later", PENDING_ENTRY)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["reproduce", "later", "--json", "--out", str(tmp_path / "k")])
    assert exit_.value.code == 0
    [entry] = json.loads(capsys.readouterr().out)["entries"]
    assert entry["status"] == PENDING and entry["reason"] == "needs issue 99"
    assert not (tmp_path / "k").exists()


def _certify_digits() -> dict[str, list[float]]:
    """A small certificate through the Python API: DPA with 10 partitions on digits."""
    from sklearn.neighbors import KNeighborsClassifier

    from poisonlab.certify import CERTIFICATES
    from poisonlab.datasets import load

    digits = load("digits")
    dpa = CERTIFICATES.create("dpa", n_partitions=10, estimator=KNeighborsClassifier(1))
    result = dpa.certify(digits.X[:1500], digits.y[:1500], digits.X[1500:], digits.y[1500:])
    return {"accuracy": [result.clean_accuracy], "median_radius": [result.median_radius]}


MEASURED = Reproduction(
    name="measured",
    title="DPA on digits, computed with the Python API",
    reference="R.",
    setup="S.",
    measure=_certify_digits,
    figures=(
        Figure("clean accuracy", "0.5", at_least(0.5), entries.measured("accuracy")),
        Figure("median radius", "?", None, entries.measured("median_radius"), not_comparable="x"),
    ),
)


def test_an_entry_computed_with_the_python_api(tmp_path, monkeypatch, capsys):
    result = reproduce(MEASURED, tmp_path / "m")
    assert result.status == PASS
    assert [f.status for f in result.figures] == [PASS, NOT_COMPARABLE]
    stored = json.loads((tmp_path / "m" / "measured.json").read_text())
    assert stored["values"] == _certify_digits()  # deterministic, and what was checked
    wrong = dataclasses.replace(
        MEASURED, figures=(dataclasses.replace(MEASURED.figures[0], rule=exact(0.5)),)
    )
    assert reproduce(wrong, tmp_path / "m").status == FAIL
    monkeypatch.setitem(REPRODUCTIONS._entries, "measured", MEASURED)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["reproduce", "measured", "--out", str(tmp_path / "m"), "--markdown"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "Computed by `tests.test_reproduce._certify_digits` with the Python API" in text


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
def test_all_runs_every_entry_and_exits_1_when_one_fails(tmp_path, monkeypatch, capsys):
    # --all over a registry cut to ml106, a failing entry (ml106 with a wrong published value,
    # under another name) and a pending one: the whole registry takes far longer (biggio2012's
    # CMA-ES search, dpa2021, steinhardt2017 and koh2022).
    wrong = dataclasses.replace(_wrong_ml106(), name="ml106_wrong")
    entries = {"ml106": REPRODUCTIONS.get("ml106"), "ml106_wrong": wrong, "later": PENDING_ENTRY}
    monkeypatch.setattr(REPRODUCTIONS, "_entries", entries)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["reproduce", "--all", "--json", "--no-report", "--out", str(tmp_path)])
    assert exit_.value.code == 1
    statuses = {e["name"]: e["status"] for e in json.loads(capsys.readouterr().out)["entries"]}
    assert statuses == {"ml106": PASS, "ml106_wrong": FAIL, "later": PENDING}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ml106", "ml106_wrong"]


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
