"""Dask scheduler and worker without an HTTP server, for ``--dask-local`` without a dashboard.

distributed starts an HTTP server on every scheduler and worker, whatever its options (the
dashboard and the routes can be switched off, the server cannot), so each binds a port on
127.0.0.1 that serves nothing. These subclasses start none; imported only when such a cluster
is made, by name in the worker processes.
"""

from __future__ import annotations

from distributed import Scheduler, Worker


class _NoHTTP:
    """Skips :meth:`distributed.node.ServerNode.start_http_server`; nothing else reads it
    while no dashboard is asked for."""

    def start_http_server(self, *args, **kwargs) -> None:
        return None


class QuietScheduler(_NoHTTP, Scheduler):
    """A :class:`distributed.Scheduler` that listens only on its TCP address."""


class QuietWorker(_NoHTTP, Worker):
    """A :class:`distributed.Worker` that listens only on its TCP address."""
