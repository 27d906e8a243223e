"""The report of a 162-run study, as a researcher would make one (issue 13): facets, filters,
definitions, intervals and paired differences, sizes, exported files and the page in Chromium.

The study is examples/paper_study.toml on a smaller split (digits, 300 training rows): svc and
logreg; label_flip (counts 0..20) and random_flip (fractions 0..0.2); no defense, knn_label and
confident_learning; 3 seeds. It is built once per session; building it takes about 10 s of
CPU (a minute of wall time on a shared machine), so every test using it is marked slow.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from poisonlab.experiment.store import ResultStore
from poisonlab.experiment.study import prepare_study, run_study
from poisonlab.report.build import ReportOptions, build_report, write_report
from poisonlab.report.facets import MAX_LINES, Names, layout
from poisonlab.report.figures import FIGURES
from poisonlab.report.scalars import SCALARS
from poisonlab.report.study import FILTER_FIELDS, SeriesKey, load_study, parse_where

from .chromium import find_chromium, visit
from .conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def study_dir(tmp_path_factory) -> Path:
    """The 162-run study, stored once per session."""
    spec_text = (ROOT / "examples" / "paper_study.toml").read_text()
    spec_text = spec_text.replace(
        "train_size = 600, test_size = 400", "train_size = 300, test_size = 200"
    )
    spec_text = spec_text.replace("budget = [0, 10, 20, 30, 40]", "budget = [0, 5, 10, 15, 20]")
    directory = tmp_path_factory.mktemp("paper")
    spec = directory / "spec.toml"
    spec.write_text(spec_text)
    summary = run_study(prepare_study(spec), directory / "out")
    assert (summary.ok, summary.failed) == (162, 0)
    return directory / "out"


def _report(directory: Path, **options):
    import matplotlib

    from poisonlab.report.canvas import PAPER_RC

    opts = ReportOptions(**options)
    study = load_study(directory, opts.where)
    try:
        with matplotlib.rc_context(PAPER_RC):
            return build_report(study, opts)
    finally:
        study.store.close()


def _figure(report, name):
    [figure] = [f for f in report.figures if f.name == name]
    return figure


def _panels(figure):
    """The axes that hold data (not the blank cells of a grid)."""
    return [ax for ax in figure.figure.axes if ax.axison]


def _data_lines(ax):
    # Lines with markers are series; reference lines and chance diagonals have none.
    return [line for line in ax.get_lines() if line.get_marker() not in (None, "None", "")]


# ------------------------------------------------------------------------------ fast units


def test_report_registries_keep_page_order():
    assert [n for n, _ in FIGURES.items()] == [
        "metric",
        "per_class",
        "confusion",
        "gallery",
        "detection",
        "certified",
        "certificates",
    ]
    assert "detection_f1" in SCALARS


@given(
    st.lists(
        st.tuples(
            st.sampled_from(FILTER_FIELDS),
            st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs")), min_size=1).filter(
                lambda v: "=" not in v and v.strip() == v
            ),
        ),
        max_size=5,
    )
)
def test_parse_where_keeps_every_value_of_a_field(pairs):
    where = parse_where(f"{k}={v}" for k, v in pairs)
    for k, v in pairs:
        assert v in where[k]
    assert sum(len(v) for v in where.values()) == len(pairs)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("model", "where: expected FIELD=VALUE"),
        ("=svc", "where: expected FIELD=VALUE"),
        ("colour=red", "where: cannot filter by 'colour'; fields: dataset, model"),
    ],
)
def test_parse_where_errors_name_the_problem(item, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_where([item])


def test_layout_facets_further_beyond_six_lines():
    keys = [
        SeriesKey("d", m, a, f)
        for m in ("svc", "logreg", "knn")
        for a in ("flip", "noise")
        for f in ("none", "cl")
    ]
    plan = layout(keys, ["dataset"])
    assert plan.added == ["attack"]
    assert max(len(v) for v in plan.panels.values()) <= MAX_LINES
    assert sorted(k for v in plan.panels.values() for k in v) == sorted(keys)  # each once
    default = layout(keys, None)
    assert default.facets == ["attack", "model"] and len(default.panels) == 6


def test_svg_export_has_a_title_element_and_png_and_pdf_their_metadata():
    from poisonlab.report.canvas import ReportFigure, new_figure

    fig = new_figure(3, 2)
    fig.subplots().plot([0, 1], [0, 1])
    figure = ReportFigure("x", 'Accuracy of "svc" & <knn>', "caption", fig)
    svg = figure.render("svg", titled=True).decode()
    assert "<title>Accuracy of &quot;svc&quot; &amp; &lt;knn&gt;</title>" in svg
    assert re.search(r"<svg[^>]*>\s*<title>", svg)  # the first child names the image
    from PIL import Image

    png = Image.open(io.BytesIO(figure.render("png")))
    assert png.text["Title"] == 'Accuracy of "svc" & <knn>'
    assert png.size == (600, 400)  # 3 x 2 inches at 200 dpi
    pdf = figure.render("pdf")
    assert b'/Title (Accuracy of "svc" & <knn>)' in pdf


def test_short_names_say_what_differs():
    from poisonlab.experiment.store import RunRecord

    def record(c):
        config = {"model": {"name": "svc", "params": {"C": c, "kernel": "rbf"}}}
        return RunRecord(
            "k",
            "r",
            "e",
            "d",
            f"svc[C={c},kernel=rbf]",
            "none",
            "none",
            0,
            0,
            None,
            "ok",
            None,
            config,
        )

    names = Names([record(1), record(10)])
    assert names.short("model", "svc[C=1,kernel=rbf]") == "svc C=1"
    assert names.short("model", "svc[C=10,kernel=rbf]") == "svc C=10"
    assert names.key_table().rows[0] == ["model", "svc C=1", "svc[C=1,kernel=rbf]"]


# ------------------------------------------------------------------------- the 162 runs


@pytest.mark.slow
def test_metric_figures_are_small_multiples_with_one_style(study_dir):
    report = _report(study_dir)
    accuracy = _figure(report, "metric_accuracy")
    panels = _panels(accuracy)
    titles = sorted(ax.get_title() for ax in panels)
    assert titles == [
        "label_flip · logreg",
        "label_flip · svc",
        "random_flip · logreg",
        "random_flip · svc",
    ]
    # Budgets in their own unit; one shared y range; at most six lines per panel.
    for ax in panels:
        unit = "fraction" if ax.get_title().startswith("random_flip") else "training samples"
        assert unit in ax.get_xlabel()
        assert len(_data_lines(ax)) == 3 <= MAX_LINES
        assert ax.get_ylim() == panels[0].get_ylim()
    fractions = next(ax for ax in panels if ax.get_title().startswith("random_flip"))
    assert max(_data_lines(fractions)[0].get_xdata()) == pytest.approx(0.2)
    # The same colour for a defense on every figure; the same marker for a model.
    colours = {}
    for figure in (accuracy, _figure(report, "metric_detection_f1")):
        legend = figure.figure.legends[0]
        for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True):
            colours.setdefault(text.get_text(), set()).add(handle.get_color())
    assert all(len(c) == 1 for c in colours.values()) and len(colours) == 3
    markers = {
        ax.get_title().split(" · ")[1]: {ln.get_marker() for ln in _data_lines(ax)} for ax in panels
    }
    assert markers["svc"] != markers["logreg"] and all(len(m) == 1 for m in markers.values())


@pytest.mark.slow
def test_detectors_are_drawn_once_for_all_models(study_dir):
    report = _report(study_dir)
    f1 = _figure(report, "metric_detection_f1")
    assert sorted(ax.get_title() for ax in _panels(f1)) == [
        "label_flip · all models",
        "random_flip · all models",
    ]
    assert "never the model" in f1.caption
    assert [f.name for f in report.figures if f.name.startswith("detection_")] == [
        "detection_1",
        "detection_2",
    ]


@pytest.mark.slow
def test_every_series_once_and_galleries_once_per_poisoned_set(study_dir):
    report = _report(study_dir)
    names = [f.name for f in report.figures]
    # 2 models x 2 attacks x 3 defenses, each at 4 or 5 budgets.
    assert len(report.summary.rows) == 2 * 3 * (5 + 4)
    assert sum(n.startswith("per_class_") for n in names) == 4
    assert sum(n.startswith("confusion_") for n in names) == 4
    assert sum(n.startswith("gallery_") for n in names) == 2  # one per attack, not per model
    assert not any("Not shown" in f.caption for f in report.figures)


@pytest.mark.slow
def test_undefined_values_are_undefined_not_zero(study_dir):
    report = _report(study_dir)
    columns = report.summary.columns
    f1 = columns.index("det. F1")
    budget = columns.index("budget")
    defense = columns.index("defense")
    at_zero = [r for r in report.summary.rows if r[budget] == "0" and r[defense] != "none"]
    assert at_zero and all(r[f1] == "undefined" for r in at_zero)
    success = columns.index("success")
    attack = columns.index("attack")
    assert {r[success] for r in report.summary.rows if r[attack] == "random_flip"} == {"undefined"}
    figure = _figure(report, "metric_detection_f1")
    for ax in _panels(figure):
        assert all(min(line.get_xdata()) > 0 for line in _data_lines(ax))
    assert "not drawn" in figure.caption


@pytest.mark.slow
def test_definitions_are_on_the_page(study_dir):
    report, [index] = write_report(study_dir, "html")
    html = index.read_text()
    for name in ("accuracy", "success_rate", "detection_f1", "detection_roc_auc"):
        definition = SCALARS.get(name).definition
        assert definition.replace("'", "&#39;") in html, name
    assert "after sanitizing" in html
    assert "Fraction of source test inputs predicted as target." in html  # label_flip's
    assert "95% confidence interval (Student&#39;s t, 2 degrees of freedom)" in html
    assert len(index.read_bytes()) < 1_500_000
    assert html.count("%3Ctitle%3E") == len(report.figures)  # each SVG names itself


@pytest.mark.slow
def test_paired_differences_are_per_seed_on_the_same_poisoned_sets(study_dir):
    from scipy import stats

    report = _report(study_dir)
    table = _figure(report, "metric_accuracy").tables[0]
    assert table.columns == [
        "model",
        "attack",
        "budget",
        "difference",
        "mean ± CI",
        "seeds",
        "0 outside",
    ]
    [row] = [r for r in table.rows if r[:4] == ["svc", "label_flip", "N=20", "knn_label − none"]]
    with ResultStore(study_dir, create=False) as store:
        runs = store.runs(model="svc", attack="label_flip", budget=20)
    by = {(r.defense, r.seed): r.metrics["accuracy"] for r in runs}
    diffs = np.array([by["knn_label", s] - by["none", s] for s in (0, 1, 2)])
    half = stats.t.ppf(0.975, 2) * diffs.std(ddof=1) / np.sqrt(3)
    assert row[4] == f"{diffs.mean():.3f} ± {half:.3f}"
    assert row[5] == "3"


@pytest.mark.slow
def test_filters_metrics_facets_and_budgets(study_dir):
    report = _report(
        study_dir,
        where=parse_where(["model=svc", "attack=label_flip"]),
        metrics=["accuracy", "detection_recall"],
        facets=["defense"],
        budgets=[10],
        roc_budget=20,
    )
    assert report.n_runs == 45  # svc x label_flip x 3 defenses x 5 budgets x 3 seeds
    assert report.filters == "model=svc; attack=label_flip (45 of 162 finished runs)"
    names = [f.name for f in report.figures]
    assert [n for n in names if n.startswith("metric_")] == [
        "metric_accuracy",
        "metric_detection_recall",
    ]
    accuracy = _figure(report, "metric_accuracy")
    assert sorted(ax.get_title() for ax in _panels(accuracy)) == [
        "confident_learning",
        "knn_label",
        "none",
    ]
    assert _figure(report, "per_class_1").tables[0].columns == ["class", "clean", "N=10"]
    detection = _figure(report, "detection_1")
    assert {ax.get_title() for ax in _panels(detection)} == {"ROC, N=20", "precision-recall, N=20"}


@pytest.mark.slow
def test_wrong_choices_are_one_line_errors(study_dir):
    for options, message in [
        ({"where": {"model": ["svm"]}}, "where: no run has model='svm'; its values: "),
        ({"metrics": ["f1"]}, "metric: unknown 'f1'; known: accuracy,"),
        ({"facets": ["colour"]}, "facet: cannot facet by 'colour'; fields: dataset, model"),
        (
            {"budgets": [7]},
            "budgets: 7 is not a poison budget of this study; its budgets are 0, 5,",
        ),
        ({"roc_budget": 0.3}, "roc_budget: 0.3 is not a poison budget"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            _report(study_dir, **options)


@pytest.mark.slow
def test_report_cli_with_every_choice(study_dir, tmp_path):
    out = tmp_path / "pdf"
    done = run_cli(
        "report",
        str(study_dir),
        "--where",
        "model=svc",
        "--where",
        "attack=random_flip",
        "--metric",
        "accuracy",
        "--facet",
        "attack",
        "--budgets",
        "0.1",
        "--roc-budget",
        "0.2",
        "--format",
        "pdf",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "report: rendering 1/" in done.stderr  # progress on stderr
    files = sorted(p.name for p in out.iterdir())
    assert "metric_accuracy.pdf" in files and "detection_1.pdf" in files
    assert (
        b"/Title (Clean test accuracy versus poison budget)"
        in (out / "metric_accuracy.pdf").read_bytes()
    )
    bad = run_cli("report", str(study_dir), "--where", "seed=9", "-o", str(tmp_path / "bad"))
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1
    assert "where: no run has seed='9'; its values: 0, 1, 2." in bad.stderr
    assert not (tmp_path / "bad").exists()


# --------------------------------------------------------------------- nothing cut, no overlap


def _text_boxes(figure):
    """Every title, axis label, tick label and legend of a drawn figure, as display boxes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = []
    for i, ax in enumerate(figure.axes):
        if not ax.axison:
            continue
        for kind, artist in (
            ("title", ax.title),
            ("xlabel", ax.xaxis.label),
            ("ylabel", ax.yaxis.label),
        ):
            if artist.get_text():
                boxes.append(
                    (f"{kind} {i} {artist.get_text()!r}", i, artist.get_window_extent(renderer))
                )
    for legend in figure.legends:
        boxes.append(("legend", -1, legend.get_window_extent(renderer)))
    if figure._suptitle is not None:
        boxes.append(("suptitle", -2, figure._suptitle.get_window_extent(renderer)))
    return boxes


