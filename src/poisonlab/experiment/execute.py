"""Execute one batch of runs in the current process: poison, detect, fit, predict, measure.

Every run becomes a :class:`RunOutput` (its row and arrays); an exception becomes a failed row,
never a crash of the sweep. Nothing here writes to the store: the process that owns it does.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .components import load_split, make_attack, make_detector, make_estimator
from .gallery import gallery_arrays
from .grid import RunSpec
from .measure import KnownPredictions, Outcome, measure, measure_stored, run_arrays
from .plan import Batch
from .store import RunRecord, utc_now


@dataclass(frozen=True)
class RunOutput:
    """A finished run: its row and its arrays, ready for :meth:`ResultStore.write_run`."""

    record: RunRecord
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


class _Fitter:
    """Fits a run's model: plainly, or on a shared kernel (rows of the shared training set)."""

    def __init__(self, split, shared=None) -> None:
        self.split = split
        self.shared = shared
        self.K_test = None if shared is None else shared.query_kernel(split.X_test)

    def fit_predict(self, run: RunSpec, X, y, rows) -> tuple[Callable, np.ndarray, Any, float]:
        """Fit on ``(X, y)`` (``rows`` of them: the shared path's view of a sanitizer's drops).

        Returns predict, test predictions, the fitted model, and fit seconds.
        """
        start = time.perf_counter()
        if self.shared is not None:
            model = self.shared.fit(y, rows)
            fit_seconds = time.perf_counter() - start
            return model.predict, model.predict_from_kernel(self.K_test), model, fit_seconds
        model = make_estimator(run.config["model"])
        if rows is not None:
            X, y = X[rows], y[rows]
        model.fit(X, y)
        fit_seconds = time.perf_counter() - start
        return model.predict, np.asarray(model.predict(self.split.X_test)), model, fit_seconds


def _detect(detector, X, y, split, attack, sanitize: bool):
    """Run a detector; returns (detection, rows to train on or None for all, labels).

    Train-scope detectors score the poisoned training rows and, when ``sanitize``, drop (or
    relabel, by their own ``action``) what they flag, through their ``fit_resample``.
    Test-scope detectors (e.g. STRIP) score test inputs: the clean test set, followed by its
    triggered copy when the attack has a trigger, whose rows are the true poisons; they leave
    training alone.
    """

    if detector.scope == "test":
        detector.fit(X, y)
        X_eval = split.X_test
        if hasattr(attack, "apply_trigger"):
            X_eval = np.concatenate([split.X_test, attack.apply_trigger(split.X_test)])
        return detector.score_and_flag(X_eval), None, y
    X_kept, y_kept = detector.fit_resample(X, y)
    detection = detector.detection_
    if not sanitize:
        return detection, None, y
    if len(X_kept) == len(X):  # every row kept: relabelled, or nothing flagged
        return detection, None, y_kept
    return detection, np.flatnonzero(~detection.flagged), y


def execute_run(run: RunSpec, fitter: _Fitter, classes: np.ndarray) -> RunOutput:
    """Execute one run; an exception becomes a failed row, never a crash of the sweep."""
    start = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        metrics, arrays, fit_seconds, budget = _execute(run, fitter, classes, timings)
        status, error = "ok", None
    except Exception as exc:  # recorded and the sweep goes on; never cached as a result
        metrics, arrays, fit_seconds = {}, {}, timings.get("fit")
        budget = _nominal_budget(run)
        status = "failed"
        error = f"{type(exc).__name__}: {exc}"
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        if last:
            error += f" (at {os.path.basename(last[0].filename)}:{last[0].lineno})"
    timings["total"] = time.perf_counter() - start
    record = RunRecord(
        key=run.key,
        run_id=run.run_id,
        experiment=run.config["experiment"],
        dataset=run.dataset,
        model=run.model,
        attack=run.attack,
        defense=run.defense,
        seed=run.seed,
        run_seed=run.run_seed,
        budget=budget,
        status=status,
        error=error,
        config=run.config,
        metrics=metrics,
        timings=timings,
        fit_seconds=fit_seconds,
        total_seconds=timings["total"],
        finished=utc_now(),
    )
    return RunOutput(record, arrays)


def _nominal_budget(run: RunSpec) -> int | None:
    budget = run.config["attack"]["params"].get("budget")
    return budget if isinstance(budget, int) else None


def _timed(timings: dict[str, float], name: str, func: Callable, *args: Any) -> Any:
    start = time.perf_counter()
    try:
        return func(*args)
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


