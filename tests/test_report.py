"""Reports: figures and tables from real stored studies, the HTML page in headless Chromium,
escaping of names that come from data, Markdown, atomic writes and the CLI."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from poisonlab.experiment.store import ResultStore
from poisonlab.labs.ml106 import run_ml106
from poisonlab.labs.output import write_lab_results
from poisonlab.report.build import build_report, write_report
from poisonlab.report.figures import default_budgets
from poisonlab.report.study import load_study
from poisonlab.report.tables import TextTable, mean_text, to_markdown

from .chromium import find_chromium, visit
from .conftest import run_cli

# ------------------------------------------------------------------------------ studies


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory) -> Path:
    """The ML 106 lab on a small split (500 training, 300 test rows of MNIST), stored."""
    out = tmp_path_factory.mktemp("lab")
    result = run_ml106(poison=[10, 60], train_size=500, test_size=300)
    write_lab_results(result, out)
    return out


def _figures(directory: Path):
    study = load_study(directory)
    try:
        return build_report(study)
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


def test_mean_text_is_mean_and_sample_sd():
    assert mean_text([0.5]) == "0.500"
    assert mean_text([0.5, None, 0.7]) == "0.600 ± 0.141"
    assert mean_text([None]) == "–"


def test_default_budgets_pick_smallest_middle_largest():
    assert default_budgets([0, 10, 30]) == [10, 30]
    assert default_budgets(list(range(0, 225, 5))) == [5, 115, 220]


def test_markdown_escapes_pipes():
    table = TextTable("t", ["a|b"], [["x|y"]])
    assert "| a\\|b |" in to_markdown(table) and "| x\\|y |" in to_markdown(table)


# ------------------------------------------------------------------------------ the lab


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


def test_lab_gallery_shows_the_flipped_ones(lab_dir):
    with ResultStore(lab_dir, create=False) as store:
        [run] = store.runs(budget=60)
        arrays = store.arrays(run.key)
    assert arrays["gallery_images"].shape == (8, 28, 28)
    assert arrays["gallery_images"].dtype == np.uint8
    assert arrays["gallery_y_true"].tolist() == ["1"] * 8
    assert arrays["gallery_y_poisoned"].tolist() == ["2"] * 8
    np.testing.assert_array_equal(arrays["gallery_rows"], arrays["poison_indices"][:8])


def test_markdown_report_has_tables_figures_and_spec(lab_dir):
    _, paths = write_report(lab_dir, "md")
    names = sorted(p.name for p in paths)
    assert "report.md" in names and "per_class_1.png" in names
    text = (lab_dir / "report" / "report.md").read_text()
    assert "| model | attack | defense | budget |" in text
    assert "![Mistakes per class" in text and "```toml" in text


def test_write_report_renders_everything_before_writing(lab_dir, monkeypatch):
    import poisonlab.report.build as build

    out = lab_dir / "report"
    before = sorted(p.name for p in out.iterdir()) if out.exists() else []

    def broken(report, fmt):
        raise RuntimeError("rendering failed")

    monkeypatch.setattr(build, "render_files", broken)
    with pytest.raises(RuntimeError):
        build.write_report(lab_dir, "svg")
    after = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert after == before


def test_report_cli_errors_are_one_line(tmp_path):
    missing = run_cli("report", str(tmp_path / "nothing"))
    assert missing.returncode == 2
    assert missing.stderr.startswith("poisonlab: error: no results store")
    assert len(missing.stderr.splitlines()) == 1
    bad = run_cli("report", str(tmp_path), "--format", "pdf")
    assert bad.returncode == 2 and "--format: must be one of html, png, svg, md" in bad.stderr
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
    assert all(url.startswith("data:image/svg+xml;base64,") for url in page.requests[1:])
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
