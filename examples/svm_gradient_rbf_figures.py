"""``svm_gradient`` against an RBF SVM on raw MNIST pixels: the "Limits seen" of docs/attacks.md.

The 444 7s and 1s among MNIST training rows 0..1999 (raw pixels, 0..255), ``SVC(kernel="rbf",
C=1, gamma="scale")``, tested on the 225 7s and 1s among test rows 60000..60999. One point
labelled ``1`` from a random training 7 (seed 0), in the box [0, 255]: 50 steps of 0.05 of the
box width with the training set as the attacker's validation set, then longer steps (0.5 and 2
box widths, 100 steps) against a separate validation set, the 7s and 1s among rows 2000..3999.

    .venv/bin/python examples/svm_gradient_rbf_figures.py

Prints, on standard output, the Markdown table that sits in docs/attacks.md between
``docs: begin`` markers (``make docs`` regenerates it, tools/docs.py), with one BLAS and one
OpenMP thread as a study's runs, so reruns print the same digits.
"""

from __future__ import annotations

import numpy as np
from sklearn.svm import SVC
from svm_poisoning_figures import PAIR

from poisonlab.attacks import ATTACKS
from poisonlab.datasets import load
from poisonlab.experiment.execute import fixed_threads

#: (validation set shown, its MNIST rows or None for the training set, step, max_iter).
CASES = (
    ("the training set", None, 0.05, 50),
    ("rows 2000..3999", (2000, 4000), 0.5, 100),
    ("rows 2000..3999", (2000, 4000), 2.0, 100),
)


def pair_rows(y: np.ndarray, start: int, stop: int) -> np.ndarray:
    return start + np.flatnonzero(np.isin(y[start:stop], PAIR))


@fixed_threads()
def main() -> None:
    mnist = load("mnist")
    X, y = mnist.X.astype(float), mnist.y
    train, test = pair_rows(y, 0, 2000), pair_rows(y, 60000, 61000)

    def test_error(X_fit, y_fit) -> float:
        model = SVC(kernel="rbf", C=1.0, gamma="scale").fit(X_fit, y_fit)
        return float(np.mean(model.predict(X[test]) != y[test]))

    clean = test_error(X[train], y[train])
    print(
        "| validation set | step (of the box width) | steps taken | validation hinge loss, "
        "start -> best | test error, clean -> poisoned |"
    )
    print("| --- | --- | --- | --- | --- |")
    for shown, rows, step, max_iter in CASES:
        validation = None if rows is None else (X[pair_rows(y, *rows)], y[pair_rows(y, *rows)])
        result = ATTACKS.create(
            "svm_gradient",
            classes=PAIR,
            kernel="rbf",
            validation=validation,
            box=(0.0, 255.0),
            step=step,
            max_iter=max_iter,
            label="1",
        ).poison(X[train], y[train], random_state=0)
        run = result.info["points"][0]
        print(
            f"| {shown} | {step:g} | {run['steps']} | {run['initial_loss']:.2f} -> "
            f"{run['final_loss']:.2f} | {clean:.3f} -> {test_error(result.X, result.y):.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
