"""What every figure of a report is made of: the figure object, its export, and the choices a
reader made (filters, metrics, facets, budgets) with the page-wide names and style.

Figures are ``matplotlib.figure.Figure`` objects made without pyplot (Agg), so no global state
or GUI backend is involved and nothing needs closing. Sizes are for a paper: a panel is
:data:`PANEL_WIDTH` inches wide, so two panels fill a 7-inch text width and one fits a column,
with 8-point text (:data:`PAPER_RC`).
"""

from __future__ import annotations

import io
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from .facets import Names, Style
from .study import StudyData
from .tables import TextTable

#: Inches per panel of a small-multiples figure.
PANEL_WIDTH, PANEL_HEIGHT = 2.6, 2.0
#: Text sizes that read at a paper's column width (matplotlib rc parameters).
PAPER_RC = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "figure.titlesize": 9,
    "lines.linewidth": 1.3,
    "lines.markersize": 4,
}
#: Resolution of exported PNG files (dots per inch).
PNG_DPI = 200
#: Formats a figure renders to.
IMAGE_FORMATS = ("png", "svg", "pdf")


@dataclass
class ReportFigure:
    """One figure of the report.

    Attributes
    ----------
    name : str
        File stem (``metric_accuracy``, ``confusion_1``, ...), unique within a report.
    title, caption : str
        Plain text; the HTML template escapes them.
    figure : matplotlib.figure.Figure
    tables : list of TextTable
        The numbers behind the figure, shown beside it.
    """

    name: str
    title: str
    caption: str
    figure: Any
    tables: list[TextTable] = field(default_factory=list)
    _titled: bool = field(default=False, repr=False)

    @property
    def width_inches(self) -> float:
        return float(self.figure.get_figwidth())

    def render(self, fmt: str, *, titled: bool = False) -> bytes:
        """The figure as ``png``, ``svg`` or ``pdf`` bytes, its title in the file's metadata
        (and, for SVG, as a ``<title>`` element for screen readers); fonts as paths.

        Parameters
        ----------
        fmt : {"png", "svg", "pdf"}
        titled : bool, default=False
            Also draw the title above the figure (files exported alone; the HTML page has
            its own headings).
        """
        if titled and not self._titled:
            width = max(30, int(self.width_inches * 13))
            self.figure.suptitle(plain(textwrap.fill(self.title, width)), fontweight="bold")
            self._titled = True
        buffer = io.BytesIO()
        metadata = {
            "svg": {"Date": None},  # the title goes into a <title> element instead
            "pdf": {"CreationDate": None, "ModDate": None, "Title": self.title},
            "png": {"Title": self.title},
        }[fmt]
        dpi = PNG_DPI if fmt == "png" else 110  # also the resolution of images inside SVG, PDF
        self.figure.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
        data = buffer.getvalue()
        return _svg_with_title(_slim_svg(data), self.title) if fmt == "svg" else data


_SVG_OPEN = re.compile(rb"<svg\b[^>]*>")
_COMMENT = re.compile(rb"<!--.*?-->\s*", re.DOTALL)
_COORDINATE = re.compile(rb"(\d\d\.\d)\d+")
_INDENT = re.compile(rb"\n\s+")


def _slim_svg(svg: bytes) -> bytes:
    """matplotlib's SVG without its comments (each text's string, already drawn as paths) and
    indentation, and numbers of 10 and more to 0.1 pt: the same picture, 15% smaller.

    Safe because the text is drawn as paths (``svg.fonttype = path``) and the metadata holds
    no title: every number left in the file is a coordinate, size or colour weight; numbers
    below 10 (scale factors, opacities) keep every digit."""
    return _COORDINATE.sub(rb"\1", _INDENT.sub(b"\n", _COMMENT.sub(b"", svg)))


def _svg_with_title(svg: bytes, title: str) -> bytes:
    # The <title> element must be the first child of <svg> to name the image.
    match = _SVG_OPEN.search(svg)
    if match is None:
        return svg
    text = escape(title, {'"': "&quot;", "'": "&apos;"})  # no raw quotes: see html.data_uri
    element = f"\n<title>{text}</title>".encode()
    return svg[: match.end()] + element + svg[match.end() :]


def plain(text: object) -> str:
    """Text for matplotlib: ``$`` escaped, so names from data never start math mode."""
    return str(text).replace("$", r"\$")


def wrap(text: str, width: int = 40) -> str:
    """``text`` in lines of at most ``width`` characters, for titles inside small panels."""
    return textwrap.fill(plain(text), width, break_long_words=True, break_on_hyphens=False)


def legend_columns(figure, n_entries: int) -> int:
    """Columns of a legend below a figure: as many entries a row as fit its width (about
    1.4 inches each at the paper's text size)."""
    return max(1, min(n_entries, int(figure.get_figwidth() // 1.4)))


def new_figure(width: float, height: float):
    """A pyplot-free Agg figure of ``width`` x ``height`` inches (shared with the audit report)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def show_images(axes_row, images, titles) -> None:
    """Draw one grey image per axis with its title (galleries of the report and the audit)."""
    for ax, image, title in zip(axes_row, images, titles, strict=True):
        ax.imshow(image, cmap="gray_r", interpolation="nearest")
        ax.set_title(plain(title), fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])


@dataclass
class Context:
    """A loaded study and the reader's choices: what every figure function receives.

    Attributes
    ----------
    study : StudyData
    metrics : list of str
        Scalar metrics to plot (names in ``scalars.SCALARS``).
    facets : list of str or None
        Fields to cut panels by (None: attack x model).
    budgets : list of float or None
        Budgets the per-class and detector figures show (counts, or fractions as the spec gave
        them); None: up to three of each series'.
    roc_budget : float or None
        The one budget of the detector curves (None: as ``budgets``).
    names : Names
    style : Style
    """

    study: StudyData
    metrics: list[str]
    facets: list[str] | None
    budgets: list[float] | None
    roc_budget: float | None
    names: Names
    style: Style
