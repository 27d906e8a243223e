"""What ``poisonlab reproduce`` prints: the side-by-side tables, the list, JSON and the
Markdown sections of docs/reproductions.md."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .base import PENDING, Reproduction, Result

FIGURE_COLUMNS = ("figure", "published", "poisonlab", "rule", "status")


def _rule(result_figure) -> str:
    rule = result_figure.figure.rule
    return rule.describe() if rule is not None else "-"


def print_result(result: Result, console: Console) -> None:
    """The entry's status, then published / poisonlab / rule / status per figure."""
    entry = result.entry
    console.print(Text.assemble("\n", (f"{entry.name}: {result.status}", "bold")))
    console.print(entry.reference, soft_wrap=True)
    if result.reason:
        console.print(f"{result.status}: {result.reason}", soft_wrap=True)
    if not result.figures:
        return
    table = Table(*FIGURE_COLUMNS)
    for figure in result.figures:
        table.add_row(
            figure.figure.name,
            figure.figure.published,
            figure.measured,
            _rule(figure),
            figure.status,
        )
    console.print(table)
    for figure in result.figures:
        if figure.figure.not_comparable:
            console.print(f"not comparable ({figure.figure.name}): {figure.figure.not_comparable}")
    if result.out is not None:
        console.print(f"Runs stored in {result.out}/", soft_wrap=True)


def list_rows(entries: Iterable[Reproduction]) -> list[dict]:
    """One row per entry: name, whether it can run, title, reference, why it is pending."""
    return [
        {
            "name": e.name,
            "status": PENDING if e.pending else "runnable",
            "title": e.title,
            "reference": e.reference,
            "pending": e.pending or None,
        }
        for e in entries
    ]


def _cell(text: str) -> str:
    """Text for a Markdown table cell: pipes escaped, on one line."""
    return " ".join(str(text).split()).replace("|", "\\|")


def markdown_list(entries: Iterable[Reproduction]) -> str:
    """The registry as a Markdown table."""
    lines = ["| name | status | what |", "| --- | --- | --- |"]
    for row in list_rows(entries):
        what = row["title"] + (f" (pending: {row['pending']})" if row["pending"] else "")
        lines.append(f"| `{row['name']}` | {row['status']} | {_cell(what)} |")
    return "\n".join(lines) + "\n"


def markdown_result(result: Result) -> str:
    """One section of docs/reproductions.md: set-up, published, poisonlab, status, why."""
    entry = result.entry
    out = [
        f"### `{entry.name}`: {entry.title}",
        "",
        f"**Reference.** {entry.reference}",
        "",
        f"**Set-up.** {entry.setup}",
        "",
    ]
    if entry.spec:
        out += ["The study spec it runs:", "", "```toml", entry.spec.rstrip("\n"), "```", ""]
    if entry.measure is not None:
        where = f"{entry.measure.__module__}.{entry.measure.__qualname__}"
        out += [
            f"Computed by `{where}` with the Python API, outside the study runner.",
            "",
        ]
    reason = result.reason[:1].upper() + result.reason[1:]
    out += [f"**Status: {result.status}.**" + (f" {reason}" if reason else ""), ""]
    if result.figures:
        out += [
            "| figure | published | source | poisonlab | rule | status |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for f in result.figures:
            cells = [f.figure.name, f.figure.published, f.figure.source, f.measured, _rule(f)]
            status = f.status + (f": {f.figure.not_comparable}" if f.figure.not_comparable else "")
            out.append("| " + " | ".join(_cell(c) for c in [*cells, status]) + " |")
        out.append("")
    if entry.differences:
        out += [f"**Why they differ.** {entry.differences}", ""]
    return "\n".join(out) + "\n"
