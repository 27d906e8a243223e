"""A few poisoned samples of an image study, stored with the run so reports can show them.

Reports render only from the results store, and the store keeps no training data; so for image
datasets (MNIST 28x28, digits 8x8) a run also stores its first :data:`GALLERY_SIZE` poisoned
training rows with their labels before and after poisoning, and, for backdoors, the first
clean test inputs beside their triggered copies. That is at most ~25 KB per MNIST run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..datasets.base import image_shape_for

#: How many poisoned training rows (and backdoored test inputs) a run stores.
GALLERY_SIZE = 8


def gallery_arrays(
    y_clean: np.ndarray,
    X_poisoned: np.ndarray,
    y_poisoned: np.ndarray,
    poison_indices: np.ndarray,
    *,
    attack: Any = None,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    size: int = GALLERY_SIZE,
) -> dict[str, np.ndarray]:
    """The gallery arrays of one run, or ``{}`` when the rows are not images.

    Parameters
    ----------
    y_clean : ndarray of shape (n_train,)
        Training labels before poisoning.
    X_poisoned : ndarray of shape (n_train_poisoned, n_features)
    y_poisoned : ndarray of shape (n_train_poisoned,)
    poison_indices : ndarray of shape (n_poisoned,)
        Rows of the poisoned set the attack changed or added (added rows come after
        ``n_train`` and have no clean label).
    attack : BaseAttack, optional
        With ``apply_trigger`` (backdoors), test inputs are stored clean and triggered.
    X_test : ndarray of shape (n_test, n_features), optional
    y_test : ndarray of shape (n_test,), optional
    size : int, default=GALLERY_SIZE

    Returns
    -------
    dict of str to ndarray
        ``gallery_rows`` (k,) int64, ``gallery_images`` (k, height, width),
        ``gallery_y_true`` (k,) str (``""`` for an added row), ``gallery_y_poisoned`` (k,) str;
        for backdoors also ``gallery_test_rows`` (m,) int64, ``gallery_test_labels`` (m,) str,
        ``gallery_test_images`` and ``gallery_test_triggered`` (m, height, width).
    """
    shape = image_shape_for(X_poisoned.shape[1])
    if shape is None:
        return {}
    rows = np.asarray(poison_indices, dtype=np.int64)[:size]
    n_clean = len(y_clean)
    arrays = {
        "gallery_rows": rows,
        "gallery_images": np.asarray(X_poisoned)[rows].reshape(-1, *shape),
        "gallery_y_true": np.array([str(y_clean[r]) if r < n_clean else "" for r in rows], str),
        "gallery_y_poisoned": np.asarray(y_poisoned)[rows].astype(str),
    }
    if hasattr(attack, "apply_trigger") and X_test is not None and y_test is not None:
        # Inputs already of the target class say nothing about the trigger: show the others.
        target = str(getattr(attack, "target", ""))
        test_rows = np.flatnonzero(np.asarray(y_test).astype(str) != target)[:size]
        clean = np.asarray(X_test)[test_rows]
        arrays["gallery_test_rows"] = test_rows.astype(np.int64)
        arrays["gallery_test_labels"] = np.asarray(y_test)[test_rows].astype(str)
        arrays["gallery_test_images"] = clean.reshape(-1, *shape)
        arrays["gallery_test_triggered"] = attack.apply_trigger(clean).reshape(-1, *shape)
    return arrays
