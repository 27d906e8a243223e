"""A study end to end: validate a spec, open its store, run the pending part of its grid."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from .._errors import ParameterError
from .backends import check_scheduler
from .checks import check_against_data
from .grid import Grid, expand
from .runner import SweepSummary, run_sweep
from .spec import Spec, load_spec, parse_spec
from .store import STORE_NAME, ResultStore, RunRecord, utc_now


@dataclass(frozen=True)
class Study:
    """A validated spec, its text and its grid (built run by run as it is read).

    ``command`` is what the store's ``meta`` records as its ``source`` (what wrote it)."""

    spec: Spec
    text: str
    runs: Grid
    command: str


def prepare_study(path: str | Path, *, max_runs: int | None = None) -> Study:
    """Validate a spec file completely (structure, registries, data) and expand its grid.

    ``max_runs`` overrides the spec's limit on the grid's size (see ``spec.check_size``).

    Raises
    ------
    SpecError
        Nothing has run or been written.
    """
    spec, text = load_spec(path, max_runs=max_runs)
    return _prepared(spec, text, f"poisonlab run {path}")


def prepare_study_text(text: str, *, command: str) -> Study:
    """:func:`prepare_study` for spec text built by code (a lab), recorded as ``command``."""
    return _prepared(parse_spec(text, source=command), text, command)


def _prepared(spec: Spec, text: str, command: str) -> Study:
    runs = expand(spec)
    check_against_data(spec)
    return Study(spec, text, runs, command)


def default_out(study: Study) -> Path:
    """``results/<study name>`` under the current directory."""
    return Path("results") / study.spec.name


def open_study_store(study: Study, out: Path) -> ResultStore:
    """The store in ``out``, with the study's meta; refuses a directory holding another study."""
    if out.exists() and not out.is_dir():
        raise ParameterError.named("out", f"{str(out)!r} exists and is not a directory.")
    # `out` is a folder whatever its name (`-o run.5` too): a store's path with a suffix alone
    # would be taken for the database file itself, which `results` and `report` then refuse.
    store = ResultStore(out / STORE_NAME)
    meta = store.meta()
    found = meta.get("experiment")
    written_by = _writer(meta.get("source", study.command))
    if found is not None and (found != study.spec.name or written_by != _writer(study.command)):
        store.close()
        ours = _writer(study.command)
        theirs, mine = (f" of `{written_by}`", f" of `{ours}`") if written_by != ours else ("", "")
        raise ParameterError.named(
            "out",
            f"{str(out)!r} holds the study {found!r}{theirs}, not {study.spec.name!r}{mine}; "
            "choose another directory.",
        )
    store.set_meta(
        {
            "experiment": study.spec.name,
            "spec": study.text,
            "source": study.command,
            "created": meta.get("created", utc_now()),
            "package_version": __version__,
        }
    )
    return store


def _writer(command: str) -> str:
    """What kind of command wrote a store: ``poisonlab run`` (any spec file of the study) or
    the lab's own command (``poisonlab lab ml106``), whose stores must not mix."""
    return command if not command.startswith("poisonlab run ") else "poisonlab run"


def run_study(
    study: Study,
    out: Path,
    *,
    n_jobs: int = 1,
    dask: str | None = None,
    dask_local: int | None = None,
    force: bool = False,
    fast_path: bool = True,
    memory_budget: int | None = None,
    dashboard: bool = False,
    on_start: Callable[[int, int], None] | None = None,
    on_result: Callable[[RunRecord], None] | None = None,
) -> SweepSummary:
    """Run a prepared study into ``out`` (see :func:`~poisonlab.experiment.runner.run_sweep`).

    A ``dask`` scheduler is reached first (:func:`~.backends.check_scheduler`): one that cannot
    run the sweep is refused before the store is created."""
    if dask is not None:
        check_scheduler(dask)
    with open_study_store(study, out) as store:
        return run_sweep(
            study.runs,
            store,
            n_jobs=n_jobs,
            dask=dask,
            dask_local=dask_local,
            force=force,
            fast_path=fast_path,
            memory_budget=memory_budget,
            dashboard=dashboard,
            on_start=on_start,
            on_result=on_result,
        )
