"""``poisonlab report``: read a study's store, build its figures and tables, write the files.

Everything is rendered in memory first and only then written, each file atomically (a temporary
file renamed into place): an error while rendering leaves ``DIR/report/`` as it was.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .._errors import ParameterError
from ..datasets.base import write_files_atomically
from .canvas import IMAGE_FORMATS, PAPER_RC, Context, ReportFigure
from .facets import Names, Style, check_facets
from .figures import all_figures, check_budgets
from .scalars import check_scalars
from .study import StudyData, load_study
from .tables import (
    TextTable,
    definitions_table,
    failed_table,
    filters_text,
    md_escape,
    summary_table,
    to_markdown,
)

#: Output formats of :func:`write_report`.
FORMATS = ("html", *IMAGE_FORMATS, "md")
#: Where the report goes, inside the study's directory (unless told otherwise).
REPORT_DIR = "report"


@dataclass(frozen=True)
class ReportOptions:
    """What a reader chose to see.

    Attributes
    ----------
    where : dict of str to list of str
        Filters (``report.study.parse_where``); empty: every run.
    metrics : list of str, optional
        Scalar metrics to plot (default ``scalars.DEFAULT_SCALARS``).
    facets : list of str, optional
        Fields to cut panels by (default: attack x model).
    budgets : list of float, optional
        Budgets of the per-class and detector figures (counts, or fractions as in the spec).
    roc_budget : float, optional
        The one budget of the detector curves and confusion matrices.
    """

    where: dict[str, list[str]] = field(default_factory=dict)
    metrics: list[str] | None = None
    facets: list[str] | None = None
    budgets: list[float] | None = None
    roc_budget: float | None = None


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
    filters : str
        The filters the runs were chosen with (empty: all runs).
    extra : list of TextTable
        The key to short names and the definitions of the metrics.
    """

    title: str
    meta: dict[str, str]
    description: str
    summary: TextTable
    failed: TextTable | None
    figures: list[ReportFigure]
    spec: str
    n_runs: int
    filters: str = ""
    extra: list[TextTable] = field(default_factory=list)

    def tables(self) -> list[TextTable]:
        """Every table: the summary, the failed runs, the key and definitions, then the
        figures' own."""
        tables = [self.summary, *([self.failed] if self.failed else []), *self.extra]
        return tables + [t for f in self.figures for t in f.tables]


def build_report(
    study: StudyData, options: ReportOptions | None = None, *, progress=None
) -> Report:
    """The figures and tables of a loaded study (nothing is written).

    Parameters
    ----------
    study : StudyData
    options : ReportOptions, optional
    progress : callable, optional
        ``progress(message)`` as the work goes on.
    """
    options = options or ReportOptions()
    metrics = check_scalars(options.metrics)
    facets = check_facets(options.facets)
    check_budgets(study, options.budgets, "budgets")
    check_budgets(study, [] if options.roc_budget is None else [options.roc_budget], "roc_budget")
    names = Names(study.runs)
    ctx = Context(
        study,
        metrics,
        facets,
        options.budgets,
        options.roc_budget,
        names,
        Style.of(study.series()),
    )
    figures = all_figures(
        ctx, None if progress is None else lambda k: progress(f"building {k} figures")
    )
    spec = study.meta.get("spec", "")
    extra = [t for t in (names.key_table(), definitions_table(study, metrics)) if t is not None]
    filters = filters_text(study)
    return Report(
        title=study.name,
        meta=study.meta,
        description=_description(spec),
        summary=summary_table(study, metrics, names),
        failed=failed_table(study),
        figures=figures,
        spec=spec,
        n_runs=len(study.runs),
        filters=(
            f"{filters} ({len(study.runs)} of {study.n_unfiltered} finished runs)"
            if filters
            else ""
        ),
        extra=extra,
    )


def _description(spec: str) -> str:
    try:
        value = tomllib.loads(spec).get("description", "")
    except tomllib.TOMLDecodeError:
        return ""
    return value if isinstance(value, str) else ""


def render_files(report: Report, fmt: str, *, progress=None) -> dict[str, bytes]:
    """The report's files, by name, in one format (see :func:`write_report`)."""
    total = len(report.figures)

    def step(i: int, figure: ReportFigure) -> None:
        if progress is not None:
            progress(f"rendering {i + 1}/{total} {figure.name}")

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
            filters=report.filters,
            extra=report.extra,
            progress=step,
            compact=True,
        )
        return {"index.html": page.encode("utf-8")}
    image = "png" if fmt == "md" else fmt
    files = {}
    for i, f in enumerate(report.figures):
        step(i, f)
        files[f"{f.name}.{image}"] = f.render(image, titled=True)
    if fmt == "md":
        files["report.md"] = markdown(report).encode("utf-8")
    return files


def markdown(report: Report) -> str:
    """The report as Markdown: tables, links to the PNG figures beside it, and the spec."""
    parts = [f"# {md_escape(report.title)}\n"]
    if report.description:
        parts.append(md_escape(report.description) + "\n")
    if report.filters:
        parts.append(f"Filtered: {md_escape(report.filters)}\n")
    parts += [to_markdown(t) for t in (report.summary, report.failed) if t is not None]
    parts += [to_markdown(t) for t in report.extra]
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
    options: ReportOptions | None = None,
    out: str | Path | None = None,
    progress=None,
    include_stale: bool = False,
) -> tuple[Report, list[Path]]:
    """Render a stored study's report into ``directory/report/`` (or ``out``).

    Parameters
    ----------
    directory : str or Path
        A study's output directory (holding ``results.sqlite``).
    fmt : {"html", "png", "svg", "pdf", "md"}, default="html"
        ``html``: one self-contained ``index.html``; ``png``/``svg``/``pdf``: one file per
        figure, its title drawn above it and in its metadata; ``md``: ``report.md`` with the
        tables and the spec, and its figures as PNG files.
    options : ReportOptions, optional
        Filters, metrics, facets and budgets.
    out : str or Path, optional
        Directory to write into (default ``directory/report``).
    progress : callable, optional
        ``progress(message)`` while building and rendering (after every check, so a user's
        error is the only thing printed).
    include_stale : bool, default=False
        Also report rows computed by other code (see ``ResultStore.runs``).

    Returns
    -------
    report : Report
    paths : list of Path
        The files written.
    """
    check_format(fmt)
    target = Path(directory) / REPORT_DIR if out is None else Path(out)
    if target.exists() and not target.is_dir():
        raise ParameterError.named("out", f"{str(target)!r} exists and is not a directory.")
    import matplotlib

    matplotlib.use("Agg")  # never a GUI backend, whatever the environment says
    where = (options or ReportOptions()).where
    study = load_study(directory, where, include_stale=include_stale)
    rc = {**PAPER_RC, "svg.hashsalt": "poisonlab", "svg.fonttype": "path", "pdf.fonttype": 42}
    try:
        with matplotlib.rc_context(rc):
            report = build_report(study, options, progress=progress)
            files = render_files(report, fmt, progress=progress)
    finally:
        study.store.close()
    # All files or none: a full disk never leaves half a report (e.g. 10 of md's 21 files).
    paths = [target / name for name in files]
    write_files_atomically(dict(zip(paths, files.values(), strict=True)))
    return report, paths


def tables_json(report: Report) -> list[dict]:
    """The report's tables for ``--json``: each ``title``, ``columns``, ``rows`` (lists of
    cells, as printed) and ``note``."""
    return [asdict(table) for table in report.tables()]


def print_report(report: Report, console) -> None:
    """The report's tables in the terminal (rich)."""
    from .tables import to_rich

    for table in report.tables():
        console.print(to_rich(table))
