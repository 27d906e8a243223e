"""`run --dask ADDRESS` reaches the scheduler before anything is written: an address where no
scheduler answers, a server that is not one, or a scheduler without workers is one line naming
--dask, exit status 2, and no output directory."""

from __future__ import annotations

import socket

import dask
import distributed  # noqa: F401 - its config defaults must exist before dask.config.set
import pytest

from .test_error_paths import one_error_line, small_spec
from .test_hostile_input import run_cli

# Each connection attempt gives up after this long (the default is 30 s).
QUICK = {"distributed.comm.timeouts.connect": "2s"}


def _refused_with(tmp_path, address: str, *fragments: str) -> None:
    out = tmp_path / "out"
    spec = str(small_spec(tmp_path))
    with dask.config.set(QUICK):
        code, _, stderr = run_cli("run", spec, "-o", str(out), "--dask", address)
    one_error_line(code, stderr, "--dask: cannot use the Dask scheduler at", address, *fragments)
    assert not out.exists()


def test_an_address_where_nothing_listens_writes_nothing(tmp_path):
    with socket.socket() as probe:  # a free port, closed again: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _refused_with(tmp_path, f"tcp://127.0.0.1:{port}")


@pytest.mark.slow
def test_a_server_that_never_answers_writes_nothing(tmp_path):
    with socket.socket() as server:  # accepts connections (the kernel does) and says nothing
        server.bind(("127.0.0.1", 0))
        server.listen()
        _refused_with(tmp_path, f"tcp://127.0.0.1:{server.getsockname()[1]}", "no answer")


@pytest.mark.slow
def test_a_scheduler_without_workers_writes_nothing(tmp_path):
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        _refused_with(tmp_path, cluster.scheduler_address, "has no worker")


@pytest.mark.slow
def test_a_scheduler_with_a_worker_is_accepted():
    from distributed import LocalCluster

    from poisonlab.experiment.backends import check_scheduler

    with (
        dask.config.set(QUICK),
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=False,
            protocol="tcp://",
            host="127.0.0.1",
            dashboard_address=":0",
        ) as cluster,
    ):
        check_scheduler(cluster.scheduler_address)  # no error
