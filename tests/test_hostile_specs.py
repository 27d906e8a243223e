"""Hostile study specs and option values through the real entry point.

Hypothesis writes specs whose every value may be hostile (wrong types, empty lists, edge
numbers, markup, paths, huge counts) and option values of every kind. Whatever it makes,
``poisonlab`` either succeeds or prints one ``poisonlab: error: ...`` line with exit status 2;
never a traceback, and the spec file is unchanged (checked by hash). Examples are bounded for
``make test`` (``HYPOTHESIS_PROFILE=slow`` runs many more; see tests/test_hostile_input.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .test_hostile_input import assert_clean_outcome, digest, run_cli


def assert_spec_outcome(code: int, stderr: str) -> None:
    """Success, or status 2 with only ``poisonlab: error:`` lines: a spec's problems are
    reported together, one line each (each naming its key path)."""
    assert "Traceback" not in stderr, stderr
    if code != 0:
        assert code == 2, (code, stderr)
        lines = stderr.strip().splitlines()
        assert lines and all(line.startswith("poisonlab: error: ") for line in lines), stderr


# TOML values a careless or hostile user writes: edge numbers, wrong types, empty and nested
# containers, markup, paths, and huge counts.
VALUES = st.sampled_from(
    [
        "0",
        "-1",
        "1",
        "2",
        "1e308",
        "-1e308",
        "nan",
        "inf",
        "0.5",
        "100000000",
        "9223372036854775807",
        "true",
        '""',
        '"[/b]"',
        '".."',
        '"a/b"',
        '"x"',
        "[]",
        "[0]",
        "[1, 1]",
        "[[]]",
        "{}",
        "{ a = 1 }",
        '"' + "z" * 300 + '"',
    ]
)

TEMPLATE = """name = {name}
{seeds}
[dataset]
name = {dataset}
split = {{ train = [0, {train}], test = [60, 100] }}

[[models]]
name = {model}
params = {{ {model_key} = {model_value} }}

[[attacks]]
name = {attack}
{budget}

[[defenses]]
name = {defense}
"""


@st.composite
def spec_texts(draw) -> str:
    """A small spec of digits in which each slot is either sensible or hostile."""

    def slot(sensible: str) -> str:
        return draw(st.one_of(st.just(sensible), VALUES))

    model_key = draw(st.sampled_from(["C", "max_iter", "tol", "n_neighbors", "bogus"]))
    return TEMPLATE.format(
        name=slot('"t"'),
        seeds=draw(
            st.sampled_from(["seeds = [0]", "", "seeds = []"])
            | VALUES.map(lambda v: f"repetitions = {v}")
            | VALUES.map(lambda v: f"seeds = {v}")
        ),
        dataset=slot('"digits"'),
        train=slot("60"),
        model=draw(st.sampled_from(['"logreg"', '"knn"', '"sklearn.svm.SVR"']) | VALUES),
        model_key=model_key,
        model_value=slot("1.0" if model_key in ("C", "tol") else "5"),
        attack=draw(st.sampled_from(['"none"', '"label_flip"', '"bogus"']) | VALUES),
        budget=draw(
            st.sampled_from(["", "budget = 3", "budget = { start = 0, stop = 4, step = 0 }"])
            | VALUES.map(lambda v: f"budget = {v}")
        ),
        defense=slot('"none"'),
    )


def _run_spec(text: str, *options: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "spec.toml"
        spec.write_text(text)
        before = digest(spec)
        out = Path(folder) / "out"
        code, _, stderr = run_cli("run", str(spec), "-o", str(out), "--no-report", *options)
        assert_spec_outcome(code, stderr)
        assert digest(spec) == before
        if code == 2:  # refused: nothing was written
            assert not out.exists(), stderr


@given(text=spec_texts())
def test_any_spec_runs_or_is_one_line(text):
    _run_spec(text)


@given(
    text=st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
        st.integers(1, 3000).map(lambda n: "x = " + "[" * n + "]" * n),
        st.integers(1, 3000).map(lambda n: "x = " + "{ a = " * n + "1" + " }" * n),
    )
)
def test_any_text_as_a_spec_is_one_line(text):
    _run_spec(text)


OPTION_VALUES = st.one_of(
    st.sampled_from(["-1", "0", "inf", "nan", "-inf", "1e308", "", "[/b]", "x", "1,2", "10**9"]),
    st.text(max_size=8),
)


@given(option=st.sampled_from(["-j", "--max-runs", "--dask-local"]), value=OPTION_VALUES)
def test_any_run_option_value_runs_or_is_one_line(option, value):
    if option == "--dask-local" and value.strip().lstrip("+").isdigit():
        value = "-" + value  # a real cluster would start: keep to the error paths
    _run_spec(TEMPLATE_OK, f"{option}={value}")


@given(value=st.sampled_from(["-1", "", "x", "[/b]", "tcp://x", "1,2"]) | st.text(max_size=6))
def test_any_dask_address_that_names_no_scheduler_is_one_line(value):
    if ":" in value and value.rsplit(":", 1)[1].strip().isdigit():
        value = "x"  # a real address: connecting would wait for a scheduler
    _run_spec(TEMPLATE_OK, f"--dask={value}")


TEMPLATE_OK = TEMPLATE.format(
    name='"t"',
    seeds="seeds = [0]",
    dataset='"digits"',
    train="60",
    model='"logreg"',
    model_key="C",
    model_value="1.0",
    attack='"none"',
    budget="",
    defense='"none"',
)


@given(
    option=st.sampled_from(["--poison", "--source", "--target", "--train-size", "--test-size"]),
    value=OPTION_VALUES,
)
def test_any_lab_option_value_is_one_line_or_runs(option, value):
    # A tiny lab keeps the successful cases fast (50 training rows, 20 test rows).
    options = {"--train-size": "50", "--test-size": "20", "--poison": "1"}
    options[option] = value
    argv = [part for key, v in options.items() for part in (f"{key}={v}",)]
    code, _, stderr = run_cli("lab", "ml106", *argv)
    assert_clean_outcome(code, stderr)


@pytest.fixture(scope="module")
def study_out(tmp_path_factory) -> Path:
    """A finished tiny study, read by the results and report option tests."""
    folder = tmp_path_factory.mktemp("study")
    spec = folder / "spec.toml"
    spec.write_text(TEMPLATE_OK)
    code, _, stderr = run_cli("run", str(spec), "-o", str(folder / "out"), "--no-report")
    assert code == 0, stderr
    return folder / "out"


@given(
    option=st.sampled_from(["--where", "--status", "--format"]),
    value=OPTION_VALUES | st.sampled_from(["attack=none", "seed=0", "budget=x", "=", "a=b=c"]),
)
def test_any_results_option_value_lists_or_is_one_line(study_out, option, value):
    store = study_out / "results.sqlite"
    before = digest(store)
    code, _, stderr = run_cli("results", str(study_out), f"{option}={value}")
    assert_clean_outcome(code, stderr)
    assert digest(store) == before
    assert {p.name for p in study_out.iterdir()} - {"report"} == {"results.sqlite"}


@given(option=st.sampled_from(["--format", "--budgets"]), value=OPTION_VALUES)
def test_any_report_option_value_reports_or_is_one_line(study_out, option, value):
    before = digest(study_out / "results.sqlite")
    code, _, stderr = run_cli("report", str(study_out), "--quiet", f"{option}={value}")
    assert_clean_outcome(code, stderr)
    assert digest(study_out / "results.sqlite") == before