def _execute(run: RunSpec, fitter: _Fitter, classes: np.ndarray, timings: dict[str, float]):
    split = fitter.split
    attack = make_attack(run.config["attack"])
    X, y, poison_indices = split.X_train, split.y_train, np.empty(0, dtype=np.int64)
    if attack is not None:
        result = _timed(
            timings, "poison", lambda: attack.poison(X, y, random_state=run.attack_seed)
        )
        X, y, poison_indices = result.X, result.y, result.poison_indices
        budget = int(result.info.get("budget", len(poison_indices)))
    else:
        budget = 0
    arrays: dict[str, np.ndarray] = {"poison_indices": np.asarray(poison_indices)}
    detector = make_detector(run.config["defense"], run.run_seed)
    detection, rows, y_fit = None, None, y
    if detector is not None:
        sanitize = run.config["defense"].get("sanitize", True)
        detection, rows, y_fit = _timed(
            timings, "detect", _detect, detector, X, y, split, attack, sanitize
        )
        arrays["detector_scores"] = detection.scores
        arrays["detector_flagged"] = detection.flagged
    predict, y_pred, model, fit_seconds = fitter.fit_predict(run, X, y_fit, rows)
    timings["fit"] = fit_seconds
    arrays["y_pred"] = y_pred
    arrays.update(
        gallery_arrays(
            split.y_train,
            X,
            y,
            poison_indices,
            attack=attack,
            X_test=split.X_test,
            y_test=split.y_test,
        )
    )
    known_X, known_y = split.X_test, y_pred
    if attack is not None and hasattr(attack, "apply_trigger"):
        X_trig = attack.apply_trigger(split.X_test)
        arrays["y_pred_triggered"] = _timed(timings, "predict", predict, X_trig)
        known_X = np.concatenate([split.X_test, X_trig])
        known_y = np.concatenate([y_pred, arrays["y_pred_triggered"]])
    y_train_seen = y_fit if rows is None else y_fit[rows]
    truth = None
    if detection is not None and detector.scope == "test":
        n = len(split.X_test)
        truth = np.arange(n, len(detection.scores), dtype=np.int64)
        # Reports read which scored rows are poisoned from the store (not poison_indices here).
        arrays["detector_truth"] = truth
    outcome = Outcome(
        classes=classes,
        y_test=split.y_test,
        y_pred=y_pred,
        y_train=y_train_seen,
        predict=KnownPredictions(known_X, known_y, predict),
        X_test=split.X_test,
        model=model,
        attack=attack,
        poison_indices=poison_indices,
        detection=detection,
        detection_truth=truth,
    )
    arrays.update(run_arrays(outcome))
    names = list(run.metrics)
    metrics = _timed(timings, "metrics", measure, outcome, names)
    metrics.update(_timed(timings, "metrics", measure_stored, arrays, names))
    return metrics, arrays, fit_seconds, budget


def execute_batch(batch: Batch) -> Iterator[RunOutput]:
    """Execute a batch's runs one by one (on a shared kernel when ``batch.shared``).

    Runs use one BLAS thread: the runner's parallelism is across runs (threads on a shared
    kernel, ``-j`` workers), and OpenBLAS threads spin when cores are busy: a logistic
    regression on 2,000 MNIST images took 6 to 8 s with 2 BLAS threads on the loaded 2-core
    machine, 0.5 to 0.8 s with 1. Only the shared Gram matrix, one large product, gets
    ``batch.threads`` BLAS threads.
    """
    from threadpoolctl import threadpool_limits

    split, classes = load_split(batch.runs[0].config["dataset"])
    context = None
    if batch.shared:
        from ..models.shared_kernel import SharedKernelSVC

        with threadpool_limits(limits=batch.threads, user_api="blas"):
            context = SharedKernelSVC(make_estimator(batch.runs[0].config["model"]), split.X_train)
            fitter = _Fitter(split, context)
    else:
        fitter = _Fitter(split, None)
    with threadpool_limits(limits=1, user_api="blas"):
        if batch.threads <= 1 or len(batch.runs) == 1:
            for run in batch.runs:
                yield execute_run(run, fitter, classes)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=batch.threads) as pool:
            yield from pool.map(lambda run: execute_run(run, fitter, classes), batch.runs)


def run_batch(batch: Batch) -> list[RunOutput]:
    """:func:`execute_batch` as a list: the unit of work sent to a worker process."""
    return list(execute_batch(batch))
