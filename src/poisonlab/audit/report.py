"""The audit's tables, figures and HTML page, built with the report machinery of
:mod:`poisonlab.report` (``TextTable``, ``ReportFigure``, the autoescaped ``render_html``).

It also borrows that package's figure helpers (``new_figure``, ``show_images``) rather than
writing second copies. The same :class:`~poisonlab.report.tables.TextTable` objects feed the
terminal (rich, markup off, so class names from the data print as text) and the HTML page.
"""

from __future__ import annotations

import numpy as np

from ..report.tables import TextTable
from .checks import CHECKS
from .core import AuditResult
from .table import AuditTable, role_table

#: Rows shown in the HTML page's table and gallery.
HTML_ROWS = 50
GALLERY = 16


def checks_table(result: AuditResult) -> TextTable:
    """One row per check: how many rows it fired on, or why it was skipped."""
    rows = [[c.name, str(int(c.fired.sum())), CHECKS.get(c.name).what] for c in result.checks]
    rows += [[name, "–", f"skipped: {why}"] for name, why in result.skipped.items()]
    return TextTable("Checks", ["check", "rows fired", "looks for"], rows)


def distribution_table(result: AuditResult) -> TextTable:
    """Per class: observed and expected counts and the adjusted residual."""
    dist = result.distribution
    against = dist["against"]
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


def tests_table(result: AuditResult) -> TextTable:
    """The dataset-level tests that decide the gate, with their corrected p-values."""
    threshold = result.info["threshold"]
    rows = []
    for t in result.tests:
        status = ("FAIL" if t.p_value < threshold else "pass") if t.gates else "reported"
        rows.append([t.name, f"{t.p_value:.3g}", status, t.finding])
    note = (
        f"The gate fails when a gating test's p-value is below {threshold:.3g} (alpha "
        f"{result.alpha:g}, Bonferroni over the gating tests): clean data fails with "
        f"probability at most {result.alpha:g}."
    )
    return TextTable("Gate", ["test", "p-value", "", "finding"], rows, note)


def data_table(result: AuditResult, table: AuditTable) -> TextTable:
    """Column roles and missing values."""
    missing = result.info["missing"]
    rows = [
        [role, str(len(columns)), ", ".join(columns[:8]) + (", ..." if len(columns) > 8 else "")]
        for role, columns in role_table(table.roles).items()
    ]
    if missing:
        shown = ", ".join(f"{c}: {n}" for c, n in list(missing.items())[:8])
        rows.append(["missing values", str(sum(missing.values())), shown])
    unlabelled = result.info["unlabelled_rows"]
    if unlabelled:
        rows.append(["rows without a label", str(len(unlabelled)), str(unlabelled[:8])[1:-1]])
    return TextTable("Columns", ["role", "count", "columns"], rows)


def verdict(result: AuditResult, doc: dict | None = None) -> str:
    """One sentence: the gate's verdict and the exit status."""
    failing = [t.name for t in result.tests if t.gates and t.p_value < result.info["threshold"]]
    if doc is not None and doc["baseline"] is not None and not doc["new_findings"]:
        return f"Findings ({', '.join(failing)}) all accepted by the baseline (exit 0)."
    if result.failed:
        what = ", ".join(failing) or f"rows above --fail-on {result.fail_on:g}"
        return (
            f"Poisoning pattern found: {what}; {int(result.flagged.sum())} rows flagged (exit 1)."
        )
    return f"No poisoning pattern at alpha {result.alpha:g} (exit 0)."


def print_audit(result: AuditResult, table: AuditTable, console, *, top: int, doc) -> None:
    """The terminal summary: columns, checks, gate, label distribution, top rows, verdict."""
    from ..report.tables import to_rich

    console.print(
        f"audit of {table.name}: {len(result.y)} rows, {table.frame.shape[1]} columns, "
        f"{len(np.unique(result.y[result.y != '']))} classes",
        markup=False,
    )
    for part in (data_table(result, table), checks_table(result), tests_table(result)):
        console.print(to_rich(part))
    console.print(to_rich(distribution_table(result)))
    console.print(to_rich(top_table(result, top)))
    style = "bold red" if doc["exit_status"] else "bold green"
    console.print(verdict(result, doc), style=style, markup=False)


def figures(result: AuditResult, table: AuditTable) -> list:
    """The page's figures: the score distribution, and a gallery of the top rows for images."""
    out = [_score_figure(result)]
    if table.image_shape is not None and np.any(result.score > 0):
        out.append(_gallery(result, table))
    return out


def _score_figure(result: AuditResult):
    from ..report.figures import ReportFigure, new_figure

    fig = new_figure(6.4, 3.6)
    ax = fig.subplots()
    top = max(float(result.score.max()), result.fail_on or 0.0) + 0.25
    ax.hist(result.score, bins=np.arange(0, top + 0.125, 0.125), color="#4c72b0", log=True)
    if result.fail_on is not None:
        ax.axvline(result.fail_on, color="#c44e52", linestyle="--", label="--fail-on")
        ax.legend()
    ax.set_xlabel("combined score (sum of the strengths of the checks that fired)")
    ax.set_ylabel("rows (log scale)")
    n = int(result.flagged.sum())
    return ReportFigure(
        "scores",
        "Combined scores",
        f"Rows per combined score; {n} of {len(result.score)} rows flagged. Rows where no "
        "check fired score 0.",
        fig,
    )


def _gallery(result: AuditResult, table: AuditTable):
    from ..report.figures import ReportFigure, new_figure, show_images

    rows = [int(i) for i in result.ranking[:GALLERY] if result.score[i] > 0]
    suggested = result.suggested_labels()
    pixels = table.frame.to_numpy()
    images = [pixels[i].astype(float).reshape(table.image_shape) for i in rows]
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


def page_html(result: AuditResult, table: AuditTable, *, command: str, doc) -> str:
    """The self-contained report page (see :mod:`poisonlab.report.html`)."""
    import matplotlib

    matplotlib.use("Agg")
    from ..report.html import render_html

    with matplotlib.rc_context({"svg.hashsalt": "poisonlab", "svg.fonttype": "path"}):
        figs = figures(result, table)
        figs[0].tables = [
            data_table(result, table),
            tests_table(result),
            distribution_table(result),
            top_table(result, HTML_ROWS),
        ]
        return render_html(
            title=f"Audit of {table.name}",
            meta=_meta(command),
            description=(
                f"{len(result.y)} rows, {table.frame.shape[1]} columns. {verdict(result, doc)} "
                "A row's score is the sum of the strengths (each in [0, 1], at least 0.5 when "
                "the check fires) of the checks that fired on it; suspicious.csv ranks every "
                "row where one fired."
            ),
            summary=checks_table(result),
            failed=None,
            figures=figs,
            spec="",
            n_runs=0,
            headline=f"{len(result.y)} rows audited",
        )


def _meta(command: str) -> dict[str, str]:
    from datetime import UTC, datetime

    from .. import __version__

    created = datetime.now(UTC).isoformat(timespec="seconds")
    return {"source": command, "created": created, "package_version": __version__}
