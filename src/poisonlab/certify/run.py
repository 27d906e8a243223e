"""Certify a named dataset with a named certificate, and write the results: the CLI's library."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import load, split_by_ranges
from ..datasets.base import write_atomically
from .base import CERTIFICATES, Certification


def default_rows(dataset: str, n_rows: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Default train and test rows: MNIST's 60,000 / first 1,000 test images, else 80 / 20 %."""
    if dataset == "mnist":
        return (0, 60000), (60000, 61000)
    cut = max(1, (4 * n_rows + 2) // 5)
    return (0, cut), (cut, n_rows)


def certify_dataset(
    dataset: str,
    method: str,
    params: dict[str, Any],
    train_rows: tuple[int, int] | None = None,
    test_rows: tuple[int, int] | None = None,
    label: str | None = None,
    classes: list[str] | None = None,
) -> tuple[Certification, dict[str, Any]]:
    """Load ``dataset``, split it by row ranges and certify its test rows with ``method``.

    Parameters
    ----------
    dataset : str
        A dataset name for :func:`poisonlab.datasets.load`.
    method : str
        A name in :data:`CERTIFICATES`.
    params : dict
        The certificate's parameters.
    train_rows, test_rows : tuple of (int, int), optional
        Half-open row ranges; defaults from :func:`default_rows`.
    label : str, optional
        Label column of a ``file:`` dataset.
    classes : list of str, optional
        Keep only the rows of these classes, in both ranges (e.g. ``["1", "7"]``).

    Returns
    -------
    certification : Certification
    setup : dict
        Dataset, rows and parameters, for the output.
    """
    certificate = CERTIFICATES.create(method, **params)  # unknown names fail before loading
    ds = load(dataset, label=label)
    train_default, test_default = default_rows(dataset, len(ds.y))
    train = train_rows or train_default
    test = test_rows or test_default
    split = split_by_ranges(ds, train, test)
    X_train, y_train, X_test, y_test = split.X_train, split.y_train, split.X_test, split.y_test
    test_row_ids = split.test_rows
    if classes:
        unknown = sorted(set(classes) - set(ds.classes))
        if unknown:
            raise ValueError(
                f"classes: {unknown[0]!r} is not a class of {dataset!r}; its classes: "
                f"{', '.join(ds.classes)}."
            )
        keep_train, keep_test = np.isin(y_train, classes), np.isin(y_test, classes)
        X_train, y_train = X_train[keep_train], y_train[keep_train]
        X_test, y_test = X_test[keep_test], y_test[keep_test]
        test_row_ids = test_row_ids[keep_test]
    result = certificate.certify(X_train, y_train, X_test, y_test)
    setup = {
        "dataset": dataset,
        "train_rows": list(train),
        "test_rows": list(test),
        "classes": list(classes) if classes else None,
        "test_row_ids": test_row_ids.tolist(),
        "threat_model": certificate.threat_model,
        "reference": certificate.reference,
    }
    return result, setup


def to_json(result: Certification, setup: dict[str, Any]) -> dict[str, Any]:
    """The CLI's JSON object: the certification summary plus the set-up."""
    return {**result.to_json(), **{k: v for k, v in setup.items() if k != "test_row_ids"}}


def write_certification(result: Certification, setup: dict[str, Any], out: Path) -> list[Path]:
    """Write ``certification.json`` and ``radii.csv`` (one row per test input) into ``out``.

    Each file is written atomically, so an interrupted run leaves no half-written file.

    Returns
    -------
    list of Path
        The files written.
    """
    summary = json.dumps(to_json(result, setup), indent=2) + "\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["row", "label", "prediction", "radius"])
    for row, label, pred, radius in zip(
        setup["test_row_ids"], result.y_true, result.predictions, result.radius, strict=True
    ):
        writer.writerow([row, label, pred, int(radius)])
    paths = [out / "certification.json", out / "radii.csv"]
    write_atomically(paths[0], lambda tmp: tmp.write_text(summary, encoding="utf-8"))
    write_atomically(paths[1], lambda tmp: tmp.write_text(buffer.getvalue(), encoding="utf-8"))
    return paths


def radii_to_show(result: Certification, limit: int = 12) -> np.ndarray:
    """At most ``limit`` radii spread over ``0 .. max radius + 1``, for the terminal table."""
    top = int(result.radius.max(initial=-1)) + 1
    if top + 1 <= limit:
        return np.arange(top + 1)
    return np.unique(np.linspace(0, top, limit).round().astype(np.int64))
