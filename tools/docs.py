"""Regenerate the numbers in the Markdown docs from the commands that produce them.

A generated block in a Markdown file reads::

    <!-- docs: begin `COMMAND` fast -->
    ... whatever COMMAND prints ...
    <!-- docs: end -->

``COMMAND`` runs with bash in the repository's root, with ``.venv/bin`` first on ``PATH``; its
standard output replaces the block's body. The word after the command says how the block is
checked:

- ``fast``: deterministic and quick; ``make docs-check`` (run by CI) regenerates it and fails
  on any difference;
- ``slow``: deterministic but long; checked by a ``slow`` test (``tests/test_docs_tool.py``);
- ``long``: deterministic, but minutes (the reproductions of certificates and defense-aware
  attacks): too long for the test suite; ``make docs`` regenerates them and
  ``python tools/docs.py --check --kinds long`` checks them;
- ``timing``: measured times, which no rerun reproduces exactly; ``make docs`` regenerates
  them, nothing compares them. The body ends with a line giving when it ran and the load
  average before and after (the machine is shared: times are only comparable at a similar
  load, ratios within one block).

Usage: ``python tools/docs.py [--check] [--kinds fast,slow,long,timing] [--only TEXT] [FILE ...]``
(``--only``: just the blocks whose command contains TEXT, e.g. one benchmark script). Without
``--check`` the files are rewritten in place (atomically); with it nothing is written and the
exit status is 1 when a block differs from what its command prints now.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("fast", "slow", "long", "timing")
BLOCK = re.compile(
    r"(?P<head><!-- docs: begin `(?P<command>[^`]+)` (?P<kind>\w+) -->\n)"
    r"(?P<body>.*?)"
    r"(?P<tail><!-- docs: end -->)",
    re.S,
)


@dataclass(frozen=True)
class Block:
    """One generated block of a Markdown file."""

    path: Path
    command: str
    kind: str
    body: str
    start: int
    end: int


def shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def find_blocks(path: Path) -> list[Block]:
    """The generated blocks of ``path``, in order; an unknown kind is an error."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in BLOCK.finditer(text):
        if match["kind"] not in KINDS:
            raise SystemExit(
                f"{path}: block `{match['command']}` has kind {match['kind']!r}; "
                f"allowed: {', '.join(KINDS)}."
            )
        blocks.append(
            Block(path, match["command"], match["kind"], match["body"], *match.span("body"))
        )
    return blocks


def run(command: str) -> str:
    """What ``command`` prints on stdout, run from the repository root; failure is an error."""
    env = dict(os.environ, PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise SystemExit(f"`{command}` exited with status {done.returncode}:\n{tail}")
    return done.stdout if done.stdout.endswith("\n") or not done.stdout else done.stdout + "\n"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``"3.1 2.5 1.9"``."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def timed(command: str) -> str:
    """What ``command`` prints, followed by when it ran and the load average around it."""
    before, started = load_average(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    body = run(command)
    return (
        f"{body}\n_Measured {started}; load average (1, 5, 15 min) {before} before, "
        f"{load_average()} after, on the shared 2-core machine._\n"
    )


def regenerate(path: Path, kinds: tuple[str, ...], only: str = "") -> tuple[str, list[str]]:
    """(new text of ``path``, a diff per block that changed); only the blocks of ``kinds``
    whose command contains ``only``."""
    text = path.read_text(encoding="utf-8")
    pieces, diffs, position = [], [], 0
    for block in find_blocks(path):
        if block.kind not in kinds or only not in block.command:
            continue
        print(f"{shown(path)}: {block.command}", file=sys.stderr)
        body = timed(block.command) if block.kind == "timing" else run(block.command)
        if body != block.body:
            diffs.append(
                "".join(
                    difflib.unified_diff(
                        block.body.splitlines(keepends=True),
                        body.splitlines(keepends=True),
                        f"{shown(path)} (in the file)",
                        f"`{block.command}` (now)",
                    )
                )
            )
        pieces += [text[position : block.start], body]
        position = block.end
    pieces.append(text[position:])
    return "".join(pieces), diffs


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary sibling and a rename."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(temporary, path.stat().st_mode)
    os.replace(temporary, path)


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="Markdown files (default: all)")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("--kinds", default=",".join(KINDS), help=",".join(KINDS))
    parser.add_argument("--only", default="", help="only the blocks whose command has this text")
    args = parser.parse_args(argv)
    kinds = tuple(args.kinds.split(","))
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        parser.error(f"--kinds: {unknown[0]!r} is not one of {', '.join(KINDS)}")
    stale = []
    for path in [p.resolve() for p in args.files] or markdown_files():
        text, diffs = regenerate(path, kinds, args.only)
        stale += diffs
        if diffs and not args.check:
            write_atomically(path, text)
    if args.check and stale:
        sys.stdout.write("".join(stale))
        print(f"{len(stale)} generated block(s) are stale; run `make docs`.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
