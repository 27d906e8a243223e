"""tools/docs.py: generated blocks in the Markdown docs are regenerated and checked."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "docs.py"


def docs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, check=False
    )


def page(tmp_path: Path, body: str, command: str = "echo 'a | b'", kind: str = "fast") -> Path:
    path = tmp_path / "page.md"
    path.write_text(
        f"# Title\n\nBefore.\n<!-- docs: begin `{command}` {kind} -->\n{body}"
        "<!-- docs: end -->\nAfter.\n"
    )
    return path


def test_check_passes_on_a_fresh_block_and_writes_nothing(tmp_path):
    path = page(tmp_path, "a | b\n")
    before = path.read_text()
    done = docs("--check", str(path))
    assert done.returncode == 0, done.stderr
    assert path.read_text() == before


def test_check_fails_on_a_stale_block_and_shows_the_difference(tmp_path):
    path = page(tmp_path, "a | c\n")
    done = docs("--check", str(path))
    assert done.returncode == 1
    assert "-a | c" in done.stdout and "+a | b" in done.stdout
    assert "1 generated block(s) are stale" in done.stderr
    assert "a | c" in path.read_text()


def test_regenerating_replaces_only_the_body(tmp_path):
    path = page(tmp_path, "old\nlines\n")
    assert docs(str(path)).returncode == 0
    assert path.read_text() == (
        "# Title\n\nBefore.\n<!-- docs: begin `echo 'a | b'` fast -->\na | b\n"
        "<!-- docs: end -->\nAfter.\n"
    )


def test_kinds_select_which_blocks_run(tmp_path):
    path = page(tmp_path, "stale\n", kind="timing")
    assert docs("--check", "--kinds", "fast", str(path)).returncode == 0
    assert docs("--check", "--kinds", "timing", str(path)).returncode == 1


def test_only_selects_blocks_by_their_command(tmp_path):
    path = page(tmp_path, "stale\n")
    assert docs("--check", "--only", "echo 'c", str(path)).returncode == 0
    assert docs("--check", "--only", "echo 'a", str(path)).returncode == 1


def test_a_timing_block_says_when_it_ran_and_the_load(tmp_path):
    path = page(tmp_path, "stale\n", kind="timing")
    assert docs(str(path)).returncode == 0
    body = path.read_text().split("timing -->\n")[1].split("<!-- docs: end -->")[0]
    output, stamp = body.split("\n\n")
    assert output == "a | b"
    assert re.fullmatch(
        r"_Measured \d{4}-\d\d-\d\d \d\d:\d\d UTC; load average \(1, 5, 15 min\) "
        r"[\d.]+ [\d.]+ [\d.]+ before, [\d.]+ [\d.]+ [\d.]+ after, on the shared 2-core "
        r"machine\._\n",
        stamp,
    ), stamp


def test_a_failing_command_is_an_error_naming_it(tmp_path):
    path = page(tmp_path, "x\n", command="echo oops >&2; exit 3")
    done = docs("--check", str(path))
    assert done.returncode == 1 and "exited with status 3" in done.stderr
    assert "oops" in done.stderr


def test_an_unknown_kind_is_refused(tmp_path):
    path = page(tmp_path, "x\n", kind="sometimes")
    done = docs("--check", str(path))
    assert done.returncode == 1 and "allowed: fast, slow, long, timing" in done.stderr


def slow_blocks() -> list[tuple[Path, str]]:
    """(file, command) of every ``slow`` block: one test each, so test workers share them."""
    spec = importlib.util.spec_from_file_location("docs_tool", TOOL)
    tool = sys.modules.setdefault("docs_tool", importlib.util.module_from_spec(spec))
    spec.loader.exec_module(tool)  # registered first: its dataclass looks its module up
    return [
        (path, block.command)
        for path in tool.markdown_files()
        for block in tool.find_blocks(path)
        if block.kind == "slow"
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "command"),
    slow_blocks(),
    ids=lambda value: value.name if isinstance(value, Path) else value.split("/")[-1][:60],
)
def test_the_slow_generated_blocks_of_the_docs_are_current(path, command):
    done = docs("--check", "--kinds", "slow", "--only", command, str(path))
    assert done.returncode == 0, done.stdout + done.stderr
