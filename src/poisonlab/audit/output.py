"""What an audit writes: ``suspicious.csv``, ``summary.json`` and a sanitized copy of the data.

Every file is written atomically (a temporary file, then a rename), so an error leaves no
half-written file; the input is only ever read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets.base import Dataset, write_atomically
from .core import AuditResult

CLEAN_ACTIONS = ("drop", "relabel")


def suspicious_table(
    result: AuditResult,
    dataset: Dataset,
    *,
    label: str = "label",
    ids: tuple[str, np.ndarray] | None = None,
):
    """The ranked table of rows where at least one check fired, most suspicious first.

    Columns: ``rank``, ``row`` (0-based data row of the input), the id column when ``ids``
    (name, values per row) is given, ``label``,
    ``suggested_label`` (empty when no check proposes another), ``score``, ``flagged``
    (score above ``fail_on``), ``checks`` (the checks that fired, ``;``-separated), ``why``
    (their reasons, `` | ``-separated), one ``strength_<check>`` column per check that ran,
    then the row's original feature columns.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    order = result.ranking
    order = order[result.score[order] > 0]
    suggested = result.suggested_labels()
    reasons = [result.reasons(int(i)) for i in order]
    frame = pd.DataFrame(
        {
            "rank": np.arange(1, len(order) + 1),
            "row": order,
            label: result.y[order],
            "suggested_label": np.where(suggested[order] != result.y[order], suggested[order], ""),
            "score": np.round(result.score[order], 4),
            "flagged": result.flagged[order],
            "checks": [";".join(name for name, _ in r) for r in reasons],
            "why": [" | ".join(f"{name}: {why}" for name, why in r) for r in reasons],
        }
    )
    if ids is not None:
        frame.insert(2, ids[0], ids[1][order])
    for check in result.checks:
        frame[f"strength_{check.name}"] = np.round(check.strength[order], 4)
    features = pd.DataFrame(dataset.X[order], columns=_feature_names(dataset))
    taken = set(frame.columns)
    features.columns = [c if c not in taken else f"feature_{c}" for c in features.columns]
    return pd.concat([frame, features], axis=1)


def _feature_names(dataset: Dataset) -> list[str]:
    names = list(dataset.feature_names)
    return (
        names if len(names) == dataset.X.shape[1] else [f"x{i}" for i in range(dataset.X.shape[1])]
    )


def summary(result: AuditResult, dataset: Dataset) -> dict[str, Any]:
    """A JSON-ready summary: the data, each check, the distribution test and the verdict."""
    dist = result.distribution
    return {
        "dataset": dataset.name,
        "n_rows": len(result.y),
        "n_features": int(dataset.X.shape[1]),
        "fail_on": result.fail_on,
        "n_flagged": int(result.flagged.sum()),
        "max_score": float(result.score.max()) if len(result.score) else 0.0,
        "checks": {c.name: {"fired": int(c.fired.sum()), **_plain(c.info)} for c in result.checks},
        "skipped": dict(result.skipped),
        "label_distribution": _plain(dist),
    }


def _plain(value: Any) -> Any:
    """``value`` with numpy arrays and scalars turned into JSON types."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_audit(
    result: AuditResult,
    dataset: Dataset,
    out: Path,
    *,
    label: str,
    ids: tuple[str, np.ndarray] | None = None,
) -> list[Path]:
    """Write ``suspicious.csv`` and ``summary.json`` into ``out``; return their paths."""
    table = suspicious_table(result, dataset, label=label, ids=ids)
    paths = [out / "suspicious.csv", out / "summary.json"]
    write_atomically(paths[0], lambda tmp: table.to_csv(tmp, index=False))
    text = json.dumps(summary(result, dataset), indent=2) + "\n"
    write_atomically(paths[1], lambda tmp: tmp.write_text(text))
    return paths


def check_clean_target(target: Path, source: Path | None) -> None:
    """Refuse a ``--write-clean`` path that is the input or of an unsupported type."""
    if source is not None and target.resolve() == source.resolve():
        raise ValueError(
            f"--write-clean: {str(target)!r} is the input file; poisonlab never overwrites its "
            "input, choose another path."
        )
    if target.suffix.lower() not in (".csv", ".npz", ".parquet"):
        raise ValueError(
            f"--write-clean: {str(target)!r} must end in .csv, .npz or .parquet; "
            f"got {target.suffix or 'no suffix'!r}."
        )
    if target.exists() and target.is_dir():
        raise ValueError(f"--write-clean: {str(target)!r} is a directory.")


def clean_rows(result: AuditResult, action: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows to keep and their labels after sanitizing the flagged rows.

    ``drop`` removes every flagged row. ``relabel`` gives each flagged row the label a check
    proposes (see :meth:`AuditResult.suggested_labels`) and drops flagged rows for which no
    check proposes one (an outlier, say, has no better label).

    Returns
    -------
    keep : ndarray of int
        Row indices of the input to keep, in input order.
    labels : ndarray of shape (len(keep),)
        Their labels.
    """
    if action not in CLEAN_ACTIONS:
        raise ValueError(
            f"--clean-action must be one of {', '.join(CLEAN_ACTIONS)}; got {action!r}."
        )
    y, flagged = result.y, result.flagged
    if action == "drop":
        keep = np.flatnonzero(~flagged)
        return keep, y[keep]
    suggested = result.suggested_labels()
    keep = np.flatnonzero(~flagged | (suggested != y))
    labels = np.where(flagged, suggested, y)
    return keep, labels[keep]


def write_clean(
    result: AuditResult,
    dataset: Dataset,
    target: Path,
    *,
    action: str,
    label: str,
    source: Path | None,
) -> int:
    """Write the sanitized copy to ``target``; return the number of rows written.

    A CSV or Parquet input is re-read and written with its own columns (only the kept rows
    and, for ``relabel``, the label column change); otherwise ``X`` and the labels are written
    (NPZ arrays ``X`` and ``y``, or a table of the feature columns and ``label``).
    """
    import pandas as pd

    keep, labels = clean_rows(result, action)
    suffix = target.suffix.lower()
    if suffix == ".npz":

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, X=dataset.X[keep], y=labels.astype(str))

        write_atomically(target, write)
        return len(keep)
    if source is not None and source.suffix.lower() in (".csv", ".parquet"):
        frame = (
            pd.read_csv(source, low_memory=False)
            if source.suffix.lower() == ".csv"
            else pd.read_parquet(source)
        )
        frame.columns = [str(c) for c in frame.columns]
        frame = frame.iloc[keep].reset_index(drop=True)
        frame[label] = _like(labels, frame[label])
    else:
        frame = pd.DataFrame(dataset.X[keep], columns=_feature_names(dataset))
        frame[label] = labels
    if suffix == ".csv":
        write_atomically(target, lambda tmp: frame.to_csv(tmp, index=False))
    else:
        write_atomically(target, lambda tmp: frame.to_parquet(tmp, index=False))
    return len(keep)


def _like(labels: np.ndarray, column) -> np.ndarray:
    """``labels`` (strings) in the dtype of the original label ``column`` where they fit."""
    if column.dtype.kind in "iu":
        return labels.astype(np.int64)
    if column.dtype.kind == "f":
        return labels.astype(np.float64)
    return labels
