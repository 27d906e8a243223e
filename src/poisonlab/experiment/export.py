"""Runs of a store as flat rows (for tables and CSV) or as full JSON documents."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from .._errors import ParameterError
from .store import ResultStore, RunRecord

#: Columns of the flat view, in order; ``detection_*`` and timings are filled when present.
FLAT_COLUMNS = (
    "run_id",
    "status",
    "dataset",
    "model",
    "attack",
    "defense",
    "seed",
    "budget",
    "accuracy",
    "success_rate",
    "detection_precision",
    "detection_recall",
    "detection_f1",
    "detection_roc_auc",
    "n_train",
    "fit_seconds",
    "total_seconds",
    "error",
    "key",
)
_INT_COLUMNS = ("seed", "run_seed", "budget")


def parse_filters(pairs: Sequence[str]) -> dict[str, Any]:
    """``["attack=label_flip", "budget=10"]`` -> ``{"attack": "label_flip", "budget": 10}``."""
    filters: dict[str, Any] = {}
    for pair in pairs:
        column, sep, value = pair.partition("=")
        if not sep or not column:
            raise ParameterError.named(
                "where", f"expected COLUMN=VALUE such as attack=label_flip; got {pair!r}."
            )
        if column in _INT_COLUMNS:
            try:
                filters[column] = int(value)
            except ValueError:
                raise ParameterError.named(
                    "where", f"{column} must be a whole number; got {value!r}."
                ) from None
        else:
            filters[column] = value
    return filters


def flat_row(record: RunRecord) -> dict[str, Any]:
    """One run as a flat dict of :data:`FLAT_COLUMNS`."""
    m = record.metrics
    detection = m.get("detection") or {}
    row = {name: getattr(record, name, None) for name in FLAT_COLUMNS}
    row.update(
        accuracy=m.get("accuracy"),
        success_rate=m.get("success_rate"),
        n_train=m.get("n_train"),
        **{f"detection_{k}": detection.get(k) for k in ("precision", "recall", "f1", "roc_auc")},
    )
    return row


def select_runs(
    store: ResultStore, filters: dict[str, Any], *, include_stale: bool = False
) -> list[RunRecord]:
    """Runs matching ``filters``, ordered by dataset, model, attack, defense, budget, seed;
    only the current rows unless ``include_stale`` (see :meth:`ResultStore.runs`)."""
    runs = store.runs(include_stale=include_stale, **filters)
    return sorted(
        runs,
        key=lambda r: (
            r.dataset,
            r.model,
            r.attack,
            r.defense,
            r.budget if r.budget is not None else -1,
            r.run_id,
            r.seed,
        ),
    )


def to_csv(records: Iterable[RunRecord]) -> str:
    """Flat rows as CSV text, with a header."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(FLAT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if v is None else v for k, v in flat_row(record).items()})
    return buffer.getvalue()


def to_json(records: Iterable[RunRecord]) -> str:
    """Full records (config, metrics, timings) as a JSON array."""
    return json.dumps([record.__dict__ for record in records], indent=1) + "\n"
