"""The ML 106 lab's tables, read from a stored study's ``per_class`` metric, in the terminal
(rich) and as its ``--json`` document."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

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
    run_id: str = ""  # the store's run id
    source_predicted_as_target: int = 0  # test images of the source class predicted as target


#: Each run's story in one row: the source class's and the target class's counts under both
#: counting rules, and where the source's misses went. The ``--json`` keys and summary.csv's
#: columns (the store's ``per_class`` names, prefixed by the class's role).
STORY_FIELDS = (
    "source_incorrect_by_predicted",
    "source_missed_by_true",
    "source_predicted_as_target",
    "target_incorrect_by_predicted",
    "target_missed_by_true",
)


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
    setup : dict
        What the runs share, in the store's names: ``experiment``, ``dataset``, ``split``
        (``train``, ``test``: [start, stop) rows), ``model``, ``attack``, ``select``, ``seed``,
        ``package_version``, ``environment`` (Python's and the libraries' versions).
    """

    classes: np.ndarray
    source: str
    target: str
    train_counts: np.ndarray
    test_counts: np.ndarray
    first_predictions: list[tuple[str, str]]
    runs: list[LabRun]
    setup: dict = field(default_factory=dict)

    def story(self, run: LabRun) -> dict[str, int]:
        """:data:`STORY_FIELDS` of one run: what happened to the source and the target class."""
        i_src = list(self.classes).index(self.source)
        i_tgt = list(self.classes).index(self.target)
        t = run.table
        return {
            "source_incorrect_by_predicted": int(t.incorrect[i_src]),
            "source_missed_by_true": int(t.missed[i_src]),
            "source_predicted_as_target": run.source_predicted_as_target,
            "target_incorrect_by_predicted": int(t.incorrect[i_tgt]),
            "target_missed_by_true": int(t.missed[i_tgt]),
        }

    def to_json(self) -> dict:
        """The ``--json`` document (and results.json): what the lab is, then one entry per N.

        Field names are the store's: ``per_class``'s ``classes``, ``correct``,
        ``incorrect_by_predicted`` (the lab's count), ``missed_by_true``, ``train_counts``,
        ``test_counts``; the run's ``run_id``, ``accuracy`` and ``n_poisoned``; the attack's
        ``source`` and ``target``; the row's ``package_version``.
        """
        split = self.setup.get("split", {})
        train, test = split.get("train", [0, 0]), split.get("test", [0, 0])
        return {
            **self.setup,
            "train_size": train[1] - train[0],
            "test_size": test[1] - test[0],
            "source": self.source,
            "target": self.target,
            "classes": [str(c) for c in self.classes],
            "train_counts": self.train_counts.tolist(),
            "test_counts": self.test_counts.tolist(),
            "runs": [
                {
                    "run_id": run.run_id,
                    "n_poisoned": run.n_poisoned,
                    "accuracy": run.table.accuracy,
                    **self.story(run),
                    "correct": run.table.correct.tolist(),
                    "incorrect_by_predicted": run.table.incorrect.tolist(),
                    "missed_by_true": run.table.missed.tolist(),
                    "train_counts": run.train_counts.tolist(),
                }
                for run in self.runs
            ],
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
    config = records[0].config
    params = config["attack"]["params"]
    y_test = store.arrays(records[0].key, ["y_test"])["y_test"]
    source_rows = y_test == params["source"]
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
                record.run_id,
                int(np.sum(arrays["y_pred"][source_rows] == params["target"])),
            )
        )
    clean = records[0].metrics["per_class"]
    first = [(str(t), str(p)) for t, p in zip(y_test[:5], runs[0].y_pred, strict=False)]
    setup = {
        "experiment": records[0].experiment,
        "dataset": config["dataset"]["name"],
        "split": config["dataset"]["split"],
        "model": records[0].model,
        "attack": records[0].attack,
        "select": params.get("select"),
        "seed": records[0].seed,
        "package_version": records[0].package_version,
        "environment": records[0].environment,
    }
    return LabResult(
        np.asarray(clean["classes"]),
        params["source"],
        params["target"],
        np.asarray(clean["train_counts"]),
        np.asarray(clean["test_counts"]),
        first,
        runs,
        setup,
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

    # The whole story per N: the lab's "incorrect 7's" falls as the model stops predicting 7,
    # while the 7's it misses (most of them now predicted 1) and the false 1's rise.
    rows = []
    for run in result.runs:
        story = result.story(run)
        rows.append(
            [
                str(run.n_poisoned),
                f"{run.table.accuracy:.3f}",
                *(str(story[name]) for name in STORY_FIELDS),
            ]
        )
    console.print(Text.assemble("\n", ("Summary", "bold")))
    console.print(columns_block(story_columns(src, tgt), rows))
    console.print(story_note(src, tgt))


def story_columns(src: str, tgt: str) -> tuple[str, ...]:
    """The summary's column headings, in the order of ``["N", "accuracy", *STORY_FIELDS]``."""
    return (
        "N",
        "accuracy",
        f"incorrect {src}'s",
        f"{src}'s missed",
        f"{src}'s as {tgt}'s",
        f"incorrect {tgt}'s",
        f"{tgt}'s missed",
    )


def story_note(src: str, tgt: str) -> str:
    """What each summary column counts, on the test set."""
    return (
        f"incorrect {src}'s = predicted {src}, true label differs (the lab's count); "
        f"{src}'s missed = test {src}'s predicted otherwise, {src}'s as {tgt}'s of them "
        f"predicted {tgt}; incorrect {tgt}'s = predicted {tgt}, not a {tgt} (false "
        f"positives of {tgt}). In each model's table, {COUNTING_NOTE}"
    )
