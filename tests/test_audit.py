"""poisonlab audit: the checks, the gate's tests, the table reading, and the real command."""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from poisonlab.audit import CHECKS, ROW_CHECKS, AuditResult, CheckResult, run_audit
from poisonlab.audit.cli_support import parse_columns, parse_expect, read_pred_probs
from poisonlab.audit.gate import mixing_test, pair_test, verdict
from poisonlab.audit.output import clean_rows
from poisonlab.audit.synthetic import mixed_table
from poisonlab.audit.table import infer_roles

from .conftest import run_cli


def _check(name, strength, fired, suggested=None):
    return CheckResult(
        name,
        np.asarray(strength, dtype=float),
        np.asarray(fired, dtype=bool),
        lambda i: f"{name} row {i}",
        None if suggested is None else np.asarray(suggested),
    )


def _result(checks, y, fail_on=None):
    score = np.zeros(len(y))
    for c in checks:
        score += np.where(c.fired, c.strength, 0.0)
    info = {"threshold": 0.005, "missing": {}, "unlabelled_rows": []}
    return AuditResult(np.asarray(y), score, checks, {}, [], False, 0.01, fail_on, {}, info)


# ------------------------------------------------------------------------ checks and gate


def test_every_row_check_is_registered_in_the_project_registry():
    assert sorted(ROW_CHECKS) == CHECKS.names()
    assert all(CHECKS.get(name).what for name in ROW_CHECKS)


def test_pair_test_is_a_one_sided_binomial_on_lopsided_confusions():
    # Classes 0 and 1, 50 rows each; 8 rows labelled 1 look like 0, none the other way.
    yi = np.array([0] * 50 + [1] * 50)
    looks = yi.copy()
    looks[50:58] = 0
    pairs = pair_test(yi, looks, looks != yi, 2)
    assert pairs[0]["s"] == 0 and pairs[0]["t"] == 1
    assert pairs[0]["count"] == 8 and pairs[0]["reverse"] == 0
    assert pairs[0]["p"] == pytest.approx(0.5**8)  # Binomial(8, 50 / 100) >= 8
    # Both directions equally often: no evidence of a flip.
    looks[0:8] = 1
    balanced = pair_test(yi, looks, looks != yi, 2)
    assert min(p["p"] for p in balanced) > 0.3


def test_pair_test_null_leans_as_far_as_the_other_pairs_lean_naturally():
    from scipy.stats import binom

    # Classes 0, 1 (200 rows each), 2 (100 rows). Pair (0, 1) leans 20 : 8 with equal sizes;
    # 46 rows labelled 2 look like 1, 6 the other way.
    yi = np.array([0] * 200 + [1] * 200 + [2] * 100)
    looks = yi.copy()
    looks[200:208] = 0  # labelled 1, look like 0
    looks[0:20] = 1  # labelled 0, look like 1
    looks[400:446] = 1  # labelled 2, look like 1
    looks[210:216] = 2  # labelled 1, look like 2
    pairs = pair_test(yi, looks, looks != yi, 3)
    top = next(p for p in pairs if (p["s"], p["t"]) == (1, 2))
    lean = np.log(21 / 9)  # the other pair's lean beyond its (equal) sizes
    null = 1 / (1 + np.exp(-(np.log(200 / 100) + lean)))
    assert top["p"] == pytest.approx(binom.sf(45, 52, null))
    assert top["p"] > binom.sf(45, 52, 200 / 300)  # the size share alone: stricter


def test_pair_test_null_ignores_the_lean_of_pairs_sharing_no_class():
    from scipy.stats import binom

    # Classes 0..3, 100 rows each. Pair (2, 3) leans 30 : 0; 10 rows labelled 1 look like 0.
    yi = np.repeat(np.arange(4), 100)
    looks = yi.copy()
    looks[200:230] = 3  # labelled 2, look like 3
    looks[100:110] = 0  # labelled 1, look like 0
    pairs = pair_test(yi, looks, looks != yi, 4)
    top = next(p for p in pairs if (p["s"], p["t"]) == (0, 1))
    assert top["p"] == pytest.approx(binom.sf(9, 10, 0.5))


