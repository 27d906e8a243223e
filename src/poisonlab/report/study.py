"""A stored study as the report sees it: its runs grouped into series, read only from the store.

A *series* is every run that shares a dataset, a model, an attack with its parameters other than
the budget, and a defense with its parameters: the runs one line of a metric-versus-budget plot
is drawn through. Nothing here recomputes a run; values come from the ``runs`` rows and the
``arrays`` table of :class:`~poisonlab.experiment.store.ResultStore`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..experiment.ids import labelled
from ..experiment.store import ResultStore, RunRecord


@dataclass(frozen=True, order=True)
class SeriesKey:
    """What the runs of one series share (each a readable label)."""

    dataset: str
    model: str
    attack: str
    defense: str

    def label(self, *, dataset: bool) -> str:
        """``model · attack · defense`` (dataset first when the study has several)."""
        parts = [self.dataset] if dataset else []
        return " · ".join([*parts, self.model, self.attack, self.defense])


def attack_label(record: RunRecord) -> str:
    """The attack with its parameters except the budget, e.g. ``label_flip[source=1,...]``."""
    params = record.config.get("attack", {}).get("params", {})
    return labelled(record.attack, {k: v for k, v in params.items() if k != "budget"})


def defense_label(record: RunRecord) -> str:
    """The defense with its parameters, e.g. ``knn_label[k=10]`` or ``none``."""
    return labelled(record.defense, record.config.get("defense", {}).get("params", {}))


def series_key(record: RunRecord) -> SeriesKey:
    return SeriesKey(record.dataset, record.model, attack_label(record), defense_label(record))


def budget_of(record: RunRecord) -> int:
    """The run's poison budget; a run without one (no attack) counts as 0."""
    return 0 if record.budget is None else int(record.budget)


def is_clean(record: RunRecord) -> bool:
    """No attack, or an attack with nothing poisoned."""
    return record.attack == "none" or budget_of(record) == 0


@dataclass(frozen=True)
class Scalar:
    """A scalar metric the report plots against the budget and lists in its summary."""

    title: str
    column: str
    get: Callable[[dict], Any]


def _detection(field: str) -> Callable[[dict], Any]:
    return lambda m: (m.get("detection") or {}).get(field)


SCALARS: dict[str, Scalar] = {
    "accuracy": Scalar("Clean test accuracy", "accuracy", lambda m: m.get("accuracy")),
    "success_rate": Scalar("Attack success rate", "success", lambda m: m.get("success_rate")),
    "detection_f1": Scalar("Detector F1", "det. F1", _detection("f1")),
    "detection_roc_auc": Scalar("Detector ROC-AUC", "det. ROC-AUC", _detection("roc_auc")),
}


def scalar(record: RunRecord, name: str) -> float | None:
    """A scalar metric of a run, or None when it was not measured or does not apply."""
    value = SCALARS[name].get(record.metrics)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


@dataclass
class StudyData:
    """A study loaded from its results store.

    Attributes
    ----------
    directory : Path
        The study's output directory.
    meta : dict of str to str
        The store's ``meta`` table (``experiment``, ``spec``, ``source``, ...).
    runs : list of RunRecord
        Runs that finished ``ok``, in run-id order.
    failed : list of RunRecord
        Runs that failed.
    superseded : int
        Rows left out because a later row has the same run id (see :func:`latest_rows`).
    """

    directory: Path
    meta: dict[str, str]
    runs: list[RunRecord]
    failed: list[RunRecord]
    store: ResultStore
    superseded: int = 0
    _arrays: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.meta.get("experiment", self.directory.name)

    @property
    def several_datasets(self) -> bool:
        return len({r.dataset for r in self.runs}) > 1

    def series(self, runs: Iterable[RunRecord] | None = None) -> dict[SeriesKey, list[RunRecord]]:
        """Runs grouped by :class:`SeriesKey`, keys sorted, runs by budget then seed."""
        groups: dict[SeriesKey, list[RunRecord]] = {}
        for record in self.runs if runs is None else runs:
            groups.setdefault(series_key(record), []).append(record)
        return {
            k: sorted(groups[k], key=lambda r: (budget_of(r), r.seed, r.run_id))
            for k in sorted(groups)
        }

    def arrays(self, record: RunRecord) -> dict[str, np.ndarray]:
        """The run's stored arrays (read once, then cached)."""
        if record.key not in self._arrays:
            self._arrays[record.key] = self.store.arrays(record.key)
        return self._arrays[record.key]

    def classes(self, record: RunRecord) -> list[str] | None:
        """The run's classes, in the order of its per-class and confusion metrics."""
        per_class = record.metrics.get("per_class")
        return None if not per_class else [str(c) for c in per_class["classes"]]

    def clean_twin(self, record: RunRecord) -> RunRecord | None:
        """The clean run to compare a poisoned run with: same dataset, model and seed, no
        defense, and no attack (or the same attack at budget 0)."""
        candidates = [
            r
            for r in self.runs
            if is_clean(r)
            and r.defense == "none"
            and (r.dataset, r.model, r.seed) == (record.dataset, record.model, record.seed)
        ]
        # Prefer the same attack at budget 0 (the lab's N = 0), then no attack at all.
        candidates.sort(key=lambda r: (attack_label(r) != attack_label(record), r.run_id))
        return candidates[0] if candidates else None

    def defended_twins(self, record: RunRecord) -> list[RunRecord]:
        """Runs with the same data, model, attack, budget and seed, and a defense."""
        same = (record.dataset, record.model, attack_label(record), budget_of(record), record.seed)
        return [
            r
            for r in self.runs
            if r.defense != "none"
            and (r.dataset, r.model, attack_label(r), budget_of(r), r.seed) == same
        ]


def latest_rows(records: list[RunRecord]) -> list[RunRecord]:
    """The last finished row of each run id, in run-id order.

    A store keeps the rows of earlier package versions or metric lists (their keys differ) when
    a study is rerun; the same run id then has several rows, and a report shows the newest.
    """
    latest: dict[str, RunRecord] = {}
    for r in records:
        seen = latest.get(r.run_id)
        if seen is None or (r.finished, r.key) > (seen.finished, seen.key):
            latest[r.run_id] = r
    return [latest[i] for i in sorted(latest)]


def load_study(directory: str | Path, *, include_stale: bool = False) -> StudyData:
    """Open a study's store (a missing store is a ``ValueError``) and read its current runs
    (also the stale ones, computed by other code, with ``include_stale``).

    The caller closes ``result.store`` when done.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"DIR: {str(directory)!r} is not a directory; give a study's output.")
    store = ResultStore(directory, create=False)
    try:
        records = store.runs(include_stale=include_stale)
        meta = store.meta()
    except Exception:
        store.close()
        raise
    kept = latest_rows(records)
    runs = [r for r in kept if r.status == "ok"]
    failed = [r for r in kept if r.status != "ok"]
    return StudyData(directory, meta, runs, failed, store, len(records) - len(kept))
