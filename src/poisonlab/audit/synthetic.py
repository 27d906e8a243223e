"""A realistic mixed training table, clean (with natural label noise) or poisoned, for tests
and the calibration benchmark.

The table has every column kind the audit reads: numeric columns in very different units
(one with missing values), a categorical ``region``, a boolean, a date, free text, and an id.
The label (``approved`` / ``declined`` / ``review``) follows a multinomial logistic model of the
features, so the classes overlap as in real data, and 3 % of labels are replaced by a uniformly
random other class (natural, scattered noise). The poisoned version flips ``n_poison`` rows of
one subpopulation (``region == "north"``, true class ``approved``) to ``declined``: a targeted
flip inside a group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CLASSES = np.array(["approved", "declined", "review"])
REGIONS = np.array(["north", "south", "east", "west", "centre"])
WORDS = np.array(["late", "payment", "new", "customer", "loyal", "risk", "debt", "ok", "paid"])


def mixed_table(
    n_rows: int = 2000,
    *,
    seed: int = 0,
    noise: float = 0.03,
    n_poison: int = 0,
    text: bool = True,
    n_extra: int = 0,
    group_effect: float = 0.0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """A mixed table with a ``label`` column, and the rows poisoned (empty when ``n_poison=0``).

    Parameters
    ----------
    n_rows : int
    seed : int
    noise : float
        Share of labels replaced by a random other class (natural noise).
    n_poison : int
        Rows of (region north, approved) flipped to declined.
    text : bool
        Include the free-text ``note`` column (slower to encode at a million rows).
    n_extra : int
        Extra columns that carry no signal (for width): every fifth categorical (``c<j>``,
        four values), the others numeric (``f<j>``, float32).
    group_effect : float
        A genuine group effect, clean: added to the ``declined`` logit of region north's
        rows (before the overlap scaling), so north is declined more often for real.

    Returns
    -------
    frame : pandas.DataFrame
        Columns ``customer_id``, ``income`` (dollars), ``age`` (years), ``balance`` (cents,
        5 % missing), ``tenure_days``, ``score`` (0..1), ``region``, ``is_member``,
        ``opened`` (date), ``note`` (text) and ``label``.
    poisoned : ndarray of int
    """
    rng = np.random.default_rng(seed)
    region = rng.choice(REGIONS, n_rows, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    member = rng.random(n_rows) < 0.4
    income = rng.lognormal(10.8, 0.5, n_rows)
    age = rng.integers(18, 90, n_rows).astype(np.float64)
    balance = rng.normal(250_000, 120_000, n_rows)
    tenure = rng.integers(0, 5000, n_rows)
    score = rng.beta(2, 5, n_rows)
    logits = np.column_stack(
        [
            2.0 * (np.log(income) - 10.8) / 0.5 + 2.5 * (score - 0.3) / 0.16 + 0.6 * member,
            -1.5 * (np.log(income) - 10.8) / 0.5 - 1.0 * (balance - 250_000) / 120_000,
            0.3 * (age - 54) / 20 + 0.5 * (tenure - 2500) / 1500,
        ]
    )
    logits[:, 1] += group_effect * (region == "north")
    logits *= 2.5  # classes overlap as in a model with about 90 % accuracy
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    truth = (probs.cumsum(axis=1) > rng.random((n_rows, 1))).argmax(axis=1)
    label = truth.copy()
    noisy = np.flatnonzero(rng.random(n_rows) < noise)
    label[noisy] = (label[noisy] + rng.integers(1, 3, len(noisy))) % 3
    target = np.flatnonzero((region == "north") & (label == 0))
    poisoned = np.sort(rng.choice(target, min(n_poison, len(target)), replace=False))
    label[poisoned] = 1
    balance[rng.random(n_rows) < 0.05] = np.nan
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{100000 + i}" for i in rng.permutation(n_rows)],
            "income": income.round(2),
            "age": age,
            "balance": balance,
            "tenure_days": tenure,
            "score": score.round(4),
            "region": region,
            "is_member": member,
            "opened": pd.Timestamp("2015-01-01")
            + pd.to_timedelta(rng.integers(0, 3650, n_rows), "D"),
        }
    )
    if text:
        picks = rng.integers(0, len(WORDS), (n_rows, 6))
        lengths = rng.integers(3, 7, n_rows)
        frame["note"] = [" ".join(WORDS[p[:m]]) for p, m in zip(picks, lengths, strict=True)]
    for j in range(n_extra):
        if j % 5 == 4:
            frame[f"c{j}"] = rng.choice(np.array(["p", "q", "r", "s"]), n_rows)
        else:
            frame[f"f{j}"] = rng.normal(0.0, 10.0 ** (j % 4), n_rows).astype(np.float32)
    frame["label"] = CLASSES[label]
    return frame, poisoned
