"""Reproductions of published poisoning results: what was published, how to check it.

A :class:`Reproduction` holds a paper's (or lab's) set-up as a study spec, which the one study
runner runs (:func:`~poisonlab.experiment.study.run_study`), and its published figures, each
with a :class:`Rule` and a function that reads poisonlab's figure from the stored runs.
:func:`reproduce` runs the study into a results store (rerunning resumes it) and checks every
figure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..experiment.store import ResultStore, RunRecord
from ..experiment.study import prepare_study_text, run_study

#: The statuses of a figure and of an entry.
PASS, FAIL, PENDING, NOT_COMPARABLE = "pass", "fail", "pending", "not comparable"


@dataclass(frozen=True)
class Rule:
    """How poisonlab's figure is compared with the published one.

    Attributes
    ----------
    kind : {"exact", "between", "at_least", "at_most", "within_seeds"}
        ``exact``: every measured value equals ``low``; ``between``: the mean of the measured
        values lies in ``[low - tolerance, high + tolerance]``; ``at_least`` / ``at_most``: the
        mean is ``>= low - tolerance`` / ``<= low + tolerance``; ``within_seeds``: the
        published ``low`` lies between the lowest and the highest measured value (one per
        seed or draw), widened by ``tolerance``.
    low, high : float
        The published value (``low``), or range (``low`` to ``high``, for ``between``).
    tolerance : float, default=0.0
    """

    kind: str
    low: float
    high: float | None = None
    tolerance: float = 0.0

    def holds(self, values: np.ndarray) -> bool:
        """Whether the measured ``values`` (shape (n_seeds,)) satisfy the rule."""
        mean, tol = float(np.mean(values)), self.tolerance
        if self.kind == "exact":
            return bool(np.all(values == self.low))
        if self.kind == "between":
            return self.low - tol <= mean <= self.high + tol
        if self.kind == "at_least":
            return mean >= self.low - tol
        if self.kind == "at_most":
            return mean <= self.low + tol
        if self.kind == "within_seeds":
            return float(values.min()) - tol <= self.low <= float(values.max()) + tol
        raise RuntimeError(f"unknown rule kind {self.kind!r}")

    def describe(self) -> str:
        """The rule in words, e.g. ``"mean in [0.15, 0.2]"``."""
        tol = f" ± {self.tolerance:g}" if self.tolerance else ""
        return {
            "exact": f"exactly {self.low:g}",
            "between": f"mean in [{self.low:g}, {self.high or 0:g}]{tol}",
            "at_least": f"mean >= {self.low:g}{tol}",
            "at_most": f"mean <= {self.low:g}{tol}",
            "within_seeds": f"{self.low:g} within the seeds' [min, max]{tol}",
        }[self.kind]


def exact(value: float) -> Rule:
    return Rule("exact", value)


def between(low: float, high: float, tolerance: float = 0.0) -> Rule:
    return Rule("between", low, high, tolerance)


def at_least(value: float, tolerance: float = 0.0) -> Rule:
    return Rule("at_least", value, tolerance=tolerance)


def at_most(value: float, tolerance: float = 0.0) -> Rule:
    return Rule("at_most", value, tolerance=tolerance)


def within_seeds(value: float, tolerance: float = 0.0) -> Rule:
    return Rule("within_seeds", value, tolerance=tolerance)


#: Reads one figure from a study's current ``ok`` runs (or, for an entry computed outside the
#: study runner, from its ``measure``'s values by name): one value per seed or draw.
Reader = Callable[[Any], Sequence[float]]

#: Computes an entry outside the study runner (a dataset-level bound, which no study runs):
#: values by name, each a list of floats, which its figures read.
Measure = Callable[[], dict[str, list[float]]]


@dataclass(frozen=True)
class Figure:
    """One published figure and how poisonlab's is read.

    Attributes
    ----------
    name : str
        What is measured, e.g. ``"N = 10: incorrect 1's"``.
    published : str
        The published figure as the source states it (``"15-20%"``, ``"2"``).
    rule : Rule or None
        None when the figure cannot be compared (``not_comparable`` says why).
    read : Reader
        poisonlab's values, from the stored runs.
    source : str
        Where the published figure is: the table, figure or page.
    not_comparable : str
        Why poisonlab's figure cannot be held to the published one (empty when it can).
    """

    name: str
    published: str
    rule: Rule | None
    read: Reader
    source: str = ""
    not_comparable: str = ""


@dataclass(frozen=True)
class Reproduction:
    """A registry entry: a published result, its set-up as a study spec and its figures.

    Attributes
    ----------
    name : str
    title : str
        One line: what is reproduced.
    reference : str
        The full reference: authors, title, venue, and the table or figure.
    setup : str
        The set-up in words (the spec says it exactly).
    spec : str
        The study spec (TOML), run by the study runner; empty for a pending entry and for one
        computed by ``measure``.
    figures : tuple of Figure
    differences : str
        Why poisonlab's figures differ from the published ones, where they do, and what of
        the published set-up is not available here.
    pending : str
        Why the entry cannot run yet (empty when it can).
    measure : Measure or None
        Computes the entry with the Python API instead of a study spec (its values are
        written to ``measured.json`` in the output directory and recomputed on every run).
    """

    name: str
    title: str
    reference: str
    setup: str
    spec: str = ""
    figures: tuple[Figure, ...] = ()
    differences: str = ""
    pending: str = ""
    measure: Measure | None = None


@dataclass(frozen=True)
class FigureResult:
    """A figure checked: poisonlab's values and the status."""

    figure: Figure
    values: tuple[float, ...]
    status: str

    @property
    def measured(self) -> str:
        """poisonlab's figure as text: the value, or mean [min, max] over several."""
        values = np.asarray(self.values, dtype=float)
        if len(values) == 1:
            return f"{values[0]:.4g}"
        return f"{values.mean():.3f} [{values.min():.3f}, {values.max():.3f}] ({len(values)} seeds)"

    def to_json(self) -> dict:
        rule = self.figure.rule
        return {
            "figure": self.figure.name,
            "published": self.figure.published,
            "source": self.figure.source,
            "poisonlab": self.measured,
            "values": list(self.values),
            "rule": rule.describe() if rule is not None else None,
            "status": self.status,
            "not_comparable": self.figure.not_comparable or None,
        }


