"""Execute one batch of runs in the current process: poison, detect, fit, predict, measure.

Every run becomes a :class:`RunOutput` (its row and arrays); an exception becomes a failed row,
never a crash of the sweep. Nothing here writes to the store: the process that owns it does.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._threadpools import thread_limits
from ..models.kernels import settle_ahead
from .components import (
    canonical_json,
    load_split,
    load_validation,
    make_attack,
    make_detector,
    make_estimator,
)
from .gallery import gallery_arrays
from .grid import RunSpec
from .measure import KnownPredictions, Outcome, measure, measure_stored, row_index, run_arrays
from .plan import Batch
from .store import RunRecord, utc_now

#: BLAS and OpenMP threads of every run's numerical work (see :func:`fixed_threads`).
RUN_THREADS = 1


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
        self._test_rows: dict[bytes, int] | None = None

    def test_rows(self) -> dict[bytes, int]:
        """:func:`row_index` of the test set, made once for the batch's runs (read-only)."""
        if self._test_rows is None:  # two threads may both make it: the same dict
            self._test_rows = row_index(self.split.X_test)
        return self._test_rows

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
    """Execute one run under :func:`fixed_threads`; an exception becomes a failed row, never a
    crash of the sweep."""
    with fixed_threads():
        return _execute_run(run, fitter, classes)


@contextmanager
def fixed_threads(blas: int = RUN_THREADS) -> Iterator[None]:
    """One BLAS (or ``blas``) and one OpenMP thread for a run's numerical work, whatever the
    backend.

    Results must not depend on where a run executes: scikit-learn's nearest-neighbour search
    splits its work by the OpenMP thread count and breaks distance ties per chunk, so on
    integer pixels (ties are common) one ``digits`` kNN prediction differed between a serial
    sweep (two OpenMP threads) and worker processes. OpenMP's count is per thread, so its
    limit is set in the thread that executes the run. OpenBLAS's count is one setting for the
    whole process: runs executing in several threads at once share one limit, set by the first
    to start and restored by the last to finish (a per-thread enter and exit restored it while
    other runs were computing, and their PCA scores changed in the last bits). A caller asking
    for another count (a shared kernel's Gram matrix, built by ``batch.threads`` BLAS threads)
    waits until no run holds the limit, and runs wait while it does: a Dask worker with several
    threads never builds a Gram matrix with two BLAS threads while another batch's runs compute.
    """
    global _blas_holders, _blas_limit, _blas_count
    settle_ahead()  # a kernel computed ahead (the lab's) finishes before limits change
    with _BLAS_TURN:
        while _blas_holders and _blas_count != blas:
            _BLAS_TURN.wait()
        if _blas_holders == 0:
            _blas_limit = thread_limits(blas, "blas")
            _blas_count = blas
        _blas_holders += 1
    try:
        with thread_limits(RUN_THREADS, "openmp"):
            yield
    finally:
        with _BLAS_TURN:
            _blas_holders -= 1
            if _blas_holders == 0:
                _blas_limit.restore_original_limits()
                _blas_limit = None
                _BLAS_TURN.notify_all()


_BLAS_TURN = threading.Condition()
_blas_holders = 0  # callers of this process inside fixed_threads()
_blas_count = RUN_THREADS  # their BLAS thread count
_blas_limit: Any = None  # their shared BLAS limit, while any is


def _execute_run(run: RunSpec, fitter: _Fitter, classes: np.ndarray) -> RunOutput:
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
    attack = make_attack(run.config["attack"], load_validation(run.config["dataset"]))
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
    known_X, known_y, known_rows = split.X_test, y_pred, fitter.test_rows()
    if attack is not None and hasattr(attack, "apply_trigger"):
        X_trig = attack.apply_trigger(split.X_test)
        arrays["y_pred_triggered"] = _timed(timings, "predict", predict, X_trig)
        known_X = np.concatenate([split.X_test, X_trig])
        known_y = np.concatenate([y_pred, arrays["y_pred_triggered"]])
        n_test = len(split.X_test)
        triggered = {row: n_test + i for row, i in row_index(X_trig).items()}
        known_rows = {**known_rows, **triggered}  # as row_index(known_X): the last one wins
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
        predict=KnownPredictions(known_X, known_y, predict, known_rows),
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


