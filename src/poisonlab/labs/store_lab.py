"""The lab's runs in the results store: the same rows ``poisonlab run`` writes for the lab's spec.

Each N becomes one run, ``ml106/svc/label_flip[source=1,target=2,budget=N,select=first]/none/
seed0``, with the config, metrics and arrays a study's run has; ``meta`` holds the equivalent
spec (TOML), so the stored lab reads, and reruns, as a study.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import __version__
from ..attacks import ATTACKS
from ..experiment.gallery import gallery_arrays
from ..experiment.ids import content_id, make_run_id, run_config
from ..experiment.measure import (
    KnownPredictions,
    Outcome,
    default_metrics,
    measure,
    measure_stored,
    run_arrays,
)
from ..experiment.seeds import derive_seed
from ..experiment.store import ResultStore, RunRecord, run_key, utc_now
from .ml106 import TEST_START, LabResult

EXPERIMENT = "ml106"


def lab_spec_text(result: LabResult) -> str:
    """The study spec (TOML) that runs the same grid as this lab result."""
    split = result.split
    n_train, n_test = len(split.train_rows), len(split.test_rows)
    budgets = ", ".join(str(run.n_poisoned) for run in result.runs)
    return f"""# The ML 106 lab as a study: poisonlab run this-file.toml
name = "{EXPERIMENT}"
seeds = [0]

[dataset]
name = "mnist"
split = {{ train = [0, {n_train}], test = [{TEST_START}, {TEST_START + n_test}] }}

[[models]]
name = "svc"

[[attacks]]
name = "label_flip"
params = {{ source = "{result.source}", target = "{result.target}", select = "first" }}
budget = [{budgets}]

[[defenses]]
name = "none"
"""


def write_lab_store(result: LabResult, out: Path) -> None:
    """Write one run per N of ``result`` into the results store in ``out``.

    Parameters
    ----------
    result : LabResult
        A result of :func:`~poisonlab.labs.ml106.run_ml106` (it carries its split).
    out : Path
        The output directory.
    """
    split = result.split
    n_train, n_test = len(split.train_rows), len(split.test_rows)
    dataset = {
        "name": "mnist",
        "split": {"train": [0, n_train], "test": [TEST_START, TEST_START + n_test]},
    }
    metrics = default_metrics()
    with ResultStore(out) as store:
        store.set_meta(
            {
                "experiment": EXPERIMENT,
                "spec": lab_spec_text(result),
                "source": "poisonlab lab ml106",
                "created": store.meta().get("created", utc_now()),
                "package_version": __version__,
            }
        )
        for run in result.runs:
            params = {
                "source": result.source,
                "target": result.target,
                "budget": run.n_poisoned,
                "select": "first",
            }
            attack = ATTACKS.create("label_flip", **params)
            config = run_config(
                experiment=EXPERIMENT,
                dataset=dataset,
                model={"label": "svc", "name": "svc", "params": {}},
                attack={"name": "label_flip", "params": params},
                defense={"name": "none", "params": {}},
                seed=0,
            )
            run_id = make_run_id(
                experiment=EXPERIMENT,
                dataset=None,
                model="svc",
                attack="label_flip",
                attack_params=params,
                defense="none",
                defense_params={},
                seed=0,
            )
            y_train = split.y_train.copy()
            y_train[run.poison_indices] = result.target
            predict = KnownPredictions(split.X_test, run.y_pred, _unknown_rows)
            outcome = Outcome(
                classes=result.classes,
                y_test=split.y_test,
                y_pred=run.y_pred,
                y_train=y_train,
                predict=predict,
                X_test=split.X_test,
                attack=attack,
                poison_indices=run.poison_indices,
            )
            poison_indices = np.asarray(run.poison_indices, dtype=np.int64)
            arrays = {
                "y_pred": run.y_pred,
                "poison_indices": poison_indices,
                **gallery_arrays(split.y_train, split.X_train, y_train, poison_indices),
                **run_arrays(outcome),
            }
            record = RunRecord(
                key=run_key(config),
                run_id=run_id,
                experiment=EXPERIMENT,
                dataset="mnist",
                model="svc",
                attack="label_flip",
                defense="none",
                seed=0,
                run_seed=derive_seed(0, content_id(config)),
                budget=run.n_poisoned,
                status="ok",
                error=None,
                config=config,
                metrics={**measure(outcome, metrics), **measure_stored(arrays, metrics)},
                timings={"total": run.seconds},
                fit_seconds=None,
                total_seconds=run.seconds,
                finished=utc_now(),
            )
            store.write_run(record, arrays)


def _unknown_rows(X: np.ndarray) -> np.ndarray:
    # The lab's attack asks only about test rows, whose predictions are known.
    raise RuntimeError(f"the lab store has no model to predict {len(X)} new rows")
