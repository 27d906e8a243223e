"""The audit's tables, figures and HTML page, built with the report machinery of
:mod:`poisonlab.report` (``TextTable``, ``ReportFigure``, the autoescaped ``render_html``).

It also borrows that package's figure helpers (``new_figure``, ``show_images``) rather than
writing second copies. The same :class:`~poisonlab.report.tables.TextTable` objects feed the
terminal (rich, markup off, so class names from the data print as text) and the HTML page.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datasets import Dataset
from ..datasets.base import write_atomically
from ..report.tables import TextTable
from .core import AuditResult

#: What each check looks for, for the checks table.
WHAT = {
    "neighbours": "label disagrees with its 10 nearest neighbours (knn_label)",
    "confident_learning": "cleanlab label issue on out-of-fold probabilities",
    "outliers": "unlike the rest of its class (IsolationForest + LOF, robust z >= 3)",
    "duplicates": "exact or near duplicate of rows with other labels",
    "label_flow": "labelled a class that grew, looks like a class that shrank",
    "reference_shift": "far from every row of the reference set (robust z >= 3)",
}

#: Rows shown in the HTML page's table and gallery.
HTML_ROWS = 50
GALLERY = 16


def checks_table(result: AuditResult) -> TextTable:
    """One row per check: how many rows it fired on, or why it was skipped."""
    rows = [[c.name, str(int(c.fired.sum())), WHAT[c.name]] for c in result.checks]
    rows += [[name, "–", f"skipped: {why}"] for name, why in result.skipped.items()]
    return TextTable("Checks", ["check", "rows fired", "looks for"], rows)


def distribution_table(result: AuditResult) -> TextTable:
    """Per class: observed and expected counts and the adjusted residual."""
    dist = result.distribution
    against = "the reference labels" if dist["against"] == "reference" else "uniform"
    rows = [
        [str(c), str(int(o)), f"{e:.1f}", f"{r:+.2f}", _direction(str(c), dist)]
        for c, o, e, r in zip(
            dist["classes"], dist["observed"], dist["expected"], dist["residuals"], strict=True
        )
    ]
    note = (
        f"Chi-square test against {against}: p = {dist['p_value']:.3g}. Classes with an adjusted "
        "residual of at least 3 grew, of at most -3 shrank."
    )
    return TextTable(
        "Label distribution", ["class", "observed", "expected", "residual", ""], rows, note
    )


def _direction(label: str, dist: dict) -> str:
    if label in [str(c) for c in dist["grown"]]:
        return "grew"
    return "shrank" if label in [str(c) for c in dist["shrunk"]] else ""


def top_table(result: AuditResult, top: int) -> TextTable:
    """The ``top`` highest-scoring rows (those with a score above 0)."""
    suggested = result.suggested_labels()
    rows = []
    for rank, i in enumerate(result.ranking[:top], start=1):
        if result.score[i] <= 0:
            break
        why = "; ".join(f"{name}: {text}" for name, text in result.reasons(int(i)))
        shown = str(suggested[i]) if suggested[i] != result.y[i] else ""
        rows.append([str(rank), str(i), str(result.y[i]), shown, f"{result.score[i]:.2f}", why])
    columns = ["rank", "row", "label", "suggested", "score", "why"]
    return TextTable(f"Top {top} rows", columns, rows)


def verdict(result: AuditResult) -> str:
    """One sentence: how many rows score above ``fail_on`` and the exit status."""
    n = int(result.flagged.sum())
    if n:
        return f"{n} rows score above --fail-on {result.fail_on:g} (exit 1)."
    return f"No row scores above --fail-on {result.fail_on:g} (exit 0)."


def print_audit(result: AuditResult, dataset: Dataset, console, *, top: int) -> None:
    """The terminal summary: checks, label distribution, the top rows and the verdict."""
    from ..report.tables import to_rich

    console.print(
        f"audit of {dataset.name}: {len(result.y)} rows, {dataset.X.shape[1]} features, "
        f"{len(np.unique(result.y))} classes",
        markup=False,
    )
    console.print(to_rich(checks_table(result)))
    console.print(to_rich(distribution_table(result)))
    console.print(to_rich(top_table(result, top)))
    style = "bold red" if result.flagged.any() else "bold green"
    console.print(verdict(result), style=style, markup=False)


def figures(result: AuditResult, dataset: Dataset) -> list:
    """The page's figures: the score distribution, and a gallery of the top rows for images."""
    out = [_score_figure(result)]
    if dataset.image_shape is not None and np.any(result.score > 0):
        out.append(_gallery(result, dataset))
    return out


