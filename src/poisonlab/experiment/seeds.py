"""Per-run seeds, hashed from the study's base seed and what the run is (as benchopt does).

A run's seed depends only on its repetition's seed and its content (``ids.content_id``), never
on how it is displayed (its run id), never on the order runs
are scheduled in or on which other runs the grid holds: adding a model to a study, resuming it,
or running it on a cluster leaves every other run's randomness, and so its results, unchanged.
"""

from __future__ import annotations

import hashlib


def derive_seed(base_seed: int, run_id: str) -> int:
    """A seed in [0, 2**32 - 1] from ``base_seed`` and a string naming what is seeded.

    Parameters
    ----------
    base_seed : int
        The repetition's seed from the spec.
    run_id : str
        What is seeded: a run's content id, or a purpose derived from a seed (``"detector"``).

    Returns
    -------
    int
        The first four bytes of SHA-256(``"{base_seed}:{run_id}"``), little-endian.
    """
    digest = hashlib.sha256(f"{int(base_seed)}:{run_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little")
