"""The pieces of ``poisonlab audit`` between parsing and the library: inputs, progress, outputs.

Kept out of ``cli.py`` so the command stays short and these can be tested directly. Every
check of the user's input happens in :func:`load_inputs`, before anything is computed or
written: a ``ValueError`` from there is a user error (exit 2). Anything raised later is a bug
(exit 3, see :func:`internal_errors`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..datasets import DATASETS
from ..datasets.base import image_shape_for
from .core import label_strings
from .table import ROLES, AuditTable, infer_roles, read_frame

#: Label column names tried, in order, when ``--label`` is not given.
LABEL_GUESSES = ("label", "y", "target", "class")


@dataclass
class Inputs:
    """Everything the audit reads, validated."""

    table: AuditTable
    reference: AuditTable | None
    pred_probs: np.ndarray | None
    features: np.ndarray | None
    expect: dict[str, float] | None
    baseline: dict[str, Any] | None
    label: str
    paths: list[Path]


def parse_columns(values: list[str] | None) -> list[str]:
    """``--categorical a,b --categorical c`` -> ``["a", "b", "c"]``."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def parse_expect(text: str | None) -> dict[str, float] | None:
    """``--expect "a=0.6,b=0.4"`` -> shares; one-line errors for anything else."""
    if text is None:
        return None
    shares: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            share = float(value)
        except ValueError:
            share = -1.0
        if not sep or not name.strip() or not np.isfinite(share) or share < 0:
            raise ValueError(
                f"--expect: expected CLASS=SHARE pairs such as 'a=0.6,b=0.4'; got {text!r}."
            )
        shares[name.strip()] = share
    if sum(shares.values()) <= 0:
        raise ValueError(f"--expect: the shares must not all be 0; got {text!r}.")
    return shares


def read_table(
    data: str, label: str | None, roles: dict[str, str], option: str = "DATA"
) -> tuple[AuditTable, str]:
    """Read a built-in dataset or a file into an :class:`AuditTable`; return it and its label."""
    if data in DATASETS or data.startswith("openml:"):
        from ..datasets import load

        ds = load(data)
        frame = pd.DataFrame(ds.X, columns=list(ds.feature_names))
        table = AuditTable(data, frame, ds.y.astype(str), infer_roles(frame, roles), ds.image_shape)
        return table, label or "label"
    path = Path(data.removeprefix("file:"))
    frame = read_frame(path)
    frame.columns = [str(c) for c in frame.columns]
    if frame.empty:
        raise ValueError(f"{option}: {str(path)!r} has no rows.")
    label = _label_column(frame, label, path, option)
    y = label_strings(frame.pop(label))
    feature_roles = infer_roles(frame, roles)
    numeric = [c for c, r in feature_roles.items() if r == "numeric"]
    image = image_shape_for(len(numeric)) if len(numeric) == frame.shape[1] else None
    table = AuditTable(str(path), frame, y, feature_roles, image, path)
    return table, label


def _label_column(frame: pd.DataFrame, label: str | None, path: Path, option: str) -> str:
    if label is not None and label in frame.columns:
        return label
    if label is None:
        for guess in LABEL_GUESSES:
            if guess in frame.columns:
                return guess
    columns = ", ".join(map(str, list(frame.columns)[:10]))
    shown = label if label is not None else f"one of {', '.join(LABEL_GUESSES)}"
    raise ValueError(
        f"--label: column {shown!r} not found in {option} {str(path)!r}; columns: {columns}"
        f"{', ...' if frame.shape[1] > 10 else ''}."
    )


def role_overrides(**columns: list[str]) -> dict[str, str]:
    """``categorical=[...], ignore=[...], id=[...], text=[...]`` -> column -> role."""
    out: dict[str, str] = {}
    for role, names in columns.items():
        assert role in ROLES
        for name in names:
            if name in out and out[name] != role:
                raise ValueError(f"--{role}: column {name!r} is already given as --{out[name]}.")
            out[name] = role
    return out


