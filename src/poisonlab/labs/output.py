"""Files the lab writes with ``--out`` beside its results store (which the runner writes):
results.json, summary.csv and per_class.csv."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .._errors import ParameterError
from ..datasets.base import write_files_atomically
from ..report.lab_tables import STORY_FIELDS, LabResult


def write_lab_results(result: LabResult, out: Path) -> None:
    """Write the lab's results into ``out`` (each file atomically).

    Files
    -----
    results.json
        The ``--json`` document.
    summary.csv
        One row per N: its run id, accuracy and the source's and target's counts
        (:data:`~poisonlab.report.lab_tables.STORY_FIELDS`), named as in the ``--json`` runs.
    per_class.csv
        One row per (N, class): the elements of the store's ``per_class`` arrays (``class`` is
        the element of ``classes``).
    """
    if out.exists() and not out.is_dir():
        raise ParameterError.named("out", f"{str(out)!r} exists and is not a directory.")
    files = {
        "results.json": json.dumps(result.to_json(), indent=2) + "\n",
        "summary.csv": _csv(_summary_rows(result)),
        "per_class.csv": _csv(_per_class_rows(result)),
    }
    write_files_atomically({out / name: text.encode() for name, text in files.items()})


def _csv(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def _summary_rows(result: LabResult) -> list[list]:
    """One row per N: the ``--json`` run's scalars (the store's names)."""
    header = ["run_id", "n_poisoned", "source", "target", "accuracy", *STORY_FIELDS]
    rows = [header]
    for run in result.runs:
        story = result.story(run)
        rows.append(
            [
                run.run_id,
                run.n_poisoned,
                result.source,
                result.target,
                f"{run.table.accuracy:.4f}",
                *(story[name] for name in STORY_FIELDS),
            ]
        )
    return rows


def _per_class_rows(result: LabResult) -> list[list]:
    """One row per (N, class): the elements of the store's ``per_class`` arrays."""
    rows = [
        [
            "n_poisoned",
            "class",
            "train_counts",
            "test_counts",
            "correct",
            "incorrect_by_predicted",
            "missed_by_true",
        ]
    ]
    for run in result.runs:
        t = run.table
        for i, cls in enumerate(result.classes):
            rows.append(
                [
                    run.n_poisoned,
                    cls,
                    int(run.train_counts[i]),
                    int(result.test_counts[i]),
                    int(t.correct[i]),
                    int(t.incorrect[i]),
                    int(t.missed[i]),
                ]
            )
    return rows
