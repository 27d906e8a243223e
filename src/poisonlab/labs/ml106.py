"""The "ML 106: Data Poisoning" lab, reproduced exactly and fast.

Set-up as in the lab: MNIST training rows 0..1999, test rows 60000..60999, ``SVC(random_state=
42)`` with defaults; the poisoning relabels the first N training '1's as '2' (the ``label_flip``
attack with ``select="first"``). The clean model (N = 0) is always included.

Only labels change, so every model shares one Gram matrix (see
:mod:`poisonlab.models.shared_kernel`); predictions equal plain ``SVC`` fits.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from sklearn.svm import SVC

from ..attacks import ATTACKS
from ..datasets import Dataset, Split, load, split_by_ranges
from ..metrics import PerClassTable, class_counts, per_class_table
from ..models.shared_kernel import SharedKernelSVC

TEST_START = 60_000  # MNIST's official test set starts here


@dataclass(frozen=True)
class LabRun:
    """One model of the lab: N poisoned, and its per-class table on the test set."""

    n_poisoned: int
    train_counts: np.ndarray  # (n_classes,) after poisoning
    table: PerClassTable
    poison_indices: np.ndarray
    y_pred: np.ndarray  # (n_test,) predictions on the test set
    seconds: float = 0.0  # wall time of poisoning, fitting and predicting


@dataclass(frozen=True)
class LabResult:
    """Everything the lab prints.

    Attributes
    ----------
    classes : ndarray of shape (n_classes,)
    source, target : str
    train_counts, test_counts : ndarray of shape (n_classes,)
        Clean class counts.
    first_predictions : list of (str, str)
        (true, predicted) for the first five test images, by the clean model.
    runs : list of LabRun
        One per N, in the order given (N = 0 first).
    split : Split or None
        The train/test split the runs used (for the results store).
    """

    classes: np.ndarray
    source: str
    target: str
    train_counts: np.ndarray
    test_counts: np.ndarray
    first_predictions: list[tuple[str, str]]
    runs: list[LabRun]
    split: Split | None = None

    def to_json(self) -> dict:
        """The ``--json`` document: correct/incorrect indexed by predicted class (the lab's)."""
        return {
            "runs": [
                {
                    "n_poisoned": run.n_poisoned,
                    "correct": run.table.correct.tolist(),
                    "incorrect": run.table.incorrect.tolist(),
                    "accuracy": run.table.accuracy,
                    "train_counts": run.train_counts.tolist(),
                    "missed_by_true_class": run.table.missed.tolist(),
                }
                for run in self.runs
            ]
        }


def _check_budgets(poison: Sequence[int], available: int, source: str) -> list[int]:
    budgets = sorted({0, *(int(n) for n in poison)})
    bad = [n for n in budgets if n < 0 or n > available]
    if bad:
        raise ValueError(
            f"poison: {bad[0]} is not a valid number of images to poison; the "
            f"training set has {available} images of class {source!r}, so the "
            f"maximum is {available}."
        )
    return budgets


def _check_class(name: str, value: str, classes: np.ndarray) -> str:
    if str(value) not in classes:
        raise ValueError(
            f"{name}: unknown class label {value!r}; the classes are {', '.join(classes)}."
        )
    return str(value)


def run_ml106(
    *,
    poison: Sequence[int] = (10, 30, 100),
    source: str = "1",
    target: str = "2",
    train_size: int = 2000,
    test_size: int = 1000,
    dataset: Dataset | None = None,
    n_jobs: int | None = None,
) -> LabResult:
    """Run the lab.

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
    dataset : Dataset, optional
        MNIST, if already loaded.
    n_jobs : int, optional
        Threads fitting models in parallel (default: all cores).

    Returns
    -------
    LabResult
    """
    if not 1 <= train_size <= TEST_START:
        raise ValueError(f"train_size: must be in [1, {TEST_START}]; got {train_size}.")
    if not 1 <= test_size <= 10_000:
        raise ValueError(f"test_size: must be in [1, 10000]; got {test_size}.")
    ds = dataset if dataset is not None else load("mnist")
    split = split_by_ranges(ds, (0, train_size), (TEST_START, TEST_START + test_size))
    classes = np.unique(ds.y)
    source = _check_class("source", source, classes)
    target = _check_class("target", target, classes)
    if source == target:
        raise ValueError(f"target: must differ from source; both are {source!r}.")
    budgets = _check_budgets(poison, int((split.y_train == source).sum()), source)

    shared = SharedKernelSVC(SVC(random_state=42), split.X_train)
    K_test = shared.query_kernel(split.X_test)

    def one_run(n: int) -> LabRun:
        start = time.perf_counter()
        attack = ATTACKS.create(
            "label_flip", source=source, target=target, budget=n, select="first"
        )
        poisoned = attack.poison(split.X_train, split.y_train)
        y_pred = shared.fit(poisoned.y).predict_from_kernel(K_test)
        return LabRun(
            n,
            class_counts(poisoned.y, classes),
            per_class_table(split.y_test, y_pred, classes),
            poisoned.poison_indices,
            y_pred,
            time.perf_counter() - start,
        )

    # libsvm releases the GIL, so threads fit the models in parallel.
    with ThreadPoolExecutor(max_workers=n_jobs or os.cpu_count() or 1) as pool:
        runs = list(pool.map(one_run, budgets))
    first = [(str(t), str(p)) for t, p in zip(split.y_test[:5], runs[0].y_pred, strict=False)]
    return LabResult(
        classes,
        source,
        target,
        class_counts(split.y_train, classes),
        class_counts(split.y_test, classes),
        first,
        runs,
        split,
    )