def load_inputs(
    data: str,
    *,
    label: str | None,
    roles: dict[str, str],
    reference: str | None,
    pred_probs: Path | None,
    features: Path | None,
    expect: str | None,
    baseline: Path | None,
    out: Path,
    write_clean: Path | None,
) -> Inputs:
    """Read and validate every input; raise ``ValueError`` (one line) on anything wrong."""
    table, label = read_table(data, label, roles)
    if len(np.unique(table.y[table.y != ""])) < 2:
        raise ValueError(f"--label: column {label!r} holds fewer than two classes.")
    ref = None
    if reference is not None:
        ref, _ = read_table(reference, label, roles, option="--reference")
        missing = [c for c in table.frame.columns if c not in ref.frame.columns]
        if missing:
            raise ValueError(
                f"--reference: {reference!r} lacks {len(missing)} of the audited columns "
                f"({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''})."
            )
    paths = [p for p in (table.source, ref.source if ref else None, pred_probs, features) if p]
    paths += [baseline] if baseline is not None else []
    check_outputs(out, write_clean, paths)
    classes = np.unique(table.y[table.y != ""])
    probs = None if pred_probs is None else read_pred_probs(pred_probs, len(table.y), classes)
    embed = None if features is None else read_features(features, len(table.y))
    base = None if baseline is None else read_baseline(baseline)
    return Inputs(table, ref, probs, embed, parse_expect(expect), base, label, paths)


def read_pred_probs(path: Path, n_rows: int, classes: np.ndarray) -> np.ndarray:
    """Out-of-fold probabilities, one column per class named by the class; validated.

    CSV or Parquet: a header of class names. NPZ: arrays ``pred_probs`` and ``classes``.

    Returns
    -------
    ndarray of shape (n_rows, n_classes), columns in sorted class order.
    """
    where = f"--pred-probs: {str(path)!r}"
    if path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            if "pred_probs" not in npz.files or "classes" not in npz.files:
                raise ValueError(f"{where} must hold arrays 'pred_probs' and 'classes'.")
            probs, names = npz["pred_probs"], [str(c) for c in npz["classes"]]
    else:
        frame = read_frame(path)
        names, probs = [str(c) for c in frame.columns], frame.to_numpy()
    try:
        probs = np.asarray(probs, dtype=np.float64)
    except ValueError:
        raise ValueError(f"{where} holds non-numeric values.") from None
    if probs.ndim != 2 or probs.shape[0] != n_rows:
        raise ValueError(f"{where} has shape {probs.shape}; expected ({n_rows}, {len(classes)}).")
    if sorted(names) != sorted(classes.tolist()) or len(names) != len(classes):
        raise ValueError(
            f"{where} has classes {names[:10]}; the labels have {classes.tolist()[:10]}."
        )
    if not np.isfinite(probs).all() or (probs < 0).any():
        raise ValueError(f"{where} holds negative, NaN or infinite probabilities.")
    sums = probs.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-3)
    if len(bad):
        raise ValueError(f"{where}: row {bad[0]} sums to {sums[bad[0]]:.4g}, not 1.")
    order = [names.index(c) for c in classes]
    return probs[:, order]


def read_features(path: Path, n_rows: int) -> np.ndarray:
    """An embedding, one row per data row (NPZ array ``features``, or numeric CSV/Parquet)."""
    where = f"--features: {str(path)!r}"
    if path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            if "features" not in npz.files:
                raise ValueError(f"{where} must hold an array 'features'.")
            values = npz["features"]
    else:
        values = read_frame(path).to_numpy()
    try:
        values = np.asarray(values, dtype=np.float32)
    except ValueError:
        raise ValueError(f"{where} holds non-numeric values.") from None
    if values.ndim != 2 or values.shape[0] != n_rows or values.shape[1] < 1:
        raise ValueError(f"{where} has shape {values.shape}; expected ({n_rows}, n_dims).")
    if not np.isfinite(values).all():
        raise ValueError(f"{where} holds NaN or infinite values.")
    return values


