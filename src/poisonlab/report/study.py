"""A stored study as the report sees it: its runs grouped into series, read only from the store.

A *series* is every run that shares a dataset, a model, an attack with its parameters other than
the budget, and a defense with its parameters: the runs one line of a metric-versus-budget plot
is drawn through. Nothing here recomputes a run; values come from the ``runs`` rows and the
``arrays`` table of :class:`~poisonlab.experiment.store.ResultStore`.

Budgets keep the unit the spec gave them in: a float in [0, 1] is a fraction of the training
set, an int a count of samples (see "Budgets" in docs/architecture.md). The store's ``budget``
column is always the count the attack poisoned; the spec's value is in the run's config.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._errors import ParameterError
from ..experiment.ids import labelled
from ..experiment.store import ResultStore, RunRecord

#: The fields a run can be filtered (``where``) and faceted by.
FIELDS = ("dataset", "model", "attack", "defense")
#: Filters also accept these.
FILTER_FIELDS = (*FIELDS, "seed", "budget")


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
    """The number of samples the run's attack poisoned; a run without an attack counts 0."""
    return 0 if record.budget is None else int(record.budget)


def budget_spec(record: RunRecord) -> int | float | None:
    """The budget as the spec gave it: an int count, a float fraction, or None."""
    value = record.config.get("attack", {}).get("params", {}).get("budget")
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def is_fraction(record: RunRecord) -> bool:
    """Whether the spec gave the run's budget as a fraction of the training set."""
    return isinstance(budget_spec(record), float)


def budget_value(record: RunRecord, unit: str) -> float:
    """The run's budget in ``unit``: ``"fraction"`` (of the training set, as the spec gave it)
    or ``"count"`` (samples poisoned)."""
    spec = budget_spec(record)
    if unit == "fraction" and isinstance(spec, float):
        return spec
    return float(budget_of(record))


def budget_unit(records: Iterable[RunRecord]) -> str:
    """``"fraction"`` when every attacked run's spec budget is a fraction, else ``"count"``."""
    attacked = [r for r in records if r.attack != "none"]
    return "fraction" if attacked and all(is_fraction(r) for r in attacked) else "count"


def budget_text(record: RunRecord, prefix: str = "N=") -> str:
    """``N=30``, or ``0.05 (N=30)`` for a budget given as a fraction."""
    spec = budget_spec(record)
    count = f"{prefix}{budget_of(record)}"
    return f"{spec:g} ({count})" if isinstance(spec, float) else count


def is_clean(record: RunRecord) -> bool:
    """No attack, or an attack with nothing poisoned."""
    return record.attack == "none" or budget_of(record) == 0


def sanitizes(record: RunRecord) -> bool:
    """Whether the model was trained on what the run's detector kept (``sanitize = true``)."""
    defense = record.config.get("defense", {})
    return record.defense != "none" and bool(defense.get("sanitize", True))


def field_value(record: RunRecord, name: str) -> str:
    """A run's value of one of :data:`FIELDS` (the readable label of its series)."""
    return getattr(series_key(record), name)


# ------------------------------------------------------------------------------- filters


def parse_where(items: Iterable[str]) -> dict[str, list[str]]:
    """``["attack=label_flip", "model=svc", "model=logreg"]`` as ``{field: [values]}``.

    Values of one field are alternatives (any may match); different fields must all match.
    """
    where: dict[str, list[str]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ParameterError.named(
                "where", f"expected FIELD=VALUE, e.g. model=svc; got {item!r}."
            )
        if name not in FILTER_FIELDS:
            fields = ", ".join(FILTER_FIELDS)
            raise ParameterError.named("where", f"cannot filter by {name!r}; fields: {fields}.")
        where.setdefault(name, []).append(value)
    return where


def _names(record: RunRecord, name: str) -> set[str]:
    """Every spelling of a run's value a filter may give: registry name or full label."""
    if name == "seed":
        return {str(record.seed)}
    if name == "budget":
        return {
            str(budget_of(record)),
            *([f"{budget_spec(record):g}"] if is_fraction(record) else []),
        }
    if name == "attack":
        return {record.attack, attack_label(record)}
    if name == "defense":
        return {record.defense, defense_label(record)}
    if name == "model":
        return {record.model, str(record.config.get("model", {}).get("name", record.model))}
    return {record.dataset}


def _spellings(value: str, name: str) -> set[str]:
    if name != "budget":
        return {value}
    try:
        return {value, f"{float(value):g}"}
    except ValueError:
        return {value}


def select_runs(records: list[RunRecord], where: dict[str, list[str]]) -> list[RunRecord]:
    """The runs every filter of ``where`` matches; a value no run has is an error."""
    for name, values in where.items():
        known = set().union(*(_names(r, name) for r in records)) if records else set()
        for value in values:
            if not _spellings(value, name) & known:
                values = ", ".join(sorted(known, key=_natural)) or "none"
                raise ParameterError.named(
                    "where", f"no run has {name}={value!r}; its values: {values}."
                )
    return [
        r
        for r in records
        if all(any(_spellings(v, n) & _names(r, n) for v in vs) for n, vs in where.items())
    ]


def _natural(text: str) -> tuple:
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


# ------------------------------------------------------------------------------ the study


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
        Runs that finished ``ok`` (and match the filters), in run-id order.
    failed : list of RunRecord
        Runs that failed (and match the filters).
    superseded : int
        Rows left out because a later row has the same run id (see :func:`latest_rows`).
    where : dict of str to list of str
        The filters the runs were selected with (empty: every run).
    n_unfiltered : int
        Finished runs before filtering.
    """

    directory: Path
    meta: dict[str, str]
    runs: list[RunRecord]
    failed: list[RunRecord]
    store: ResultStore
    superseded: int = 0
    where: dict[str, list[str]] = field(default_factory=dict)
    n_unfiltered: int = 0
    _arrays: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.meta.get("experiment", self.directory.name)

    @property
    def several_datasets(self) -> bool:
        return len({r.dataset for r in self.runs}) > 1

    @property
    def n_seeds(self) -> int:
        return len({r.seed for r in self.runs})

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


def load_study(
    directory: str | Path,
    where: dict[str, list[str]] | None = None,
    *,
    include_stale: bool = False,
) -> StudyData:
    """Open a study's store (a missing store is a ``ValueError``) and read its current runs
    (also the stale ones, computed by other code, with ``include_stale``).

    Parameters
    ----------
    directory : str or Path
    where : dict of str to list of str, optional
        Filters (see :func:`parse_where`): only matching runs are reported.
    include_stale : bool, default=False

    The caller closes ``result.store`` when done.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"DIR: {str(directory)!r} is not a directory; give a study's output.")
    store = ResultStore(directory, create=False)
    try:
        records = store.runs(include_stale=include_stale)
        meta = store.meta()
        kept = latest_rows(records)
        selected = select_runs(kept, where or {})
    except Exception:
        store.close()
        raise
    runs = [r for r in selected if r.status == "ok"]
    failed = [r for r in selected if r.status != "ok"]
    return StudyData(
        directory,
        meta,
        runs,
        failed,
        store,
        len(records) - len(kept),
        dict(where or {}),
        sum(r.status == "ok" for r in kept),
    )
