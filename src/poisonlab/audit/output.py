"""What an audit writes: ``suspicious.csv``, ``summary.json``, ``report.html``, JUnit XML and a
sanitized copy of the data; and the comparison with a baseline audit.

Outputs are whole or absent: ``--out`` is assembled in a temporary directory beside it and
renamed into place (an earlier audit there is replaced in one rename); single files are
written with :func:`~poisonlab.datasets.base.write_atomically`. The inputs are only read.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..datasets.base import write_atomically
from .core import AuditResult
from .table import AuditTable, role_table

CLEAN_ACTIONS = ("drop", "relabel")

#: Rows listed in the JSON document.
JSON_ROWS = 100


def row_keys(table: AuditTable) -> np.ndarray:
    """A stable key per row: its ``--id`` value, else a hash of its content (features, label)."""
    ids = table.ids
    if ids is not None:
        return np.array([f"id:{v}" for v in ids[1]], dtype=object)
    content = table.frame.assign(__label__=table.y)
    hashed = pd.util.hash_pandas_object(content, index=False).to_numpy()
    return np.array([f"hash:{h:016x}" for h in hashed], dtype=object)


def suspicious_table(result: AuditResult, table: AuditTable, *, label: str = "label"):
    """The ranked rows where at least one check fired, most suspicious first.

    Columns: ``rank``, ``row`` (0-based data row of the input), the id column when there is
    one, ``label``, ``suggested_label``, ``score``, ``flagged``, ``checks``, ``why``, one
    ``strength_<check>`` column per check, then the row's original feature columns.

    Returns
    -------
    pandas.DataFrame
    """
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
    if table.ids is not None:
        frame.insert(2, table.ids[0], table.ids[1][order])
    for check in result.checks:
        frame[f"strength_{check.name}"] = np.round(check.strength[order], 4)
    features = table.frame.iloc[order].reset_index(drop=True)
    taken = set(frame.columns)
    features.columns = [c if c not in taken else f"feature_{c}" for c in features.columns]
    return pd.concat([frame, features], axis=1)


def findings(result: AuditResult, keys: np.ndarray) -> list[str]:
    """What failed, as stable strings: ``test:<name>:<pattern>`` and ``row:<key>``."""
    out = []
    for test in result.tests:
        if test.gates and test.p_value < result.info["threshold"]:
            out.append(f"test:{test.name}:{_pattern(test)}")
    out += [f"row:{k}" for k in keys[result.flagged]]
    return out


def _pattern(test) -> str:
    if test.name == "flip_pattern":
        top = test.detail["pairs"][0]
        return f"{top['looks_like']}->{top['labelled']}"
    if test.name == "pair_mixing":
        top = test.detail["pairs"][0]
        return f"{top['flipped_from']}->{top['flipped_to']}"
    if test.name == "group":
        top = test.detail["groups"][0]
        return f"{top['group']}:{top['looks_like']}->{top['labelled']}"
    return "dataset"


def new_findings(current: list[str], baseline: dict[str, Any] | None) -> list[str]:
    """Findings not in the baseline's (all of them without a baseline)."""
    if baseline is None:
        return current
    accepted = set(baseline["findings"])
    return [f for f in current if f not in accepted]


