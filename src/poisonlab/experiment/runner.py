"""Run a study's grid: skip finished runs, execute the rest (serially, in local worker processes
or on a Dask cluster), and write each run to the results store as it finishes.

Runs travel as :class:`~poisonlab.experiment.grid.RunSpec` (plain data) in *batches*; a worker
executes a batch and hands back one :class:`RunOutput` per run. Only the process that owns the
store writes to it, so workers need no access to the output directory (a Dask cluster may run
on other machines). A batch is one run, except on the shared-kernel fast path: runs that differ
only in a ``label`` attack's labels (or in the rows a sanitizer dropped) on the same split and
SVC share one :class:`~poisonlab.models.shared_kernel.SharedKernelSVC`, hence one Gram matrix.
"""

from __future__ import annotations

import functools
import math
import os
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .gallery import gallery_arrays
from .grid import RunSpec
from .measure import KnownPredictions, Outcome, measure
from .seeds import derive_seed
from .store import ResultStore, RunRecord, canonical_json, utc_now


@dataclass(frozen=True)
class Batch:
    """Runs executed together by one worker.

    ``shared``: on one shared kernel, fitted by ``threads`` threads (libsvm releases the GIL,
    and the threads share the kernel's cache of class pairs, as the lab does).
    """

    runs: list[RunSpec]
    shared: bool = False
    threads: int = 1


@dataclass(frozen=True)
class RunOutput:
    """A finished run: its row and its arrays, ready for :meth:`ResultStore.write_run`."""

    record: RunRecord
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


# --------------------------------------------------------------------------- data and models


@functools.lru_cache(maxsize=4)
def _load_split_cached(dataset_json: str):
    import json

    from ..datasets import load, split_by_ranges, split_stratified

    config = json.loads(dataset_json)
    ds = load(config["name"], label=config.get("label"))
    split = config["split"]
    if "train" in split:
        s = split_by_ranges(ds, tuple(split["train"]), tuple(split["test"]))
    else:
        s = split_stratified(ds, split["train_size"], split["test_size"], seed=split["seed"])
    return s, np.unique(ds.y)


def load_split(dataset_config: dict[str, Any]):
    """``(Split, classes)`` of a run's dataset config, cached per process (workers load once)."""
    return _load_split_cached(canonical_json(dataset_config))


def make_model(model_config: dict[str, Any]) -> Any:
    """A fresh estimator for a run's model config."""
    from .spec import ModelSpec, make_estimator

    return make_estimator(ModelSpec.model_validate(model_config))


def make_attack(attack_config: dict[str, Any]) -> Any:
    """The attack instance of a run, or None for the attack ``none``."""
    if attack_config["name"] == "none":
        return None
    from ..attacks import ATTACKS

    return ATTACKS.create(attack_config["name"], **attack_config["params"])


def make_detector(defense_config: dict[str, Any], run_seed: int) -> Any:
    """The detector instance of a run (seeded from the run's seed), or None for ``none``."""
    if defense_config["name"] == "none":
        return None
    from ..defenses import DETECTORS

    seed = derive_seed(run_seed, "detector")
    return DETECTORS.create(defense_config["name"], **defense_config["params"], random_state=seed)


# ------------------------------------------------------------------------------ fast path


def fast_path_bytes(n_train: int, n_test: int) -> int:
    """Memory of one shared-kernel context: the Gram matrix, its block cache (bounded to the
    same size) and the test kernel, all float64."""
    return 8 * (2 * n_train * n_train + n_test * n_train)