def _score_figure(result: AuditResult):
    from ..report.figures import ReportFigure, new_figure

    fig = new_figure(6.4, 3.6)
    ax = fig.subplots()
    top = max(float(result.score.max()), result.fail_on) + 0.25
    ax.hist(result.score, bins=np.arange(0, top + 0.125, 0.125), color="#4c72b0", log=True)
    ax.axvline(result.fail_on, color="#c44e52", linestyle="--", label="--fail-on")
    ax.set_xlabel("combined score (sum of the strengths of the checks that fired)")
    ax.set_ylabel("rows (log scale)")
    ax.legend()
    n = int(result.flagged.sum())
    return ReportFigure(
        "scores",
        "Combined scores",
        f"Rows per combined score; {n} of {len(result.score)} rows score above --fail-on "
        f"{result.fail_on:g}. Rows where no check fired score 0.",
        fig,
    )


def _gallery(result: AuditResult, dataset: Dataset):
    from ..report.figures import ReportFigure, new_figure, show_images

    rows = [int(i) for i in result.ranking[:GALLERY] if result.score[i] > 0]
    suggested = result.suggested_labels()
    images = [dataset.X[i].reshape(dataset.image_shape) for i in rows]
    titles = [
        f"#{i}: {result.y[i]}" + (f" → {suggested[i]}" if suggested[i] != result.y[i] else "")
        for i in rows
    ]
    per_row = 8
    n_lines = -(-len(rows) // per_row)
    fig = new_figure(1.3 * per_row + 0.4, 1.9 * n_lines)
    axes = fig.subplots(n_lines, per_row, squeeze=False)
    for ax in axes.ravel()[len(rows) :]:
        ax.set_axis_off()
    for line in range(n_lines):
        chunk = slice(line * per_row, (line + 1) * per_row)
        count = len(rows[chunk])
        show_images(axes[line][:count], images[chunk], titles[chunk])
    return ReportFigure(
        "gallery",
        "Most suspicious rows",
        f"The {len(rows)} highest-scoring rows as images; above each: its row, its label and, "
        "after the arrow, the label the checks suggest.",
        fig,
    )


def write_html(result: AuditResult, dataset: Dataset, out: Path, *, command: str) -> Path:
    """Write ``out/report.html``: one self-contained page (see :mod:`poisonlab.report.html`)."""
    import matplotlib

    matplotlib.use("Agg")
    from ..report.html import render_html

    with matplotlib.rc_context({"svg.hashsalt": "poisonlab", "svg.fonttype": "path"}):
        page = render_html(
            title=f"Audit of {dataset.name}",
            meta=_meta(command),
            description=(
                f"{len(result.y)} rows, {dataset.X.shape[1]} features. {verdict(result)} A row's "
                "score is the sum of the strengths (each in [0, 1], at least 0.5 when the check "
                "fires) of the checks that fired on it; suspicious.csv ranks every row where "
                "one fired."
            ),
            summary=checks_table(result),
            failed=None,
            figures=_with_tables(figures(result, dataset), result),
            spec="",
            n_runs=0,
            headline=f"{len(result.y)} rows audited",
        )
    path = out / "report.html"
    write_atomically(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return path


def _meta(command: str) -> dict[str, str]:
    from datetime import UTC, datetime

    from .. import __version__

    created = datetime.now(UTC).isoformat(timespec="seconds")
    return {"source": command, "created": created, "package_version": __version__}


def _with_tables(figs: list, result: AuditResult) -> list:
    figs[0].tables = [distribution_table(result), top_table(result, HTML_ROWS)]
    return figs
