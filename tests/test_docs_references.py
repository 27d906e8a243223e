"""The files and tests the documentation names exist, so a rename cannot leave the docs stale.

docs/reliability.md proves each promise by naming a test (``tests/test_x.py::test_name``);
docs/*.md and README.md name the scripts and specs behind their numbers. A renamed or deleted
test or script would leave those sentences pointing at nothing, silently.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
TEST_REFERENCE = re.compile(r"(tests/test_\w+\.py)(?:::(\w+))?")
#: A path, or a glob such as ``examples/certify_*.py``.
FILE_REFERENCE = re.compile(r"\b((?:examples|benchmarks|tools|src/poisonlab)/[\w./*-]*[\w*])")


def _references(pattern: re.Pattern) -> list[tuple[str, re.Match]]:
    return [
        (doc.name, match)
        for doc in DOCS
        for match in pattern.finditer(doc.read_text(encoding="utf-8"))
    ]


def _defined_names(path: Path) -> set[str]:
    """Every function and class name defined anywhere in the module at ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name for node in ast.walk(tree) if isinstance(node, kinds)}


def _test_exists(path: Path, name: str | None) -> bool:
    return path.is_file() and (name is None or name in _defined_names(path))


def test_the_docs_name_tests() -> None:
    """The pattern finds the reliability page's proofs (a check that cannot pass vacuously)."""
    assert sum(doc == "reliability.md" for doc, _ in _references(TEST_REFERENCE)) >= 20


@pytest.mark.parametrize("doc", [d.name for d in DOCS])
def test_every_named_test_exists(doc: str) -> None:
    missing = [
        match[0]
        for where, match in _references(TEST_REFERENCE)
        if where == doc and not _test_exists(ROOT / match[1], match[2])
    ]
    assert not missing, f"{doc} names tests that do not exist: {missing}"


@pytest.mark.parametrize("doc", [d.name for d in DOCS])
def test_every_named_file_exists(doc: str) -> None:
    missing = [
        match[1]
        for where, match in _references(FILE_REFERENCE)
        if where == doc and not any(ROOT.glob(match[1]))
    ]
    assert not missing, f"{doc} names files that do not exist: {missing}"
