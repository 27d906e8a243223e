"""poisonlab audit: the checks written for it, the combined score, its files and its command."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from poisonlab.audit import FAIL_ON, AuditResult, CheckResult, run_audit
from poisonlab.audit.checks import duplicates, label_flow, reference_shift
from poisonlab.audit.core import combined_score
from poisonlab.audit.output import clean_rows

from .conftest import run_cli


def _check(name, strength, fired, suggested=None):
    return CheckResult(
        name,
        np.asarray(strength, dtype=float),
        np.asarray(fired, dtype=bool),
        lambda i: f"{name} row {i}",
        None if suggested is None else np.asarray(suggested),
    )


# --------------------------------------------------------------------- checks written here


def test_duplicates_exact_and_near_with_other_labels():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [5.0, 5.0001], [9.0, 1.0]])
    y = np.array(["a", "a", "b", "c", "d", "c"])
    result = duplicates(X, y, tolerance=0.01)
    # Row 2 ('b') has two exact duplicates, both 'a'; rows 0 and 1 have one 'b' of two.
    # Rows 3 and 4 are near duplicates with different labels; row 5 has no duplicate.
    np.testing.assert_allclose(result.strength, [0.5, 0.5, 1.0, 1.0, 1.0, 0.0])
    assert result.fired.tolist() == [True, True, True, True, True, False]
    assert result.suggested[2] == "a"
    assert "exact duplicate of rows 0 ('a'), 1 ('a')" in result.why(2)
    assert result.why(3).startswith("near duplicate of rows 4 ('d')")


def test_duplicates_with_the_same_label_are_not_suspicious():
    X = np.array([[1.0, 2.0], [1.0, 2.0], [3.0, 4.0]])
    result = duplicates(X, np.array(["a", "a", "b"]))
    assert not result.fired.any() and not result.strength.any()


def test_reference_shift_fires_on_rows_far_from_the_reference():
    grid = np.array([[i, j] for i in range(10) for j in range(10)], dtype=float)
    X = np.vstack([grid[:5] + 0.1, [[60.0, 60.0]]])
    result = reference_shift(X, grid)
    assert result.fired.tolist() == [False] * 5 + [True]
    # Grid spacing 1 everywhere, so MAD is 0 and the spread falls back to 1 (a factor e):
    # z = log(distance to (9, 9) / 1) = log(51 * sqrt(2)), strength z / 6.
    assert result.strength[-1] == pytest.approx(np.log(51 * np.sqrt(2)) / 6)
    assert not result.strength[:5].any()
    assert "nearest reference row" in result.why(5)


def test_label_flow_needs_a_grown_label_and_a_suggestion_from_a_shrunk_class():
    y = np.array(["2", "2", "2", "1", "0"])
    neighbours = _check("neighbours", [0.4, 0.2, 0.9, 0.0, 0.8], [0, 0, 1, 0, 1], ["1"] * 5)
    neighbours.suggested[2] = "0"  # suggests a class that did not shrink
    dist = {"p_value": 1e-6, "grown": ["2"], "shrunk": ["1"]}
    result = label_flow(y, dist, [neighbours])
    np.testing.assert_allclose(result.strength, [0.8, 0.4, 0.0, 0.0, 0.0])
    assert result.fired.tolist() == [True, False, False, False, False]
    assert result.suggested.tolist() == ["1", "1", "2", "1", "0"]
    quiet = label_flow(y, {**dist, "p_value": 0.2}, [neighbours])
    assert not quiet.strength.any()


# ------------------------------------------------------------------------- combined score


def _result(checks, y, fail_on=FAIL_ON):
    score = combined_score(checks, len(y))
    return AuditResult(np.asarray(y), score, checks, {}, {}, fail_on)


def test_score_sums_fired_strengths_and_ranking_breaks_ties_by_all_evidence():
    a = _check("a", [0.9, 0.6, 0.4, 0.0], [1, 1, 0, 0], ["x", "y", "z", "a"])
    b = _check("b", [1.0, 0.0, 0.45, 0.3], [1, 0, 0, 0])
    result = _result([a, b], ["p", "q", "r", "s"], fail_on=1.5)
    np.testing.assert_allclose(result.score, [1.9, 0.6, 0.0, 0.0])
    assert result.ranking.tolist() == [0, 1, 2, 3]  # row 2: 0.85 unfired evidence > row 3: 0.3
    assert result.flagged.tolist() == [True, False, False, False]
    # Suggestions come only from fired checks.
    assert result.suggested_labels().tolist() == ["x", "y", "r", "s"]
    assert result.reasons(0) == [("a", "a row 0"), ("b", "b row 0")]


def test_clean_rows_drop_and_relabel():
    a = _check("a", [1.0, 0.0, 1.0, 1.0], [1, 0, 1, 1], ["q", "q", "p", "p"])
    b = _check("b", [1.0, 0.0, 1.0, 1.0], [1, 0, 1, 1])
    result = _result([a, b], ["p", "q", "r", "p"], fail_on=1.0)
    keep, labels = clean_rows(result, "drop")
    assert keep.tolist() == [1] and labels.tolist() == ["q"]
    keep, labels = clean_rows(result, "relabel")
    # Row 3 is flagged but its only suggestion is its own label: dropped.
    assert keep.tolist() == [0, 1, 2] and labels.tolist() == ["q", "q", "p"]


def test_run_audit_finds_a_conflicting_duplicate_and_leaves_inputs_alone(tiny):
    X, y = tiny
    X = np.vstack([X, X[:1]])
    y = np.append(y, "9" if y[0] != "9" else "8")
    X_before, y_before = X.copy(), y.copy()
    result = run_audit(X, y, checks=("neighbours", "outliers", "duplicates"), random_state=0)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    assert set(result.ranking[:1]) <= {0, len(y) - 1}
    dup = next(c for c in result.checks if c.name == "duplicates")
    assert np.flatnonzero(dup.fired).tolist() == [0, len(y) - 1]
    assert result.skipped == {}
    assert result.distribution["against"] == "uniform"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"checks": ("nope",)}, "The 'checks' parameter of audit must hold names from"),
        ({"fail_on": -1}, "The 'fail_on' parameter of audit must be a number >= 0; got -1."),
        ({"X_ref": np.zeros((5, 3))}, "The reference set must have the training set's 64"),
    ],
)
def test_run_audit_rejects_bad_parameters(tiny, kwargs, message):
    X, y = tiny
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_audit(X, y, **kwargs)


# --------------------------------------------------------------------------- the command


def _digits_csv(path, n=300):
    from poisonlab.datasets import load

    ds = load("digits")
    frame = pd.DataFrame(ds.X[:n], columns=ds.feature_names)
    frame.insert(0, "digit", ds.y[:n].astype(int))
    frame.to_csv(path, index=False)
    return frame


@pytest.mark.slow
def test_audit_command_ranks_writes_and_gates(tmp_path):
    data = tmp_path / "train.csv"
    frame = _digits_csv(data)
    # An exact copy of row 5 with another label: the duplicates check must catch both.
    copy = frame.iloc[[5]].assign(digit=(frame.digit[5] + 1) % 10)
    pd.concat([frame, copy], ignore_index=True).to_csv(data, index=False)
    before = hashlib.sha256(data.read_bytes()).hexdigest()
    out, clean = tmp_path / "out", tmp_path / "clean.csv"
    args = ["audit", str(data), "--label", "digit", "--out", str(out)]
    proc = run_cli(*args, "--write-clean", str(clean), "--fail-on", "0.9")
    assert proc.returncode == 1, proc.stderr
    assert hashlib.sha256(data.read_bytes()).hexdigest() == before
    table = pd.read_csv(out / "suspicious.csv")
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    assert (table.score.diff().dropna() <= 0).all()
    dup_rows = table[table.checks.str.contains("duplicates")]
    assert sorted(dup_rows.row) == [5, 300]
    assert "digit" in table.columns and "pixel0" in table.columns
    summary = json.loads((out / "summary.json").read_text())
    flagged = int((table.score > 0.9).sum())
    assert summary["n_flagged"] == flagged > 0
    cleaned = pd.read_csv(clean)
    assert list(cleaned.columns) == list(frame.columns) and len(cleaned) == 301 - flagged
    assert "rows score above --fail-on 0.9" in proc.stdout
    # The same data passes a gate no row reaches.
    assert run_cli(*args, "--fail-on", "100").returncode == 0


@pytest.mark.slow
def test_audit_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path):
    good = tmp_path / "good.csv"
    _digits_csv(good, n=40)
    files = {
        "semicolon.csv": "a;b;y\n1;2;x\n3;4;z\n",
        "nolabel.csv": "a,b,c\n1,2,3\n4,5,6\n",
        "mixed.csv": "a,b,y\n1,2,x\nfoo,4,z\n5,6,x\n",
        "empty.csv": "",
        "oneclass.csv": "a,b,y\n1,2,x\n3,4,x\n",
        "floats.csv": "a,b,y\n1,2,0.5\n3,4,1.25\n",
    }
    cases = {
        "semicolon.csv": "label column 'y' not found",
        "nolabel.csv": "label column 'y' not found",
        "mixed.csv": "non-numeric feature columns: 'a'",
        "empty.csv": "is empty",
        "oneclass.csv": "fewer than two classes",
        "floats.csv": "holds non-integer numbers",
    }
    out = tmp_path / "out"
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        proc = run_cli("audit", str(tmp_path / name), "--label", "y", "--out", str(out))
        assert proc.returncode == 2, (name, proc.stderr)
        assert proc.stderr.startswith("poisonlab: error: "), (name, proc.stderr)
        assert cases[name] in proc.stderr and proc.stderr.count("\n") == 1, (name, proc.stderr)
    options = [
        (["--write-clean", str(good)], "is the input file"),
        (["--clean-action", "burn"], "--clean-action must be one of drop, relabel"),
        (["--model", "nope"], "unknown model 'nope'"),
        (["--reference", str(tmp_path / "semicolon.csv")], "label column 'digit' not found"),
    ]
    for extra, message in options:
        proc = run_cli("audit", str(good), "--label", "digit", "--out", str(out), *extra)
        assert proc.returncode == 2 and message in proc.stderr, (extra, proc.stderr)
        assert proc.stderr.count("\n") == 1, proc.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*files, "good.csv"])


def test_html_report_escapes_labels_from_the_data(tiny, tmp_path):
    from poisonlab.audit.report import write_html
    from poisonlab.datasets import Dataset

    X, y = tiny
    y = np.where(y == "1", "<script>alert(1)</script>", y)
    X = np.vstack([X, X[:1]])
    y = np.append(y, "<script>alert(1)</script>" if y[0] != "1" else "0")
    dataset = Dataset("tiny", X, y, "test", [f"p{i}" for i in range(64)], (8, 8))
    result = run_audit(X, y, checks=("neighbours", "duplicates"), random_state=0)
    page = write_html(result, dataset, tmp_path, command="poisonlab audit tiny").read_text()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Most suspicious rows" in page and "data:image/svg+xml;base64," in page


def test_run_audit_with_a_reference_tests_labels_and_shift(tiny):
    X, y = tiny
    far = X[:1] + 100.0  # a row far from every reference row
    result = run_audit(
        np.vstack([X[:200], far]),
        np.append(y[:200], y[0]),
        X_ref=X[200:],
        y_ref=y[200:],
        checks=("neighbours", "reference_shift"),
    )
    assert result.distribution["against"] == "reference"
    assert result.distribution["test"] == "homogeneity"
    shift = next(c for c in result.checks if c.name == "reference_shift")
    assert shift.fired[-1] and shift.strength[-1] == 1.0
    assert shift.fired[:200].mean() < 0.05


def test_write_clean_npz_keeps_unflagged_rows(tiny, tmp_path):
    from poisonlab.audit.output import write_clean
    from poisonlab.datasets import Dataset

    X, y = tiny
    a = _check("a", np.r_[1.0, np.zeros(299)], np.r_[True, np.zeros(299, bool)], y)
    result = _result([a], y, fail_on=0.5)
    dataset = Dataset("tiny", X, y, "test", [f"p{i}" for i in range(64)])
    target = tmp_path / "clean.npz"
    written = write_clean(result, dataset, target, action="drop", label="y", source=None)
    with np.load(target) as data:
        np.testing.assert_array_equal(data["X"], X[1:])
        np.testing.assert_array_equal(data["y"], y[1:])
    assert written == 299


def test_id_column_is_reported_not_used_as_a_feature(digits):
    from poisonlab.audit.cli_support import split_id
    from poisonlab.audit.output import suspicious_table
    from poisonlab.datasets import Dataset

    X = np.hstack([np.arange(300)[:, None] * 1000.0, digits.X[:300]])
    dataset = Dataset("t", X, digits.y[:300], "test", ["uid", *digits.feature_names])
    stripped, _, ids = split_id(dataset, None, "uid")
    assert stripped.X.shape == (300, 64) and stripped.feature_names == digits.feature_names
    assert ids[0] == "uid" and ids[1].dtype == np.int64 and ids[1][7] == 7000
    a = _check("a", np.r_[0.0, 1.0, np.zeros(298)], np.r_[False, True, np.zeros(298, bool)])
    table = suspicious_table(_result([a], digits.y[:300]), stripped, label="digit", ids=ids)
    assert table.columns[:4].tolist() == ["rank", "row", "uid", "digit"]
    assert table.uid.tolist() == [1000]
    with pytest.raises(ValueError, match="--id: column 'nope' not found"):
        split_id(dataset, None, "nope")
