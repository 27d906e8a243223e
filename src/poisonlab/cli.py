"""The ``poisonlab`` command: one typer app, thin over the library.

Commands parse their options, call the library and print. Errors a user can cause
(``ValueError`` from the library, bad options) become one line on stderr and exit
status 2, never a traceback. Heavy modules are imported inside the commands that need them, so
``poisonlab --help`` and the lab start quickly.
"""

from __future__ import annotations

import gc
import sys

# No garbage collection while start-up imports make their objects (typer, rich, pydantic,
# scikit-learn): collections over them free nothing and cost the lab 0.29 s (measured for
# issue 18). Collection resumes once they are imported (_imports_done). Only when this is the
# `poisonlab` command starting: a program importing this module keeps its collector.
if sys.argv[0].endswith(("poisonlab", "__main__.py")):
    gc.disable()

import json
import math
import re
import signal
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperCommand

from ._errors import ParameterError

#: Exit statuses of every command (docs/reliability.md): success, findings (audit) or failed
#: runs (run), a user's error, a bug in poisonlab, an interrupt (128 + SIGINT).
EXIT_OK, EXIT_FINDINGS, EXIT_USER, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# -h as well as --help, on every command (click passes help_option_names on to subcommands).
CONTEXT = {"help_option_names": ["-h", "--help"]}


class PlainHelp(TyperCommand):
    """Help in the form click and argparse users know: ``run [OPTIONS] SPEC``, ``--out DIR``,
    ``--format [table|csv|json]``; typer's own ``{spec}`` and ``<str>`` type labels would read
    as syntax to type."""

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = (param.metavar or param.name or "").upper()
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: typer.Context, formatter: Any) -> None:
        sections: dict[str, list[tuple[str, str]]] = {"Arguments": [], "Options": []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            names, text = record
            if param.param_type_name == "argument":
                sections["Arguments"].append(((param.metavar or param.name or "").upper(), text))
            else:
                sections["Options"].append((_plain_metavar(names, param), text))
        for title, rows in sections.items():
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _plain_metavar(names: str, param: Any) -> str:
    """``--label <str>`` -> ``--label LABEL``; ``--format <a|b>`` -> ``--format [a|b]``."""
    names, _, label = names.partition(" <")
    label = label.rstrip(">")
    if not label or label == "bool":
        return names
    if "|" in label:
        return f"{names} [{label}]"
    return f"{names} {(param.name or '').upper()}"


app = typer.Typer(
    name="poisonlab",
    help="Investigate data poisoning: attacks, defenses, studies and audits.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CONTEXT,
)
datasets_app = typer.Typer(help="Datasets poisonlab can load.", no_args_is_help=True)
lab_app = typer.Typer(help="Reproduce published poisoning labs.", no_args_is_help=True)
attacks_app = typer.Typer(help="Poisoning attacks.", no_args_is_help=True)
defenses_app = typer.Typer(help="Detectors and mitigations.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
app.add_typer(lab_app, name="lab")
app.add_typer(attacks_app, name="attacks")
app.add_typer(defenses_app, name="defenses")

# markup=False: everything printed may hold a user's text (class names, labels, paths), which
# must print as written; a class named "[/bold]" would otherwise crash rich.
console = Console(highlight=False, markup=False)

#: ``--json`` on every command that prints data: one JSON document on stdout, nothing else.
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document instead.")]

#: The libraries whose versions can change poisonlab's numbers, as ``--version`` lists them.
RESULT_LIBRARIES = ("numpy", "scipy", "scikit-learn", "cleanlab", "imbalanced-learn", "pandas")


def _version_text() -> str:
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    lines = [f"poisonlab {installed('poisonlab')}", f"Python {sys.version.split()[0]}"]
    lines += [f"{name} {installed(name)}" for name in RESULT_LIBRARIES]
    return "\n".join(lines) + "\n"


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(_version_text())
        raise typer.Exit(0)


@app.callback()
def _main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print poisonlab's version and those of the libraries that compute its "
            "results, and exit.",
        ),
    ] = False,
) -> None:
    """Investigate data poisoning: attacks, defenses, studies and audits."""


_SIZE_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def _parse_memory(text: str | None, option: str = "--memory") -> int | None:
    """Bytes of a size such as ``16G``, ``512M``, ``1.5G`` or ``1000000`` (powers of 1024; a
    trailing ``B`` or ``iB`` is allowed); None stays None."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    size = None if match is None else float(match[1]) * _SIZE_UNITS[match[2].upper()]
    if size is None or size < 1:
        raise ValueError(
            f"{option}: expected a size of at least 1 byte such as 16G, 512M or 1000000; "
            f"got {text!r}."
        )
    return int(size)


MemoryOption = Annotated[
    str | None,
    typer.Option(
        metavar="SIZE",
        help="Memory one shared kernel may use, e.g. 12G (default: half the machine's RAM, "
        "shared among workers); above it kernel blocks are computed on demand.",
    ),
]


def _parse_int_list(text: str, option: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(
            f"{option}: expected comma-separated whole numbers such as 10,30,100; got {text!r}."
        ) from None


# ---------------------------------------------------------------------------------- datasets


@datasets_app.command("list", cls=PlainHelp)
def datasets_list(as_json: JsonFlag = False) -> None:
    """List the dataset names poisonlab accepts."""
    from ._terminal import Column, print_json, print_table
    from .datasets import DATASETS

    rows = [{"name": name, "description": what} for name, what in DATASETS.describe()]
    if as_json:
        print_json(rows)
        return
    columns = [Column("name", "name"), Column("description", "what", prose=True)]
    print_table(console, columns, rows)


@datasets_app.command("show", cls=PlainHelp)
def datasets_show(
    name: Annotated[str, typer.Argument(help="Dataset name, e.g. mnist or file:data.csv.")],
    label: Annotated[
        str | None, typer.Option(metavar="COLUMN", help="Label column of a file: dataset.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a dataset's shape, dtype, classes with counts, and where it was loaded from."""
    from ._terminal import Column, print_json, print_table
    from .datasets import load

    ds = load(name, label=label)
    counts = [{"class": cls, "count": n} for cls, n in ds.class_counts().items()]
    if as_json:
        print_json(
            {
                "name": ds.name,
                "source": ds.source,
                "n_samples": ds.X.shape[0],
                "n_features": ds.X.shape[1],
                "dtype": str(ds.X.dtype),
                "image_shape": list(ds.image_shape) if ds.image_shape else None,
                "classes": counts,
            }
        )
        return
    console.print(Text.assemble((ds.name, "bold"), f"  source: {ds.source}"), soft_wrap=True)
    console.print(
        f"X: {ds.X.shape[0]} x {ds.X.shape[1]}, dtype {ds.X.dtype}"
        + (f", images {ds.image_shape[0]}x{ds.image_shape[1]}" if ds.image_shape else "")
    )
    columns = [Column("class", "class"), Column("count", "count")]
    print_table(console, columns, counts, title=f"{len(ds.classes)} classes")