def test_mixing_test_names_the_class_flipped_from_and_needs_three_classes():
    # Classes 0, 1, 2 of 100 rows; 30 rows labelled 1 look like 0 and 25 labelled 0 look
    # like 1 (55 mixed rows, 55 % of the smaller class); pair (1, 2) mixes 10 rows.
    yi = np.repeat([0, 1, 2], 100)
    looks = yi.copy()
    looks[100:130], looks[0:25], looks[200:205], looks[130:135] = 0, 1, 1, 2
    pairs = mixing_test(yi, looks, looks != yi, 3)
    top = pairs[0]
    assert (top["s"], top["t"], top["count"]) == (1, 0, 55)  # class 1 lost more of its rows
    assert top["share"] == pytest.approx(0.55) and top["null_share"] == pytest.approx(0.5)
    # Binomial(200 rows, 0.5 * 100 / 200) >= 55
    from scipy.stats import binom

    assert top["p"] == pytest.approx(binom.sf(54, 200, 0.25))
    assert mixing_test(yi[yi < 2], looks[yi < 2], (looks != yi)[yi < 2], 2) == []


def test_mixing_test_null_rises_with_the_other_pairs_confusion():
    # Every pair mixes heavily: a hard table, not a poisoned one.
    yi = np.repeat([0, 1, 2], 100)
    looks = yi.copy()
    looks[0:30], looks[100:130], looks[200:230] = 1, 2, 0
    pairs = mixing_test(yi, looks, looks != yi, 3)
    assert all(p["null_share"] == pytest.approx(0.6) and p["p"] > 0.5 for p in pairs)


def test_verdict_uses_bonferroni_over_the_gating_tests():
    from poisonlab.audit.gate import TestResult

    tests = [
        TestResult("a", 0.004, True, "", {}),
        TestResult("b", 0.5, True, "", {}),
        TestResult("c", 1e-9, False, "", {}),  # reported, not gated
    ]
    assert verdict(tests, 0.01) == (True, 0.005)
    assert verdict(tests[1:], 0.01) == (False, 0.01)


