"""The report as one self-contained HTML page (jinja2, autoescaped).

Figures are embedded as SVG data URIs (text drawn as paths, so no fonts are needed), styles are
inline and there are no scripts; a Content-Security-Policy forbids fetching anything, so the
page reads the same offline. Every string that comes from the study (names of classes, attacks
and columns, the spec, errors) is escaped by jinja2's autoescaping.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from .figures import ReportFigure
from .tables import TextTable

_NUMERIC = re.compile(r"^[-+]?[0-9.,]+( ± [0-9.,]+)?$")


@dataclass(frozen=True)
class _EmbeddedFigure:
    name: str
    title: str
    caption: str
    uri: str
    tables: list[TextTable]


def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("poisonlab.report", "templates"),
        autoescape=True,  # every template, whatever its file name
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.tests["numeric_text"] = lambda text: bool(_NUMERIC.match(str(text)))
    return env


def data_uri(svg: bytes) -> str:
    """An SVG as a ``data:`` URI (base64: nothing in it can end the attribute)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def render_html(
    *,
    title: str,
    meta: dict[str, str],
    description: str,
    summary: TextTable,
    failed: TextTable | None,
    figures: list[ReportFigure],
    spec: str,
    n_runs: int,
    headline: str = "",
) -> str:
    """The page's text.

    Parameters
    ----------
    title : str
        The study's name.
    meta : dict of str to str
        The store's ``meta`` table.
    description : str
        The spec's description, if any.
    summary, failed : TextTable
    figures : list of ReportFigure
        Rendered here as SVG.
    spec : str
        The spec's TOML text.
    n_runs : int
        Finished runs.
    headline : str, optional
        Shown instead of the count of runs, for pages that are not a study (the audit's).
    """
    embedded = [
        _EmbeddedFigure(f.name, f.title, f.caption, data_uri(f.render("svg")), f.tables)
        for f in figures
    ]
    template = _environment().get_template("index.html.j2")
    return template.render(
        title=title,
        meta=meta,
        description=description,
        summary=summary,
        failed=failed,
        figures=embedded,
        spec=spec,
        n_runs=n_runs,
        headline=headline,
        n_failed=len(failed.rows) if failed else 0,
    )
