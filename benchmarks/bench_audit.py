"""Benchmark: ``poisonlab audit`` on mixed 50-column tables, beside cleanlab, as whole processes.

For each size in ``--rows`` the benchmark writes a Parquet table
(:func:`poisonlab.audit.synthetic.mixed_table` with 40 extra columns: 50 feature columns of
every kind, numeric, categorical, boolean, date, text, id, with missing values) and runs, in
the same invocation:

- ``poisonlab audit data.parquet --quiet``;
- cleanlab's usual pipeline on the same rows: read the table, one-hot + scale it, out-of-fold
  probabilities of a 5-fold ``LogisticRegression``, then ``cleanlab.filter.find_label_issues``
  (the pipeline cleanlab documents for tabular data);
- cleanlab's ``Datalab`` on the same rows: the same out-of-fold probabilities and the encoded
  features, ``find_issues`` with its default issue types (label, outliers, near duplicates,
  non-IID, class imbalance, ...), the closest match to an audit.

For each it prints wall time, CPU time, peak resident memory (``ru_maxrss`` of that process,
measured by a small wrapper) and the exit status, and the load average, since the machine is
shared.

    .venv/bin/python benchmarks/bench_audit.py [--rows 25000,100000,1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Runs one command and prints its resource use as JSON (getrusage of that one child).
WRAPPER = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                  "peak_mb": usage.ru_maxrss / 1024, "exit": code}))
"""


CLEANLAB = r"""
import sys
import numpy as np, pandas as pd
from cleanlab.filter import find_label_issues
from sklearn.compose import make_column_transformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
frame = pd.read_parquet(sys.argv[1])
y = frame.pop("label").to_numpy()
frame = frame.drop(columns=["customer_id", "note", "opened"])
numbers = make_column_selector(dtype_include="number")
encode = make_column_transformer(
    (make_pipeline(SimpleImputer(), StandardScaler()), numbers),
    (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_exclude="number")),
)
model = make_pipeline(encode, LogisticRegression(max_iter=200))
probs = cross_val_predict(model, frame, y, cv=5, method="predict_proba")
if sys.argv[2] == "datalab":
    from cleanlab import Datalab
    features = encode.fit_transform(frame)
    features = features.toarray() if hasattr(features, "toarray") else features
    lab = Datalab(data={"label": y}, label_name="label", verbosity=0)
    lab.find_issues(pred_probs=probs, features=np.asarray(features, dtype=np.float32))
    print(int(lab.get_issues()["is_label_issue"].sum()))
else:
    issues = find_label_issues(pd.factorize(y, sort=True)[0], probs)
    print(int(issues.sum()))
"""


def make_table(path: Path, rows: int) -> None:
    from poisonlab.audit.synthetic import mixed_table

    frame, _ = mixed_table(rows, seed=0, n_extra=40)
    frame.to_parquet(path, index=False)


def measure(command: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="25000,100000,1000000")
    parser.add_argument("--keep", type=Path, help="Write the tables and audits here and keep them.")
    parser.add_argument(
        "--audit-only", action="store_true", help="Time poisonlab only (no cleanlab beside it)."
    )
    args = parser.parse_args()
    poisonlab = shutil.which("poisonlab", path=str(Path(sys.executable).parent)) or "poisonlab"
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_audit_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        for rows in [int(v) for v in args.rows.split(",")]:
            data = work / f"mixed_{rows}.parquet"
            make_table(data, rows)
            load_before = os.getloadavg()
            out = work / f"out_{rows}"
            audit = measure([poisonlab, "audit", str(data), "--out", str(out), "--quiet"])
            runs = {"poisonlab audit": audit}
            if not args.audit_only:
                for name, kind in (
                    ("cleanlab (logreg OOF)", "filter"),
                    ("cleanlab Datalab", "datalab"),
                ):
                    runs[name] = measure([sys.executable, "-c", CLEANLAB, str(data), kind])
            load_after = os.getloadavg()
            print(f"{rows} rows x 50 columns ({data.stat().st_size / 1e6:.0f} MB Parquet)")
            for name, r in runs.items():
                print(
                    f"  {name:22s} wall {r['wall']:7.1f} s  cpu {r['cpu']:7.1f} s  "
                    f"peak {r['peak_mb']:6.0f} MB  exit {r['exit']}"
                )
            for name in list(runs)[1:]:
                wall = audit["wall"] / runs[name]["wall"]
                cpu = audit["cpu"] / runs[name]["cpu"]
                print(f"  poisonlab / {name}: wall {wall:.2f}x, cpu {cpu:.2f}x")
            print(f"  load average (1 min) before {load_before[0]:.1f}, after {load_after[0]:.1f}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
