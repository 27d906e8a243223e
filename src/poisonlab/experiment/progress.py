"""A rich progress bar for sweeps: done/total, failures, elapsed and ETA."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .store import RunRecord


class SweepProgress:
    """Context manager whose ``start`` and ``update`` plug into :func:`run_sweep`'s callbacks."""

    def __init__(self, console: Console, title: str) -> None:
        self._progress = Progress(
            # The study's name is the user's text: printed as written, never as markup.
            TextColumn("{task.description}", style="bold", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._title = title
        self._task = None
        self.failed = 0

    def __enter__(self) -> SweepProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        # Shown from the sweep's start only: a spec or output error before it prints no bar.
        if self._task is not None:
            self._progress.stop()

    def start(self, total: int, pending: int) -> None:
        """Called once: ``total`` runs in the grid, ``pending`` to execute."""
        self._task = self._progress.add_task(self._title, total=pending, failed=0)
        self._progress.start()

    def update(self, record: RunRecord) -> None:
        """Called after each run is written."""
        if record.status != "ok":
            self.failed += 1
        self._progress.update(self._task, advance=1, failed=self.failed)