def _fitter_for(batch: Batch) -> tuple[_Fitter, np.ndarray]:
    """The fitter of ``batch``'s runs and the dataset's classes: one shared kernel (its Gram
    matrix built by ``batch.threads`` BLAS threads, one large product, when no run of this
    process is computing: :func:`fixed_threads`) or plain fits."""
    split, classes = load_split(batch.runs[0].config["dataset"])
    if not batch.shared:
        return _Fitter(split, None), classes
    from ..models.shared_kernel import SharedKernelSVC

    limit = None if batch.memory_limit is None else block_budget(split, batch)
    with fixed_threads(blas=batch.threads):
        template = make_estimator(batch.runs[0].config["model"])
        context = SharedKernelSVC(template, split.X_train, memory_limit=limit, groups=split.y_train)
        return _Fitter(split, context), classes


def block_budget(split, batch: Batch) -> int:
    """Bytes left for the shared kernel's Gram values once ``batch.memory_limit`` has paid for
    what the context holds besides: the training matrix (float64), the test kernel
    (``n_test x n_train``) and one pair kernel per fitting thread (the two largest classes)."""
    n_train = len(split.y_train)
    _, counts = np.unique(split.y_train, return_counts=True)
    pair_rows = int(np.sort(counts)[-2:].sum())
    fixed = 8 * (split.X_train.size + len(split.y_test) * n_train + batch.threads * pair_rows**2)
    return max(0, batch.memory_limit - fixed)


def execute_batch(batch: Batch) -> Iterator[RunOutput]:
    """Execute a batch's runs, yielding each as it finishes (on a shared kernel when
    ``batch.shared``, fitted by ``batch.threads`` threads: libsvm releases the GIL).

    Each run's own numerical work uses :data:`RUN_THREADS` threads (:func:`fixed_threads`): the
    runner's parallelism is across runs, results must not depend on the backend, and OpenBLAS
    threads spin when cores are busy (a logistic regression on 2,000 MNIST images took 6 to 8 s
    with 2 BLAS threads on the loaded 2-core machine, 0.5 to 0.8 s with 1).
    """
    fitter, classes = _fitter_for(batch)
    if batch.threads <= 1 or len(batch.runs) == 1:
        for run in batch.runs:
            yield execute_run(run, fitter, classes)
        return
    from concurrent.futures import ThreadPoolExecutor

    # The runs' BLAS limit is taken here, in the thread that built the Gram matrix, not in the
    # pool's threads: once one thread has set OpenBLAS's count (0.3.31), a count set from
    # another thread did not reach the computation, and the pool's runs computed PCA with two
    # threads in a serial sweep and one in Dask workers (outliers' scores differed in the last
    # bits, tests/test_backends.py).
    with fixed_threads(), ThreadPoolExecutor(max_workers=batch.threads) as pool:
        yield from pool.map(lambda run: execute_run(run, fitter, classes), batch.runs)


_FITTER_LOCK = threading.Lock()
_FITTER: dict[str, tuple[_Fitter, np.ndarray]] = {}


def _cached_fitter(batch: Batch) -> tuple[_Fitter, np.ndarray]:
    """:func:`_fitter_for` kept for the next call of the same batch; one at a time per process
    (a shared kernel may hold gigabytes)."""
    head = batch.runs[0].config
    key = canonical_json([head["dataset"], head["model"], batch.shared, batch.memory_limit])
    with _FITTER_LOCK:
        if key not in _FITTER:
            _FITTER.clear()
            _FITTER[key] = _fitter_for(batch)
        return _FITTER[key]


def execute_in_batch(batch: Batch, index: int) -> RunOutput:
    """Execute ``batch.runs[index]`` on the batch's fitter, kept by this process between calls:
    the unit of work sent to a Dask worker, so each run is stored the moment it finishes while
    a shared-kernel batch builds its kernel once per worker."""
    fitter, classes = _cached_fitter(batch)
    return execute_run(batch.runs[index], fitter, classes)
