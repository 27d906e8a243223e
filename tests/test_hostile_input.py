"""Hostile input through the real entry point: success, or one line and status 2; inputs unchanged.

Hypothesis generates the files (CSV, NPZ, Parquet). Whatever it makes, ``poisonlab`` must either
succeed or print one ``poisonlab: error: ...`` line with exit status 2; never a traceback, and
never a change to the file it read (checked by hash). Examples are bounded for ``make test``;
``HYPOTHESIS_PROFILE=slow`` runs many more.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poisonlab.cli import main

settings.register_profile(
    "default", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "slow", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def run_cli(*argv: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``poisonlab ARGV`` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def assert_clean_outcome(code: int, stderr: str) -> None:
    """Success, or exactly one error line with status 2."""
    assert "Traceback" not in stderr, stderr
    if code != 0:
        assert code == 2, (code, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("poisonlab: error: "), stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def show(path: Path, *extra: str) -> None:
    before = digest(path)
    code, _, stderr = run_cli("datasets", "show", f"file:{path}", *extra)
    assert_clean_outcome(code, stderr)
    assert digest(path) == before


# Cells a careless or hostile user's table holds: numbers at the edges of float64, labels that
# look like terminal markup, quotes, separators, control characters and very long text.
CELLS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "nan", "NA", "1e308", "-1e308", "1e+19", "[/bold]", "[red]x", '"', "'"]),
    st.text(max_size=12),
    st.text(alphabet=',;\t\n\r"', max_size=4),
    st.integers(min_value=0, max_value=400).map(lambda n: "z" * n),
)
HEADERS = st.lists(
    st.one_of(st.sampled_from(["a", "b", "y", "[/b]", ""]), st.text(max_size=6)),
    min_size=1,
    max_size=5,
)


@st.composite
def csv_bytes(draw) -> bytes:
    header = draw(HEADERS)
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=6), max_size=8))
    separator = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(separator.join(row) for row in [header, *rows]) + newline
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


LABELS = st.one_of(
    st.sampled_from(["[/bold]", "[red]x", "1e+19", "2e+19", "1.0", "1", "-0", "x y", "é", "NA"]),
    st.text(max_size=8),
)


@st.composite
def table_bytes(draw) -> bytes:
    """A table that is valid but for its values: numeric features and arbitrary labels."""
    n_rows = draw(st.integers(1, 8))
    floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
    lines = ["a,b,y"]
    for _ in range(n_rows):
        a, b = draw(floats), draw(floats)
        label = draw(LABELS).replace('"', '""')
        lines.append(f'{a!r},{b!r},"{label}"')
    return ("\n".join(lines) + "\n").encode()


@given(data=table_bytes())
def test_any_labels_give_a_result_or_one_line(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        path.write_bytes(data)
        show(path, "--label", "y")


@given(data=csv_bytes(), label=st.sampled_from(["y", "a", "[/b]", "missing"]))
def test_any_csv_gives_a_result_or_one_line(data, label):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        path.write_bytes(data)
        show(path, "--label", label)


@given(data=st.binary(max_size=300))
def test_any_bytes_as_csv_npz_or_parquet_give_one_line(data):
    with tempfile.TemporaryDirectory() as folder:
        for suffix in (".csv", ".npz", ".parquet"):
            path = Path(folder) / f"data{suffix}"
            path.write_bytes(data)
            show(path, "--label", "y")


ARRAYS = st.one_of(
    st.builds(np.zeros, st.tuples(st.integers(0, 5), st.integers(0, 4))),
    st.builds(np.zeros, st.tuples(st.integers(0, 5))),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=6).map(np.array),
    st.lists(st.text(max_size=5), max_size=6).map(lambda v: np.array(v, dtype=str)),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=6).map(lambda v: np.array(v, np.int64)),
    st.lists(st.booleans(), max_size=6).map(np.array),
)


@given(X=ARRAYS, y=ARRAYS, compressed=st.booleans(), y_name=st.sampled_from(["y", "label"]))
def test_any_npz_gives_a_result_or_one_line(X, y, compressed, y_name):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.npz"
        save = np.savez_compressed if compressed else np.savez
        save(path, X=X, **{y_name: y})
        show(path)


@given(
    columns=st.dictionaries(
        st.sampled_from(["a", "b", "y", "[/b]"]),
        st.lists(CELLS, min_size=3, max_size=3),
        min_size=1,
        max_size=4,
    ),
    numeric=st.booleans(),
)
def test_any_parquet_gives_a_result_or_one_line(columns, numeric):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(columns)
    if numeric:
        frame = frame.apply(pd.to_numeric, errors="coerce")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.parquet"
        frame.to_parquet(path)
        show(path, "--label", "y")
