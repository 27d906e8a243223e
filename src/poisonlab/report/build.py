"""``poisonlab report``: read a study's store, build its figures and tables, write the files.

Everything is rendered in memory first and only then written, each file atomically (a temporary
file renamed into place): an error while rendering leaves ``DIR/report/`` as it was.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from .._errors import ParameterError
from ..datasets.base import write_files_atomically
from .figures import ReportFigure, all_figures
from .study import StudyData, load_study
from .tables import TextTable, failed_table, md_escape, summary_table, to_markdown

#: Output formats of :func:`write_report`.
FORMATS = ("html", "png", "svg", "md")
#: Where the report goes, inside the study's directory.
REPORT_DIR = "report"


@dataclass
class Report:
    """A study's report, ready to write in any format.

    Attributes
    ----------
    title : str
    meta : dict of str to str
    description : str
    summary : TextTable
    failed : TextTable or None
    figures : list of ReportFigure
    spec : str
    n_runs : int
    """

    title: str
    meta: dict[str, str]
    description: str
    summary: TextTable
    failed: TextTable | None
    figures: list[ReportFigure]
    spec: str
    n_runs: int

    def tables(self) -> list[TextTable]:
        """Every table: the summary, the failed runs, then the figures' own."""
        tables = [self.summary, *([self.failed] if self.failed else [])]
        return tables + [t for f in self.figures for t in f.tables]


def build_report(study: StudyData, *, budgets: list[int] | None = None) -> Report:
    """The figures and tables of a loaded study (nothing is written).

    Parameters
    ----------
    study : StudyData
    budgets : list of int, optional
        Budgets for the per-class figure (default: up to three of the study's).
    """
    spec = study.meta.get("spec", "")
    return Report(
        title=study.name,
        meta=study.meta,
        description=_description(spec),
        summary=summary_table(study),
        failed=failed_table(study),
        figures=all_figures(study, budgets),
        spec=spec,
        n_runs=len(study.runs),
    )


def _description(spec: str) -> str:
    try:
        value = tomllib.loads(spec).get("description", "")
    except tomllib.TOMLDecodeError:
        return ""
    return value if isinstance(value, str) else ""


def render_files(report: Report, fmt: str) -> dict[str, bytes]:
    """The report's files, by name, in one format (see :func:`write_report`)."""
    if fmt == "html":
        from .html import render_html

        page = render_html(
            title=report.title,
            meta=report.meta,
            description=report.description,
            summary=report.summary,
            failed=report.failed,
            figures=report.figures,
            spec=report.spec,
            n_runs=report.n_runs,
        )
        return {"index.html": page.encode("utf-8")}
    image = "png" if fmt == "md" else fmt
    files = {f"{f.name}.{image}": f.render(image) for f in report.figures}
    if fmt == "md":
        files["report.md"] = markdown(report).encode("utf-8")
    return files


def markdown(report: Report) -> str:
    """The report as Markdown: tables, links to the PNG figures beside it, and the spec."""
    parts = [f"# {md_escape(report.title)}\n"]
    if report.description:
        parts.append(md_escape(report.description) + "\n")
    parts += [to_markdown(t) for t in (report.summary, report.failed) if t is not None]
    for f in report.figures:
        title, caption = md_escape(f.title), md_escape(f.caption)
        parts.append(f"## {title}\n\n![{title}]({f.name}.png)\n\n{caption}\n")
        parts += [to_markdown(t) for t in f.tables]
    if report.spec:
        # A fence longer than any run of backticks in the spec, so the spec cannot close it.
        fence = "`" * max(3, _longest_backtick_run(report.spec) + 1)
        parts.append(f"## The spec\n\n{fence}toml\n{report.spec.rstrip()}\n{fence}\n")
    return "\n".join(parts)


def _longest_backtick_run(text: str) -> int:
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return longest


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ParameterError.named("format", f"must be one of {', '.join(FORMATS)}; got {fmt!r}.")
    return fmt


def write_report(
    directory: str | Path,
    fmt: str = "html",
    *,
    budgets: list[int] | None = None,
    include_stale: bool = False,
) -> tuple[Report, list[Path]]:
    """Render a stored study's report into ``directory/report/``.

    Parameters
    ----------
    directory : str or Path
        A study's output directory (holding ``results.sqlite``).
    fmt : {"html", "png", "svg", "md"}, default="html"
        ``html``: one self-contained ``index.html``; ``png``/``svg``: one file per figure;
        ``md``: ``report.md`` with the tables and the spec, and its figures as PNG files.
    budgets : list of int, optional
        Budgets the per-class figure shows.
    include_stale : bool, default=False
        Also report rows computed by other code (see ``ResultStore.runs``).

    Returns
    -------
    report : Report
    paths : list of Path
        The files written.
    """
    check_format(fmt)
    import matplotlib

    matplotlib.use("Agg")  # never a GUI backend, whatever the environment says
    study = load_study(directory, include_stale=include_stale)
    try:
        with matplotlib.rc_context({"svg.hashsalt": "poisonlab", "svg.fonttype": "path"}):
            report = build_report(study, budgets=budgets)
            files = render_files(report, fmt)
    finally:
        study.store.close()
    out = Path(directory) / REPORT_DIR
    # All files or none: a full disk never leaves half a report (e.g. 10 of md's 21 files).
    paths = [out / name for name in files]
    write_files_atomically(dict(zip(paths, files.values(), strict=True)))
    return report, paths


def print_report(report: Report, console) -> None:
    """The report's tables in the terminal (rich)."""
    from .tables import to_rich

    for table in report.tables():
        console.print(to_rich(table))
