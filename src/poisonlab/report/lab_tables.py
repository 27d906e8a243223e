"""The ML 106 lab's tables, read from a stored study's ``per_class`` metric, in the terminal
(rich) and as its ``--json`` document."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..experiment.store import ResultStore
from ..metrics import PerClassTable


@dataclass(frozen=True)
class LabRun:
    """One model of the lab: N poisoned, and its per-class table on the test set."""

    n_poisoned: int
    train_counts: np.ndarray  # (n_classes,) after poisoning
    table: PerClassTable
    poison_indices: np.ndarray
    y_pred: np.ndarray  # (n_test,) predictions on the test set
    seconds: float = 0.0  # wall time of the run (poisoning, fitting, predicting, measuring)


@dataclass(frozen=True)
class LabResult:
    """Everything the lab prints.

    Attributes
    ----------
    classes : ndarray of shape (n_classes,)
    source, target : str
    train_counts, test_counts : ndarray of shape (n_classes,)
        Clean class counts.
    first_predictions : list of (str, str)
        (true, predicted) for the first five test images, by the clean model.
    runs : list of LabRun
        One per N, in increasing order (N = 0 first).
    """

    classes: np.ndarray
    source: str
    target: str
    train_counts: np.ndarray
    test_counts: np.ndarray
    first_predictions: list[tuple[str, str]]
    runs: list[LabRun]

    def to_json(self) -> dict:
        """The ``--json`` document: correct/incorrect indexed by predicted class (the lab's)."""
        return {
            "runs": [
                {
                    "n_poisoned": run.n_poisoned,
                    "correct": run.table.correct.tolist(),
                    "incorrect": run.table.incorrect.tolist(),
                    "accuracy": run.table.accuracy,
                    "train_counts": run.train_counts.tolist(),
                    "missed_by_true_class": run.table.missed.tolist(),
                }
                for run in self.runs
            ]
        }


def lab_result(store: ResultStore, keys: Iterable[str]) -> LabResult:
    """The lab's view of its stored runs ``keys`` (``label_flip`` at budgets N, N = 0 first).

    Counts come from each run's ``per_class`` metric; the first predictions and each run's
    predictions and poison indices from its stored arrays.
    """
    wanted = set(keys)
    records = sorted(
        (r for r in store.runs(status="ok") if r.key in wanted), key=lambda r: r.budget
    )
    params = records[0].config["attack"]["params"]
    runs = []
    for record in records:
        per_class = record.metrics["per_class"]
        classes = np.asarray(per_class["classes"])
        arrays = store.arrays(record.key, ["y_pred", "poison_indices"])
        table = PerClassTable(
            classes,
            np.asarray(per_class["correct"]),
            np.asarray(per_class["incorrect_by_predicted"]),
            np.asarray(per_class["missed_by_true"]),
        )
        runs.append(
            LabRun(
                record.budget,
                np.asarray(per_class["train_counts"]),
                table,
                arrays["poison_indices"],
                arrays["y_pred"],
                record.total_seconds,
            )
        )
    clean = records[0].metrics["per_class"]
    y_test = store.arrays(records[0].key, ["y_test"])["y_test"]
    first = [(str(t), str(p)) for t, p in zip(y_test[:5], runs[0].y_pred, strict=False)]
    return LabResult(
        np.asarray(clean["classes"]),
        params["source"],
        params["target"],
        np.asarray(clean["train_counts"]),
        np.asarray(clean["test_counts"]),
        first,
        runs,
    )


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