def _assert_nothing_cut_or_overlapping(report):
    for f in report.figures:
        width, height = f.figure.bbox.width, f.figure.bbox.height
        boxes = _text_boxes(f.figure)
        for name, _, box in boxes:
            assert box.x0 >= -1 and box.y0 >= -1, (f.name, name, box)
            assert box.x1 <= width + 1 and box.y1 <= height + 1, (f.name, name, box)
        for a, (name_a, i, box_a) in enumerate(boxes):
            for name_b, j, box_b in boxes[a + 1 :]:
                if i != j:
                    overlap = box_a.overlaps(box_b) and (
                        min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0) > 1
                        and min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0) > 1
                    )
                    assert not overlap, (f.name, name_a, name_b)


@pytest.mark.slow
def test_no_text_of_any_figure_is_cut_or_overlaps(study_dir):
    report = _report(study_dir)
    for f in report.figures:
        f.render("png", titled=True)
    _assert_nothing_cut_or_overlapping(report)


@pytest.mark.slow
def test_confusion_titles_stay_without_a_clean_run(study_dir):
    report = _report(study_dir, where={"budget": ["20"]})
    confusion = _figure(report, "confusion_1")
    titles = [ax.get_title() for ax in _panels(confusion)]
    assert titles == ["poisoned (N=20)", "after confident_learning", "after knn_label"]
    assert "no clean run" in confusion.caption
    confusion.render("png", titled=True)
    _assert_nothing_cut_or_overlapping(report)


needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed")

_LAYOUT = {
    "scroll_width": "document.documentElement.scrollWidth",
    "inner_width": "window.innerWidth",
    "images": "Array.from(document.images).map(i => { const r = i.getBoundingClientRect();"
    " return [r.left, r.right, i.complete && i.naturalWidth > 0]; })",
    # Every element of a section against the next: their boxes must not overlap.
    "overlaps": "Array.from(document.querySelectorAll('section')).flatMap(s => {"
    " const kids = Array.from(s.children).map(c => c.getBoundingClientRect())"
    ".filter(r => r.height > 0);"
    " return kids.slice(1).map((r, i) => kids[i].bottom - r.top).filter(d => d > 1); })",
    "text": "document.body.innerText",
}


@pytest.mark.slow
@needs_chromium
def test_page_at_1400_pixels_has_nothing_cut_or_overlapping(study_dir, tmp_path):
    _, [index] = write_report(study_dir, "html", out=tmp_path / "html")
    page = visit(index, _LAYOUT, width=1400, full_page=True)
    (tmp_path / "page.png").write_bytes(page.screenshot)
    assert page.console_errors == [] and page.failed_requests == []
    values = page.values
    assert values["scroll_width"] <= values["inner_width"]
    for left, right, loaded in values["images"]:
        assert loaded and left >= 0 and right <= values["inner_width"]
    assert values["overlaps"] == []
    assert "What the metrics mean" in values["text"]
    assert "Paired differences between defenses" in values["text"]
