"""Reports: figures and tables from real stored studies, the HTML page in headless Chromium,
escaping of names that come from data, Markdown, atomic writes and the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from poisonlab.experiment.store import ResultStore
from poisonlab.experiment.study import prepare_study, run_study
from poisonlab.labs.ml106 import run_ml106
from poisonlab.labs.output import write_lab_results
from poisonlab.report.build import ReportOptions, build_report, write_report
from poisonlab.report.figures import default_budgets
from poisonlab.report.scalars import estimate
from poisonlab.report.study import load_study
from poisonlab.report.tables import TextTable, to_markdown

from .chromium import find_chromium, visit
from .conftest import run_cli

# ------------------------------------------------------------------------------ studies


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory) -> Path:
    """The ML 106 lab on a small split (500 training, 300 test rows of MNIST), stored."""
    out = tmp_path_factory.mktemp("lab")
    result = run_ml106(poison=[10, 60], train_size=500, test_size=300, out=out)
    write_lab_results(result, out)
    return out


LABEL_SPEC = """
name = "digits-flip"
description = "label flips on digits, with and without a kNN label detector"
seeds = [0, 1]

[dataset]
name = "digits"
split = { train = [0, 500], test = [1000, 1300] }

[[models]]
name = "svc"

[[attacks]]
name = "label_flip"
params = { source = "1", target = "7", select = "random" }
budget = [0, 15, 30]

[[defenses]]
name = "none"

[[defenses]]
name = "knn_label"
params = { n_neighbors = 5, n_components = 10 }
"""

BACKDOOR_SPEC = """
name = "digits-backdoor"
seeds = [0]

[dataset]
name = "digits"
split = { train = [0, 500], test = [1000, 1300] }

[[models]]
name = "svc"

[[attacks]]
name = "backdoor"
params = { target = "0", trigger = "patch", size = 2 }
budget = [0, 40]

[[defenses]]
name = "none"

[[defenses]]
name = "strip"
"""


EVIL = "<script>alert(1)</script>"
DOLLARS = '$x$ & "y"'  # '$' would start matplotlib's math mode; '&' and '"' need escaping


@pytest.fixture(scope="module")
def evil_dir(tmp_path_factory) -> Path:
    """A CSV dataset whose class names are markup, flipped by a label attack."""
    directory = tmp_path_factory.mktemp("evil")
    rng = np.random.default_rng(0)
    lines = ["f1,f2,<b>label</b>"]
    for i in range(80):
        name = EVIL if i % 2 else DOLLARS
        centre = 2.0 if i % 2 else -2.0
        x = rng.normal(centre, 1.0, size=2)
        label = '"' + name.replace('"', '""') + '"'
        lines.append(f"{x[0]:.4f},{x[1]:.4f},{label}")
    (directory / "evil.csv").write_text("\n".join(lines) + "\n")
    spec = f"""
name = "evil"
description = "{EVIL} in a description"
seeds = [0]

[dataset]
name = "file:{directory / "evil.csv"}"
label = "<b>label</b>"
split = {{ train = [0, 60], test = [60, 80] }}

[[models]]
name = "svc"

[[attacks]]
name = "label_flip"
params = {{ source = "{EVIL}", target = '{DOLLARS}' }}
budget = [0, 10]

