"""Label-poisoning detectors on the ML 106 set-up: detection quality and the retrained SVC.

MNIST training rows 0..1999, test rows 60000..60999, the first N '1's relabelled '2'
(``label_flip``, ``select="first"``). For every detector (and the documented combinations) and
every N, it prints precision, recall and F1 of the flags against the true poisoned rows, and
the lab's "incorrect 2's" (test images predicted '2' whose true label is not '2') of
``SVC(random_state=42)`` retrained after dropping the flagged rows, and after relabelling them
when the detector suggests labels. Retraining uses the shared-kernel SVC, whose predictions
equal plain ``SVC`` fits.

Trusted data, for the detectors that need it, are MNIST rows the lab does not use: rows
2000..2999 (labelled: RONI's validation set, the reference labels of ``label_stats``, the
training set of ``output_shift``'s reference SVC) and rows 3000..3999 (``output_shift``'s
held-out inputs).

    .venv/bin/python benchmarks/defenses_ml106.py [--budgets 10,30,100,200] [--only NAME,...]
        [--markdown] [--seconds]

``--markdown`` prints only the Markdown table of docs/defenses.md (a detector's rows together)
and the clean model's count; ``--seconds`` prints instead each detector's time in seconds per
N (the detector alone), which no rerun reproduces exactly. Everything runs on one BLAS thread,
so the table is the same in every run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from sklearn.svm import SVC

from poisonlab._threadpools import thread_limits
from poisonlab.attacks import ATTACKS
from poisonlab.datasets import load
from poisonlab.defenses import DETECTORS, TrustedSet, evaluate_detection
from poisonlab.metrics import per_class_table
from poisonlab.models.shared_kernel import SharedKernelSVC

SEED = 0


def detectors(trusted: TrustedSet, holdout: TrustedSet) -> dict[str, Callable]:
    """name -> function(X, y) -> DetectionResult; combinations are written out here."""

    def make(name: str, **params):
        return lambda X, y: DETECTORS.create(name, random_state=SEED, **params).detect(X, y)

    def stats_then_knn(X, y):
        # label_stats (against the trusted labels) names the classes a flip inflated and
        # deflated; knn_label then looks only for grown-class samples among shrunk-class
        # neighbours. When no class moved significantly, nothing is flagged.
        stats = DETECTORS.create("label_stats", reference=list(trusted.y)).detect(X, y).info
        if not stats["grown"] or not stats["shrunk"]:
            return DETECTORS.create("knn_label", threshold=2.0).detect(X, y)  # flags nothing
        return DETECTORS.create(
            "knn_label",
            suspect_labels=stats["grown"],
            toward_labels=stats["shrunk"],
            confidence=0.2,
            action="relabel",
            random_state=SEED,
        ).detect(X, y)

    return {
        "label_stats (trusted labels)": make("label_stats", reference=list(trusted.y)),
        "knn_label, raw pixels (plain k-NN)": make("knn_label", n_components=None),
        "knn_label (default)": make("knn_label"),
        "label_stats -> knn_label (directional)": stats_then_knn,
        "confident_learning (default)": make("confident_learning"),
        "confident_learning (calibrated SVC)": make("confident_learning", estimator=SVC()),
        "outliers (default)": make("outliers"),
        "roni (default)": make("roni", validation=trusted),
        "output_shift (SVC)": make(
            "output_shift",
            reference=trusted,
            holdout=holdout,
            estimator=SVC(random_state=42),
        ),
    }


def measure(budgets: list[int], only: str, verbose: bool) -> tuple[int, dict, dict]:
    """(the clean model's incorrect 2's, detector -> its table rows, detector -> N -> seconds)."""
    mnist = load("mnist")
    X, y_clean = mnist.X[:2000], mnist.y[:2000]
    X_test, y_test = mnist.X[60000:61000], mnist.y[60000:61000]
    trusted = TrustedSet(mnist.X[2000:3000], mnist.y[2000:3000])
    holdout = TrustedSet(mnist.X[3000:4000], mnist.y[3000:4000])
    classes = np.unique(y_clean)
    two = int(np.flatnonzero(classes == "2")[0])
    shared = SharedKernelSVC(SVC(random_state=42), X)
    K_test = shared.query_kernel(X_test)

    def incorrect_twos(y_train: np.ndarray, rows: np.ndarray | None = None) -> int:
        pred = shared.fit(y_train, rows).predict_from_kernel(K_test)
        return int(per_class_table(y_test, pred, classes).incorrect[two])

    rows_out: dict[str, list[str]] = {}  # per detector, so the table groups a detector's rows
    seconds: dict[str, dict[int, float]] = {}
    chosen = {
        name: fn
        for name, fn in detectors(trusted, holdout).items()
        if not only or any(s in name for s in only.split(","))
    }
    for n in budgets:
        attack = ATTACKS.create("label_flip", source="1", target="2", budget=n, select="first")
        poisoned = attack.poison(X, y_clean)
        y = np.array(poisoned.y)
        undefended = incorrect_twos(y)
        for name, detect in chosen.items():
            start = time.perf_counter()
            result = detect(X, y)
            seconds.setdefault(name, {})[n] = time.perf_counter() - start
            m = evaluate_detection(result, poisoned.poison_indices)
            dropped = incorrect_twos(y, np.flatnonzero(~result.flagged))
            suggested = result.info.get("suggested_labels")
            relabelled = (
                ""
                if suggested is None
                else str(incorrect_twos(np.where(result.flagged, suggested, y)))
            )
            line = (
                f"| {name} | {n} | {m['precision']:.2f} | {m['recall']:.2f} | {m['f1']:.2f} | "
                f"{m['n_flagged']} | {undefended} | {dropped} | {relabelled} |"
            )
            rows_out.setdefault(name, []).append(line)
            if verbose:
                print(f"{line} {seconds[name][n]:.1f} s", flush=True)
    return incorrect_twos(y_clean), rows_out, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="10,30,100,200")
    parser.add_argument("--only", default="", help="comma-separated substrings of names")
    parser.add_argument("--markdown", action="store_true", help="print only the table")
    parser.add_argument("--seconds", action="store_true", help="print only the times")
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    with thread_limits(1):
        clean, rows_out, seconds = measure(
            budgets, args.only, verbose=not (args.markdown or args.seconds)
        )
    if args.seconds:
        print(f"| detector | {' | '.join(f'N = {n}' for n in budgets)} |")
        print(f"| --- |{' ---: |' * len(budgets)}")
        for name, times in seconds.items():
            print(f"| {name} | {' | '.join(f'{times[n]:.2f}' for n in budgets)} |")
    elif args.markdown:
        print(
            "| detector | N | precision | recall | F1 | flagged | incorrect 2's, no defense | "
            "after drop | after relabel |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        print("\n".join(line for rows in rows_out.values() for line in rows))
        print(f"\nThe clean model (no poisoning): {clean} incorrect 2's.")
    else:
        print(f"clean model: {clean} incorrect 2's")


if __name__ == "__main__":
    main()
