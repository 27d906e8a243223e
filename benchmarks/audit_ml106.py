"""The audit on real data: the ML 106 lab's poisoned training set, and the same set clean.

Writes into DIR: ``ml106_poisoned.csv`` (MNIST rows 0..1999, the first 100 '1's relabelled
'2', a ``label`` column then ``pixel1..pixel784``), ``ml106_clean.csv`` (the same rows with
their true labels), ``ml106_reference.csv`` (MNIST rows 2000..3999, clean: a trusted set) and
``ml106_poisoned_rows.txt`` (the 100 poisoned rows). Then runs ``poisonlab audit`` on each
training set, as a user would (``--reference`` with ``--with-reference``), and prints how many
of the 100 poisoned rows rank in the top 100 and top 200 of ``suspicious.csv`` and how many
rows score above the default ``--fail-on``.

    .venv/bin/python benchmarks/audit_ml106.py DIR [--with-reference]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def write_files(out: Path) -> set[int]:
    from poisonlab.datasets import load

    mnist = load("mnist")
    y = mnist.y[:2000].copy()
    poisoned_rows = np.flatnonzero(y == "1")[:100]
    frame = pd.DataFrame(mnist.X[:2000], columns=mnist.feature_names)
    frame.insert(0, "label", y.astype(int))
    frame.to_csv(out / "ml106_clean.csv", index=False)
    frame.loc[poisoned_rows, "label"] = 2
    frame.to_csv(out / "ml106_poisoned.csv", index=False)
    reference = pd.DataFrame(mnist.X[2000:4000], columns=mnist.feature_names)
    reference.insert(0, "label", mnist.y[2000:4000].astype(int))
    reference.to_csv(out / "ml106_reference.csv", index=False)
    (out / "ml106_poisoned_rows.txt").write_text("\n".join(map(str, poisoned_rows)) + "\n")
    return set(poisoned_rows.tolist())


def audit(poisonlab: str, data: Path, out: Path, extra: list[str]) -> int:
    command = [poisonlab, "audit", str(data), "--label", "label", "--out", str(out), *extra]
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, stdout=subprocess.DEVNULL, check=False).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--with-reference", action="store_true")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    poisoned = write_files(args.dir)
    poisonlab = shutil.which("poisonlab", path=str(Path(sys.executable).parent)) or "poisonlab"
    extra = ["--reference", str(args.dir / "ml106_reference.csv")] if args.with_reference else []
    suffix = "_ref" if args.with_reference else ""
    for name in ("poisoned", "clean"):
        out = args.dir / f"audit_{name}{suffix}"
        code = audit(poisonlab, args.dir / f"ml106_{name}.csv", out, extra)
        table = pd.read_csv(out / "suspicious.csv", usecols=["row", "flagged"])
        hits = table.row.isin(poisoned)
        print(
            f"{name}: exit {code}; {len(table)} rows where a check fired; "
            f"{int(table.flagged.sum())} rows above --fail-on"
            + (
                f"; poisoned rows in top 100: {int(hits[:100].sum())}, in top 200: "
                f"{int(hits[:200].sum())}, flagged: {int((hits & table.flagged).sum())}"
                if name == "poisoned"
                else ""
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
