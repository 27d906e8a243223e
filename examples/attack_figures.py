"""Measured figures for docs/attacks.md: one function per attack, on the ML 106 set-up.

Set-up: MNIST training rows 0..1999, test rows 60000..60999, ``SVC(random_state=42)``.
Run ``python examples/attack_figures.py NAME`` (NAME: one of FIGURES below); prints the
Markdown that sits in docs/attacks.md between ``docs: begin`` markers (``make docs`` regenerates
it, tools/docs.py). Label-only attacks are evaluated with the shared-kernel SVC, whose
predictions equal plain ``SVC`` fits (see docs/architecture.md). Every figure runs with one BLAS
and one OpenMP thread, as a study's runs do, so reruns print the same digits.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.svm import SVC

from poisonlab.attacks import ATTACKS
from poisonlab.datasets import load, split_by_ranges
from poisonlab.experiment.execute import fixed_threads
from poisonlab.models.shared_kernel import SharedKernelSVC
from poisonlab.models.zoo import make_model


def lab_split():
    return split_by_ranges(load("mnist"), (0, 2000), (60000, 61000))


def accuracy(model, X, y) -> float:
    return float(np.mean(model.predict(X) == y))


def backdoor() -> None:
    split = lab_split()
    clean = SVC(random_state=42).fit(split.X_train, split.y_train)
    print(f"Clean model: test accuracy {accuracy(clean, split.X_test, split.y_test):.3f}.\n")
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


def shared_predictor(split):
    """Predict the test set after relabelling: one Gram matrix for every label-only attack."""
    shared = SharedKernelSVC(SVC(random_state=42), split.X_train)
    K_test = shared.query_kernel(split.X_test)
    return lambda y: shared.fit(y).predict_from_kernel(K_test)


def label_flip() -> None:
    split = lab_split()
    predict = shared_predictor(split)
    ones = split.y_test == "1"
    print("| surrogate | select | budget | accuracy | test '1's predicted '2' |")
    print("| --- | --- | --- | --- | --- |")
    for surrogate in ("linear_svc", "svc"):
        for select in ("first", "random", "boundary", "far", "loss"):
            if surrogate == "svc" and select in ("first", "random"):
                continue  # no surrogate involved: same rows as above
            for budget in (30, 100):
                attack = ATTACKS.create(
                    "label_flip", budget=budget, select=select, surrogate=surrogate
                )
                y_pred = predict(attack.poison(split.X_train, split.y_train, random_state=0).y)
                print(
                    f"| {surrogate if select not in ('first', 'random') else '-'} | {select} "
                    f"| {budget} | {np.mean(y_pred == split.y_test):.3f} "
                    f"| {np.mean(y_pred[ones] == '2'):.3f} |",
                    flush=True,
                )
    flipped, accuracies = [], []
    for seed in range(10):
        attack = ATTACKS.create("label_flip", budget=100, select="random")
        y_pred = predict(attack.poison(split.X_train, split.y_train, random_state=seed).y)
        flipped.append(np.mean(y_pred[ones] == "2"))
        accuracies.append(np.mean(y_pred == split.y_test))
    print(
        f"\n`random`, budget 100, seeds 0..9: test '1's predicted '2' {np.mean(flipped):.3f} "
        f"on average ({min(flipped):.3f} to {max(flipped):.3f}), accuracy "
        f"{np.mean(accuracies):.3f} on average."
    )


def random_flip() -> None:
    split = lab_split()
    predict = shared_predictor(split)
    print("| transition | budget | accuracy, seeds 0, 1, 2 |")
    print("| --- | --- | --- |")
    for budget in (0.1, 0.2, 0.3, 0.4, 0.5):
        accs = []
        for seed in range(3):
            y = (
                ATTACKS.create("random_flip", budget=budget)
                .poison(split.X_train, split.y_train, random_state=seed)
                .y
            )
            accs.append(f"{np.mean(predict(y) == split.y_test):.3f}")
        print(f"| uniform | {budget:.0%} | {', '.join(accs)} |", flush=True)
    cyclic = np.roll(np.eye(10), 1, axis=1)  # '0' -> '1', '1' -> '2', ..., '9' -> '0'
    y = (
        ATTACKS.create("random_flip", budget=0.3, transition=cyclic)
        .poison(split.X_train, split.y_train, random_state=0)
        .y
    )
    print(f"| cyclic c -> c+1 | 30% | {np.mean(predict(y) == split.y_test):.3f} |")


def targeted_instance() -> None:
    split = lab_split()
    clean = SVC(random_state=42).fit(split.X_train, split.y_train)
    X_test, y_test = split.X_test[:40], split.y_test[:40]
    victims = np.flatnonzero(clean.predict(X_test) == y_test)[:20]
    # Target: the class the clean model ranks second for the victim.
    targets = clean.classes_[np.argsort(clean.decision_function(X_test), axis=1)[:, -2]]
    shared = SharedKernelSVC(SVC(random_state=42), split.X_train)
    print(f"Relabelling (`targeted_instance`), {len(victims)} victims, fraction flipped:\n")
    print("| budget | victims flipped |")
    print("| --- | --- |")
    for budget in (1, 2, 5, 10, 20, 50):
        wins = 0
        for i in victims:
            attack = ATTACKS.create(
                "targeted_instance", victim=X_test[i], target=targets[i], budget=budget
            )
            model = shared.fit(attack.poison(split.X_train, split.y_train).y)
            wins += attack.success_rate(model.predict)
        print(f"| {budget} | {wins / len(victims):.2f} |", flush=True)
    print(
        "\nInjection (`targeted_instance_inject`), the first 10 of those victims, "
        "fraction flipped:\n"
    )
    print("| toward_victim | budget 1 | budget 5 | budget 20 |")
    print("| --- | --- | --- | --- |")
    for toward in (0.0, 0.5, 1.0):
        cells = []
        for budget in (1, 5, 20):
            wins = 0
            for i in victims[:10]:
                attack = ATTACKS.create(
                    "targeted_instance_inject",
                    victim=X_test[i],
                    target=targets[i],
                    budget=budget,
                    toward_victim=toward,
                )
                result = attack.poison(split.X_train, split.y_train)
                wins += attack.success_rate(SVC(random_state=42).fit(result.X, result.y).predict)
            cells.append(f"{wins / 10:.1f}")
        print(f"| {toward} | {' | '.join(cells)} |", flush=True)


def inject_noise() -> None:
    split = lab_split()
    print("MNIST, ML 106 set-up, `SVC(random_state=42)`:\n")
    print("| distribution | budget | accuracy |")
    print("| --- | --- | --- |")
    for distribution in ("uniform", "gaussian"):
        for budget in (0.1, 0.3):
            attack = ATTACKS.create("inject_noise", budget=budget, distribution=distribution)
            result = attack.poison(split.X_train, split.y_train, random_state=0)
            model = SVC(random_state=42).fit(result.X, result.y)
            score = accuracy(model, split.X_test, split.y_test)
            print(f"| {distribution} | {budget:.0%} | {score:.3f} |", flush=True)
    ds = load("digits")
    X_train, y_train, X_test, y_test = ds.X[:1000], ds.y[:1000], ds.X[1000:], ds.y[1000:]
    print("\ndigits (train rows 0..999, test rows 1000..1796), zoo models:\n")
    print("| model | distribution | 0% | 20% | 50% |")
    print("| --- | --- | --- | --- | --- |")
    for name in ("svc", "logreg", "knn"):
        for distribution in ("uniform", "gaussian"):
            cells = []
            for budget in (0.0, 0.2, 0.5):
                attack = ATTACKS.create("inject_noise", budget=budget, distribution=distribution)
                result = attack.poison(X_train, y_train, random_state=0)
                model = make_model(name).fit(result.X, result.y)
                cells.append(f"{accuracy(model, X_test, y_test):.3f}")
            print(f"| {name} | {distribution} | {' | '.join(cells)} |", flush=True)


FIGURES = {
    "backdoor": backdoor,
    "label_flip": label_flip,
    "random_flip": random_flip,
    "targeted_instance": targeted_instance,
    "inject_noise": inject_noise,
}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "figures", nargs="*", choices=[[], *FIGURES], metavar="FIGURE", help=", ".join(FIGURES)
    )
    with fixed_threads():
        for name in parser.parse_args().figures or FIGURES:
            FIGURES[name]()
