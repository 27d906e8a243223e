"""The pieces of ``poisonlab audit`` between parsing and the library: loading, progress, printing.

Kept out of ``cli.py`` so the command stays a few lines and these can be tested directly.
Every check of the user's input happens in :func:`load_for_audit`, before anything is
computed or written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ..datasets import DATASETS, Dataset, load
from .core import ROW_CHECKS, AuditResult, run_audit
from .output import CLEAN_ACTIONS, check_clean_target, write_audit, write_clean


def dataset_name(data: str) -> tuple[str, Path | None]:
    """The :func:`poisonlab.datasets.load` name for ``data``, and its file path if a file."""
    if data in DATASETS or data.startswith("openml:"):
        return data, None
    path_text = data.removeprefix("file:")
    return f"file:{path_text}", Path(path_text)


def load_for_audit(
    data: str,
    label: str | None,
    reference: str | None,
    out: Path,
    write_clean_to: Path | None,
    clean_action: str,
) -> tuple[Path | None, Dataset, Dataset | None]:
    """Check the options and load the data (and reference); raise ``ValueError`` on bad input.

    Returns
    -------
    source : Path or None
        The input file, if the data is a file.
    dataset : Dataset
    reference : Dataset or None
    """
    if clean_action not in CLEAN_ACTIONS:
        raise ValueError(
            f"--clean-action must be one of {', '.join(CLEAN_ACTIONS)}; got {clean_action!r}."
        )
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {str(out)!r} exists and is not a directory.")
    name, source = dataset_name(data)
    if write_clean_to is not None:
        check_clean_target(write_clean_to, source)
    dataset = load(name, label=label)
    ref = None
    if reference is not None:
        ref_name, ref_path = dataset_name(reference)
        if ref_path is not None and source is not None and ref_path.resolve() == source.resolve():
            raise ValueError(f"--reference: {reference!r} is the audited file itself.")
        ref = load(ref_name, label=label)
        if list(ref.feature_names) != list(dataset.feature_names):
            raise ValueError(
                f"--reference: {reference!r} must have the audited data's "
                f"{len(dataset.feature_names)} feature columns in the same order; got "
                f"{len(ref.feature_names)} columns ({', '.join(ref.feature_names[:5])}, ...)."
            )
    return source, dataset, ref


def split_id(
    dataset: Dataset, reference: Dataset | None, id_column: str | None
) -> tuple[Dataset, Dataset | None, tuple[str, np.ndarray] | None]:
    """Take the ``--id`` column out of the features (of the reference too, if it has one).

    An id is not evidence: left among the features it would distort every distance.

    Returns
    -------
    dataset, reference : Dataset
        Without the id column.
    ids : (str, ndarray of shape (n_samples,)) or None
        The column's name and values.
    """
    if id_column is None:
        return dataset, reference, None
    names = list(dataset.feature_names)
    if id_column not in names:
        raise ValueError(
            f"--id: column {id_column!r} not found among the feature columns "
            f"({', '.join(names[:10])}{', ...' if len(names) > 10 else ''})."
        )
    if len(names) == 1:
        raise ValueError(f"--id: {id_column!r} is the only feature column; nothing to audit.")
    ids = dataset.X[:, names.index(id_column)]
    if ids.dtype.kind == "f" and np.array_equal(ids, np.round(ids)):
        ids = ids.astype(np.int64)
    return _without(dataset, id_column), _without(reference, id_column), (id_column, ids)


def _without(dataset: Dataset | None, column: str) -> Dataset | None:
    if dataset is None or column not in dataset.feature_names:
        return dataset
    from dataclasses import replace

    keep = [i for i, name in enumerate(dataset.feature_names) if name != column]
    names = [dataset.feature_names[i] for i in keep]
    return replace(dataset, X=dataset.X[:, keep], feature_names=names, image_shape=None)


def make_estimator(model: str | None):
    """The zoo model named ``model`` (None: the confident_learning detector's default)."""
    if model is None:
        return None
    from ..models.zoo import make_model

    return make_model(model)


@contextlib.contextmanager
def progress_steps() -> Iterator[Callable[[str], None]]:
    """A rich progress display on stderr; yields ``on_step(name)`` for :func:`run_audit`."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # label_distribution, the row checks and the writing step.
    total = len(ROW_CHECKS) + 2
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    console = Console(stderr=True, markup=False)
    # Not on a terminal (CI logs, pipes): no progress, so stderr holds only errors.
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as progress:
        task = progress.add_task("audit", total=total)
        started = [False]

        def on_step(name: str) -> None:
            if started[0]:
                progress.advance(task)
            started[0] = True
            progress.update(task, description=f"audit: {name}")

        yield on_step
        progress.update(task, completed=total)


def run_and_write(
    dataset: Dataset,
    reference: Dataset | None,
    *,
    source: Path | None,
    label: str,
    model,
    fail_on: float,
    seed: int,
    out: Path,
    clean_to: Path | None,
    clean_action: str,
    command: str,
    ids: tuple[str, np.ndarray] | None = None,
    on_step: Callable[[str], None],
) -> AuditResult:
    """Run the audit, then write ``out/`` and the sanitized copy (all atomically).

    ``command`` is the command line, shown in the HTML report.
    """
    result = run_audit(
        dataset.X,
        dataset.y,
        X_ref=None if reference is None else reference.X,
        y_ref=None if reference is None else reference.y,
        model=model,
        fail_on=fail_on,
        random_state=seed,
        on_step=on_step,
    )
    on_step("writing")
    write_audit(result, dataset, out, label=label, ids=ids)
    from .report import write_html

    write_html(result, dataset, out, command=command)
    if clean_to is not None:
        write_clean(result, dataset, clean_to, action=clean_action, label=label, source=source)
    return result


def print_audit(
    result: AuditResult, dataset: Dataset, console, *, out: Path, clean_to: Path | None, top: int
) -> None:
    """The terminal summary (see :func:`poisonlab.audit.report.print_audit`) and the files."""
    from .report import print_audit as print_summary

    print_summary(result, dataset, console, top=top)
    console.print(
        f"Ranked rows: {out / 'suspicious.csv'}; report: {out / 'report.html'}; "
        f"summary: {out / 'summary.json'}",
        markup=False,
    )
    if clean_to is not None:
        console.print(f"Sanitized copy: {clean_to}", markup=False)
