"""Benchmark: ``svm_gradient`` beside IBM ART's ``PoisoningAttackSVM``, on ART's own set-up.

ART's set-up (its notebook ``notebooks/poisoning_attack_svm.ipynb``): iris versicolor vs
virginica, the first two features, rows shuffled with ``np.random.seed(301)``, 90 % training
(68 distinct rows) and 10 % test (10 rows, also the attacker's validation set),
``SVC(kernel)`` with C = 1, features clipped to [0, 10], one poisoning point that starts at a
training row and takes the other label; ART's step 0.001, eps 1.0, ``max_iter`` 100.
poisonlab attacks the same SVM from the same start and label with its own defaults (step 0.05
of the box, ``max_iter`` 100, tol 1e-5): ``SVMGradient.surrogate`` and the same projected
ascent ``svm_gradient`` runs (``ascend``).

The notebook poisons from training row 0 with a linear kernel; to average over its 10-row
test set the benchmark starts from each of the first ``--starts`` training rows, for each
kernel (linear, poly, rbf). Each tool runs in its own process (same data, same invocation);
the benchmark prints each process's wall time, the attack's own time per point, the mean
test accuracy of the SVM retrained with the point, and the ratios ART / poisonlab.

secml (``CAttackPoisoningSVM``) is not measured: its last release installable here is 0.13
(PyPI has no later one for Python 3.11), and it pins matplotlib 3.0, which does not build
beside numpy 2 (see docs/attacks.md).

    .venv/bin/python benchmarks/bench_vs_reference.py [--starts 10] [--kernels linear poly rbf]
        [--markdown]

``--markdown`` prints the table that sits in docs/attacks.md between ``docs: begin`` markers
(a ``timing`` block: ``make docs`` regenerates it, tools/docs.py).

Needs IBM ART in the venv: ``make venv`` installs it (the ``dev`` extra), or alone
``pip install -e .[compare]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from _process import markdown_table

SETUP = r"""
import json, time, warnings, numpy as np
from sklearn.datasets import load_iris
from sklearn.svm import SVC

def art_data():
    # ART's notebook's get_data(), with its seed: the same rows in the same order.
    np.random.seed(301)
    iris = load_iris()
    X, y = iris.data[iris.target != 0, :2], iris.target[iris.target != 0]
    order = np.random.permutation(len(X))
    X, y = X[order], y[order]
    cut = int(0.9 * len(X))
    def distinct(A):
        return np.array([not np.isin(A[:i], a).all(axis=1).any() for i, a in enumerate(A)])
    keep_tr, keep_ts = distinct(X[:cut]), distinct(X[cut:])
    return X[:cut][keep_tr], y[:cut][keep_tr], X[cut:][keep_ts], y[cut:][keep_ts]

X_tr, y_tr, X_ts, y_ts = art_data()
STARTS = range(N_STARTS)
KERNELS = N_KERNELS

def accuracy_with(point, label, kernel):
    model = SVC(kernel=kernel).fit(np.vstack([X_tr, point]), np.append(y_tr, label))
    return float(np.mean(model.predict(X_ts) == y_ts))
"""

ART = (
    SETUP
    + r"""
warnings.filterwarnings("ignore")
from art.estimators.classification import SklearnClassifier
from art.attacks.poisoning import PoisoningAttackSVM

onehot = lambda y: np.column_stack([y == 2, y == 1]).astype(float)  # the notebook's coding
seconds, accuracies = 0.0, []
for kernel in KERNELS:
    for i in STARTS:
        # scikit-learn 1.9 defaults SVC.probability to "deprecated", a truthy string that
        # sends ART to predict_proba: say False.
        svc = SVC(kernel=kernel, probability=False)
        classifier = SklearnClassifier(model=svc, clip_values=(0, 10))
        classifier.fit(X_tr, onehot(y_tr))
        label = 3 - y_tr[i]
        attack = PoisoningAttackSVM(classifier, 0.001, 1.0, X_tr, onehot(y_tr), X_ts,
                                    onehot(y_ts), max_iter=100, verbose=False)
        start = time.perf_counter()
        point, _ = attack.poison(X_tr[i:i + 1].copy(), y=onehot(np.array([label])))
        seconds += time.perf_counter() - start
        accuracies.append(accuracy_with(point.reshape(1, -1), label, kernel))
print(json.dumps({"seconds": seconds, "points": len(accuracies), "accuracies": accuracies}))
"""
)

POISONLAB = (
    SETUP
    + r"""