def _two_groups(flips: int, shift: float, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """800 rows in 2-D, groups 'a' and 'b'; label = x0 > 0 ('b': x0 > shift, a real effect);
    ``flips`` rows of group b labelled 0 flipped to 1 (a targeted flip)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(800, 2))
    group = np.where(np.arange(800) < 400, "a", "b")
    y = (X[:, 0] > np.where(group == "b", shift, 0.0)).astype(int)
    flip = rng.choice(np.flatnonzero((group == "b") & (y == 0)), flips, replace=False)
    y[flip] = 1
    return pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "grp": group}), y


def test_group_excess_passes_a_real_group_effect_and_names_a_flipped_group():
    checks = ("neighbours", "group")
    # Group b's boundary sits elsewhere, for real: its rows agree with their own group.
    X, y = _two_groups(flips=0, shift=1.0)
    clean = run_audit(X, y, checks=checks)
    assert not clean.failed
    # 60 of group b's class-0 rows flipped to 1: they disagree with their own group.
    X, y = _two_groups(flips=60, shift=0.0)
    poisoned = run_audit(X, y, checks=checks)
    test = next(t for t in poisoned.tests if t.name == "group")
    assert poisoned.failed and test.p_value < poisoned.info["threshold"]
    top = test.detail["groups"][0]
    assert top["group"] == "grp = b" and top["kind"] == "excess"
    assert "grp = b" in test.finding


def test_run_audit_finds_a_conflicting_duplicate_and_leaves_inputs_alone(tiny):
    X, y = tiny
    X = np.vstack([X, X[:1]])
    y = np.append(y, "9" if y[0] != "9" else "8")
    X_before, y_before = X.copy(), y.copy()
    result = run_audit(X, y, checks=("neighbours", "duplicates"), random_state=0)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    dup = next(c for c in result.checks if c.name == "duplicates")
    assert np.flatnonzero(dup.fired).tolist() == [0, len(y) - 1]
    assert "exact duplicate of rows" in dup.why(0)


def test_a_targeted_flip_fails_the_gate_and_ranks_first(digits):
    X, y = digits.X[:900], digits.y[:900].copy()
    assert not run_audit(X, y, image_shape=(8, 8), random_state=0).failed
    flipped = np.flatnonzero(y == "0")[:15]
    y[flipped] = "6"
    result = run_audit(X, y, image_shape=(8, 8), random_state=0)
    assert result.failed
    flip = next(t for t in result.tests if t.name == "flip_pattern")
    assert "labelled '6' look like '0'" in flip.finding
    assert np.isin(result.ranking[:15], flipped).sum() >= 13
    assert set(np.flatnonzero(result.flagged)) >= set(flipped[:12])


def test_label_distribution_reports_without_reference_and_gates_with_expect(digits):
    X, y = digits.X[:600], digits.y[:600]
    keep = np.flatnonzero((y != "0") | (np.arange(len(y)) % 10 == 0))  # '0' a tenth as common
    result = run_audit(X[keep], y[keep], checks=("neighbours",))
    test = next(t for t in result.tests if t.name == "label_distribution")
    assert test.p_value < 1e-3 and not test.gates and not result.failed
    expect = dict.fromkeys(np.unique(y), 0.1)
    gated = run_audit(X[keep], y[keep], checks=("neighbours",), expect=expect)
    assert gated.failed


def test_missing_labels_are_reported_not_refused(tiny):
    X, y = tiny
    y = y.astype(object)
    y[[3, 7]] = None
    result = run_audit(X, y, checks=("neighbours",))
    assert result.info["unlabelled_rows"] == [3, 7]
    assert result.score[[3, 7]].tolist() == [0.0, 0.0] and len(result.score) == len(y)


def test_clean_rows_drop_and_relabel():
    a = _check("a", [1.0, 0.0, 1.0, 1.0], [1, 0, 1, 1], ["q", "q", "p", "p"])
    b = _check("b", [1.0, 0.0, 1.0, 1.0], [1, 0, 1, 1])
    result = _result([a, b], ["p", "q", "r", "p"], fail_on=1.0)
    keep, labels = clean_rows(result, "drop")
    assert keep.tolist() == [1] and labels.tolist() == ["q"]
    keep, labels = clean_rows(result, "relabel")
    assert keep.tolist() == [0, 1, 2] and labels.tolist() == ["q", "q", "p"]


# ------------------------------------------------------------------------------ the table


def test_roles_are_inferred_for_every_column_kind():
    frame, _ = mixed_table(300, seed=0)
    roles = infer_roles(frame.drop(columns="label"))
    assert roles == {
        "customer_id": "id",
        "income": "numeric",
        "age": "numeric",
        "balance": "numeric",
        "tenure_days": "numeric",
        "score": "numeric",
        "region": "categorical",
        "is_member": "categorical",
        "opened": "date",
        "note": "text",
    }
    assert infer_roles(frame, {"age": "categorical"})["age"] == "categorical"
    with pytest.raises(ValueError, match="column 'nope' not found"):
        infer_roles(frame, {"nope": "ignore"})


def test_units_do_not_change_the_result():
    frame, _ = mixed_table(400, seed=1, text=False)
    X, y = frame.drop(columns="label"), frame["label"]
    scaled = X.assign(income=X.income * 1000.0, age=X.age / 100.0)
    a, b = run_audit(X, y, random_state=0), run_audit(scaled, y, random_state=0)
    np.testing.assert_allclose(a.score, b.score, atol=1e-6)


@given(st.lists(st.sampled_from(["a", "b", "c", " ", ",", "x1"]), max_size=8))
def test_parse_columns_splits_and_strips(parts):
    values = ["".join(parts)]
    assert parse_columns(values) == [p.strip() for p in values[0].split(",") if p.strip()]


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.floats(0.01, 5.0), min_size=1))
def test_parse_expect_round_trips(shares):
    text = ",".join(f"{k}={v!r}" for k, v in shares.items())
    assert parse_expect(text) == shares


@pytest.mark.parametrize("text", ["a", "a=", "=1", "a=-1", "a=x", "a=0"])
def test_parse_expect_rejects_malformed_text(text):
    with pytest.raises(ValueError, match="--expect"):
        parse_expect(text)


def test_audit_help_shows_real_metavars_and_choices():
    from poisonlab.cli import AUDIT_MODELS
    from poisonlab.models.zoo import MODELS

    assert AUDIT_MODELS.strip("[]").split("|") == MODELS.names()
    proc = run_cli("audit", "--help", env={"COLUMNS": "200"})
    assert proc.returncode == 0
    for shown in ("--out DIR", "--pred-probs FILE", f"--model {AUDIT_MODELS}", "--seed N"):
        assert shown in proc.stdout
    assert "--clean-action [drop|relabel]" in proc.stdout
    assert not re.search(r"--[a-z-]+ [A-Z_]+_[A-Z_]+", proc.stdout)  # no PRED_PROBS-style


def test_pred_probs_are_validated_with_one_line_errors(tmp_path):
    classes = np.array(["a", "b"])
    good = tmp_path / "p.csv"
    pd.DataFrame({"b": [0.2, 0.9], "a": [0.8, 0.1]}).to_csv(good, index=False)
    np.testing.assert_allclose(read_pred_probs(good, 2, classes), [[0.8, 0.2], [0.1, 0.9]])
    cases = {
        "rows": (pd.DataFrame({"a": [1.0], "b": [0.0]}), "has shape (1, 2); expected (2, 2)"),
        "names": (pd.DataFrame({"a": [1.0, 0.5], "c": [0.0, 0.5]}), "has classes ['a', 'c']"),
        "sums": (pd.DataFrame({"a": [0.5, 0.5], "b": [0.6, 0.5]}), "row 0 sums to 1.1, not 1"),
        "negative": (pd.DataFrame({"a": [1.5, 0.5], "b": [-0.5, 0.5]}), "negative"),
    }
    for name, (frame, message) in cases.items():
        path = tmp_path / f"{name}.csv"
        frame.to_csv(path, index=False)
        with pytest.raises(ValueError, match=re.escape(message)):
            read_pred_probs(path, 2, classes)


# --------------------------------------------------------------------------- the command


def _sklearn_csv(path, name):
    from sklearn import datasets

    frame = getattr(datasets, f"load_{name}")(as_frame=True).frame
    frame.to_csv(path, index=False)
    return frame


@pytest.mark.parametrize("name", ["iris", "wine"])
def test_clean_small_sets_pass_through_the_command(tmp_path, name):
    data = tmp_path / f"{name}.csv"
    _sklearn_csv(data, name)
    proc = run_cli("audit", str(data), "--out", str(tmp_path / "out"), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "pass" and doc["exit_status"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["breast_cancer", "digits"])
def test_clean_sets_in_raw_units_pass_through_the_command(tmp_path, name):
    data = tmp_path / f"{name}.csv"
    _sklearn_csv(data, name)
    proc = run_cli("audit", str(data), "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""


def _lab_csv(path, n_flip):
    from poisonlab.datasets import load

    mnist = load("mnist")
    y = mnist.y[:2000].astype(int)
    flipped = np.flatnonzero(y == 1)[:n_flip]
    y[flipped] = 2
    frame = pd.DataFrame(mnist.X[:2000], columns=mnist.feature_names)
    frame.insert(0, "label", y)
    frame.to_csv(path, index=False)
    return flipped


@pytest.mark.slow
@pytest.mark.parametrize(("n_flip", "exit_status", "top", "at_least"), [
    (0, 0, None, None), (10, None, 20, 7), (30, 1, 60, 27), (100, 1, 200, 90),
])  # fmt: skip
def test_lab_sets_gate_and_rank_through_the_command(tmp_path, n_flip, exit_status, top, at_least):
    # N = 30 fails on the flip's direction (flip_pattern), N = 100 on its amount (pair_mixing).
    data = tmp_path / "lab.csv"
    flipped = _lab_csv(data, n_flip)
    out = tmp_path / "out"
    proc = run_cli("audit", str(data), "--out", str(out), "--quiet")
    assert proc.returncode in (0, 1), proc.stderr
    if exit_status is not None:
        assert proc.returncode == exit_status
    if top is not None:
        ranked = pd.read_csv(out / "suspicious.csv").row.to_numpy()
        assert np.isin(ranked[:top], flipped).sum() >= at_least


@pytest.mark.slow
def test_mixed_table_audits_without_refusal_and_writes_everything(tmp_path):
    frame, _ = mixed_table(600, seed=3)
    frame.loc[[5, 9], "label"] = None
    data = tmp_path / "train.parquet"
    frame.to_parquet(data, index=False)
    before = hashlib.sha256(data.read_bytes()).hexdigest()
    out, junit, clean = tmp_path / "out", tmp_path / "junit.xml", tmp_path / "clean.csv"
    args = ["audit", str(data), "--out", str(out), "--json", "--junit", str(junit)]
    proc = run_cli(*args, "--write-clean", str(clean))
    assert proc.returncode == 0, proc.stderr
    assert hashlib.sha256(data.read_bytes()).hexdigest() == before
    doc = json.loads(proc.stdout)
    assert doc["roles"]["id"] == ["customer_id"] and doc["roles"]["text"] == ["note"]
    assert doc["roles"]["date"] == ["opened"] and "region" in doc["roles"]["categorical"]
    assert doc["missing_values"]["balance"] > 0 and doc["unlabelled_rows"] == [5, 9]
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("failures") == "0" and int(suite.get("tests")) >= 8
    assert sorted(p.name for p in out.iterdir()) == [
        "report.html",
        "summary.json",
        "suspicious.csv",
    ]
    assert "customer_id" in pd.read_csv(clean).columns
    page = (out / "report.html").read_text()
    assert "Columns" in page and "customer_id" in page
    # Overrides: --ignore and --categorical change the roles the summary shows.
    proc = run_cli(*args[:4], "--json", "--ignore", "note", "--categorical", "age")
    doc = json.loads(proc.stdout)
    assert doc["roles"]["ignore"] == ["note"] and "age" in doc["roles"]["categorical"]
    assert "(replaced the earlier audit there)" in run_cli(*args[:4]).stdout


@pytest.mark.slow
def test_baseline_fails_only_on_new_findings(tmp_path, digits):
    X, y = digits.X[:900], digits.y[:900].copy()
    frame = pd.DataFrame(X, columns=[f"p{i}" for i in range(64)])
    frame.insert(0, "uid", np.arange(len(y)))
    flipped = np.flatnonzero(y == "0")[:15]
    y[flipped] = "6"
    frame["label"] = y
    data = tmp_path / "v1.csv"
    frame.to_csv(data, index=False)
    first = run_cli("audit", str(data), "--id", "uid", "--out", str(tmp_path / "a1"), "--quiet")
    assert first.returncode == 1, first.stderr
    baseline = tmp_path / "a1" / "summary.json"
    again = run_cli(
        "audit", str(data), "--id", "uid", "--out", str(tmp_path / "a2"),
        "--baseline", str(baseline), "--json",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["new_findings"] == []
    more = np.flatnonzero(y == "4")[:15]  # a second, new pattern: '4' -> '1'
    frame.loc[more, "label"] = "1"
    frame.to_csv(tmp_path / "v2.csv", index=False)
    worse = run_cli(
        "audit", str(tmp_path / "v2.csv"), "--id", "uid", "--out", str(tmp_path / "a3"),
        "--baseline", str(baseline), "--json",
    )  # fmt: skip
    assert worse.returncode == 1
    assert any(f.startswith("row:id:") for f in json.loads(worse.stdout)["new_findings"])


@pytest.mark.slow
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path):
    good = tmp_path / "good.csv"
    _sklearn_csv(good, "iris")
    probs = tmp_path / "probs.csv"
    pd.DataFrame({"0": [1.0], "1": [0.0], "2": [0.0]}).to_csv(probs, index=False)
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "oneclass.csv").write_text("a,b,target\n1,2,x\n3,4,x\n")
    out = tmp_path / "out"
    cases = [
        ([str(tmp_path / "empty.csv")], "is empty"),
        ([str(tmp_path / "oneclass.csv")], "fewer than two classes"),
        ([str(good), "--label", "nope"], "--label: column 'nope' not found"),
        ([str(good), "--write-clean", str(good)], "is an input file"),
        ([str(good), "--write-clean", str(probs), "--pred-probs", str(probs)], "is an input"),
        ([str(good), "--clean-action", "burn"], "--clean-action must be one of drop, relabel"),
        ([str(good), "--model", "nope"], "unknown model 'nope'"),
        ([str(good), "--pred-probs", str(probs)], "has shape (1, 3); expected (150, 3)"),
        ([str(good), "--expect", "0=1"], "--expect: no share given for class '1'"),
        ([str(good), "--ignore", "nope"], "column 'nope' not found"),
        ([str(good), "--alpha", "2"], "--alpha must be in (0, 1)"),
    ]
    for extra, message in cases:
        proc = run_cli("audit", *extra, "--out", str(out))
        assert proc.returncode == 2, (extra, proc.stderr)
        assert proc.stderr.startswith("poisonlab: error: ") and message in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1, proc.stderr
    assert not out.exists()
    (tmp_path / "notaudit").mkdir()
    (tmp_path / "notaudit" / "keep.txt").write_text("mine")
    proc = run_cli("audit", str(good), "--out", str(tmp_path / "notaudit"))
    assert proc.returncode == 2 and "holds files but no earlier audit" in proc.stderr


@pytest.mark.slow
def test_an_internal_error_exits_3_with_one_line_and_a_traceback_file(tmp_path):
    good = tmp_path / "good.csv"
    _sklearn_csv(good, "iris")
    # A sitecustomize that breaks one library function: a bug, not a user error.
    (tmp_path / "sitecustomize.py").write_text(
        "import poisonlab.audit.gate as g\n"
        "def boom(*a, **k):\n    raise RuntimeError('injected')\n"
        "g.pair_test = boom\n"
    )
    proc = run_cli(
        "audit", str(good), "--out", str(tmp_path / "out"), env={"PYTHONPATH": str(tmp_path)}
    )
    assert proc.returncode == 3, proc.stderr
    assert "internal error (a bug in poisonlab" in proc.stderr and proc.stderr.count("\n") == 1
    trace = proc.stderr.rsplit("traceback in ", 1)[1].strip()
    with open(trace) as handle:
        assert "RuntimeError: injected" in handle.read()
    assert not (tmp_path / "out").exists()
