"""The ML 106 lab's split and kernels, started before scikit-learn is imported.

Importing scikit-learn takes the lab about 1.2 s of one core while the other is idle (issue 18).
:func:`start_lab_kernels` uses it: a thread loads the lab's split and computes what its shared
kernel will need (the Gram matrix of the training rows, laid out by their labels, and the
kernel of the test rows against them), numpy products that release the GIL. The study runner's
:class:`~poisonlab.models.shared_kernel.SharedKernelSVC` takes them (``kernels.take_ahead``)
only if they were computed from the very arrays and kernel parameters it has; otherwise it
computes its own. This module imports neither scikit-learn nor the study machinery.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..experiment.components import load_split
from ..models.kernels import (
    as_training_matrix,
    compute_ahead,
    default_memory_budget,
    fits_whole,
    grouped_gram,
    query_kernel,
    resolve_gamma,
)

TEST_START = 60_000  # MNIST's official test set starts here
#: The lab's model, the zoo's ``svc`` (``SVC(random_state=42)``): scikit-learn's defaults.
KERNEL, GAMMA = "rbf", "scale"


def lab_split_config(train_size: int, test_size: int) -> dict[str, Any]:
    """The lab's dataset config: MNIST rows ``0..train_size-1`` and the first ``test_size``
    rows of its test set."""
    return {
        "name": "mnist",
        "split": {"train": [0, train_size], "test": [TEST_START, TEST_START + test_size]},
    }


def start_lab_kernels(train_size: int, test_size: int, memory: int | None) -> None:
    """Load the lab's split and compute its kernels in a thread, when the whole Gram matrix
    fits in ``memory`` (None: the default budget) as the runner's shared kernel decides.

    Nothing is raised here: invalid sizes fail in the thread, and the lab reports them as
    usual; :func:`~poisonlab.models.kernels.discard_ahead` drops what was not used.
    """
    budget = default_memory_budget() if memory is None else memory
    if not (1 <= train_size <= TEST_START and fits_whole(train_size, budget)):
        return
    config = lab_split_config(train_size, test_size)
    loaded: dict[str, Any] = {}

    def gram() -> tuple[tuple, np.ndarray]:
        split, _ = load_split(config)
        X, sq = as_training_matrix(split.X_train)
        gamma = resolve_gamma(GAMMA, X)
        loaded.update(split=split, X=X, sq=sq, gamma=gamma)
        order = np.argsort(split.y_train, kind="stable")
        return (split.X_train, split.y_train), grouped_gram(X, sq, order, KERNEL, gamma)

    def test_kernel() -> tuple[tuple, np.ndarray]:
        split, X, sq = loaded["split"], loaded["X"], loaded["sq"]
        K = query_kernel(split.X_test, X, sq, KERNEL, loaded["gamma"])
        return (split.X_test, split.X_train), K

    compute_ahead((KERNEL, GAMMA), {"gram": gram, "query": test_kernel})