def read_baseline(path: Path) -> dict[str, Any]:
    """A previous audit's ``summary.json`` (its ``findings`` list)."""
    import json

    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"--baseline: {str(path)!r} is not a readable JSON file: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        raise ValueError(f"--baseline: {str(path)!r} is not an audit's summary.json.")
    return doc


def check_outputs(out: Path, write_clean: Path | None, inputs: list[Path]) -> None:
    """Refuse outputs that would overwrite an input or something that is not an audit."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {str(out)!r} exists and is not a directory.")
    if out.is_dir() and any(out.iterdir()) and not (out / "summary.json").is_file():
        raise ValueError(
            f"--out: {str(out)!r} holds files but no earlier audit; choose a new directory."
        )
    for path in inputs:
        if out.is_dir() and path.resolve().is_relative_to(out.resolve()):
            raise ValueError(f"--out: {str(out)!r} holds the input {str(path)!r}.")
    if write_clean is None:
        return
    for path in inputs:
        if write_clean.resolve() == path.resolve():
            raise ValueError(
                f"--write-clean: {str(write_clean)!r} is an input file; poisonlab never "
                "overwrites its inputs, choose another path."
            )
    if write_clean.suffix.lower() not in (".csv", ".npz", ".parquet"):
        raise ValueError(
            f"--write-clean: {str(write_clean)!r} must end in .csv, .npz or .parquet; "
            f"got {write_clean.suffix or 'no suffix'!r}."
        )
    if write_clean.is_dir():
        raise ValueError(f"--write-clean: {str(write_clean)!r} is a directory.")


def make_estimator(model: str | None):
    """The zoo model named ``model`` (None: neighbour votes)."""
    if model is None:
        return None
    from ..models.zoo import make_model

    return make_model(model)


#: Rough share of the run each step takes, for the ETA.
STEP_WEIGHTS = {
    "encoding": 10,
    "neighbour graph": 45,
    "label_distribution": 1,
    "neighbours": 2,
    "confident_learning": 8,
    "outliers": 10,
    "duplicates": 4,
    "flip_pattern": 2,
    "pair_mixing": 1,
    "group": 6,
    "reference_shift": 5,
    "reference_labels": 5,
    "writing": 2,
}


@contextlib.contextmanager
def progress_steps(enabled: bool) -> Iterator[Callable[[str], None]]:
    """A progress bar with ETA on stderr (terminals only); yields ``on_step(name)``."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True, markup=False)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(
        *columns, console=console, transient=True, disable=not (enabled and console.is_terminal)
    ) as progress:
        task = progress.add_task("audit", total=sum(STEP_WEIGHTS.values()))
        current: list[str] = []

        def on_step(name: str) -> None:
            if current:
                progress.advance(task, STEP_WEIGHTS.get(current[0], 1))
                current.clear()
            current.append(name)
            progress.update(task, description=f"audit: {name}")

        yield on_step


@contextlib.contextmanager
def internal_errors() -> Iterator[None]:
    """Turn any exception into exit status 3: one line saying it is a bug, traceback in a file."""
    try:
        yield
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # everything after validation is a bug, never "findings"
        import sys
        import tempfile
        import traceback

        stamp = time.strftime("%Y%m%dT%H%M%S")
        fd, name = tempfile.mkstemp(prefix=f"poisonlab-audit-{stamp}-", suffix=".txt")
        with open(fd, "w") as handle:
            traceback.print_exc(file=handle)
        sys.stderr.write(
            f"poisonlab: internal error (a bug in poisonlab, not in your data): "
            f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}; traceback in {name}\n"
        )
        sys.exit(3)


