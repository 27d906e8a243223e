"""The runner's threads and processes: one BLAS limit for runs and Gram builds, quiet Dask nodes."""

import sys
import threading
import time
import types

import pytest
from threadpoolctl import threadpool_info

from poisonlab import _threadpools
from poisonlab._threadpools import thread_limits
from poisonlab.experiment import execute
from poisonlab.experiment.execute import fixed_threads


def blas_threads() -> list[int]:
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_a_gram_build_waits_for_running_runs_and_runs_wait_for_it():
    events = []
    run_started, build_waiting = threading.Event(), threading.Event()

    def run():
        with fixed_threads():
            events.append(("run", execute._blas_count))
            run_started.set()
            build_waiting.wait(5)
            time.sleep(0.2)  # the build must not start while this run computes
            events.append(("run done", execute._blas_count))

    def build():
        run_started.wait(5)
        build_waiting.set()
        with fixed_threads(blas=2):
            events.append(("build", execute._blas_count))

    threads = [threading.Thread(target=run), threading.Thread(target=build)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    # The count each holder asked for and got the limit with (whether OpenBLAS applies a count
    # set from a thread other than the first to set one is OpenBLAS's: execute_batch sets the
    # runs' limit in the thread that built the Gram matrix).
    assert events == [("run", 1), ("run done", 1), ("build", 2)]


def test_same_counts_share_the_limit_and_the_last_restores_it():
    before = blas_threads()
    with fixed_threads(), fixed_threads():
        assert all(count == 1 for count in blas_threads())
    assert blas_threads() == before


@pytest.mark.slow
def test_a_local_dask_cluster_serves_no_http():
    # distributed starts an HTTP server on every node, dashboard or not; ours start none.
    from distributed import Client

    from poisonlab.experiment.backends import _local_cluster

    cluster = _local_cluster(1, dashboard=False)
    try:
        assert not hasattr(cluster.scheduler, "http_server")
        with Client(cluster) as client:
            served = client.run(lambda dask_worker: hasattr(dask_worker, "http_server"))
            assert list(served.values()) == [False]
            assert client.submit(sum, [1, 2], pure=False).result() == 3
    finally:
        cluster.close()


def test_thread_limits_set_and_restore_as_threadpool_limits_does_with_one_kept_controller():
    def openmp_threads() -> list[int]:
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"]

    before = openmp_threads()
    with thread_limits(1, "openmp"):
        assert set(openmp_threads()) <= {1}
    assert openmp_threads() == before
    kept = _threadpools.controller()
    assert _threadpools.controller() is kept  # no library scan per call
    sys.modules["_poisonlab_new_import"] = types.ModuleType("_poisonlab_new_import")
    try:  # any new import may load a BLAS or OpenMP library: scan again
        assert _threadpools.controller() is not kept
    finally:
        del sys.modules["_poisonlab_new_import"]
