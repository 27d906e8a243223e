"""The scalar metrics a report plots against the budget: a registry, their definitions, and
the statistics over seeds (means, confidence intervals, paired differences).

A value that is undefined for a run (a detector's recall when nothing was poisoned, a success
rate the attack does not define) is ``None`` here and ``undefined`` on the page, never 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._errors import ParameterError
from .._registry import Registry
from ..experiment.store import RunRecord

#: Confidence level of every interval in a report.
CONFIDENCE = 0.95


@dataclass
class Scalar:
    """A scalar metric of one run.

    Attributes
    ----------
    title : str
        For figure titles and axes (``Clean test accuracy``).
    column : str
        Short column name for tables (``accuracy``).
    get : callable
        ``get(metrics)``: the value from a run's stored ``metrics``, or None when undefined.
    definition : str
        What the value is, stated where it is shown.
    source : str
        The key of the stored ``metrics`` it is read from.
    detection : bool
        A detector's metric: measured on the training set, before any model is fitted.
    """

    title: str
    column: str
    get: Callable[[dict], Any]
    definition: str
    source: str
    detection: bool = False

    def applies(self, record: RunRecord) -> bool:
        """Whether the run measured it (its value may still be undefined, hence None)."""
        if self.source == "success_rate":
            return "success_rate" in record.metrics and record.attack != "none"
        return record.metrics.get(self.source) is not None


SCALARS: Registry[Scalar] = Registry("report metric")


def _detection(name: str) -> Callable[[dict], Any]:
    def get(metrics: dict) -> Any:
        d = metrics.get("detection") or {}
        # Undefined without poisoned rows (recall, F1, AUCs: 0/0) or without flags (precision);
        # the stored value may be 0.0 there, which would read as a failed detector.
        if name != "precision" and not d.get("n_poisoned"):
            return None
        if name == "precision" and not d.get("n_flagged"):
            return None
        return d.get(name)

    return get


_AGAINST = (
    " Measured against the truly poisoned rows: the training rows the attack changed or added "
    "(for a test-time detector such as STRIP, the triggered copies of the test inputs)."
)

SCALARS.add(
    "accuracy",
    Scalar(
        "Clean test accuracy",
        "accuracy",
        lambda m: m.get("accuracy"),
        "Fraction of the clean test inputs the model predicts correctly. The model is trained "
        "on the poisoned training set or, for a defense with sanitize = true, on the rows its "
        "detector keeps (after sanitizing).",
        "accuracy",
    ),
)
SCALARS.add(
    "success_rate",
    Scalar(
        "Attack success rate",
        "success",
        lambda m: m.get("success_rate"),
        "How often the attack gets what it wants on the test data; defined per attack (below).",
        "success_rate",
    ),
)
SCALARS.add(
    "detection_precision",
    Scalar(
        "Detector precision",
        "det. precision",
        _detection("precision"),
        "Of the rows the detector flags, the fraction truly poisoned; undefined when it flags "
        "none." + _AGAINST,
        "detection",
        detection=True,
    ),
)
SCALARS.add(
    "detection_recall",
    Scalar(
        "Detector recall",
        "det. recall",
        _detection("recall"),
        "Of the truly poisoned rows, the fraction the detector flags; undefined when none is "
        "poisoned (budget 0)." + _AGAINST,
        "detection",
        detection=True,
    ),
)
SCALARS.add(
    "detection_f1",
    Scalar(
        "Detector F1",
        "det. F1",
        _detection("f1"),
        "Harmonic mean of the detector's precision and recall over its flags; undefined when "
        "no row is poisoned (budget 0)." + _AGAINST,
        "detection",
        detection=True,
    ),
)
SCALARS.add(
    "detection_roc_auc",
    Scalar(
        "Detector ROC-AUC",
        "det. ROC-AUC",
        _detection("roc_auc"),
        "Area under the ROC curve of the detector's scores (before any threshold): the chance "
        "that a poisoned row scores above a clean one; 0.5 is chance, undefined when no row "
        "(or every row) is poisoned." + _AGAINST,
        "detection",
        detection=True,
    ),
)

#: Metrics a report shows when none is chosen.
DEFAULT_SCALARS = ("accuracy", "success_rate", "detection_f1", "detection_roc_auc")


def check_scalars(names: list[str] | None) -> list[str]:
    """The metrics to show: ``names`` checked against :data:`SCALARS`, or the defaults."""
    if not names:
        return list(DEFAULT_SCALARS)
    for name in names:
        if name not in SCALARS:
            known = ", ".join(SCALARS.names())
            raise ParameterError.named("metric", f"unknown {name!r}; known: {known}.")
    return list(dict.fromkeys(names))


def scalar(record: RunRecord, name: str) -> float | None:
    """A scalar metric of a run, or None when it was not measured or is undefined."""
    value = SCALARS.get(name).get(record.metrics)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def success_definitions(attacks: list[str]) -> dict[str, str]:
    """What ``success_rate`` means for each attack (registry name): the first line of the
    attack's own ``success_rate`` docstring, or that it defines none."""
    from ..attacks import ATTACKS
    from ..attacks.base import BaseAttack

    out = {}
    for name in sorted(set(attacks) - {"none"}):
        if name not in ATTACKS:
            out[name] = "not a registered attack of this poisonlab version."
            continue
        method = ATTACKS.get(name).success_rate
        if method is BaseAttack.success_rate or not method.__doc__:
            out[name] = "undefined (an indiscriminate attack: see the accuracy instead)."
        else:
            out[name] = method.__doc__.strip().splitlines()[0].replace("``", "")
    return out


# ---------------------------------------------------------------------------- statistics


def t_quantile(df: int) -> float:
    """The two-sided :data:`CONFIDENCE` quantile of Student's t with ``df`` degrees of freedom."""
    from scipy.special import stdtrit

    return float(stdtrit(df, 0.5 + CONFIDENCE / 2))


@dataclass(frozen=True)
class Estimate:
    """A mean over seeds with its confidence interval (``low == high == mean`` for one seed).

    Attributes
    ----------
    mean, low, high : float
    n : int
        Seeds the mean is over.
    """

    mean: float
    low: float
    high: float
    n: int

    def text_pm(self, digits: int = 3) -> str:
        """``0.912 ± 0.013`` (the interval is symmetric), or ``0.912`` for one seed."""
        if self.n < 2:
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {(self.high - self.low) / 2:.{digits}f}"

    def text(self, digits: int = 3) -> str:
        """``0.912`` or ``0.912 [0.899, 0.925]``."""
        if self.n < 2:
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def estimate(values: list[float]) -> Estimate:
    """Mean and Student-t :data:`CONFIDENCE` interval of the mean of ``values`` (n >= 1)."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if len(x) < 2:
        return Estimate(mean, mean, mean, len(x))
    half = t_quantile(len(x) - 1) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return Estimate(mean, mean - half, mean + half, len(x))


def interval_name(n_seeds: int) -> str:
    """Which interval a report shows, e.g. ``95% confidence interval (Student's t, 2 df)``."""
    df = n_seeds - 1
    degrees = f"{df} degree{'s' if df > 1 else ''} of freedom"
    return f"{CONFIDENCE:.0%} confidence interval (Student's t, {degrees})"


def interval_note(n_seeds: int) -> str:
    """How points and bands are computed, for captions."""
    return f"mean over {n_seeds} seeds and its {interval_name(n_seeds)}"
