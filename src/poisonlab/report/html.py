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
from urllib.parse import quote

from markupsafe import Markup

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
    width: int


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


def data_uri(svg: bytes, *, compact: bool = False) -> str:
    """An SVG as a ``data:`` URI for a double-quoted attribute.

    base64 by default (nothing in it can end the attribute). ``compact``: the SVG's own
    attributes quoted with ``'`` instead of ``"`` and the few characters a URI or the attribute
    cannot hold percent-encoded, 8% larger than the SVG where base64 is 33%; an SVG that already
    holds a ``'`` is base64-encoded even then."""
    if not compact or b"'" in svg:
        return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    text = svg.replace(b'"', b"'").decode("utf-8")
    return "data:image/svg+xml," + quote(text, safe=_URI_SAFE)


# Everything but what ends a double-quoted attribute or a URI's path ('"', '#', '%', '&', '<',
# '>', whitespace other than the space, non-ASCII) stays as it is.
_URI_SAFE = " !$'()*+,-./:;=?@[]^_`{|}~"


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
    filters: str = "",
    extra: list[TextTable] | None = None,
    progress=None,
    compact: bool = False,
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
    filters : str, optional
        The filters the runs were chosen with, shown in the summary.
    extra : list of TextTable, optional
        Tables shown after the summary (the key to short names, the metrics' definitions).
    progress : callable, optional
        ``progress(index, figure)`` before each figure is rendered.
    compact : bool, default=False
        Percent-encoded instead of base64 SVG URIs (see :func:`data_uri`): a quarter smaller.
    """
    embedded = []
    for i, f in enumerate(figures):
        if progress is not None:
            progress(i, f)
        # Shown 1.5 times a paper's size: a 7-inch figure fills the page's width.
        width = round(f.figure.get_figwidth() * 96 * 1.5)
        embedded.append(
            _EmbeddedFigure(
                f.name,
                f.title,
                f.caption,
                Markup(data_uri(f.render("svg"), compact=compact)),
                f.tables,
                width,
            )
        )
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
        filters=filters,
        extra=extra or [],
        n_failed=len(failed.rows) if failed else 0,
    )