from poisonlab.attacks import ATTACKS
from poisonlab.attacks._svm_gradient import ascend

seconds, accuracies = 0.0, []
for kernel in KERNELS:
    for i in STARTS:
        label = 3 - y_tr[i]
        attack = ATTACKS.create("svm_gradient", kernel=kernel, validation=(X_ts, y_ts),
                                box=(0.0, 10.0), classes=(1, 2))
        start = time.perf_counter()
        problem = attack.surrogate(X_tr, y_tr)
        sign = 1.0 if label == 2 else -1.0
        point, _ = ascend(problem, X_tr[i].copy(), sign, (0.0, 10.0), step=0.05,
                          max_iter=100, tol=1e-5)
        seconds += time.perf_counter() - start
        accuracies.append(accuracy_with(point[None, :], label, kernel))
print(json.dumps({"seconds": seconds, "points": len(accuracies), "accuracies": accuracies}))
"""
)

CLEAN = (
    SETUP
    + r"""
accuracies = [float(np.mean(SVC(kernel=k).fit(X_tr, y_tr).predict(X_ts) == y_ts))
              for k in KERNELS for _ in STARTS]
print(json.dumps({"seconds": 0.0, "points": len(accuracies), "accuracies": accuracies}))
"""
)


def run(code: str) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=3600
    )
    if done.returncode != 0:
        sys.exit(done.stderr)
    return time.perf_counter() - start, json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description="svm_gradient beside IBM ART, ART's set-up")
    parser.add_argument("--starts", type=int, default=10, help="training rows to start from")
    parser.add_argument(
        "--kernels", nargs="+", default=["linear", "poly", "rbf"], help="SVC kernels"
    )
    parser.add_argument("--markdown", action="store_true", help="print the docs' table")
    args = parser.parse_args()
    results = {}
    for name, code in (("clean", CLEAN), ("poisonlab", POISONLAB), ("ART", ART)):
        code = code.replace("N_STARTS", str(args.starts))
        results[name] = run(code.replace("N_KERNELS", repr(tuple(args.kernels))))
    if args.markdown:
        markdown(results, args.starts, args.kernels)
        return
    print(
        f"ART's set-up (iris 1 vs 2, 2 features, 68 train, 10 test); one point from each of "
        f"the first {args.starts} training rows x kernels {', '.join(args.kernels)}:"
    )
    for name, (wall, out) in results.items():
        mean = sum(out["accuracies"]) / len(out["accuracies"])
        per_point = 1000 * out["seconds"] / out["points"]
        print(
            f"  {name:9}: process {wall:6.2f} s, attack {per_point:8.1f} ms per point, "
            f"mean test accuracy {mean:.3f}"
        )
        for k, kernel in enumerate(args.kernels):
            part = out["accuracies"][k * args.starts : (k + 1) * args.starts]
            print(f"      {kernel:6} mean test accuracy {sum(part) / len(part):.3f}")
    (art_wall, art), (pl_wall, pl) = results["ART"], results["poisonlab"]
    print(
        f"  ART / poisonlab: attack time {art['seconds'] / pl['seconds']:.1f}x, "
        f"process time {art_wall / pl_wall:.1f}x"
    )


def markdown(results: dict[str, tuple[float, dict]], starts: int, kernels: list[str]) -> None:
    """The table of docs/attacks.md: each process's wall time, the attack's time per point and
    the mean test accuracy, and the ratios ART / poisonlab."""
    names = {"clean": "no attack", "poisonlab": "poisonlab `svm_gradient`"}
    names["ART"] = "IBM ART `PoisoningAttackSVM`"
    rows = []
    for name, (wall, out) in results.items():
        per_point = f"{out['seconds'] / out['points']:,.3g} s" if name != "clean" else ""
        mean = sum(out["accuracies"]) / len(out["accuracies"])
        rows.append([names[name], f"{wall:,.1f} s", per_point, f"{mean:.3f}"])
    (art_wall, art), (pl_wall, pl) = results["ART"], results["poisonlab"]
    ratios = [f"{art_wall / pl_wall:,.0f}x", f"{art['seconds'] / pl['seconds']:,.0f}x", ""]
    rows.append(["ratio ART / poisonlab", *ratios])
    starts = ", ".join(str(k) for k in range(starts))
    setup = f"ART's set-up, {', '.join(kernels)} SVC, one point from each of training rows {starts}"
    print(markdown_table([setup, "process", "attack per point", "mean test accuracy"], rows))


if __name__ == "__main__":
    main()
