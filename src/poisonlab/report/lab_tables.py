"""The lab's tables in the terminal (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..labs.ml106 import LabResult

COUNTING_NOTE = (
    "incorrect = predicted this class but the true label differs (the lab's "
    "count); missed = of this true class but predicted otherwise"
)


def _section(console: Console, heading: str, table: Table) -> None:
    # Headings as plain lines: a table title would wrap inside a narrow table.
    console.print(f"\n[bold]{heading}[/bold]")
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
        # One table per model: the lab's before/after class counts beside its prediction table.
        table = Table(
            "class", "before", "after", "correct", "incorrect (by pred)", "missed (by true)"
        )
        t = run.table
        for i, cls in enumerate(result.classes):
            table.add_row(
                cls,
                str(result.train_counts[i]),
                str(run.train_counts[i]),
                str(t.correct[i]),
                str(t.incorrect[i]),
                str(t.missed[i]),
            )
        heading = (
            "Clean model (N = 0)"
            if run.n_poisoned == 0
            else f"Poisoning {run.n_poisoned} of the {src}'s as {tgt}'s"
        )
        _section(console, heading, table)

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
