"""Certificates in study specs (``[[certificates]]``): validated, run by the one runner, stored,
resumed and drawn by the report's ``certificates`` figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from poisonlab.certify import CERTIFICATES, CertifiedClassifier
from poisonlab.datasets import load, split_by_ranges
from poisonlab.experiment.spec import SpecError, parse_spec
from poisonlab.experiment.store import ResultStore
from poisonlab.experiment.study import prepare_study, run_study

from .conftest import run_cli

SPEC = """
name = "certs"
seeds = [0]

[dataset]
name = "digits"
split = { train = [0, 300], test = [1000, 1100] }

[[certificates]]
name = "dpa"
label = "dpa_1nn"
params = { n_partitions = 10, estimator = { name = "knn", params = { n_neighbors = 1 } } }

[[certificates]]
name = "knn"
sweep = { n_neighbors = [3, 9] }

[[attacks]]
name = "none"

[[attacks]]
name = "label_flip"
params = { source = "1", target = "7", select = "first" }
budget = 10
"""


def _split():
    split = split_by_ranges(load("digits"), (0, 300), (1000, 1100))
    return split.X_train, split.y_train, split.X_test, split.y_test


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("certs")
    (directory / "spec.toml").write_text(SPEC)
    summary = run_study(prepare_study(directory / "spec.toml"), directory / "out")
    assert (summary.total, summary.ok, summary.failed) == (6, 6, 0)
    return directory


def _clean_row(directory: Path, model: str):
    with ResultStore(directory / "out", create=False) as store:
        [run] = store.runs(model=model, attack="none")
    return run


def test_a_certificate_run_stores_what_the_certificate_computes(study_dir):
    X_train, y_train, X_test, y_test = _split()
    expected = CERTIFICATES.create("knn", n_neighbors=3).certify(X_train, y_train, X_test, y_test)
    run = _clean_row(study_dir, "knn[n_neighbors=3]")
    assert run.status == "ok" and run.config["model"]["name"] == "certificate:knn"
    assert run.metrics["accuracy"] == expected.clean_accuracy
    rows = run.metrics["certified_accuracy"]
    assert [r["radius"] for r in rows] == list(range(expected.radius.max() + 2))
    assert [r["certified_accuracy"] for r in rows] == [
        r["accuracy"] for r in expected.certified_accuracy()
    ]


def test_certificates_are_resumed_like_every_run(study_dir):
    summary = run_study(prepare_study(study_dir / "spec.toml"), study_dir / "out")
    assert (summary.skipped, summary.ok) == (6, 0)


@pytest.mark.slow  # builds every figure of the report: 17 s at a load average of 28
def test_the_report_compares_the_certificates_on_one_figure(study_dir):
    from poisonlab.report.build import build_report
    from poisonlab.report.study import load_study

    study = load_study(study_dir / "out")
    try:
        report = build_report(study)
    finally:
        study.store.close()
    [figure] = [f for f in report.figures if f.name == "certificates"]
    [ax] = figure.figure.axes
    lines = {line.get_label().split(" (clean")[0]: line for line in ax.get_lines()}
    clean = ["dpa_1nn", "knn[n_neighbors=3]", "knn[n_neighbors=9]"]
    poisoned = [f"{name} · label_flip[select=first,source=1,target=7] N=10" for name in clean]
    assert sorted(lines) == sorted(clean + poisoned), sorted(lines)
    assert not any(f.name == "certified" for f in report.figures)  # drawn here, not twice
    run = _clean_row(study_dir, "dpa_1nn")
    expected = [row["certified_accuracy"] for row in run.metrics["certified_accuracy"]]
    np.testing.assert_allclose(lines["dpa_1nn"].get_ydata(), expected)


def test_the_classifier_predicts_what_the_certificate_certifies():
    X_train, y_train, X_test, y_test = _split()
    dpa = CERTIFICATES.create("dpa", n_partitions=8)
    direct = dpa.certify(X_train, y_train, X_test, y_test)
    model = CertifiedClassifier(dpa).fit(X_train, y_train)
    np.testing.assert_array_equal(model.predict(X_test), direct.predictions)
    rows = model.certified_accuracy(X_test, y_test)
    assert rows[0]["n_certified"] == int(np.sum(direct.correct & (direct.radius >= 0)))


def _errors(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text)
    return caught.value.errors


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ('name = "knn"\nsweep', 'name = "knm"\nsweep', "certificates[1].name: "),
        ('name = "knn"\nsweep', 'name = "sphere_slab_bound"\nsweep', "bounds a loss"),
        ('name = "knn", params', 'name = "knm", params', "certificates[0].params: unknown model"),
        ("n_partitions = 10", "n_partitions = 0", "certificates[0].params"),
        ("[3, 9]", "[3, 0]", "certificates[1].sweep.n_neighbors[1]"),
        ("n_partitions = 10", "n_parts = 10", "has no parameter 'n_parts'"),
        ('label = "dpa_1nn"', 'label = "knn[n_neighbors=3]"', "also certificates[0]"),
    ],
)
def test_bad_certificate_entries_name_their_key(old, new, fragment):
    errors = _errors(SPEC.replace(old, new))
    assert len(errors) == 1 and fragment in errors[0], errors


def test_a_spec_needs_a_model_or_a_certificate(tmp_path):
    text = SPEC.split("[[certificates]]")[0] + '[[attacks]]\nname = "none"\n'
    (tmp_path / "spec.toml").write_text(text)
    result = run_cli("run", str(tmp_path / "spec.toml"), "-o", str(tmp_path / "o"))
    assert result.returncode == 2 and "[[models]] or [[certificates]]" in result.stderr
    assert not (tmp_path / "o").exists()


def test_the_classifier_refuses_a_bound_and_predicting_before_fit():
    from sklearn.exceptions import NotFittedError

    X, y = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array(["a", "b"])
    with pytest.raises(ValueError, match=r"must be a per-input certificate.*'sphere_slab_bound'"):
        CertifiedClassifier(CERTIFICATES.create("sphere_slab_bound")).fit(X, y)
    with pytest.raises(NotFittedError):
        CertifiedClassifier(CERTIFICATES.create("knn")).predict(X)


def test_the_docs_table_of_a_study_shows_each_certificates_median_radius(study_dir):
    """``examples/study_tables.py certificates`` (docs/certify.md's table) reads the stored rows
    and agrees with the certificate computed directly."""
    import subprocess
    import sys

    script = Path(__file__).resolve().parent.parent / "examples" / "study_tables.py"
    done = subprocess.run(
        [sys.executable, str(script), "certificates", str(study_dir / "out")],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert lines[0] == "| certificate (label in the spec) | clean accuracy | median radius |"
    expected = CERTIFICATES.create("knn", n_neighbors=9).certify(*_split())
    assert (
        f"| `knn[n_neighbors=9]` | {expected.clean_accuracy:.1%} | "
        f"{expected.median_radius} poisoned training samples |"
    ) in lines
    assert len(lines) == 2 + 3  # one row per certificate on the clean training set