def audit_command(
    data: str,
    *,
    label: str | None,
    roles: dict[str, str],
    reference: str | None,
    expect: str | None,
    pred_probs: Path | None,
    features: Path | None,
    model: str | None,
    out: Path,
    alpha: float,
    fail_on: float | None,
    baseline: Path | None,
    json_output: bool,
    junit: Path | None,
    quiet: bool,
    write_clean: Path | None,
    clean_action: str,
    seed: int,
    top: int,
    command: str,
    console,
) -> int:
    """The whole command: validate (``ValueError``: exit 2), audit, write, print; exit status."""
    from .output import CLEAN_ACTIONS

    if clean_action not in CLEAN_ACTIONS:
        raise ValueError(
            f"--clean-action must be one of {', '.join(CLEAN_ACTIONS)}; got {clean_action!r}."
        )
    if not 0 < alpha < 1:
        raise ValueError(f"--alpha must be in (0, 1); got {alpha!r}.")
    estimator = make_estimator(model)
    inputs = load_inputs(
        data,
        label=label,
        roles=roles,
        reference=reference,
        pred_probs=pred_probs,
        features=features,
        expect=expect,
        baseline=baseline,
        out=out,
        write_clean=write_clean,
    )
    if junit is not None and any(junit.resolve() == p.resolve() for p in inputs.paths):
        raise ValueError(f"--junit: {str(junit)!r} is an input file; choose another path.")
    if inputs.expect is not None:
        classes = set(inputs.table.y[inputs.table.y != ""])
        missing = sorted(str(c) for c in classes - set(inputs.expect))
        if missing:
            raise ValueError(f"--expect: no share given for class {missing[0]!r}.")
    with internal_errors():
        return _audit_and_write(
            inputs,
            estimator,
            out=out,
            alpha=alpha,
            fail_on=fail_on,
            json_output=json_output,
            junit=junit,
            quiet=quiet,
            write_clean=write_clean,
            clean_action=clean_action,
            seed=seed,
            top=top,
            command=command,
            console=console,
        )


def _audit_and_write(
    inputs: Inputs,
    estimator,
    *,
    out,
    alpha,
    fail_on,
    json_output,
    junit,
    quiet,
    write_clean,
    clean_action,
    seed,
    top,
    command,
    console,
) -> int:
    import json

    from . import output
    from .core import run_audit
    from .report import page_html, print_audit

    ref = inputs.reference
    with progress_steps(not quiet and not json_output) as on_step:
        result = run_audit(
            inputs.table,
            None,
            X_ref=None if ref is None else ref.frame,
            y_ref=None if ref is None else ref.y,
            expect=inputs.expect,
            pred_probs=inputs.pred_probs,
            features=inputs.features,
            model=estimator,
            alpha=alpha,
            fail_on=fail_on,
            random_state=seed,
            on_step=on_step,
        )
        on_step("writing")
        keys = output.row_keys(inputs.table)
        doc = output.summary(result, inputs.table, keys, inputs.baseline)
        page = page_html(result, inputs.table, command=command, doc=doc)

        def fill(folder: Path) -> None:
            output.write_files(folder, result, inputs.table, doc, label=inputs.label)
            (folder / "report.html").write_text(page, encoding="utf-8")

        replaced = output.write_out_dir(out, fill)
        doc["replaced_previous_audit"] = replaced
        if junit is not None:
            xml = output.junit_xml(doc)
            output.write_atomically(junit, lambda tmp: tmp.write_text(xml))
        if write_clean is not None:
            output.write_clean(
                result, inputs.table, write_clean, action=clean_action, label=inputs.label
            )
    if json_output:
        console.file.write(json.dumps(doc) + "\n")
    elif not quiet:
        print_audit(result, inputs.table, console, top=top, doc=doc)
        note = " (replaced the earlier audit there)" if replaced else ""
        console.print(
            f"Written: {out}/ (suspicious.csv, summary.json, report.html){note}", markup=False
        )
        if write_clean is not None:
            console.print(f"Sanitized copy: {write_clean}", markup=False)
    return doc["exit_status"]