[[defenses]]
name = "none"
"""
    return run_spec(directory, spec)


def run_spec(directory: Path, text: str) -> Path:
    """Run a study spec with the real runner into ``directory/out``."""
    spec = directory / "spec.toml"
    spec.write_text(text)
    summary = run_study(prepare_study(spec), directory / "out")
    assert summary.failed == 0
    return directory / "out"


@pytest.fixture(scope="module")
def label_dir(tmp_path_factory) -> Path:
    return run_spec(tmp_path_factory.mktemp("label"), LABEL_SPEC)


@pytest.fixture(scope="module")
def backdoor_dir(tmp_path_factory) -> Path:
    return run_spec(tmp_path_factory.mktemp("backdoor"), BACKDOOR_SPEC)


def _figures(directory: Path, options: ReportOptions | None = None):
    import matplotlib

    from poisonlab.report.canvas import PAPER_RC

    study = load_study(directory, options.where if options else None)
    try:
        with matplotlib.rc_context(PAPER_RC):
            return build_report(study, options)
    finally:
        study.store.close()


def _png_size(data: bytes) -> tuple[int, int]:
    import matplotlib.image

    image = matplotlib.image.imread(io.BytesIO(data), format="png")
    return image.shape[1], image.shape[0]


def _assert_not_blank(png: bytes) -> None:
    import matplotlib.image

    image = matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]
    # Not one flat colour: a real share of pixels differs from the most common (background).
    background = np.median(image.reshape(-1, 3), axis=0)
    differs = np.abs(image - background).sum(axis=2) > 0.1
    assert differs.mean() > 0.01, f"only {differs.mean():.4f} of the pixels differ"


# --------------------------------------------------------------------------- unit cases


def test_estimate_is_mean_and_student_t_interval():
    assert estimate([0.5]).text_pm() == "0.500"
    # Two seeds: sd 0.1414, t(0.975, 1 df) = 12.706, half-width 12.706 * 0.1414 / sqrt(2).
    two = estimate([0.5, 0.7])
    assert two.text_pm() == "0.600 ± 1.271"
    assert (two.low, two.high) == pytest.approx((0.6 - 1.27062, 0.6 + 1.27062), abs=1e-4)
    # Three seeds: t(0.975, 2 df) = 4.3027.
    three = estimate([1.0, 2.0, 3.0])
    assert three.high - three.mean == pytest.approx(4.302653 * 1.0 / 3**0.5, rel=1e-6)


def test_default_budgets_pick_smallest_middle_largest():
    assert default_budgets([0, 10, 30]) == [10, 30]
    assert default_budgets(list(range(0, 225, 5))) == [5, 115, 220]


def test_markdown_escapes_pipes_and_markup():
    table = TextTable("t", ["a|b"], [["x|y"], ["<b>*z*</b>"]])
    text = to_markdown(table)
    assert "| a\\|b |" in text and "| x\\|y |" in text
    assert "| \\<b\\>\\*z\\*\\</b\\> |" in text


def test_roc_and_pr_points_by_hand():
    from poisonlab.report.figures import area, pr_points, roc_points

    truth = np.array([True, False, True, False])
    scores = np.array([0.9, 0.8, 0.8, 0.3])  # a tie between a poisoned and a clean row
    fpr, tpr = roc_points(truth, scores)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 1, 1])
    assert area(fpr, tpr) == pytest.approx(0.875)  # 3.5 of 4 pairs ranked right
    recall, precision = pr_points(truth, scores)
    np.testing.assert_allclose(recall, [0, 0.5, 1, 1])
    np.testing.assert_allclose(precision, [1, 1, 2 / 3, 0.5])


def test_roc_area_equals_scikit_learns():
    from sklearn.metrics import roc_auc_score

    from poisonlab.report.figures import area, roc_points

    rng = np.random.default_rng(3)
    truth = rng.random(300) < 0.2
    scores = np.round(rng.normal(truth.astype(float), 1.0), 1)  # many ties
    assert area(*roc_points(truth, scores)) == pytest.approx(roc_auc_score(truth, scores))


def test_detection_truth_prefers_the_stored_truth(tmp_path):
    from poisonlab.experiment.store import RunRecord, run_key
    from poisonlab.report.figures import detection_truth

    def record(defense):
        config = {"defense": defense}
        return RunRecord(
            key=run_key(config),
            run_id=f"t/m/a/{defense}/seed0",
            experiment="t",
            dataset="d",
            model="m",
            attack="a",
            defense=defense,
            seed=0,
            run_seed=0,
            budget=2,
            status="ok",
            error=None,
            config=config,
        )

    with ResultStore(tmp_path) as store:
        store.write_run(record("train"), {"poison_indices": np.array([1, 3])})
        store.write_run(
            record("test"), {"poison_indices": np.array([1, 3]), "detector_truth": np.array([2])}
        )
    study = load_study(tmp_path)
    try:
        by_defense = {r.defense: r for r in study.runs}
        assert detection_truth(study, by_defense["train"], 4).tolist() == [0, 1, 0, 1]
        assert detection_truth(study, by_defense["test"], 4).tolist() == [0, 0, 1, 0]
        assert detection_truth(study, by_defense["train"], 3) is None  # rows out of range
    finally:
        study.store.close()


def test_a_study_of_failed_runs_reports_their_errors_escaped(tmp_path):
    from poisonlab.experiment.store import RunRecord, run_key

    config = {"attack": "a"}
    with ResultStore(tmp_path) as store:
        store.set_meta({"experiment": "broken", "spec": 'name = "broken"\n'})
        store.write_run(
            RunRecord(
                key=run_key(config),
                run_id="broken/m/a/none/seed0",
                experiment="broken",
                dataset="d",
                model="m",
                attack="a",
                defense="none",
                seed=0,
                run_seed=0,
                budget=None,
                status="failed",
                error="ValueError: <b>bad</b> input",
                config=config,
            )
        )
    report, [index] = write_report(tmp_path, "html")
    assert report.figures == [] and report.summary.rows == []
    assert report.failed.rows == [["broken/m/a/none/seed0", "ValueError: <b>bad</b> input"]]
    html = index.read_text()
    assert "The study has no finished runs yet." in html
    assert "ValueError: &lt;b&gt;bad&lt;/b&gt; input" in html


def test_only_the_newest_row_of_a_run_id_is_reported(tmp_path):
    from poisonlab.experiment.store import RunRecord, run_key

    def record(version, finished, accuracy):
        config = {"metrics": version}
        return RunRecord(
            key=run_key(config),
            run_id="t/m/a/none/seed0",
            experiment="t",
            dataset="d",
            model="m",
            attack="a",
            defense="none",
            seed=0,
            run_seed=0,
            budget=5,
            status="ok",
            error=None,
            config=config,
            metrics={"accuracy": accuracy},
            finished=finished,
        )

    with ResultStore(tmp_path) as store:
        store.write_run(record("old", "2026-01-01T00:00:00Z", 0.5))
        store.write_run(record("new", "2026-01-02T00:00:00Z", 0.75))
    study = load_study(tmp_path)
    try:
        assert [r.metrics["accuracy"] for r in study.runs] == [0.75]
        assert study.superseded == 1
        table = build_report(study).summary
    finally:
        study.store.close()
    assert table.rows == [["5", "1", "0.750"]]
    assert "1 older row of the same runs" in table.note


# ------------------------------------------------------------------------------ the lab


@pytest.mark.slow
def test_lab_report_has_every_figure_it_has_data_for(lab_dir):
    report = _figures(lab_dir)
    names = [f.name for f in report.figures]
    assert names == [
        "metric_accuracy",
        "metric_success_rate",
        "per_class_1",
        "confusion_1",
        "gallery_1",
    ]
    for figure in report.figures:
        width, height = _png_size(figure.render("png"))
        assert width > 300 and height > 100
        assert len(figure.render("svg")) > 5000


@pytest.mark.slow
def test_lab_per_class_tables_are_the_stored_counts(lab_dir):
    report = _figures(lab_dir)
    [per_class] = [f for f in report.figures if f.name == "per_class_1"]
    by_predicted, by_true = per_class.tables
    assert by_predicted.columns == ["class", "clean", "N=10", "N=60"]
    with ResultStore(lab_dir, create=False) as store:
        [run] = store.runs(budget=60)
    assert [int(r[3]) for r in by_predicted.rows] == run.metrics["per_class"][
        "incorrect_by_predicted"
    ]
    assert [int(r[3]) for r in by_true.rows] == run.metrics["per_class"]["missed_by_true"]


@pytest.mark.slow
def test_chosen_budgets_must_be_in_the_study(lab_dir):
    report = _figures(lab_dir, ReportOptions(budgets=[60]))
    [figure] = [f for f in report.figures if f.name == "per_class_1"]
    with pytest.raises(ValueError, match=r"budgets: 45 is not .* its budgets are 0, 10, 60\."):
        _figures(lab_dir, ReportOptions(budgets=[10, 45]))
    assert figure.tables[0].columns == ["class", "clean", "N=60"]


@pytest.mark.slow
def test_lab_gallery_shows_the_flipped_ones(lab_dir):
    with ResultStore(lab_dir, create=False) as store:
        [run] = store.runs(budget=60)
        arrays = store.arrays(run.key)
    assert arrays["gallery_images"].shape == (8, 28, 28)
    assert arrays["gallery_images"].dtype == np.uint8
    assert arrays["gallery_y_true"].tolist() == ["1"] * 8
    assert arrays["gallery_y_poisoned"].tolist() == ["2"] * 8
    np.testing.assert_array_equal(arrays["gallery_rows"], arrays["poison_indices"][:8])


@pytest.mark.slow
def test_markdown_report_has_tables_figures_and_spec(lab_dir):
    _, paths = write_report(lab_dir, "md")
    names = sorted(p.name for p in paths)
    assert "report.md" in names and "per_class_1.png" in names
    text = (lab_dir / "report" / "report.md").read_text()
    # One model, attack and defense: named once in the title, not repeated in columns.
    assert "### Summary: 3 runs of mnist · svc · label\\_flip · none" in text
    # Short names in titles and legends; the key gives their parameters.
    assert "| attack | label\\_flip | label\\_flip\\[select=first,source=1,target=2\\] |" in text
    assert "| budget | seeds | accuracy | success |" in text
    assert "![Mistakes per class" in text and "```toml" in text


@pytest.mark.slow
def test_write_report_renders_everything_before_writing(lab_dir, monkeypatch):
    import poisonlab.report.build as build

    out = lab_dir / "report"
    before = sorted(p.name for p in out.iterdir()) if out.exists() else []

    def broken(report, fmt, progress=None):
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(build, "render_files", broken)
    with pytest.raises(RuntimeError):
        build.write_report(lab_dir, "svg")
    after = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert after == before


# ------------------------------------------------------------------------- runner studies


def _check_figures(report) -> None:
    for figure in report.figures:
        width, height = _png_size(figure.render("png"))
        assert width > 200 and height > 100, figure.name


@pytest.mark.slow
def test_label_study_with_detector_has_curves_and_bands(label_dir):
    report = _figures(label_dir)
    names = [f.name for f in report.figures]
    assert names == [
        "metric_accuracy",
        "metric_success_rate",
        "metric_detection_f1",
        "metric_detection_roc_auc",
        "per_class_1",
        "confusion_1",
        "gallery_1",
        "detection_1",
    ]
    _check_figures(report)
    # Two seeds: the summary gives means and intervals, one row per series and budget.
    assert report.summary.note.startswith("mean ± half-width of its 95% confidence interval")
    assert len(report.summary.rows) == 2 * 3
    [confusion] = [f for f in report.figures if f.name == "confusion_1"]
    titles = [ax.get_title() for ax in confusion.figure.axes]
    assert "clean" in titles and "poisoned (N=30)" in titles
    assert any(t.startswith("after knn_label") for t in titles)


@pytest.mark.slow
def test_detector_curve_matches_the_stored_roc_auc(label_dir):
    from sklearn.metrics import roc_auc_score

    from poisonlab.report.figures import area, detection_truth, roc_points

    study = load_study(label_dir)
    try:
        [run] = [
            r for r in study.runs if r.defense == "knn_label" and r.budget == 30 and not r.seed
        ]
        scores = study.arrays(run)["detector_scores"]
        truth = detection_truth(study, run, len(scores))
    finally:
        study.store.close()
    assert truth.sum() == 30
    assert roc_auc_score(truth, scores) == pytest.approx(run.metrics["detection"]["roc_auc"])
    assert area(*roc_points(truth, scores)) == pytest.approx(run.metrics["detection"]["roc_auc"])


@pytest.mark.slow
def test_backdoor_study_shows_triggered_inputs(backdoor_dir):
    report = _figures(backdoor_dir)
    names = [f.name for f in report.figures]
    assert {"gallery_1", "trigger_1", "detection_1", "confusion_1"} <= set(names)
    _check_figures(report)
    with ResultStore(backdoor_dir, create=False) as store:
        [run] = store.runs(budget=40, defense="none")
        arrays = store.arrays(run.key)
    clean, triggered = arrays["gallery_test_images"], arrays["gallery_test_triggered"]
    assert clean.shape == triggered.shape == (8, 8, 8)
    # The patch: the bottom-right 2x2 pixels changed to the training maximum, nothing else.
    assert (triggered[:, 6:, 6:] == 16).all()
    np.testing.assert_array_equal(triggered[:, :6, :], clean[:, :6, :])
    assert "0" not in arrays["gallery_test_labels"].tolist()
    assert set(arrays["gallery_y_poisoned"].tolist()) == {"0"}


@pytest.mark.slow
def test_test_time_detector_curve_uses_the_triggered_rows(backdoor_dir):
    from poisonlab.report.figures import area, detection_truth, roc_points

    study = load_study(backdoor_dir)
    try:
        [run] = [r for r in study.runs if r.defense == "strip" and r.budget == 40]
        scores = study.arrays(run)["detector_scores"]
        truth = detection_truth(study, run, len(scores))
    finally:
        study.store.close()
    # STRIP scores the 300 clean test inputs, then their 300 triggered copies.
    assert len(scores) == 600 and truth[300:].all() and not truth[:300].any()
    assert area(*roc_points(truth, scores)) == pytest.approx(run.metrics["detection"]["roc_auc"])


@pytest.mark.slow
def test_run_cli_writes_the_report(tmp_path):
    spec = tmp_path / "spec.toml"
    # One run, no detector: the command's own work (running, then reporting) is what is tested.
    spec.write_text(
        BACKDOOR_SPEC.replace("budget = [0, 40]", "budget = [20]").replace(
            '[[defenses]]\nname = "strip"\n', ""
        )
    )
    done = run_cli("run", str(spec), "-o", str(tmp_path / "o"))
    assert done.returncode == 0, done.stderr
    assert f"Report written to {tmp_path / 'o' / 'report' / 'index.html'}" in done.stdout
    again = run_cli("report", str(tmp_path / "o"), "--format", "svg")
    assert again.returncode == 0, again.stderr
    assert "Summary: 1 run" in again.stdout
    assert (tmp_path / "o" / "report" / "trigger_1.svg").stat().st_size > 5000


def test_report_cli_errors_are_one_line(tmp_path):
    missing = run_cli("report", str(tmp_path / "nothing"))
    assert missing.returncode == 2
    assert missing.stderr.startswith("poisonlab: error: no results store")
    assert len(missing.stderr.splitlines()) == 1
    bad = run_cli("report", str(tmp_path), "--format", "gif")
    assert bad.returncode == 2 and "format: must be one of html, png, svg, pdf, md" in bad.stderr
    assert not (tmp_path / "report").exists()


@pytest.mark.slow
def test_lab_cli_writes_the_report_unless_told_not_to(tmp_path):
    args = ["lab", "ml106", "--poison", "10", "--train-size", "300", "--test-size", "100"]
    done = run_cli(*args, "--out", str(tmp_path / "a"))
    assert done.returncode == 0, done.stderr
    assert f"Report written to {tmp_path / 'a' / 'report' / 'index.html'}" in done.stdout
    assert (tmp_path / "a" / "report" / "index.html").stat().st_size > 10_000
    skipped = run_cli(*args, "--out", str(tmp_path / "b"), "--no-report")
    assert skipped.returncode == 0, skipped.stderr
    assert not (tmp_path / "b" / "report").exists()


# ------------------------------------------------------------------------- in a browser

needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="chromium is not installed (make test installs Debian's package when run as root)",
)

_PAGE_CHECKS = {
    "images": "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)",
    "scripts": "document.scripts.length",
    "text": "document.body.innerText",
}


def _check_page(path: Path, shot: Path) -> dict:
    page = visit(path, _PAGE_CHECKS)
    shot.write_bytes(page.screenshot)
    assert page.console_errors == []
    assert page.failed_requests == []
    assert page.dialogs == []
    # The page itself, then only its embedded data: URIs.
    assert page.requests[0] == path.resolve().as_uri()
    assert all(url.startswith("data:image/svg+xml") for url in page.requests[1:])
    assert page.values["images"] and all(page.values["images"])
    assert page.values["scripts"] == 0
    _assert_not_blank(page.screenshot)
    return page.values


@pytest.mark.slow
@needs_chromium
def test_lab_report_in_chromium(lab_dir, tmp_path):
    _, [index] = write_report(lab_dir, "html")
    values = _check_page(index, tmp_path / "shot.png")
    assert "Mistakes per class, clean versus poisoned" in values["text"]
    assert "The ML 106 lab as a study" in values["text"]  # the spec


@pytest.mark.slow
@needs_chromium
def test_label_study_in_chromium(label_dir, tmp_path):
    _, [index] = write_report(label_dir, "html")
    values = _check_page(index, tmp_path / "shot.png")
    assert "ROC" not in values["text"] or "Detectors:" in values["text"]
    assert "knn_label[n_components=10,n_neighbors=5]" in values["text"]


@pytest.mark.slow
@needs_chromium
def test_backdoor_study_in_chromium(backdoor_dir, tmp_path):
    _, [index] = write_report(backdoor_dir, "html")
    values = _check_page(index, tmp_path / "shot.png")
    assert "Backdoor: clean and triggered test inputs" in values["text"]


def test_names_from_data_are_escaped_in_the_html(evil_dir):
    report, [index] = write_report(evil_dir, "html")
    html = index.read_text()
    assert EVIL not in html and "<b>label" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script") == 0
    # The class names reached the figures and tables (so escaping was tested, not skipped).
    assert any(f.name == "per_class_1" for f in report.figures)


@needs_chromium
def test_markup_in_class_names_renders_as_text_in_chromium(evil_dir, tmp_path):
    _, [index] = write_report(evil_dir, "html")
    values = _check_page(index, tmp_path / "shot.png")
    assert EVIL in values["text"]
    assert DOLLARS in values["text"]


def test_markdown_keeps_names_as_text(evil_dir):
    write_report(evil_dir, "md")
    text = (evil_dir / "report" / "report.md").read_text()
    body, spec = text.split("## The spec")
    # Escaped in the text (it renders as written), verbatim in the spec's code block.
    assert EVIL not in body and "\\<script\\>alert\\(1\\)\\</script\\>" in body
    assert EVIL in spec


CERTIFIED_SPEC = """
name = "digits-certified"
seeds = [0]