# ---------------------------------------------------------------------------------- the lab


@lab_app.command("ml106", cls=PlainHelp)
def lab_ml106(
    ctx: typer.Context,
    poison: Annotated[
        str,
        typer.Option(
            metavar="N,N,...",
            help="Comma-separated numbers of images to poison; the "
            "clean model (0) is always included.",
        ),
    ] = "10,30,100",
    source: Annotated[
        str, typer.Option(metavar="CLASS", help="Class whose first N images are relabelled.")
    ] = "1",
    target: Annotated[
        str, typer.Option(metavar="CLASS", help="Class they are relabelled as.")
    ] = "2",
    train_size: Annotated[int, typer.Option(metavar="N", help="Training rows 0..N-1.")] = 2000,
    test_size: Annotated[int, typer.Option(metavar="N", help="Test rows 60000..60000+N-1.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    out: Annotated[
        Path | None, typer.Option(metavar="DIR", help="Write results.json and CSVs here.")
    ] = None,
    report: Annotated[
        bool, typer.Option(help="With --out, write the HTML report into OUT/report/.")
    ] = True,
    memory: MemoryOption = None,
) -> None:
    """The ML 106 lab: relabel the first N '1's as '2' and watch the SVC's mistakes."""
    from .labs.ahead import start_lab_kernels
    from .models.kernels import discard_ahead

    memory_limit = _parse_memory(memory)
    # The lab's kernels are numpy products: a thread computes them while scikit-learn imports.
    start_lab_kernels(train_size, test_size, memory_limit)
    import sklearn.svm  # noqa: F401 - imported while collection is off (the lab fits SVCs)

    from .labs.ml106 import run_ml106

    _imports_done()

    budgets = _parse_int_list(poison, "--poison")
    try:
        result = run_ml106(
            poison=budgets,
            source=source,
            target=target,
            train_size=train_size,
            test_size=test_size,
            out=out,
            memory=memory_limit,
            rerun=None if out is None else _lab_rerun(ctx, budgets, out),
        )
    finally:
        discard_ahead()
    if out is not None:
        from .labs.output import write_lab_results

        write_lab_results(result, out)
    if as_json:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
        if out is not None and report:
            _write_report_and_say(
                out, Console(stderr=True, markup=False)
            )  # stdout: one JSON object
        return
    from .report.lab_tables import print_lab

    print_lab(result, console)
    if out is not None:
        console.print(f"Results written to {out}/", soft_wrap=True)
        if report:
            _write_report_and_say(out, console)


#: The lab's options that change its results, as the rerun command repeats them.
_LAB_RESULT_OPTIONS = ("poison", "source", "target", "train_size", "test_size")


def _lab_rerun(ctx: typer.Context, budgets: list[int], out: Path) -> str:
    """The command that reruns this lab into ``out`` and so rewrites its report: the options
    that change results which the user gave (``--poison`` as the parsed list), then ``--out``.
    """
    import shlex

    words = ["poisonlab", "lab", "ml106"]
    for name in _LAB_RESULT_OPTIONS:
        source = ctx.get_parameter_source(name)
        if source is None or source.name == "DEFAULT":
            continue
        value = ",".join(map(str, budgets)) if name == "poison" else ctx.params[name]
        words += [_OPTION_NAMES[name], str(value)]
    return shlex.join([*words, "--out", str(out)])


# ---------------------------------------------------------------------- attacks and defenses


#: What every detector's numbers mean, said wherever a detector is shown.
DETECTOR_DIRECTION = (
    "Scores: score_samples is a suspicion, higher = more suspicious (the opposite of "
    "scikit-learn's outlier detectors); fit_predict and predict return -1 for flagged samples "
    "and 1 for the others; decision_function is <= 0 exactly for the flagged ones."
)


def _registry_rows(registry, role: str | None = None) -> list[dict]:
    from ._describe import summary

    return [
        {
            "name": name,
            **({"role": role} if role else {}),
            "kind": getattr(cls, "kind", "") or None,
            "class": cls.__name__,
            "summary": summary(cls),
        }
        for name, cls in registry.items()
    ]


def _registry_columns(with_kind: bool, with_role: bool = False) -> list:
    from ._terminal import Column

    return [
        Column("name", "name"),
        *([Column("role", "role")] if with_role else []),
        *([Column("kind", "kind")] if with_kind else []),
        Column("summary", "what it does", prose=True),
    ]


def _show_class(registry, name: str, as_json: bool, role: str | None = None) -> None:
    from ._describe import as_json as described
    from ._describe import description, parameters
    from ._terminal import print_json, wrapped

    cls = registry.get(name)
    if as_json:
        print_json({**described(cls, name), **({"role": role} if role else {})})
        return
    width = console.width
    kind = f", kind: {cls.kind}" if getattr(cls, "kind", "") else ""
    lines = [f"{name} ({cls.__name__}{kind})", "", wrapped(description(cls), width)]
    if role == "detector":
        lines += ["", wrapped(DETECTOR_DIRECTION, width)]
    if cls.reference:
        lines += ["", wrapped(f"Source: {cls.reference}", width)]
    lines += ["", "Parameters:"]
    for p in parameters(cls):
        lines.append(wrapped(f"{p.name} = {p.default_text}", width, indent="  "))
        if p.description:
            lines.append(wrapped(p.description, width, indent="      "))
        lines.append(wrapped(f"Allowed: {p.allowed}.", width, indent="      "))
    # Plain text, already wrapped at word boundaries: printed as is, markup-free.
    console.file.write("\n".join(lines) + "\n")


@attacks_app.command("list", cls=PlainHelp)
def attacks_list(as_json: JsonFlag = False) -> None:
    """List the registered attacks."""
    from ._terminal import print_json, print_table
    from .attacks import ATTACKS

    rows = _registry_rows(ATTACKS)
    if as_json:
        print_json(rows)
        return
    print_table(console, _registry_columns(with_kind=True), rows)


@attacks_app.command("show", cls=PlainHelp)
def attacks_show(
    name: Annotated[str, typer.Argument(help="Attack name (see: poisonlab attacks list).")],
    as_json: JsonFlag = False,
) -> None:
    """Show an attack's parameters, defaults, kind, description and source."""
    from .attacks import ATTACKS

    _show_class(ATTACKS, name, as_json)


@defenses_app.command("list", cls=PlainHelp)
def defenses_list(as_json: JsonFlag = False) -> None:
    """List the registered detectors and mitigations."""
    from ._terminal import print_json, print_table
    from .defenses import DETECTORS, MITIGATIONS

    detectors, mitigations = _registry_rows(DETECTORS), _registry_rows(MITIGATIONS)
    if as_json:
        print_json({"detectors": detectors, "mitigations": mitigations})
        return
    if not console.is_terminal:  # one TSV for scripts; the role tells the two apart
        rows = _registry_rows(DETECTORS, "detector") + _registry_rows(MITIGATIONS, "mitigation")
        print_table(console, _registry_columns(with_kind=True, with_role=True), rows)
        return
    print_table(console, _registry_columns(with_kind=False), detectors, title="Detectors")
    print_table(console, _registry_columns(with_kind=True), mitigations, title="Mitigations")


@defenses_app.command("show", cls=PlainHelp)
def defenses_show(
    name: Annotated[
        str, typer.Argument(help="Detector or mitigation name (see: poisonlab defenses list).")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Show a detector's or mitigation's parameters, defaults, description and source."""
    from .defenses import DETECTORS, MITIGATIONS

    if name not in DETECTORS and name not in MITIGATIONS:
        raise ValueError(
            f"unknown defense {name!r}; detectors: {', '.join(DETECTORS.names())}; "
            f"mitigations: {', '.join(MITIGATIONS.names())}."
        )
    if name in MITIGATIONS:
        _show_class(MITIGATIONS, name, as_json, role="mitigation")
    else:
        _show_class(DETECTORS, name, as_json, role="detector")


# ------------------------------------------------------------------------ studies (runner)


@contextmanager
def _stops_cleanly():
    """A sweep whose workers died: one line (finished runs are stored), exit status 1."""
    from .experiment.backends import WorkerDied

    try:
        yield
    except WorkerDied as exc:
        sys.stderr.write(f"poisonlab: error: {exc}\n")
        raise typer.Exit(1) from None


@app.command("run", cls=PlainHelp)
def run_command(
    spec: Annotated[Path, typer.Argument(help="Study spec (TOML), e.g. examples/ml106.toml.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "-o", "--out", metavar="DIR", help="Output directory (default: results/STUDY-NAME)."
        ),
    ] = None,
    jobs: Annotated[
        int, typer.Option("-j", "--jobs", metavar="N", help="Local worker processes.")
    ] = 1,
    force: Annotated[bool, typer.Option("--force", help="Rerun finished runs too.")] = False,
    dask: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS", help="Address of a running Dask scheduler to send runs to."
        ),
    ] = None,
    dask_local: Annotated[
        int | None,
        typer.Option(metavar="N", help="Start a local Dask cluster of N worker processes."),
    ] = None,
    fast_path: Annotated[
        bool, typer.Option(help="Share one Gram matrix among label-only SVC runs.")
    ] = True,
    memory: MemoryOption = None,
    dashboard: Annotated[
        bool, typer.Option(help="With --dask-local, open the Dask dashboard (a free port).")
    ] = False,
    report: Annotated[
        bool, typer.Option(help="Write the HTML report into OUT/report/ at the end.")
    ] = True,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="End with the summary as one JSON document on stdout."),
    ] = False,
    max_runs: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Refuse a grid of more than N runs (default: the spec's max_runs, else 100000).",
        ),
    ] = None,
) -> None:
    """Run a study's grid; finished runs are skipped, so an interrupted study resumes."""
    from .experiment.progress import SweepProgress
    from .experiment.spec import SpecError
    from .experiment.study import default_out, prepare_study, run_study

    if jobs < 1:
        raise ValueError(f"--jobs: must be at least 1; got {jobs}.")
    if dask_local is not None and dask_local < 1:
        raise ValueError(f"--dask-local: must be at least 1; got {dask_local}.")
    if dask is not None and dask_local is not None:
        raise ValueError("--dask and --dask-local: give one of them, not both.")
    memory_budget = _parse_memory(memory)
    if dask is not None:
        _check_dask_address(dask)
    if max_runs is not None and max_runs < 1:
        raise ValueError(f"--max-runs: must be at least 1; got {max_runs}.")
    if dask_local is not None or (jobs > 1 and dask is None):  # they import while the spec is read
        from .experiment.backends import start_local_workers

        start_local_workers(dask=dask_local is not None)
    try:
        study = prepare_study(spec, max_runs=max_runs)
    except SpecError as exc:  # every problem, one per line; nothing ran or was written
        for line in exc.errors:
            sys.stderr.write(f"poisonlab: error: {line}\n")
        raise typer.Exit(EXIT_USER) from None
    out = out if out is not None else default_out(study)
    # The bar and messages go to stderr, so stdout holds only the summary (or its JSON).
    messages = Console(stderr=True, highlight=False, markup=False)
    kept = 0

    def stored(record) -> None:
        nonlocal kept
        kept += 1
        progress.update(record)

    try:
        with SweepProgress(messages, study.spec.name) as progress, _stops_cleanly():
            summary = run_study(
                study,
                out,
                n_jobs=jobs,
                dask=dask,
                dask_local=dask_local,
                force=force,
                fast_path=fast_path,
                memory_budget=memory_budget,
                dashboard=dashboard,
                on_start=progress.start,
                on_result=stored,
            )
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: what was kept, and how to go on
        import shlex

        sys.stderr.write(
            f"poisonlab: interrupted; {kept} runs finished in this session are kept in {out}/; "
            f"resume with: {shlex.join(['poisonlab', 'run', str(spec), '-o', str(out)])}\n"
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if as_json:
        from dataclasses import asdict

        from ._terminal import print_json

        print_json({"study": study.spec.name, "out": str(out), **asdict(summary)})
    else:
        console.print(
            f"{summary.total} runs: {summary.ok} ok, {summary.failed} failed, {summary.skipped} "
            f"already finished; {summary.seconds:.1f} s. Results in {out}/",
            soft_wrap=True,
        )
    if summary.failed:
        messages.print(f"See the errors: poisonlab results {out} --status failed", soft_wrap=True)
    if report:
        _write_report_and_say(out, messages if as_json else console)
    if summary.failed:  # a CI job must not read failed runs as success
        raise typer.Exit(EXIT_FINDINGS)


def _check_dask_address(address: str) -> None:
    """Refuse an address that names no scheduler before anything is written."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        parse_host_port(parse_address(address)[1])
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"--dask: {str(exc).rstrip('.')}; give a scheduler's address such as "
            "tcp://127.0.0.1:8786."
        ) from None


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


class RunStatus(StrEnum):
    """A run's status, as :data:`poisonlab.experiment.store.STATUSES` lists them."""

    ok = "ok"
    failed = "failed"


class ResultsFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command("results", cls=PlainHelp)
def results_command(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A study's output directory.")],
    where: Annotated[
        list[str] | None,
        typer.Option(
            metavar="COLUMN=VALUE",
            help="Keep runs with COLUMN=VALUE (repeatable), e.g. attack=label_flip.",
        ),
    ] = None,
    status: Annotated[RunStatus | None, typer.Option(help="Keep runs with this status.")] = None,
    fmt: Annotated[
        ResultsFormat,
        typer.Option(
            "--format",
            help="table: a table on a terminal, tab-separated values in a pipe; csv: every "
            "column; json: the full records.",
        ),
    ] = ResultsFormat.table,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the full records as JSON (= --format json).")
    ] = False,
    include_stale: Annotated[
        bool, typer.Option("--include-stale", help="Also list rows computed by other code.")
    ] = False,
) -> None:
    """List a study's runs, filtered; export them as CSV or JSON."""
    from .experiment.export import flat_row, parse_filters, select_runs, to_csv, to_json
    from .experiment.store import ResultStore

    filters = parse_filters(where or [])
    if status is not None:
        filters["status"] = status.value
    with ResultStore(directory, create=False) as store:
        records = select_runs(store, filters, include_stale=include_stale)
        experiment = store.meta().get("experiment", "?")
        stale = 0 if include_stale else store.count_stale()
    if stale:  # on stderr, so every format's stdout stays parseable
        Console(stderr=True, markup=False).print(
            f"{stale} stale rows (computed by other code) not listed; --include-stale lists them."
        )
    if as_json or fmt is ResultsFormat.json:
        sys.stdout.write(to_json(records))
        return
    if fmt is ResultsFormat.csv:
        sys.stdout.write(to_csv(records))
        return
    from ._terminal import print_table

    print_table(
        console,
        _results_columns(several_datasets=len({r.dataset for r in records}) > 1),
        [flat_row(r) for r in records],
        title=f"{experiment}: {len(records)} runs",
    )
    if not console.is_terminal:  # TSV: the error column says why a run failed
        return
    failed = [r for r in records if r.status == "failed"]
    for record in failed[:10]:
        console.print(
            Text.assemble(("failed", "red"), f" {record.run_id}: {record.error}"), soft_wrap=True
        )
    if len(failed) > 10:
        console.print(f"... and {len(failed) - 10} more failed runs (--format csv lists all).")


def _results_columns(several_datasets: bool) -> list:
    """The columns of ``results``; on a narrow terminal the higher ``drop`` go first."""
    from ._terminal import Column

    return [
        *([Column("dataset", "dataset", drop=2)] if several_datasets else []),
        Column("model", "model"),
        Column("attack", "attack"),
        Column("defense", "defense"),
        Column("seed", "seed", drop=3),
        Column("budget", "budget"),
        Column("status", "status", drop=4),
        Column("accuracy", "accuracy"),
        Column("success_rate", "success"),
        Column("detection_f1", "det. F1", drop=1),
        Column("total_seconds", "s", drop=5),
        *([Column("error", "error")] if not console.is_terminal else []),
    ]


# --------------------------------------------------------------------------------- reports


@app.command("report", cls=PlainHelp)
def report_command(
    directory: Annotated[Path, typer.Argument(help="A study's output directory.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="[html|png|svg|pdf|md]",
            help="html: one self-contained index.html; png, svg or pdf: one file per figure; "
            "md: report.md with PNG figures.",
        ),
    ] = "html",
    where: Annotated[
        list[str] | None,
        typer.Option(
            help="Only runs with FIELD=VALUE (dataset, model, attack, defense, seed, budget); "
            "repeat it: values of one field are alternatives, fields must all match."
        ),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            help="A metric to plot (repeat it), e.g. accuracy or detection_recall; an unknown "
            "name lists the known ones. Default: accuracy, success rate, detector F1 and ROC-AUC."
        ),
    ] = None,
    facet: Annotated[
        list[str] | None,
        typer.Option(help="A field to cut panels by (repeat it). Default: attack and model."),
    ] = None,
    budgets: Annotated[
        str | None,
        typer.Option(
            help="Budgets the per-class and detector figures show, e.g. 10,30 or 0.05,0.1."
        ),
    ] = None,
    roc_budget: Annotated[
        float | None,
        typer.Option(help="The budget of the detector curves and confusion matrices."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="Write here instead of DIR/report/.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="Do not print the tables or progress.")
    ] = False,
    include_stale: Annotated[
        bool, typer.Option("--include-stale", help="Also report rows computed by other code.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the tables and the files written as one JSON document."),
    ] = False,
) -> None:
    """Plots, tables and an HTML page of a stored study, written into DIR/report/."""
    from .report.build import ReportOptions, check_format, print_report, write_report
    from .report.study import parse_where

    check_format(fmt)
    options = ReportOptions(
        where=parse_where(where or []),
        metrics=metric,
        facets=facet,
        budgets=None if budgets is None else _parse_number_list(budgets, "--budgets"),
        roc_budget=roc_budget,
    )
    errors = Console(stderr=True, highlight=False)
    progress = None if quiet else lambda message: errors.print(f"report: {message}", style="dim")
    report, paths = write_report(
        directory, fmt, options=options, out=out, progress=progress, include_stale=include_stale
    )
    if as_json:
        from ._terminal import print_json
        from .report.build import tables_json

        print_json({"tables": tables_json(report), "written": [str(p) for p in paths]})
        return
    if not quiet:
        print_report(report, console)
    _say_written(paths)


def _parse_number_list(text: str, option: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or any(v < 0 or v != v for v in values):
        raise ValueError(
            f"{option}: expected comma-separated budgets such as 10,30 or 0.05,0.1; got {text!r}."
        )
    return values


def _say_written(paths: list[Path], console: Console = console) -> None:
    # soft_wrap: a path is printed whole on one line, whatever the terminal's width.
    if len(paths) == 1:
        console.print(f"Report written to {paths[0]}", soft_wrap=True)
    elif paths:
        console.print(f"Report written to {paths[0].parent}/ ({len(paths)} files)", soft_wrap=True)
    else:
        console.print("The study has nothing to plot; no report files written.")


def _write_report_and_say(out: Path, where: Console) -> None:
    """The HTML report at the end of a study (``--no-report`` skips it); says where it is."""
    from .report.build import write_report

    _, paths = write_report(out, "html")
    _say_written(paths, where)


# -------------------------------------------------------------------------------- reproduce


@app.command("reproduce", cls=PlainHelp)
def reproduce_command(
    name: Annotated[
        str | None,
        typer.Argument(metavar="NAME", help="An entry (see: poisonlab reproduce list), or list."),
    ] = None,
    run_all: Annotated[
        bool, typer.Option("--all", help="Every entry; pending ones say why.")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="The study's directory (with --all: one per entry under DIR); default: "
            "results/reproduce/NAME.",
        ),
    ] = None,
    as_json: JsonFlag = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the Markdown of docs/reproductions.md.")
    ] = False,
    report: Annotated[
        bool, typer.Option(help="Write each study's HTML report into its DIR/report/.")
    ] = True,
) -> None:
    """Run published results as studies and check poisonlab's figures against them; exit 1
    when a run entry fails."""
    from .reproduce import FAIL, REPRODUCTIONS
    from .reproduce import output as show

    if as_json and markdown:
        raise ValueError("--json and --markdown: give one of them, not both.")
    if (name is None) == (not run_all):
        raise ValueError(
            "NAME: give an entry's name, list, or --all (not both); known: "
            f"{', '.join(REPRODUCTIONS.names())}."
        )
    if name == "list":
        entries = [entry for _, entry in REPRODUCTIONS.items()]
        if as_json:
            from ._terminal import print_json

            print_json(show.list_rows(entries))
        elif markdown:
            sys.stdout.write(show.markdown_list(entries))
        else:
            from ._terminal import Column, print_table

            columns = [Column("name", "name"), Column("status", "status"), Column("title", "what")]
            print_table(console, columns, show.list_rows(entries), title="Reproductions")
        return
    entries = (
        [entry for _, entry in REPRODUCTIONS.items()] if run_all else [REPRODUCTIONS.get(name)]
    )
    messages = Console(stderr=True, highlight=False, markup=False)
    where = messages if as_json or markdown else console
    results = []
    for entry in entries:
        if run_all:
            study_out = (out or Path("results/reproduce")) / entry.name
        else:
            study_out = out if out is not None else Path("results/reproduce") / entry.name
        results.append(_reproduce_one(entry, study_out, messages, where if report else None))
    if as_json:
        from ._terminal import print_json

        print_json({"entries": [r.to_json() for r in results]})
    elif markdown:
        sys.stdout.write("".join(show.markdown_result(r) for r in results))
    else:
        for result in results:
            show.print_result(result, console)
    if any(r.status == FAIL for r in results):
        raise typer.Exit(1)


def _reproduce_one(entry, out: Path, messages: Console, where: Console | None):
    """Run one entry's study with a progress bar on stderr, then (unless ``where`` is None)
    write its HTML report and say so on ``where``."""
    from .experiment.progress import SweepProgress
    from .reproduce import reproduce

    if entry.pending:
        return reproduce(entry, out)
    if entry.measure is not None:  # computed outside the study runner: no store, no report
        messages.print(f"{entry.name}: computing (outside the study runner) ...")
        return reproduce(entry, out)
    with SweepProgress(messages, entry.name) as progress:
        result = reproduce(entry, out, on_start=progress.start, on_result=progress.update)
    if where is not None:
        _write_report_and_say(out, where)
    return result


# ------------------------------------------------------------------------------------ audit


_COLUMNS = "Column names, comma-separated (repeatable)."


#: The zoo's model names (``poisonlab.models.zoo.MODELS``, which imports scikit-learn: kept
#: out of the CLI's start-up; tests/test_audit.py checks the two agree).
AUDIT_MODELS = "[svc|linear_svc|logreg|knn|random_forest|mlp]"


@app.command("audit", cls=PlainHelp)
def audit(
    data: Annotated[
        str,
        typer.Argument(
            metavar="DATA", help="A .csv, .parquet or .npz file, or mnist, digits, openml:NAME."
        ),
    ],
    label: Annotated[
        str | None,
        typer.Option(metavar="COLUMN", help="Label column (default: label, y, target or class)."),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            metavar="FILE", help="Trusted data with the same columns, to compare against."
        ),
    ] = None,
    expect: Annotated[
        str | None,
        typer.Option(
            metavar="CLASS=SHARE,...",
            help="Expected label shares, e.g. 'a=0.6,b=0.4': the label test gates.",
        ),
    ] = None,
    pred_probs: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Out-of-fold probabilities from your model (columns named by class).",
        ),
    ] = None,
    features: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE", help="Your embeddings, one row per data row (.npz 'features')."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(metavar=AUDIT_MODELS, help="Model for 5-fold out-of-fold probabilities."),
    ] = None,
    categorical: Annotated[list[str] | None, typer.Option(metavar="COLS", help=_COLUMNS)] = None,
    text: Annotated[list[str] | None, typer.Option(metavar="COLS", help=_COLUMNS)] = None,
    ignore: Annotated[list[str] | None, typer.Option(metavar="COLS", help=_COLUMNS)] = None,
    id_column: Annotated[
        list[str] | None,
        typer.Option("--id", metavar="COLS", help="Row-id column: reported, never a feature."),
    ] = None,
    out: Annotated[
        Path, typer.Option(metavar="DIR", help="Directory for suspicious.csv and the report.")
    ] = Path("audit"),
    alpha: Annotated[
        float, typer.Option(metavar="RATE", help="False-alarm rate of the gate on clean data.")
    ] = 0.01,
    fail_on: Annotated[
        float | None,
        typer.Option(min=0.0, metavar="SCORE", help="Also fail when a row scores above this."),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            metavar="SUMMARY.json", help="An accepted audit's summary.json: fail on new findings."
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
    junit: Annotated[
        Path | None,
        typer.Option(dir_okay=False, metavar="FILE", help="Write JUnit XML here (a file)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print nothing but errors.")] = False,
    write_clean: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False, metavar="FILE", help="Write a sanitized copy of the data here (a file)."
        ),
    ] = None,
    clean_action: Annotated[
        str,
        typer.Option(
            metavar="[drop|relabel]", help="drop or relabel the flagged rows in --write-clean."
        ),
    ] = "drop",
    seed: Annotated[
        int,
        typer.Option(min=0, max=2**32 - 1, metavar="N", help="Seed for the checks' randomness."),
    ] = 0,
    top: Annotated[int, typer.Option(min=0, metavar="N", help="Rows shown in the terminal.")] = 10,
) -> None:
    """Scan a training set for signs of poisoning; exit 1 when a poisoning pattern is found.

    Exit status: 0 passed, 1 findings, 2 user error, 3 internal error (a bug).
    """
    from .audit import cli_support as support

    if fail_on is not None and not math.isfinite(fail_on):  # before anything is written
        raise ValueError(f"--fail-on: must be a finite score >= 0; got {fail_on}.")
    code = support.audit_command(
        data,
        label=label,
        roles=support.role_overrides(
            categorical=support.parse_columns(categorical),
            text=support.parse_columns(text),
            ignore=support.parse_columns(ignore),
            id=support.parse_columns(id_column),
        ),
        reference=reference,
        expect=expect,
        pred_probs=pred_probs,
        features=features,
        model=model,
        out=out,
        alpha=alpha,
        fail_on=fail_on,
        baseline=baseline,
        json_output=json_output,
        junit=junit,
        quiet=quiet,
        write_clean=write_clean,
        clean_action=clean_action,
        seed=seed,
        top=top,
        command=" ".join(["poisonlab", *sys.argv[1:]]),
        console=console,
    )
    if code:
        raise typer.Exit(code)


