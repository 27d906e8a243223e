"""The tables of docs/defenses.md for the backdoor detectors and the mitigations.

The lab's set-up: MNIST training rows 0..1999, test rows 60000..60999, ``SVC(random_state=42)``.

- ``backdoor``: the ``backdoor`` attack (target '0', seed 0) with three triggers and two
  budgets; ``spectral_signature`` and ``activation_clustering`` on the poisoned training set
  (precision, recall, F1, ROC-AUC against the poisoned rows; the SVC retrained without the
  flagged rows: clean accuracy and attack success rate), and ``strip`` on the test set plus
  triggered copies of its non-'0' images (against the triggered inputs; the poisoned SVC
  with the flagged inputs rejected).
- ``partition``: ``partition_ensemble`` certified accuracy versus radius, clean and with the
  lab's poisoning (the first 100 '1's relabelled '2').
- ``trimmed``: the lab's poisoning (N = 100) with ``trimmed`` SVCs.

    .venv/bin/python examples/backdoor_defenses.py [backdoor|partition|trimmed]

Each part prints its Markdown table (a heading before each when several are asked for). One
BLAS thread, so the tables are the same in every run.

The regularization table is a study: ``poisonlab run examples/regularization.toml``.
"""

from __future__ import annotations

import sys

import numpy as np
from sklearn.svm import SVC

from poisonlab._threadpools import thread_limits
from poisonlab.attacks import ATTACKS
from poisonlab.datasets import load
from poisonlab.defenses import DETECTORS, MITIGATIONS, DetectionResult, evaluate_detection


def lab_data():
    mnist = load("mnist")
    return mnist.X[:2000], mnist.y[:2000], mnist.X[60000:61000], mnist.y[60000:61000]


def row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def fmt(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def backdoor_table() -> None:
    X, y, X_test, y_test = lab_data()
    print(
        row(
            "trigger",
            "poisoned",
            "defense",
            "precision",
            "recall",
            "F1",
            "ROC-AUC",
            "flagged",
            "clean acc.",
            "attack success",
        )
    )
    print(row(*["---"] * 10))
    for trigger in ("patch", "pattern", "blend"):
        for budget in (50, 100):
            attack = ATTACKS.create(
                "backdoor", target="0", budget=budget, trigger=trigger, random_state=0
            )
            p = attack.poison(X, y)
            victim = SVC(random_state=42).fit(p.X, p.y)
            acc = float(np.mean(victim.predict(X_test) == y_test))
            asr = attack.success_rate(victim.predict, X_test, y_test)
            print(row(trigger, budget, "none", "", "", "", "", "", fmt(acc), fmt(asr)))
            for name in ("spectral_signature", "activation_clustering"):
                r = DETECTORS.create(name, random_state=0).detect(p.X, p.y)
                m = evaluate_detection(r, p.poison_indices)
                keep = ~r.flagged
                model = SVC(random_state=42).fit(p.X[keep], p.y[keep])
                acc = float(np.mean(model.predict(X_test) == y_test))
                asr = attack.success_rate(model.predict, X_test, y_test)
                print(
                    row(
                        trigger,
                        budget,
                        name,
                        fmt(m["precision"]),
                        fmt(m["recall"]),
                        fmt(m["f1"]),
                        fmt(m["roc_auc"]),
                        m["n_flagged"],
                        fmt(acc),
                        fmt(asr),
                    )
                )
            strip_row(trigger, budget, attack, p, victim, X_test, y_test)


def strip_row(trigger, budget, attack, p, victim, X_test, y_test) -> None:
    """STRIP on clean test inputs plus triggered non-target ones; flagged inputs rejected."""
    det = DETECTORS.create("strip", random_state=0).fit(p.X, p.y)
    triggered = attack.apply_trigger(X_test[y_test != "0"])
    inputs = np.vstack([X_test, triggered])
    scores = det.score_samples(inputs)
    flagged, threshold = det.flag(scores)
    n = len(X_test)
    m = evaluate_detection(DetectionResult(scores, flagged, threshold), np.arange(n, len(inputs)))
    pred = victim.predict(inputs)
    # Rejected inputs count as wrong for clean accuracy and as failures for the attacker.
    acc = float(np.mean((pred[:n] == y_test) & ~flagged[:n]))
    asr = float(np.mean((pred[n:] == "0") & ~flagged[n:]))
    print(
        row(
            trigger,
            budget,
            "strip (test inputs)",
            fmt(m["precision"]),
            fmt(m["recall"]),
            fmt(m["f1"]),
            fmt(m["roc_auc"]),
            m["n_flagged"],
            fmt(acc),
            fmt(asr),
        )
    )


def lab_flip(X, y, n=100):
    return ATTACKS.create("label_flip", source="1", target="2", budget=n, select="first").poison(
        X, y
    )


def incorrect_twos(pred, y_test) -> int:
    return int(np.sum((pred == "2") & (y_test != "2")))


def partition_table() -> None:
    X, y, X_test, y_test = lab_data()
    p = lab_flip(X, y)
    radii = [0, 1, 2, 3, 4, 5, 7, 10, 12, 15, 20, 25]
    ks = (10, 25, 50)
    print(row("training set", "k", "accuracy", "incorrect 2's", *(f"r={r}" for r in radii)))
    print(row(*["---"] * (4 + len(radii))))
    for label, (Xt, yt) in (("clean", (X, y)), ("first 100 '1's as '2'", (p.X, p.y))):
        for k in ks:
            model = MITIGATIONS.create("partition_ensemble", n_partitions=k).fit(Xt, yt)
            table = {
                r["radius"]: r["certified_accuracy"]
                for r in model.certified_accuracy(X_test, y_test, radii=radii)
            }
            pred = model.predict(X_test)
            print(
                row(
                    label,
                    k,
                    fmt(float(np.mean(pred == y_test))),
                    incorrect_twos(pred, y_test),
                    *("–" if r > k // 2 else f"{table[r]:.3f}" for r in radii),
                )
            )


def trimmed() -> None:
    X, y, X_test, y_test = lab_data()
    p = lab_flip(X, y)
    print(row("model", "accuracy", "incorrect 2's", "poisoned rows trimmed", "fits"))
    print(row(*["---"] * 5))
    for label, (Xt, yt) in (("SVC, clean", (X, y)), ("SVC, poisoned", (p.X, p.y))):
        pred = SVC(random_state=42).fit(Xt, yt).predict(X_test)
        print(row(label, fmt(float(np.mean(pred == y_test))), incorrect_twos(pred, y_test), "", 1))
    for fraction in (0.05, 0.1):
        model = MITIGATIONS.create("trimmed", trim_fraction=fraction).fit(p.X, p.y)
        pred = model.predict(X_test)
        dropped = int(np.sum(~model.kept_[p.poison_indices]))
        print(
            row(
                f"trimmed SVC, {fraction:.0%}, poisoned",
                fmt(float(np.mean(pred == y_test))),
                incorrect_twos(pred, y_test),
                f"{dropped} / {len(p.poison_indices)}",
                model.n_iter_,
            )
        )


PARTS = {
    "backdoor": backdoor_table,
    "partition": partition_table,
    "trimmed": trimmed,
}

if __name__ == "__main__":
    parts = sys.argv[1:] or list(PARTS)
    with thread_limits(1):
        for part in parts:
            if len(parts) > 1:
                print(f"\n### {part}\n")
            PARTS[part]()
