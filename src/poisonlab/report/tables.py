"""The report's tables as plain rows of text, shared by the terminal (rich), Markdown and HTML.

Every value is read from the store; means and spreads are over the seeds of a series' runs at
one budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .study import SCALARS, StudyData, budget_of, scalar


@dataclass(frozen=True)
class TextTable:
    """A table of strings: a title, column names and rows (all plain text, escaped later)."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


def mean_text(values: list[float | None], digits: int = 3) -> str:
    """``mean`` or ``mean ± sd`` (sample sd over seeds); ``–`` when nothing was measured."""
    present = [v for v in values if v is not None]
    if not present:
        return "–"
    mean = float(np.mean(present))
    if len(present) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {float(np.std(present, ddof=1)):.{digits}f}"


def summary_table(study: StudyData) -> TextTable:
    """One row per series and budget: seeds, and the mean of each scalar metric measured.

    What every row shares (e.g. the only model, attack or defense) goes into the title rather
    than into a column repeated on every row.
    """
    metrics = [m for m in SCALARS if any(scalar(r, m) is not None for r in study.runs)]
    series = study.series()
    names = ["dataset", "model", "attack", "defense"]
    shared = [n for n in names if len({getattr(k, n) for k in series}) == 1]
    if not study.several_datasets and "dataset" not in shared:
        shared.insert(0, "dataset")
    varying = [n for n in names if n not in shared]
    columns = [*varying, "budget", "seeds", *(SCALARS[m].column for m in metrics)]
    rows = []
    for key, runs in series.items():
        for budget in sorted({budget_of(r) for r in runs}):
            at = [r for r in runs if budget_of(r) == budget]
            rows.append(
                [
                    *(getattr(key, n) for n in varying),
                    str(budget),
                    str(len(at)),
                    *(mean_text([scalar(r, m) for r in at]) for m in metrics),
                ]
            )
    n = len(study.runs)
    title = f"Summary: {n} run{'' if n == 1 else 's'}"
    common = [getattr(next(iter(series)), name) for name in shared if series]
    if common:
        title += " of " + " · ".join(common)
    n_seeds = len({r.seed for r in study.runs})
    notes = ["mean ± sample standard deviation over seeds"] if n_seeds > 1 else []
    if study.superseded:
        notes.append(
            f"{study.superseded} older row{'s' if study.superseded > 1 else ''} of the same "
            "runs (earlier versions or metric lists) left out"
        )
    return TextTable(title, columns, rows, "; ".join(notes))


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
