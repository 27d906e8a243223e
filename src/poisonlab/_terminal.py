"""Print tables and JSON that scripts and narrow terminals both read well.

On a terminal, a table keeps every header word and value whole: it shows the columns that fit
the terminal's width (dropping the optional ones first) and wraps only prose columns, at word
boundaries. When stdout is not a terminal (a pipe, a file), it prints tab-separated values with
a header of column keys, one row per line, so ``| cut -f``, ``| sort`` and ``| cat`` work.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

# Width rich's default box takes around n columns: "│ " + " │ " * (n - 1) + " │".
_EDGES, _GAP = 4, 3
# Narrowest a prose column gets before optional columns are dropped to make room for it.
_MIN_PROSE = 24


@dataclass(frozen=True)
class Column:
    """One column of a table.

    Attributes
    ----------
    key : str
        The row key, and the column's name in TSV and JSON output.
    header : str
        The terminal table's header.
    drop : int
        0: always shown; otherwise dropped on a narrow terminal, the highest first.
    prose : bool
        Free text that may wrap at word boundaries; other columns are never broken.
    """

    key: str
    header: str
    drop: int = 0
    prose: bool = False


def cell(value: Any) -> str:
    """A value as a table cell: "" for None, 3 decimals for floats."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def tsv_cell(value: Any) -> str:
    """A value as a TSV field: "" for None, full precision, no tabs or newlines inside."""
    return "" if value is None else " ".join(str(value).split())


def print_table(
    console: Console,
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    *,
    title: str | None = None,
) -> None:
    """A table on a terminal, tab-separated values otherwise.

    Parameters
    ----------
    console : rich.console.Console
        Where to print; ``console.is_terminal`` and ``console.width`` choose the form.
    columns : sequence of Column
    rows : sequence of mapping
        One mapping per row, from column key to value (missing keys print as empty).
    title : str, optional
        Shown above the terminal table; not part of TSV output.
    """
    if not console.is_terminal:
        lines = ["\t".join(c.key for c in columns)]
        lines += ["\t".join(tsv_cell(row.get(c.key)) for c in columns) for row in rows]
        console.file.write("\n".join(lines) + "\n")
        return
    texts = [{c.key: cell(row.get(c.key)) for c in columns} for row in rows]
    shown = fit_columns(columns, texts, console.width)
    table = Table(title=title, title_justify="left")
    for c in shown:
        if c.prose:
            table.add_column(c.header, overflow="fold", ratio=1, min_width=_MIN_PROSE)
        else:
            table.add_column(c.header, no_wrap=True, overflow="ellipsis")
    for text in texts:
        table.add_row(*(text[c.key] for c in shown))
    console.print(table)


def fit_columns(
    columns: Sequence[Column], texts: Sequence[Mapping[str, str]], width: int
) -> list[Column]:
    """The columns to show in ``width`` characters: optional ones dropped, highest first.

    Parameters
    ----------
    columns : sequence of Column
    texts : sequence of mapping
        The rows' cells as text.
    width : int
        The terminal's width in characters.

    Returns
    -------
    list of Column
        A subsequence of ``columns``; every column with ``drop == 0`` is kept.
    """

    def needed(c: Column) -> int:
        if c.prose:
            return _MIN_PROSE
        return max([len(c.header), *(len(t[c.key]) for t in texts)])

    shown = list(columns)
    while _EDGES + _GAP * (len(shown) - 1) + sum(needed(c) for c in shown) > width:
        droppable = [c for c in shown if c.drop]
        if not droppable:
            break
        shown.remove(max(droppable, key=lambda c: c.drop))
    return shown


def print_json(data: Any) -> None:
    """``data`` as one JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=1) + "\n")


def wrapped(text: str, width: int, indent: str = "") -> str:
    """Plain-text paragraphs wrapped to ``width`` (at most 100) columns, words kept whole."""
    width = max(min(width, 100), 40)
    return "\n\n".join(
        textwrap.fill(
            p,
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
        for p in text.split("\n\n")
    )