def default_memory_budget(n_workers: int) -> int:
    """Memory one worker may give to a shared-kernel context: half the machine's RAM, shared
    among the local workers."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        total = 8 * 2**30
    return total // 2 // max(1, n_workers)


def fast_path_eligible(run: RunSpec) -> bool:
    """Whether a run can share a kernel: a label-only attack (or none) and an SVC that
    :class:`SharedKernelSVC` reproduces exactly (the memory check is made per group)."""
    from ..models.shared_kernel import supports

    if run.attack != "none":
        from ..attacks import ATTACKS

        if ATTACKS.get(run.attack).kind != "label":
            return False
    try:
        return supports(make_model(run.config["model"]))
    except (ValueError, TypeError):
        return False


def plan_batches(
    runs: list[RunSpec],
    *,
    n_workers: int = 1,
    fast_path: bool = True,
    memory_budget: int | None = None,
) -> list[Batch]:
    """Group runs into batches: fast-path groups share a kernel; every other run is alone.

    Parameters
    ----------
    runs : list of RunSpec
    n_workers : int, default=1
        Workers the batches are spread over: a fast-path group is cut into ``n_workers``
        chunks (each builds its own kernel), each fitted by ``cpu_count // n_workers`` threads.
    fast_path : bool, default=True
    memory_budget : int, optional
        Bytes a shared-kernel context may use (default: :func:`default_memory_budget`). A group
        over the budget takes the plain path; the results are the same, only slower.
    """
    budget = default_memory_budget(n_workers) if memory_budget is None else memory_budget
    threads = max(1, (os.cpu_count() or 1) // max(1, n_workers))
    groups: dict[str, list[RunSpec]] = {}
    batches: list[Batch] = []
    for run in runs:
        if fast_path and fast_path_eligible(run):
            key = canonical_json([run.config["dataset"], run.config["model"]])
            groups.setdefault(key, []).append(run)
        else:
            batches.append(Batch([run]))
    for group in groups.values():
        split, _ = load_split(group[0].config["dataset"])
        if fast_path_bytes(len(split.y_train), len(split.y_test)) > budget:
            batches.extend(Batch([run]) for run in group)
            continue
        chunks = min(len(group), n_workers)
        size = math.ceil(len(group) / chunks)
        batches.extend(
            Batch(group[i : i + size], True, threads) for i in range(0, len(group), size)
        )
    return batches


# ---------------------------------------------------------------------------- one run


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
        model = make_model(run.config["model"])
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
    from ..defenses import DetectionResult

    if detector.scope == "test":
        detector.fit(X, y)
        X_eval = split.X_test
        if hasattr(attack, "apply_trigger"):
            X_eval = np.concatenate([split.X_test, attack.apply_trigger(split.X_test)])
        scores = detector.score_samples(X_eval)
        flagged, threshold = detector.flag(scores)
        return DetectionResult(scores, flagged, threshold, detector._info()), None, y
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
    metrics = _timed(timings, "metrics", measure, outcome, list(run.config["metrics"]))
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
            context = SharedKernelSVC(make_model(batch.runs[0].config["model"]), split.X_train)
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


# ---------------------------------------------------------------------------- the sweep


@dataclass
class SweepSummary:
    """What a sweep did: runs in the grid, skipped as finished, run ok, failed."""

    total: int
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    seconds: float = 0.0


def pending_runs(runs: list[RunSpec], store: ResultStore, *, force: bool) -> list[RunSpec]:
    """The runs to execute: all with ``force``, else those without an ``ok`` row."""
    if force:
        return list(runs)
    done = store.finished_keys()
    return [r for r in runs if r.key not in done]


def run_sweep(
    runs: list[RunSpec],
    store: ResultStore,
    *,
    n_jobs: int = 1,
    dask: str | None = None,
    dask_local: int | None = None,
    force: bool = False,
    fast_path: bool = True,
    memory_budget: int | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_result: Callable[[RunRecord], None] | None = None,
) -> SweepSummary:
    """Execute the pending runs of a grid and write each to ``store`` as it finishes.

    Parameters
    ----------
    runs : list of RunSpec
        The whole grid (finished runs are skipped unless ``force``).
    store : ResultStore
    n_jobs : int, default=1
        Local worker processes (joblib); 1 runs in this process.
    dask : str, optional
        Address of a running Dask scheduler to send batches to.
    dask_local : int, optional
        Start a local Dask cluster of this many worker processes for the sweep.
    force : bool, default=False
        Rerun finished runs too.
    fast_path : bool, default=True
        Share kernels between label-only SVC runs.
    memory_budget : int, optional
        Bytes one shared kernel may use (see :func:`plan_batches`).
    on_start : callable(total, pending), optional
    on_result : callable(RunRecord), optional
        Called after each run is written.

    Returns
    -------
    SweepSummary
    """
    start = time.perf_counter()
    todo = pending_runs(runs, store, force=force)
    summary = SweepSummary(total=len(runs), skipped=len(runs) - len(todo))
    if on_start is not None:
        on_start(len(runs), len(todo))
    # Workers to spread fast-path groups over (a remote cluster's size is not known before
    # connecting; -j tells it, at least 2).
    on_dask = dask is not None or dask_local is not None
    n_workers = (dask_local or max(2, n_jobs)) if on_dask else max(1, n_jobs)
    batches = plan_batches(
        todo, n_workers=n_workers, fast_path=fast_path, memory_budget=memory_budget
    )

    def write(output: RunOutput) -> None:
        store.write_run(output.record, output.arrays)
        if output.record.status == "ok":
            summary.ok += 1
        else:
            summary.failed += 1
        if on_result is not None:
            on_result(output.record)

    if on_dask:
        outputs = _dask_outputs(batches, address=dask, n_workers=dask_local)
    elif n_workers > 1 and len(batches) > 1:
        outputs = _joblib_outputs(batches, n_workers)
    else:
        outputs = (o for b in batches for o in execute_batch(b))
    for output in outputs:
        write(output)
    summary.seconds = time.perf_counter() - start
    return summary


def _joblib_outputs(batches: list[Batch], n_workers: int) -> Iterator[RunOutput]:
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_workers, return_as="generator_unordered")
    for outputs in parallel(delayed(run_batch)(b) for b in batches):
        yield from outputs


def _dask_outputs(
    batches: list[Batch], *, address: str | None, n_workers: int | None
) -> Iterator[RunOutput]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if address is None:
        # Processes on the loopback interface only: nothing listens beyond this machine.
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
    try:
        with Client(cluster if cluster is not None else address) as client:
            futures = [client.submit(run_batch, b, pure=False) for b in batches]
            for future in as_completed(futures):
                yield from future.result()
    finally:
        if cluster is not None:
            cluster.close()
