"""Shared fixtures: real datasets, loaded once per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from poisonlab.datasets import Dataset, load

# The installed console script, so CLI tests go through the real entry point.
POISONLAB = shutil.which("poisonlab", path=str(Path(sys.executable).parent)) or "poisonlab"


@pytest.fixture(scope="session")
def mnist() -> Dataset:
    return load("mnist")


@pytest.fixture(scope="session")
def digits() -> Dataset:
    return load("digits")


@pytest.fixture
def tiny() -> tuple[np.ndarray, np.ndarray]:
    """300 digits: small enough for every attack and detector to run in a second."""
    ds = load("digits")
    return ds.X[:300].copy(), ds.y[:300].copy()


def run_cli(
    *args: str, cwd: Path | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run ``poisonlab ARGS`` as a user would, capturing text output."""
    return subprocess.run(
        [POISONLAB, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=600,
        check=False,
    )
