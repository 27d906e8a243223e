"""Measured figures for docs/attacks.md: one function per attack, on the ML 106 set-up.

Set-up: MNIST training rows 0..1999, test rows 60000..60999, ``SVC(random_state=42)``.
Run ``python examples/attack_figures.py NAME`` (NAME: backdoor, ...); prints a Markdown table.
"""

from __future__ import annotations

import sys

import numpy as np
from sklearn.svm import SVC

from poisonlab.attacks import ATTACKS
from poisonlab.datasets import load, split_by_ranges


def lab_split():
    return split_by_ranges(load("mnist"), (0, 2000), (60000, 61000))


def accuracy(model, X, y) -> float:
    return float(np.mean(model.predict(X) == y))


def backdoor() -> None:
    split = lab_split()
    clean = SVC(random_state=42).fit(split.X_train, split.y_train)
    print(f"clean accuracy {accuracy(clean, split.X_test, split.y_test):.3f}")
    print("| trigger | budget | clean accuracy | attack success | success on clean model |")
    print("| --- | --- | --- | --- | --- |")
    for trigger, params in [
        ("patch 3x3", {"trigger": "patch", "size": 3}),
        ("patch 4x4", {"trigger": "patch", "size": 4}),
        ("pattern 4x4", {"trigger": "pattern", "size": 4}),
        ("blend 0.2", {"trigger": "blend", "alpha": 0.2}),
    ]:
        for budget in (0.01, 0.03, 0.05):
            attack = ATTACKS.create("backdoor", target="0", budget=budget, **params)
            result = attack.poison(split.X_train, split.y_train, random_state=0)
            model = SVC(random_state=42).fit(result.X, result.y)
            print(
                f"| {trigger} | {budget:.0%} ({len(result.poison_indices)}) "
                f"| {accuracy(model, split.X_test, split.y_test):.3f} "
                f"| {attack.success_rate(model.predict, split.X_test, split.y_test):.3f} "
                f"| {attack.success_rate(clean.predict, split.X_test, split.y_test):.3f} |",
                flush=True,
            )


FIGURES = {"backdoor": backdoor}

if __name__ == "__main__":
    for name in sys.argv[1:] or FIGURES:
        FIGURES[name]()