[dataset]
name = "digits"
split = { train = [0, 400], test = [1000, 1200] }

[[models]]
name = "partition_ensemble"
params = { n_partitions = 10, estimator = { name = "knn" } }

[[models]]
name = "svc"

[[attacks]]
name = "label_flip"
params = { source = "1", target = "7", select = "random" }
budget = [0, 20]

[[defenses]]
name = "none"
"""


@pytest.mark.slow
def test_certified_accuracy_is_drawn_from_the_stored_rows(tmp_path):
    directory = run_spec(tmp_path, CERTIFIED_SPEC)
    report = _figures(directory)
    [certified] = [f for f in report.figures if f.name == "certified"]
    _check_figures(report)
    with ResultStore(directory, create=False) as store:
        [run] = store.runs(
            budget=20, model='partition_ensemble[n_partitions=10,estimator={"name":"knn"}]'
        )
    lines = {line.get_label(): line for line in certified.figure.axes[0].get_lines()}
    # Only the ensemble certifies anything: one line per budget, the svc runs have none.
    assert sorted(lines) == ["N=0", "N=20"]
    expected = [row["certified_accuracy"] for row in run.metrics["certified_accuracy"]]
    np.testing.assert_allclose(lines["N=20"].get_ydata(), expected)


def test_report_json_is_one_document_of_its_tables(evil_dir, tmp_path):
    out = tmp_path / "r"
    proc = run_cli("report", str(evil_dir), "--json", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # nothing but the document on stdout
    assert doc["written"] == [str(out / "index.html")]
    report, _ = write_report(evil_dir, "html", out=tmp_path / "again")
    assert doc["tables"] == [
        {"title": t.title, "columns": t.columns, "rows": t.rows, "note": t.note}
        for t in report.tables()
    ]
    assert doc["tables"][0]["title"].startswith("Summary") and doc["tables"][0]["rows"]