def summary(
    result: AuditResult,
    table: AuditTable,
    keys: np.ndarray,
    baseline: dict[str, Any] | None,
    *,
    top: int = JSON_ROWS,
) -> dict[str, Any]:
    """The JSON document: verdict, tests, checks, data description and the top rows."""
    current = findings(result, keys)
    new = new_findings(current, baseline)
    suggested = result.suggested_labels()
    rows = [
        {
            "row": int(i),
            "key": str(keys[i]),
            "label": str(result.y[i]),
            "suggested_label": str(suggested[i]),
            "score": round(float(result.score[i]), 4),
            "flagged": bool(result.flagged[i]),
            "checks": [name for name, _ in result.reasons(int(i))],
        }
        for i in result.ranking[:top]
        if result.score[i] > 0
    ]
    return {
        "verdict": "fail" if new else "pass",
        "exit_status": 1 if new else 0,
        "alpha": result.alpha,
        "per_test_threshold": result.info["threshold"],
        "fail_on": result.fail_on,
        "dataset": table.name,
        "n_rows": len(result.y),
        "n_features": int(table.frame.shape[1]),
        "roles": role_table(table.roles),
        "missing_values": result.info["missing"],
        "unlabelled_rows": result.info["unlabelled_rows"],
        "probabilities": result.info["probabilities"],
        "tests": [
            {
                "name": t.name,
                "p_value": t.p_value,
                "gates": t.gates,
                "failed": bool(t.gates and t.p_value < result.info["threshold"]),
                "finding": t.finding,
            }
            for t in result.tests
        ],
        "checks": {c.name: {"fired": int(c.fired.sum()), **_plain(c.info)} for c in result.checks},
        "skipped": dict(result.skipped),
        "label_distribution": _plain(result.distribution),
        "n_flagged": int(result.flagged.sum()),
        "findings": current,
        "new_findings": new,
        "baseline": None if baseline is None else baseline.get("dataset"),
        "top_rows": rows,
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


def junit_xml(doc: dict[str, Any]) -> str:
    """JUnit XML of the summary: one test case per dataset-level test and per row check."""
    from xml.etree import ElementTree as ET

    cases = []
    for test in doc["tests"]:
        case = ET.Element("testcase", classname="poisonlab.audit.tests", name=test["name"])
        failing = test["failed"] and any(
            f.startswith(f"test:{test['name']}:") for f in doc["new_findings"]
        )
        if failing:
            ET.SubElement(case, "failure", message=test["finding"]).text = test["finding"]
        elif not test["gates"]:
            ET.SubElement(case, "system-out").text = f"reported, not gated: {test['finding']}"
        cases.append(case)
    for name, info in doc["checks"].items():
        case = ET.Element("testcase", classname="poisonlab.audit.checks", name=name)
        ET.SubElement(case, "system-out").text = f"fired on {info['fired']} rows"
        cases.append(case)
    for name, why in doc["skipped"].items():
        case = ET.Element("testcase", classname="poisonlab.audit.checks", name=name)
        ET.SubElement(case, "skipped", message=why)
        cases.append(case)
    failures = sum(1 for c in cases if c.find("failure") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    suite = ET.Element(
        "testsuite",
        name=f"poisonlab audit {doc['dataset']}",
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
    )
    suite.extend(cases)
    suites = ET.Element("testsuites")
    suites.append(suite)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write_out_dir(out: Path, write: Callable[[Path], None]) -> bool:
    """Fill a temporary directory beside ``out`` with ``write(tmp)``, then swap it in.

    Returns
    -------
    bool
        Whether an earlier audit in ``out`` was replaced.
    """
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    replaced = out.exists()
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    try:
        write(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        if replaced:
            os.replace(out, old)
        os.replace(tmp, out)
    except BaseException:
        if replaced and old.exists() and not out.exists():
            os.replace(old, out)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return replaced


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_files(
    folder: Path, result: AuditResult, table: AuditTable, doc: dict[str, Any], *, label: str
) -> None:
    """``suspicious.csv`` and ``summary.json`` into ``folder``."""
    suspicious_table(result, table, label=label).to_csv(folder / "suspicious.csv", index=False)
    (folder / "summary.json").write_text(json.dumps(doc, indent=2) + "\n")


def clean_rows(result: AuditResult, action: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows to keep and their labels after sanitizing the flagged rows.

    ``drop`` removes every flagged row. ``relabel`` gives each flagged row the label a check
    proposes and drops flagged rows for which no check proposes one.

    Returns
    -------
    keep : ndarray of int
        Row indices of the input to keep, in input order.
    labels : ndarray of shape (len(keep),)
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
    result: AuditResult, table: AuditTable, target: Path, *, action: str, label: str
) -> int:
    """Write the sanitized copy (the table's own columns) to ``target``; return its rows."""
    keep, labels = clean_rows(result, action)
    frame = table.frame.iloc[keep].reset_index(drop=True)
    frame.insert(0, label, labels)
    suffix = target.suffix.lower()
    if suffix == ".npz":
        numeric = frame.drop(columns=[label]).select_dtypes("number")

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, X=numeric.to_numpy(), y=np.asarray(labels, dtype=str))

        write_atomically(target, write)
    elif suffix == ".csv":
        write_atomically(target, lambda tmp: frame.to_csv(tmp, index=False))
    else:
        write_atomically(target, lambda tmp: frame.to_parquet(tmp, index=False))
    return len(keep)
