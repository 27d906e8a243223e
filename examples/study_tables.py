"""Markdown tables of docs/ read from a study's stored runs.

- ``certificates DIR``: for each certificate run on the clean training set (attack ``none``),
  its label in the spec, its clean accuracy and its median certified radius (DPA's definition:
  the value at position ``n // 2`` of the sorted radii, a wrong prediction counting as -1)
  from the stored ``certified_accuracy`` rows, with the unit of the radius
  (``examples/certify_study.toml``, docs/certify.md).
- ``budgets DIR``: the test accuracy at each budget of a one-model, one-attack study
  (``examples/alfa.toml``, docs/attacks.md).
- ``regularization DIR``: for each model and ``C``, the accuracy and the attack's success rate
  at budget 0 (clean) and at the largest budget (poisoned), and the accuracy's drop
  (``examples/regularization.toml``, docs/defenses.md).

    poisonlab run examples/certify_study.toml -o results/certify_study
    .venv/bin/python examples/study_tables.py certificates results/certify_study
"""

from __future__ import annotations

import argparse
from pathlib import Path

from poisonlab.certify import CERTIFICATES
from poisonlab.experiment.store import ResultStore, RunRecord
from poisonlab.reproduce.entries import median_certified_radius


def certificates(runs: list[RunRecord]) -> None:
    print("| certificate (label in the spec) | clean accuracy | median radius |")
    print("| --- | --- | --- |")
    for run in runs:
        if run.attack != "none" or "certified_accuracy" not in run.metrics:
            continue
        name = run.config["model"]["name"].removeprefix("certificate:")
        unit = CERTIFICATES.get(name).radius_unit
        n_test = sum(map(sum, run.metrics["confusion"]))
        radius = median_certified_radius(run.metrics["certified_accuracy"], n_test)
        print(f"| `{run.model}` | {run.metrics['accuracy']:.1%} | {radius} {unit} |")


def regularization(runs: list[RunRecord]) -> None:
    by_model: dict[tuple[str, float], dict[int, RunRecord]] = {}
    for run in runs:
        model = run.config["model"]
        by_model.setdefault((model["name"], model["params"]["C"]), {})[run.budget or 0] = run
    print("| model | C | clean acc. | poisoned acc. | drop | '1'→'2' clean | '1'→'2' poisoned |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    order = {name: i for i, name in enumerate(dict.fromkeys(name for name, _ in by_model))}
    for (name, C), budgets in sorted(by_model.items(), key=lambda i: (order[i[0][0]], i[0][1])):
        clean, poisoned = budgets[min(budgets)].metrics, budgets[max(budgets)].metrics
        drop = clean["accuracy"] - poisoned["accuracy"]
        print(
            f"| {name} | {C} | {clean['accuracy']:.3f} | {poisoned['accuracy']:.3f} | "
            f"{drop:.3f} | {clean['success_rate']:.3f} | {poisoned['success_rate']:.3f} |"
        )


def budgets(runs: list[RunRecord]) -> None:
    print("| budget | test accuracy |")
    print("| --- | --- |")
    for run in sorted(runs, key=lambda run: run.budget or 0):
        print(f"| {run.budget or 0} | {run.metrics['accuracy']:.3f} |")


TABLES = {"budgets": budgets, "certificates": certificates, "regularization": regularization}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=sorted(TABLES))
    parser.add_argument("directory", type=Path, help="a study's output directory")
    args = parser.parse_args()
    with ResultStore(args.directory, create=False) as store:
        runs = store.runs(status="ok")
    TABLES[args.table](runs)


if __name__ == "__main__":
    main()