# ---------------------------------------------------------------------------------- certify


def _parse_rows(text: str | None, option: str) -> tuple[int, int] | None:
    """``"A:B"`` as the half-open row range ``(A, B)``; None stays None."""
    if text is None:
        return None
    start, sep, stop = text.partition(":")
    try:
        if not sep:
            raise ValueError
        rows = int(start), int(stop)
    except ValueError:
        raise ValueError(
            f"{option}: expected a row range START:STOP such as 0:60000; got {text!r}."
        ) from None
    if not 0 <= rows[0] < rows[1]:
        raise ValueError(f"{option}: expected 0 <= START < STOP; got {text!r}.")
    return rows


def _parse_params(pairs: list[str], option: str = "--param") -> dict:
    """``NAME=VALUE`` pairs; a VALUE that is JSON (a number, null, a list, ...) is decoded."""
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{option}: expected NAME=VALUE such as n_neighbors=5; got {pair!r}.")
        try:
            params[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[name.strip()] = value
    return params


def _certificates_table():
    from rich.table import Table

    from .certify import CERTIFICATES

    table = Table("name", "threat model (one unit of radius)", "reference")
    for name, cls in CERTIFICATES.items():
        table.add_row(name, cls.threat_model, cls.reference.split(" '")[0].rstrip(","))
    return table


@app.command("certify", cls=PlainHelp)
def certify_command(
    dataset: Annotated[
        str, typer.Argument(help="mnist, digits, openml:NAME, file:PATH; or 'list'.")
    ],
    method: Annotated[
        str | None, typer.Option(help="Certificate; `poisonlab certify list` names them.")
    ] = None,
    partitions: Annotated[
        int | None, typer.Option(help="Partitions k (dpa, finite_aggregation).")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Base model from the zoo: svc, knn, logreg, ...")
    ] = None,
    model_param: Annotated[
        list[str] | None,
        typer.Option(help="A parameter of --model, NAME=VALUE (repeatable), e.g. n_neighbors=1."),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(
            help="Fixed feature map: pixels, unit_pixels, deskew, hog, deskew_hog, deskew_hog7."
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(help="Another certificate parameter, NAME=VALUE (repeatable)."),
    ] = None,
    train_rows: Annotated[
        str | None, typer.Option(help="Training rows START:STOP (mnist: 0:60000).")
    ] = None,
    test_rows: Annotated[
        str | None, typer.Option(help="Test rows START:STOP (mnist: 60000:61000).")
    ] = None,
    classes: Annotated[
        str | None, typer.Option(help="Keep only these classes' rows, e.g. 1,7.")
    ] = None,
    label: Annotated[str | None, typer.Option(help="Label column of a file: dataset.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Write certification.json and radii.csv here.")
    ] = None,
) -> None:
    """Certified robustness to poisoning: `certify list`, or `certify DATASET --method NAME`."""
    from .certify import CERTIFICATES

    if dataset == "list":
        console.print(_certificates_table())
        return
    if method is None:
        raise ValueError(f"--method: required; one of {', '.join(CERTIFICATES.names())}.")
    cls = CERTIFICATES.get(method)
    params = _parse_params(param or [])
    accepted = cls().get_params(deep=False)
    for option, key, value in (
        ("--partitions", "n_partitions", partitions),
        ("--model", "estimator", model),
        ("--features", "features", features),
    ):
        if value is None:
            continue
        if key not in accepted:
            raise ValueError(f"{option}: certificate {method!r} takes no {key!r}.")
        params[key] = value
    if model is not None:
        from .models.zoo import make_model

        params["estimator"] = make_model(model, **_parse_params(model_param or [], "--model-param"))
    elif model_param:
        raise ValueError("--model-param: needs --model.")
    train, test = _parse_rows(train_rows, "--train-rows"), _parse_rows(test_rows, "--test-rows")
    from .certify.run import certify_dataset, radii_to_show, to_json, write_certification

    keep = [c.strip() for c in classes.split(",") if c.strip()] if classes else None
    result, setup = certify_dataset(dataset, method, params, train, test, label, keep)
    written = write_certification(result, setup, out) if out else []
    if as_json:
        sys.stdout.write(json.dumps(to_json(result, setup)) + "\n")
        return
    from rich.table import Table

    console.print(
        Text.assemble(
            (method, "bold"),
            f" on {dataset} rows {setup['train_rows']} -> {setup['test_rows']}: clean accuracy "
            f"{result.clean_accuracy:.4f}, median radius {result.median_radius}, "
            f"{result.seconds:.1f} s",
        ),
        soft_wrap=True,
    )
    console.print(f"one unit of radius: {setup['threat_model']}")
    if "bounds" in result.info:  # a dataset-level loss bound, not per-input radii
        table = Table("poison fraction", "upper bound on hinge loss", "candidate attack points")
        for row in result.info["bounds"]:
            table.add_row(f"{row['epsilon']:g}", f"{row['upper_bound']:.4f}", str(row["n_poison"]))
        console.print(table)
        return
    shown = radii_to_show(result)
    table = Table("radius", "certified accuracy", "certified")
    for row in result.certified_accuracy(shown):
        table.add_row(str(row["radius"]), f"{row['accuracy']:.4f}", str(row["n_certified"]))
    console.print(table)
    if len(shown) < int(result.radius.max(initial=-1)) + 2:
        console.print(f"{len(shown)} radii shown; --json or --out lists every radius.")
    if written:
        console.print(f"Results written to {out}/", soft_wrap=True)


# ------------------------------------------------------------------------------- entry point


def _fail(message: str, code: int = 2) -> None:
    sys.stderr.write(f"poisonlab: error: {' '.join(str(message).split())}\n")
    sys.exit(code)


# typer may bundle its own click; take click's exception classes from typer's, whichever it is.
_CLICK_BASES = {c.__name__: c for c in typer.BadParameter.__mro__}
_ClickException, _UsageError = _CLICK_BASES["ClickException"], _CLICK_BASES["UsageError"]


#: The library's parameter names that the CLI spells otherwise (options and arguments): the one
#: place a library parameter becomes an option name. A ``ParameterError.named(param, ...)``
#: from the library is printed as ``OPTION: ...`` (``main``).
_OPTION_NAMES = {
    "out": "--out",
    "dask": "--dask",
    "where": "--where",
    "format": "--format",
    "spec": "SPEC",
    "metric": "--metric",
    "facet": "--facet",
    "budgets": "--budgets",
    "roc_budget": "--roc-budget",
    "poison": "--poison",
    "source": "--source",
    "target": "--target",
    "train_size": "--train-size",
    "test_size": "--test-size",
}


_INVALID = re.compile(r"Invalid value for '(--?[\w-]+)[^']*': (?:Value error, )?(.*)", re.DOTALL)


def _option_message(message: str, argv: list[str]) -> str:
    """``Invalid value for '--top': Input should be ...`` -> ``--top: Input should be ...; got
    '-1'.``: the option as the user typed it, first, as in the library's own messages."""
    match = _INVALID.fullmatch(message)
    if not match:
        return message
    option, reason = match.groups()
    values = [a.split("=", 1)[1] for a in argv if a.startswith(f"{option}=")]
    values += [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == option]
    got = f"; got {values[-1]!r}" if values and repr(values[-1]) not in reason else ""
    return f"{option}: {reason.rstrip('.')}{got}."


def _os_error_message(exc: OSError) -> str:
    """``cannot write '/x/y': No space left on device.``: the path and the cause, one line."""
    cause = exc.strerror or str(exc) or type(exc).__name__
    path = exc.filename if exc.filename is not None else getattr(exc, "path", None)
    return f"{str(path)!r}: {cause}." if path is not None else f"{cause}."


def _report_bug(exc: BaseException) -> None:
    """One line saying it is a bug and where the whole traceback went; exit status 3."""
    import tempfile
    import traceback

    text = "".join(traceback.format_exception(exc))
    try:
        from platformdirs import user_log_dir

        folder = Path(user_log_dir("poisonlab"))
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="crash-", suffix=".txt", dir=folder)
    except OSError:  # no writable log folder: the system's temporary folder
        handle, name = tempfile.mkstemp(prefix="poisonlab-crash-", suffix=".txt")
    with open(handle, "w") as file:
        file.write(f"poisonlab {' '.join(sys.argv[1:])}\n\n{text}")
    summary = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    sys.stderr.write(
        f"poisonlab: internal error (a bug in poisonlab, please report it): {summary}; "
        f"traceback written to {name}\n"
    )
    sys.exit(EXIT_BUG)


def _commands_of(exc: Exception) -> str:
    """``; commands: ml106`` after click's "No such command 'ml999'.": what there is."""
    ctx = getattr(exc, "ctx", None)
    if ctx is None or not exc.format_message().startswith("No such command"):
        return ""
    names = ctx.command.list_commands(ctx)
    return f" Commands of {ctx.command_path}: {', '.join(names)}." if names else ""


def _imports_done() -> None:
    """Resume garbage collection, leaving the objects made so far (modules, mostly) out of it."""
    gc.freeze()
    gc.enable()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, turning every error into one line and the exit
    status of docs/reliability.md (2 for a user's error, 3 for a bug, 130 for an interrupt)."""
    if (sys.argv[1:] if argv is None else argv)[:1] != ["lab"]:
        _imports_done()  # other commands import as they go: collect from here on
    # `kill PID` stops any command as Ctrl-C does (a sweep keeps its finished runs), with one
    # line and status 130.
    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        code = app(args=argv, prog_name="poisonlab", standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted.", EXIT_INTERRUPTED)
    except _ClickException as exc:  # bad options or arguments: click's own message
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare group: show its help
            sys.stdout.write(exc.ctx.get_help() + "\n")
            sys.exit(0)
        message = _option_message(exc.format_message(), sys.argv[1:] if argv is None else argv)
        message += _commands_of(exc)
        _fail(message, EXIT_USER if isinstance(exc, _UsageError) else exc.exit_code)
    except ParameterError as exc:  # named by the library's parameter: say the CLI's name
        option = _OPTION_NAMES.get(exc.path[0]) if exc.detail is not None else None
        _fail(f"{option}: {exc.detail}" if option else str(exc))
    except ValueError as exc:  # errors a user can cause, raised by the library
        _fail(str(exc))
    except OSError as exc:  # a path that cannot be read or written, a full disk
        _fail(_os_error_message(exc))
    except MemoryError:
        _fail("out of memory; make the study or the data smaller.")
    except Exception as exc:
        _report_bug(exc)
    finally:
        signal.signal(signal.SIGTERM, previous)
    # Exit without a last cyclic garbage collection over the ~1,400 modules scikit-learn
    # imports (0.2 s per command); every file we write is closed before this point.
    gc.freeze()
    sys.exit(code if isinstance(code, int) else 0)
