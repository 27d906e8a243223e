"""The "ML 106: Data Poisoning" lab, as a study run by the one runner.

Set-up as in the lab: MNIST training rows 0..1999, test rows 60000..60999, ``SVC(random_state=
42)`` with defaults (the zoo's ``svc``); the poisoning relabels the first N training '1's as '2'
(the ``label_flip`` attack with ``select="first"``). The clean model (N = 0) is always included.

:func:`run_ml106` writes the equivalent study spec (:func:`lab_spec_text`), runs it through
:func:`~poisonlab.experiment.study.run_study` into a results store (the given directory, or a
temporary one) and reads the lab's tables back from the stored ``per_class`` metric. Only labels
change, so the runner's shared-kernel fast path fits every model on one Gram matrix;
predictions equal plain ``SVC`` fits.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._errors import ParameterError
from ..experiment.components import load_split
from ..experiment.store import ResultStore
from ..experiment.study import Study, prepare_study_text, run_study
from ..report.lab_tables import LabResult, lab_result
from .ahead import TEST_START, lab_split_config

EXPERIMENT = "ml106"
COMMAND = "poisonlab lab ml106"


def lab_spec_text(
    budgets: Sequence[int], *, source: str, target: str, train_size: int, test_size: int
) -> str:
    """The study spec (TOML) of the lab: one run per budget in ``budgets``."""
    listed = ", ".join(str(n) for n in budgets)
    return f"""# The ML 106 lab as a study: poisonlab run this-file.toml
name = "{EXPERIMENT}"
seeds = [0]

[dataset]
name = "mnist"
split = {{ train = [0, {train_size}], test = [{TEST_START}, {TEST_START + test_size}] }}

[[models]]
name = "svc"

[[attacks]]
name = "label_flip"
params = {{ source = "{source}", target = "{target}", select = "first" }}
budget = [{listed}]

[[defenses]]
name = "none"
"""


def _check_budgets(poison: Sequence[int], available: int, source: str) -> list[int]:
    budgets = sorted({0, *(int(n) for n in poison)})
    bad = [n for n in budgets if n < 0 or n > available]
    if bad:
        raise ParameterError.named(
            "poison",
            f"{bad[0]} is not a valid number of images to poison; the training set has "
            f"{available} images of class {source!r}, so the maximum is {available}.",
        )
    return budgets


def _check_class(name: str, value: str, classes: np.ndarray) -> str:
    if str(value) not in classes:
        raise ParameterError.named(
            name, f"unknown class label {value!r}; the classes are {', '.join(classes)}."
        )
    return str(value)


def run_ml106(
    *,
    poison: Sequence[int] = (10, 30, 100),
    source: str = "1",
    target: str = "2",
    train_size: int = 2000,
    test_size: int = 1000,
    out: Path | None = None,
    memory: int | None = None,
    rerun: str | None = None,
) -> LabResult:
    """Run the lab through the study runner.

    Parameters
    ----------
    poison : sequence of int, default=(10, 30, 100)
        Numbers of ``source`` images to relabel; 0 (the clean model) is always added.
    source, target : str, default="1", "2"
        The first N training images of ``source`` are relabelled ``target``.
    train_size : int, default=2000
        Training rows ``0..train_size-1``.
    test_size : int, default=1000
        Test rows ``60000..60000+test_size-1``.
    out : Path, optional
        The study's output directory (its results store); default: a temporary one, removed
        after the tables are read.
    memory : int, optional
        Bytes the shared kernel may use (default: half the machine's RAM); above the whole
        Gram matrix's size, class-pair blocks are computed on demand within it.
    rerun : str, optional
        The command that reruns this lab into ``out`` (and so rewrites its report), as the
        front end spells it; recorded in the store's ``meta`` as ``rerun``, which the report
        shows.

    Returns
    -------
    LabResult
        Read back from the store's ``per_class`` metric and prediction arrays.
    """
    if not 1 <= train_size <= TEST_START:
        raise ParameterError.named("train_size", f"must be in [1, {TEST_START}]; got {train_size}.")
    if not 1 <= test_size <= 10_000:
        raise ParameterError.named("test_size", f"must be in [1, 10000]; got {test_size}.")
    split, classes = load_split(lab_split_config(train_size, test_size))
    source = _check_class("source", source, classes)
    target = _check_class("target", target, classes)
    if source == target:
        raise ParameterError.named(
            "target", f"must differ from the source class; both are {source!r}."
        )
    budgets = _check_budgets(poison, int((split.y_train == source).sum()), source)
    text = lab_spec_text(
        budgets, source=source, target=target, train_size=train_size, test_size=test_size
    )
    study = prepare_study_text(text, command=COMMAND)
    if out is not None:
        return _run_into(study, out, memory, rerun)
    with tempfile.TemporaryDirectory(prefix="poisonlab-ml106-") as tmp:
        return _run_into(study, Path(tmp), memory, rerun)


def _run_into(study: Study, out: Path, memory: int | None, rerun: str | None) -> LabResult:
    summary = run_study(study, out, memory_budget=memory)
    if rerun is not None:
        with ResultStore(out) as store:
            store.set_meta({"rerun": rerun})
    with ResultStore(out, create=False) as store:
        if summary.failed:
            [failed, *_] = store.runs(status="failed")
            raise RuntimeError(f"the lab's run {failed.run_id} failed: {failed.error}")
        return lab_result(store, [run.key for run in study.runs])
