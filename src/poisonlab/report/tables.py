"""The report's tables as plain rows of text, shared by the terminal (rich), Markdown and HTML.

Every value is read from the store; means and intervals are over the seeds of a series' runs at
one budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .facets import Names
    from .study import StudyData


@dataclass(frozen=True)
class TextTable:
    """A table of strings: a title, column names and rows (all plain text, escaped later)."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


def summary_table(study: StudyData, metrics: list[str], names: Names) -> TextTable:
    """One row per series and budget: seeds, and each chosen metric's mean (and confidence
    interval over seeds); ``undefined`` where runs measured it but it has no value.

    What every row shares (e.g. the only model, attack or defense) goes into the title rather
    than into a column repeated on every row. Names are the short names of ``names``.
    """
    from .scalars import SCALARS, estimate, interval_name, scalar
    from .study import FIELDS, budget_of, budget_text

    metrics = [m for m in metrics if any(SCALARS.get(m).applies(r) for r in study.runs)]
    series = study.series()
    shared = [n for n in FIELDS if len({getattr(k, n) for k in series}) == 1]
    if not study.several_datasets and "dataset" not in shared:
        shared.insert(0, "dataset")
    varying = [n for n in FIELDS if n not in shared]
    columns = [*varying, "budget", "seeds", *(SCALARS.get(m).column for m in metrics)]
    rows = []
    for key, runs in series.items():
        for budget in sorted({budget_of(r) for r in runs}):
            at = [r for r in runs if budget_of(r) == budget]
            cells = []
            for m in metrics:
                values = [v for v in (scalar(r, m) for r in at) if v is not None]
                measured = any(SCALARS.get(m).applies(r) for r in at)
                cells.append(
                    estimate(values).text_pm() if values else ("undefined" if measured else "–")
                )
            rows.append(
                [
                    *(names.short(n, getattr(key, n)) for n in varying),
                    budget_text(at[0], prefix="") if budget else "0",
                    str(len(at)),
                    *cells,
                ]
            )
    n = len(study.runs)
    title = f"Summary: {n} run{'' if n == 1 else 's'}"
    common = [names.short(name, getattr(next(iter(series)), name)) for name in shared if series]
    if common:
        title += " of " + " · ".join(common)
    notes = []
    if study.n_seeds > 1:
        notes.append(f"mean ± half-width of its {interval_name(study.n_seeds)}, over seeds")
    notes.append(
        "undefined: measured, but without a value (e.g. detector F1 with nothing poisoned); "
        "–: not measured"
    )
    if study.superseded:
        notes.append(
            f"{study.superseded} older row{'s' if study.superseded > 1 else ''} of the same "
            "runs (earlier versions or metric lists) left out"
        )
    return TextTable(title, columns, rows, "; ".join(notes))


def definitions_table(study: StudyData, metrics: list[str]) -> TextTable | None:
    """What each metric on the page means (and success per attack), from the registry."""
    from .scalars import SCALARS, success_definitions

    shown = [m for m in metrics if any(SCALARS.get(m).applies(r) for r in study.runs)]
    rows = [[SCALARS.get(m).column, SCALARS.get(m).definition] for m in shown]
    if "success_rate" in shown:
        for attack, text in success_definitions([r.attack for r in study.runs]).items():
            rows.append([f"success ({attack})", text])
    if not rows:
        return None
    return TextTable("What the metrics mean", ["metric", "definition"], rows)


def filters_text(study: StudyData) -> str:
    """The filters a report was made with, e.g. ``model=svc; attack=label_flip``."""
    return "; ".join(f"{k}={' or '.join(v)}" for k, v in study.where.items())


def failed_table(study: StudyData) -> TextTable | None:
    """The failed runs and their errors, or None when every run finished."""
    if not study.failed:
        return None
    rows = [[r.run_id, r.error or ""] for r in study.failed]
    return TextTable(f"Failed runs: {len(study.failed)}", ["run", "error"], rows)


def per_class_table(
    classes: list[str], columns: dict[str, list[int]], title: str, note: str
) -> TextTable:
    """Counts per class, one column per named list (e.g. ``incorrect (by predicted), N=100``)."""
    rows = [[c, *(str(v[i]) for v in columns.values())] for i, c in enumerate(classes)]
    return TextTable(title, ["class", *columns], rows, note)


#: Characters with a meaning in Markdown (and inline HTML): backslash-escaped in text from data.
_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()<>#!|~&")


def md_escape(text: str) -> str:
    """Text for Markdown, shown as written: markup characters (``<script>``, ``*``, ``|``,
    ``[``...) backslash-escaped, as CommonMark allows for any ASCII punctuation."""
    return "".join("\\" + ch if ch in _MARKDOWN_SPECIAL else ch for ch in text).replace("\n", " ")


def to_markdown(table: TextTable) -> str:
    """A GitHub-flavoured Markdown table, every string escaped with :func:`md_escape`."""
    cell = md_escape
    lines = [f"### {cell(table.title)}", ""]
    lines.append("| " + " | ".join(cell(c) for c in table.columns) + " |")
    lines.append("|" + "|".join(" --- " for _ in table.columns) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.rows]
    if table.note:
        lines += ["", cell(table.note)]
    return "\n".join(lines) + "\n"


def to_rich(table: TextTable):
    """A :class:`rich.table.Table` (markup off in every cell: names are data, not markup)."""
    from rich.table import Table
    from rich.text import Text

    out = Table(title=Text(table.title), caption=Text(table.note) if table.note else None)
    for column in table.columns:
        out.add_column(Text(column), overflow="fold")
    for row in table.rows:
        out.add_row(*(Text(v) for v in row))
    return out
