"""What code made a stored result: a fingerprint of poisonlab's source and the libraries'
versions.

A stored run is reused only when its fingerprint equals the current one: editing an attack, or
upgrading scikit-learn, makes every stored row *stale* (kept and readable on request, never
mistaken for a result of the current code). The fingerprint hashes the package's own ``.py``
files, not its version string, since a version is not bumped for every edit, and leaves out the
code that only presents stored results (:data:`PRESENTATION`): a new report figure or CLI option
must not make every stored study stale.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

#: Distributions whose code computes results (data loading, models, metrics, detectors).
RESULT_LIBRARIES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "pandas",
    "pyarrow",
    "cleanlab",
    "imbalanced-learn",
    "xgboost",
    "lightgbm",
)


#: Code that reads or presents results but computes none (commands, reports, the audit, the
#: labs' and reproductions' wrappers, which reach results only through specs that the stored
#: configs record): paths relative to the package, a folder standing for all below it.
PRESENTATION = (
    "__main__.py",
    "cli.py",
    "_terminal.py",
    "_describe.py",
    "audit",
    "labs",
    "report",
    "reproduce",
    "experiment/export.py",
    "experiment/progress.py",
)


@functools.lru_cache(maxsize=1)
def environment() -> dict[str, str | None]:
    """Versions of poisonlab, Python and :data:`RESULT_LIBRARIES` (None: not installed)."""
    from .. import __version__

    found: dict[str, str | None] = {"poisonlab": __version__, "python": platform.python_version()}
    for name in RESULT_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def source_digest(root: Path | None = None) -> str:
    """SHA-256 over the ``.py`` files under ``root`` (default: the poisonlab package, read once
    per process) but :data:`PRESENTATION`, their relative paths and bytes, in path order."""
    return _package_digest() if root is None else _digest(root)


@functools.lru_cache(maxsize=1)
def _package_digest() -> str:
    return _digest(Path(__file__).resolve().parent.parent)


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if any(relative == p or relative.startswith(f"{p}/") for p in PRESENTATION):
            continue
        digest.update(relative.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 of :func:`source_digest` and :func:`environment`: the ``code`` of stored rows."""
    text = json.dumps({"source": source_digest(), "environment": environment()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
