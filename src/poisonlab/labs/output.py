"""Files the lab writes with ``--out`` beside its results store (which the runner writes):
results.json, summary.csv and per_class.csv."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from .._errors import ParameterError
from ..datasets.base import write_files_atomically
from ..report.lab_tables import LabResult


def write_lab_results(result: LabResult, out: Path) -> None:
    """Write the lab's results into ``out`` (each file atomically).

    Files
    -----
    results.json
        The ``--json`` document.
    summary.csv
        One row per N: incorrect source/target (by predicted class), accuracy.
    per_class.csv
        One row per (N, class): train count, correct, incorrect (by predicted), missed (by true).
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
    src = list(result.classes).index(result.source)
    tgt = list(result.classes).index(result.target)
    rows = [["n_poisoned", f"incorrect_{result.source}", f"incorrect_{result.target}", "accuracy"]]
    for run in result.runs:
        rows.append(
            [
                run.n_poisoned,
                int(run.table.incorrect[src]),
                int(run.table.incorrect[tgt]),
                f"{run.table.accuracy:.4f}",
            ]
        )
    return rows


def _per_class_rows(result: LabResult) -> list[list]:
    rows = [
        [
            "n_poisoned",
            "class",
            "train_count",
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
                    int(t.correct[i]),
                    int(t.incorrect[i]),
                    int(t.missed[i]),
                ]
            )
    return rows
