"""Benchmark: the optimized SVM attacks (``svm_gradient``, ``alfa``), as whole processes.

svm_gradient, on the paper's set-up (MNIST 7 vs 1, pixels in [0, 1], 100 training and 500
validation images, linear SVM, C = 1; seed 0):
  (a) ``svm_gradient`` with one point and 200 gradient steps (the KKT gradient);
  (b) baseline: the same ascent with a naive finite-difference gradient (one SVM fit per pixel
      and step, 785 fits), for a few steps only; it also reports how well the two gradients
      agree at the starting point.
alfa, on the ML 106 training rows 0..1999 (the 444 7s and 1s, 20 % of them flipped):
  (c) ``alfa`` with the linear and the RBF kernel;
  (d) baseline: random flips of the same budget plus one SVC fit on the pair.

Each variant runs in its own process and prints JSON; the benchmark prints, as Markdown tables,
each process's wall and CPU time, the time of the attack alone (measured inside the process),
time per poisoning point or gradient step, and ratios against the baselines. Reads MNIST from
poisonlab's cache.

    .venv/bin/python benchmarks/bench_svm_poisoning.py [--fd-steps 3]
"""

from __future__ import annotations

import argparse

from _process import markdown_table, progress, timed_python

SETUP_BIGGIO = r"""
import json, time, numpy as np
from poisonlab.attacks import ATTACKS
from poisonlab.datasets import load
mnist = load("mnist")
y = mnist.y
pool = np.flatnonzero(np.isin(y[:60000], ["7", "1"]))
rows = np.random.default_rng(0).choice(pool, 600, replace=False)
train, val = rows[:100], rows[100:]
X_train, X_val = mnist.X[train] / 255, mnist.X[val] / 255  # scale only the rows used
attack = ATTACKS.create("svm_gradient", classes=("7", "1"), budget=1, validation=(X_val, y[val]),
                        box=(0.0, 1.0), max_iter=200, tol=0.0, label="1")
"""

KKT = (
    SETUP_BIGGIO
    + r"""
start = time.perf_counter()
result = attack.poison(X_train, y[train], random_state=0)
seconds = time.perf_counter() - start
steps = result.info["points"][0]["steps"]
print(json.dumps({"seconds": seconds, "steps": steps, "points": 1}))
"""
)

FINITE_DIFFERENCES = (
    SETUP_BIGGIO
    + r"""
problem = attack.surrogate(X_train, y[train])
sevens = np.flatnonzero(problem.y_train < 0)  # classes ("7", "1"): 7 is -1
u = problem.X_train[sevens[0]].copy()
_, kkt_grad, _ = problem.loss_and_gradient(u, 1.0)
h = 1e-3
start = time.perf_counter()
for step in range(FD_STEPS):
    base = problem.validation_loss(u, 1.0)
    grad = np.array([(problem.validation_loss(u + h * e, 1.0) - base) / h for e in np.eye(784)])
    if step == 0:
        cosine = float(grad @ kkt_grad / np.linalg.norm(grad) / np.linalg.norm(kkt_grad))
    u = np.clip(u + 0.05 * grad / np.linalg.norm(grad), 0.0, 1.0)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "steps": FD_STEPS, "cosine": cosine}))
"""
)

SETUP_LAB = r"""
import json, time, numpy as np
from sklearn.svm import SVC
from poisonlab.attacks import ATTACKS
from poisonlab.datasets import load
mnist = load("mnist")
X, y = mnist.X[:2000].astype(float) / 255, mnist.y[:2000]
pair = np.flatnonzero(np.isin(y, ["7", "1"]))
budget = round(0.2 * len(pair))
"""

ALFA = (
    SETUP_LAB
    + r"""
start = time.perf_counter()
result = ATTACKS.create("alfa", classes=("7", "1"), budget=budget, kernel=KERNEL).poison(X, y)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "points": budget, "rounds": result.info["iterations"]}))
"""
)

RANDOM_FLIPS = (
    SETUP_LAB
    + r"""
start = time.perf_counter()
rows = np.random.default_rng(0).choice(pair, budget, replace=False)
flipped = y.copy()
flipped[rows] = np.where(y[rows] == "7", "1", "7")
SVC(kernel=KERNEL).fit(X[pair], flipped[pair])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "points": budget}))
"""
)


def main() -> None:
    parser = argparse.ArgumentParser(description="svm_gradient and alfa timings")
    parser.add_argument("--fd-steps", type=int, default=3, help="steps of the slow baseline")
    args = parser.parse_args()

    wall, cpu, kkt = timed_python(KKT)
    per_step = kkt["seconds"] / kkt["steps"]
    progress(f"svm_gradient: {wall:.1f} s")
    fd_wall, fd_cpu, fd = timed_python(FINITE_DIFFERENCES.replace("FD_STEPS", str(args.fd_steps)))
    fd_step = fd["seconds"] / fd["steps"]
    print("**svm_gradient**, one point (MNIST 7 vs 1, 100 training and 500 validation images):\n")
    rows = [
        [
            "KKT gradient (`svm_gradient`)",
            f"{wall:.1f} s",
            f"{cpu:.1f} s",
            f"{kkt['seconds']:.2f} s for {kkt['steps']} steps",
            f"{1000 * per_step:.1f} ms",
            "",
        ],
        [
            "finite differences",
            f"{fd_wall:.1f} s",
            f"{fd_cpu:.1f} s",
            f"{fd['seconds']:.2f} s for {fd['steps']} steps",
            f"{1000 * fd_step:.0f} ms",
            f"{fd_step / per_step:.0f}x",
        ],
    ]
    header = ["variant", "process (wall)", "process (CPU)", "attack", "per step", "per step / KKT"]
    print(markdown_table(header, rows))
    print(
        f"\nCosine between the two gradients at the starting point: {fd['cosine']:.4f}; "
        f"200 finite-difference steps would take {200 * fd_step:.0f} s.\n"
    )
    print("**alfa**, ML 106 training rows 0..1999 (the 444 7s and 1s), 20 % flipped:\n")
    rows = []
    for kernel in ("linear", "rbf"):
        wall, cpu, alfa = timed_python(ALFA.replace("KERNEL", repr(kernel)))
        _, _, base = timed_python(RANDOM_FLIPS.replace("KERNEL", repr(kernel)))
        progress(f"alfa {kernel}: {wall:.1f} s")
        rows.append(
            [
                kernel,
                f"{wall:.1f} s",
                f"{cpu:.1f} s",
                f"{alfa['seconds']:.3f} s",
                alfa["rounds"],
                f"{1000 * alfa['seconds'] / alfa['points']:.1f} ms",
                f"{base['seconds']:.3f} s",
                f"{alfa['seconds'] / base['seconds']:.1f}x",
            ]
        )
    header = [
        "kernel",
        "alfa process (wall)",
        "alfa process (CPU)",
        "alfa attack",
        "LP/SVM rounds",
        "per flip",
        "baseline attack",
        "alfa / baseline",
    ]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