@dataclass(frozen=True)
class Result:
    """An entry checked (or pending): its figures' results, the overall status and why."""

    entry: Reproduction
    status: str
    figures: tuple[FigureResult, ...] = ()
    reason: str = ""
    out: Path | None = None

    def to_json(self) -> dict:
        return {
            "name": self.entry.name,
            "title": self.entry.title,
            "reference": self.entry.reference,
            "status": self.status,
            "reason": self.reason or None,
            "out": None if self.out is None else str(self.out),
            "figures": [f.to_json() for f in self.figures],
        }


def check_figure(figure: Figure, runs: Any) -> FigureResult:
    """Read poisonlab's values of ``figure`` from ``runs`` (or an entry's measured values) and
    apply its rule."""
    values = tuple(float(v) for v in figure.read(runs))
    if figure.rule is None:
        return FigureResult(figure, values, NOT_COMPARABLE)
    return FigureResult(figure, values, PASS if figure.rule.holds(np.asarray(values)) else FAIL)


def overall(figures: Sequence[FigureResult]) -> str:
    """``fail`` if a figure fails, else ``pass`` if one passes, else ``not comparable``."""
    statuses = {f.status for f in figures}
    if FAIL in statuses:
        return FAIL
    return PASS if PASS in statuses else NOT_COMPARABLE


def with_published(spec: str, entry: Reproduction) -> str:
    """``spec`` with a ``description`` naming the reference and the published figures, which
    the study's report page shows above its figures."""
    published = "; ".join(
        f"{f.name}: {f.published}" + (f" (rule: {f.rule.describe()})" if f.rule is not None else "")
        for f in entry.figures
    )
    description = f"Reproduces {entry.reference} Published: {published}."
    lines = spec.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("name = ")) + 1
    # A JSON string is a valid TOML basic string.
    return "".join([*lines[:at], f"description = {json.dumps(description)}\n", *lines[at:]])


def reproduce(
    entry: Reproduction,
    out: Path,
    *,
    on_start: Callable[[int, int], None] | None = None,
    on_result: Callable[[RunRecord], None] | None = None,
) -> Result:
    """Run ``entry``'s study into ``out`` (resuming it) and check its figures.

    Parameters
    ----------
    entry : Reproduction
    out : Path
        The study's output directory (its results store).
    on_start, on_result : callable, optional
        Progress callbacks, as :func:`~poisonlab.experiment.study.run_study` takes them.

    Returns
    -------
    Result
        ``pending`` without running anything when the entry is pending; ``fail`` when a run
        failed (the reason names it).
    """
    if entry.pending:
        return Result(entry, PENDING, reason=entry.pending)
    if entry.measure is not None:
        return _measure(entry, out)
    study = prepare_study_text(
        with_published(entry.spec, entry), command=f"poisonlab reproduce {entry.name}"
    )
    run_study(study, out, on_start=on_start, on_result=on_result)
    keys = {run.key for run in study.runs}
    with ResultStore(out, create=False) as store:
        records = [r for r in store.runs() if r.key in keys]
    failed = [r for r in records if r.status != "ok"]
    if failed:
        return Result(
            entry, FAIL, reason=f"run {failed[0].run_id} failed: {failed[0].error}", out=out
        )
    figures = tuple(check_figure(f, records) for f in entry.figures)
    return Result(entry, overall(figures), figures, out=out)


def _measure(entry: Reproduction, out: Path) -> Result:
    """Compute ``entry`` with its ``measure``, write the values to ``out/measured.json`` and
    check its figures."""
    from ..datasets.base import write_atomically

    measured = entry.measure()
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"entry": entry.name, "values": measured}, indent=2, sort_keys=True)
    write_atomically(out / "measured.json", lambda tmp: tmp.write_text(text + "\n"))
    figures = tuple(check_figure(f, measured) for f in entry.figures)
    return Result(entry, overall(figures), figures, out=out)
