"""The lab's tables in the terminal (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..labs.ml106 import LabResult

COUNTING_NOTE = (
    "incorrect (by pred) = predicted this class, true label differs: the lab's count. "
    "missed (by true) = of this true class, predicted otherwise."
)
MODEL_COLUMNS = ("class", "before", "after", "correct", "incorrect (by pred)", "missed (by true)")


def columns_block(header: tuple[str, ...], rows: list[list[str]]) -> Text:
    """Right-aligned columns under a bold header, like the lab's own printout.

    Used for the one-per-model tables: a sweep prints 45 of them, and a rich ``Table`` costs
    about 6 ms each to lay out (0.3 s in all, a third of the sweep's fitting time), where this
    costs a tenth of a millisecond.
    """
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = [
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True))
        for row in [list(header), *rows]
    ]
    block = Text("\n".join(lines))
    block.stylize("bold", 0, len(lines[0]))
    return block


def _section(console: Console, heading: str, table: Table) -> None:
    # Headings as plain lines: a table title would wrap inside a narrow table.
    console.print(Text.assemble("\n", (heading, "bold")))
    console.print(table)


def print_lab(result: LabResult, console: Console) -> None:
    """Print what the ML 106 lab prints, then one summary table."""
    src, tgt = result.source, result.target
    first = Table("true", "predicted")
    for true, pred in result.first_predictions:
        first.add_row(true, pred)
    _section(console, "First five test predictions (clean model)", first)

    counts = Table("class", "train", "test")
    for cls, n_train, n_test in zip(
        result.classes, result.train_counts, result.test_counts, strict=True
    ):
        counts.add_row(cls, str(n_train), str(n_test))
    _section(console, "Class counts", counts)

    for run in result.runs:
        # One table per model: the lab's before/after class counts beside its predictions.
        t = run.table
        rows = [
            [
                str(cls),
                str(result.train_counts[i]),
                str(run.train_counts[i]),
                str(t.correct[i]),
                str(t.incorrect[i]),
                str(t.missed[i]),
            ]
            for i, cls in enumerate(result.classes)
        ]
        heading = (
            f"Poisoning {run.n_poisoned} of the {src}'s as {tgt}'s"
            if run.n_poisoned
            else "Clean model (N = 0)"
        )
        console.print(Text.assemble("\n", (heading, "bold")))
        console.print(columns_block(MODEL_COLUMNS, rows))

    i_src, i_tgt = list(result.classes).index(src), list(result.classes).index(tgt)
    summary = Table("N poisoned", f"incorrect {src}'s", f"incorrect {tgt}'s", "accuracy")
    for run in result.runs:
        summary.add_row(
            str(run.n_poisoned),
            str(run.table.incorrect[i_src]),
            str(run.table.incorrect[i_tgt]),
            f"{run.table.accuracy:.3f}",
        )
    _section(console, "Summary", summary)
    console.print(COUNTING_NOTE)
