"""The audit's ranking power on the ML 106 lab's poisoned sets, beside cleanlab.

For each N: MNIST rows 0..1999 with the first N '1's relabelled '2', written to CSV with a
``label`` column (the reference, with ``--with-reference``: MNIST rows 2000..3999, clean).
Out-of-fold probabilities of an SVC (``CalibratedClassifierCV(SVC())`` on 50 PCA components,
5 folds) are written beside it. Then, on the same rows:

- ``poisonlab audit CSV --json`` (default: its own leave-one-out neighbour probabilities),
- ``poisonlab audit CSV --json --pred-probs svc.csv`` (the SVC probabilities),
- cleanlab's label-quality ranking (``cleanlab.rank.get_label_quality_scores``),
  ``find_label_issues`` and ``Datalab``'s label issues (``cleanlab[datalab]``, given the same
  SVC probabilities and the 50 PCA features) on the same rows.

Prints, per N: poisoned rows in the top N and 2N, average precision of the whole ranking, and
poisonlab's exit status.

    .venv/bin/python benchmarks/audit_ml106.py DIR [--with-reference] [--n 10,30,100,200]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def write_files(out: Path, n_flip: int) -> tuple[Path, np.ndarray, np.ndarray]:
    """The poisoned CSV (and the reference); returns its path, the poisoned rows and labels."""
    from poisonlab.datasets import load

    mnist = load("mnist")
    y = mnist.y[:2000].astype(int)
    poisoned = np.flatnonzero(y == 1)[:n_flip]
    y[poisoned] = 2
    frame = pd.DataFrame(mnist.X[:2000], columns=mnist.feature_names)
    frame.insert(0, "label", y)
    path = out / f"ml106_N{n_flip}.csv"
    frame.to_csv(path, index=False)
    reference = pd.DataFrame(mnist.X[2000:4000], columns=mnist.feature_names)
    reference.insert(0, "label", mnist.y[2000:4000].astype(int))
    reference.to_csv(out / "ml106_reference.csv", index=False)
    return path, poisoned, y


def svc_probabilities(y: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold SVC probabilities (5 folds, on 50 PCA components of the pixels / 255).

    Written to ``path``; when it already holds them (an earlier run in the same DIR, e.g.
    without ``--with-reference``) they are read back: the same labels give the same fits.

    Returns
    -------
    probs : ndarray of shape (2000, 10)
    features : ndarray of shape (2000, 50)
        The PCA components the SVC was fitted on (Datalab's ``features``).
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.decomposition import PCA
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.svm import SVC

    from poisonlab.datasets import load

    X = load("mnist").X[:2000].astype(np.float64) / 255.0
    features = PCA(50, random_state=0).fit_transform(X)
    if path.exists():
        return pd.read_csv(path).to_numpy(), features
    model = CalibratedClassifierCV(SVC(random_state=0), cv=3)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    probs = cross_val_predict(model, features, y, cv=folds, method="predict_proba")
    pd.DataFrame(probs, columns=[str(c) for c in range(10)]).to_csv(path, index=False)
    return probs, features


def poisonlab_ranking(path: Path, out: Path, extra: list[str]) -> tuple[np.ndarray, int]:
    """Rows in poisonlab's order (scored rows, then the rest in row order) and the exit status."""
    exe = shutil.which("poisonlab", path=str(Path(sys.executable).parent)) or "poisonlab"
    command = [exe, "audit", str(path), "--label", "label", "--out", str(out), "--json", *extra]
    print("$", " ".join(command), file=sys.stderr, flush=True)
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr)
    json.loads(proc.stdout)  # one JSON document on stdout
    ranked = pd.read_csv(out / "suspicious.csv", usecols=["row"]).row.to_numpy()
    rest = np.setdiff1d(np.arange(2000), ranked)
    return np.concatenate([ranked, rest]), proc.returncode


def measures(order: np.ndarray, poisoned: np.ndarray) -> dict[str, float]:
    """Poisoned rows in the top N and 2N, and average precision of the ranking."""
    from sklearn.metrics import average_precision_score

    n = len(poisoned)
    truth = np.isin(order, poisoned)
    scores = -np.arange(len(order), dtype=float)
    return {
        "top_N": int(truth[:n].sum()),
        "top_2N": int(truth[: 2 * n].sum()),
        "AP": float(average_precision_score(truth, scores)),
    }


def cleanlab_rankings(y: np.ndarray, probs: np.ndarray, features: np.ndarray) -> dict:
    """cleanlab's rankings on the SVC probabilities.

    ``label quality``: every row by ``get_label_quality_scores`` (self-confidence);
    ``find_label_issues``: the issues it returns, ranked by self-confidence, then the other
    rows by quality; ``Datalab``: ``find_issues(pred_probs, features)`` for label issues, its
    issues by ``label_score``, then the other rows by it.
    """
    from cleanlab import Datalab
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    lab = Datalab(data={"label": y}, label_name="label", verbosity=0)
    lab.find_issues(pred_probs=probs, features=features, issue_types={"label": {}})
    found = lab.get_issues("label")
    by_score = np.lexsort((np.arange(len(y)), found["label_score"].to_numpy()))
    flagged = found["is_label_issue"].to_numpy()[by_score]

    quality = get_label_quality_scores(y, probs)
    by_quality = np.argsort(quality, kind="stable")
    issues = find_label_issues(y, probs, return_indices_ranked_by="self_confidence")
    rest = by_quality[~np.isin(by_quality, issues)]
    return {
        "cleanlab label quality": by_quality,
        "cleanlab find_label_issues": np.concatenate([issues, rest]),
        "cleanlab Datalab": np.concatenate([by_score[flagged], by_score[~flagged]]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--with-reference", action="store_true")
    parser.add_argument("--n", default="10,30,100,200")
    parser.add_argument("--markdown", action="store_true", help="A Markdown table on stdout.")
    args = parser.parse_args()
    if args.markdown:
        print("| N | ranking | top N | top 2N | AP | exit |\n| --- | --- | --- | --- | --- | --- |")
    args.dir.mkdir(parents=True, exist_ok=True)
    for n_flip in [int(v) for v in args.n.split(",")]:
        path, poisoned, y = write_files(args.dir, n_flip)
        probs_path = args.dir / f"svc_N{n_flip}.csv"
        probs, features = svc_probabilities(y, probs_path)
        extra = (
            ["--reference", str(args.dir / "ml106_reference.csv")] if args.with_reference else []
        )
        rows = {}
        for name, more in (
            ("poisonlab", []),
            ("poisonlab + SVC probs", ["--pred-probs", str(probs_path)]),
        ):
            out = args.dir / f"audit_N{n_flip}_{len(more)}{'_ref' if extra else ''}"
            order, code = poisonlab_ranking(path, out, extra + more)
            rows[name] = {**measures(order, poisoned), "exit": code}
        for name, order in cleanlab_rankings(y, probs, features).items():
            rows[name] = {**measures(order, poisoned), "exit": "-"}
        for name, row in rows.items():
            if args.markdown:
                exit_status = str(row["exit"]).replace("-", "–")
                print(
                    f"| {n_flip} | {name} | {row['top_N']} | {row['top_2N']} | "
                    f"{row['AP']:.3f} | {exit_status} |",
                    flush=True,
                )
                continue
            print(
                f"N={n_flip}{' ref' if extra else ''} {name}: top N {row['top_N']}, top 2N "
                f"{row['top_2N']}, AP {row['AP']:.3f}, exit {row['exit']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
