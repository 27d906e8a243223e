"""The ``poisonlab`` command: one typer app, thin over the library.

Commands parse their options, call the library and print. Errors a user can cause
(``ValueError``/``TypeError`` from the library, bad options) become one line on stderr and exit
status 2, never a traceback. Heavy modules are imported inside the commands that need them, so
``poisonlab --help`` and the lab start quickly.
"""

from __future__ import annotations

import gc
import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="poisonlab",
    help="Investigate data poisoning: attacks, defenses, studies and audits.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
datasets_app = typer.Typer(help="Datasets poisonlab can load.", no_args_is_help=True)
lab_app = typer.Typer(help="Reproduce published poisoning labs.", no_args_is_help=True)
attacks_app = typer.Typer(help="Poisoning attacks.", no_args_is_help=True)
defenses_app = typer.Typer(help="Detectors and mitigations.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
app.add_typer(lab_app, name="lab")
app.add_typer(attacks_app, name="attacks")
app.add_typer(defenses_app, name="defenses")

console = Console(highlight=False)


def _parse_int_list(text: str, option: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(
            f"{option}: expected comma-separated whole numbers such as 10,30,100; got {text!r}."
        ) from None


# ---------------------------------------------------------------------------------- datasets


@datasets_app.command("list")
def datasets_list() -> None:
    """List the dataset names poisonlab accepts."""
    from .datasets import CATALOG

    table = Table("name", "what")
    for name, what in CATALOG.items():
        table.add_row(name, what)
    console.print(table)


@datasets_app.command("show")
def datasets_show(
    name: Annotated[str, typer.Argument(help="Dataset name, e.g. mnist or file:data.csv.")],
    label: Annotated[str | None, typer.Option(help="Label column of a file: dataset.")] = None,
) -> None:
    """Show a dataset's shape, dtype, classes with counts, and where it was loaded from."""
    from .datasets import load

    ds = load(name, label=label)
    console.print(f"[bold]{ds.name}[/bold]  source: {ds.source}")
    console.print(
        f"X: {ds.X.shape[0]} x {ds.X.shape[1]}, dtype {ds.X.dtype}"
        + (f", images {ds.image_shape[0]}x{ds.image_shape[1]}" if ds.image_shape else "")
    )
    table = Table("class", "count", title=f"{len(ds.classes)} classes")
    for cls, count in ds.class_counts().items():
        table.add_row(cls, str(count))
    console.print(table)


# ---------------------------------------------------------------------------------- the lab


@lab_app.command("ml106")
def lab_ml106(
    poison: Annotated[
        str,
        typer.Option(
            help="Comma-separated numbers of images to poison; the "
            "clean model (0) is always included."
        ),
    ] = "10,30,100",
    source: Annotated[str, typer.Option(help="Class whose first N images are relabelled.")] = "1",
    target: Annotated[str, typer.Option(help="Class they are relabelled as.")] = "2",
    train_size: Annotated[int, typer.Option(help="Training rows 0..train_size-1.")] = 2000,
    test_size: Annotated[int, typer.Option(help="Test rows 60000..60000+test_size-1.")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write results.json and CSVs here.")] = None,
    report: Annotated[
        bool, typer.Option(help="With --out, write the HTML report into OUT/report/.")
    ] = True,
) -> None:
    """The ML 106 lab: relabel the first N '1's as '2' and watch the SVC's mistakes."""
    from .labs.ml106 import run_ml106

    result = run_ml106(
        poison=_parse_int_list(poison, "--poison"),
        source=source,
        target=target,
        train_size=train_size,
        test_size=test_size,
    )
    if out is not None:
        from .labs.output import write_lab_results

        write_lab_results(result, out)
    if as_json:
        sys.stdout.write(json.dumps(result.to_json()) + "\n")
        if out is not None and report:
            _write_report_and_say(out, Console(stderr=True))  # stdout stays one JSON object
        return
    from .report.lab_tables import print_lab

    print_lab(result, console)
    if out is not None:
        console.print(f"Results written to {out}/")
        if report:
            _write_report_and_say(out, console)


# ---------------------------------------------------------------------- attacks and defenses


def _registry_table(registry, kind_attr: str | None) -> Table:
    from ._describe import summary

    table = Table("name", *(["kind"] if kind_attr else []), "what it does")
    for name, cls in registry.items():
        table.add_row(name, *([getattr(cls, kind_attr)] if kind_attr else []), summary(cls))
    return table


def _show_class(registry, name: str) -> None:
    from ._describe import description, parameters

    cls = registry.get(name)
    console.print(
        f"[bold]{name}[/bold] ({cls.__name__})"
        + (f"  kind: {cls.kind}" if getattr(cls, "kind", "") else "")
    )
    console.print(description(cls))
    if cls.reference:
        console.print(f"Source: {cls.reference}")
    table = Table("parameter", "default", "allowed")
    for p in parameters(cls):
        table.add_row(p.name, p.default, p.allowed)
    console.print(table)


@attacks_app.command("list")
def attacks_list() -> None:
    """List the registered attacks."""
    from .attacks import ATTACKS

    console.print(_registry_table(ATTACKS, "kind"))


@attacks_app.command("show")
def attacks_show(name: Annotated[str, typer.Argument(help="Attack name.")]) -> None:
    """Show an attack's parameters, defaults, kind, description and source."""
    from .attacks import ATTACKS

    _show_class(ATTACKS, name)


@defenses_app.command("list")
def defenses_list() -> None:
    """List the registered detectors and mitigations."""
    from .defenses import DETECTORS, MITIGATIONS

    console.print(_registry_table(DETECTORS, None))
    _print_mitigations(MITIGATIONS)


@defenses_app.command("show")
def defenses_show(
    name: Annotated[str, typer.Argument(help="Detector or mitigation name.")],
) -> None:
    """Show a detector's or mitigation's parameters, defaults, description and source."""
    from .defenses import DETECTORS, MITIGATIONS

    if name not in DETECTORS and name not in MITIGATIONS:
        raise ValueError(
            f"unknown defense {name!r}; detectors: {', '.join(DETECTORS.names())}; "
            f"mitigations: {', '.join(MITIGATIONS.names())}."
        )
    _show_class(MITIGATIONS if name in MITIGATIONS else DETECTORS, name)


# ------------------------------------------------------------------------------- mitigations


def _print_mitigations(registry) -> None:
    console.print(_registry_table(registry, "kind"))


# ------------------------------------------------------------------------ studies (runner)


@app.command("run")
def run_command(
    spec: Annotated[Path, typer.Argument(help="Study spec (TOML), e.g. examples/ml106.toml.")],
    out: Annotated[
        Path | None,
        typer.Option("-o", "--out", help="Output directory (default: results/<study name>)."),
    ] = None,
    jobs: Annotated[int, typer.Option("-j", "--jobs", help="Local worker processes.")] = 1,
    force: Annotated[bool, typer.Option(help="Rerun finished runs too.")] = False,
    dask: Annotated[
        str | None, typer.Option(help="Address of a running Dask scheduler to send runs to.")
    ] = None,
    dask_local: Annotated[
        int | None, typer.Option(help="Start a local Dask cluster of N worker processes.")
    ] = None,
    fast_path: Annotated[
        bool, typer.Option(help="Share one Gram matrix among label-only SVC runs.")
    ] = True,
    report: Annotated[
        bool, typer.Option(help="Write the HTML report into OUT/report/ at the end.")
    ] = True,
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
    try:
        study = prepare_study(spec)
    except SpecError as exc:  # every problem, one per line; nothing ran or was written
        for line in exc.errors:
            sys.stderr.write(f"poisonlab: error: {line}\n")
        raise typer.Exit(2) from None
    out = out if out is not None else default_out(study)
    # `kill PID` stops a sweep as Ctrl-C does: worker processes are stopped, finished runs stay.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    with SweepProgress(console, study.spec.name) as progress:
        summary = run_study(
            study,
            out,
            n_jobs=jobs,
            dask=dask,
            dask_local=dask_local,
            force=force,
            fast_path=fast_path,
            on_start=progress.start,
            on_result=progress.update,
        )
    console.print(
        f"{summary.total} runs: {summary.ok} ok, {summary.failed} failed, {summary.skipped} "
        f"already finished; {summary.seconds:.1f} s. Results in {out}/"
    )
    if summary.failed:
        console.print(f"See the errors: poisonlab results {out} --status failed")
    if report:
        _write_report_and_say(out, console)


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@app.command("results")
def results_command(
    directory: Annotated[Path, typer.Argument(help="A study's output directory.")],
    where: Annotated[
        list[str] | None,
        typer.Option(help="Keep runs with COLUMN=VALUE (repeatable), e.g. attack=label_flip."),
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="Keep runs with this status: ok, failed.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """List a study's runs, filtered; export them as CSV or JSON."""
    from .experiment.export import (
        flat_row,
        parse_filters,
        select_runs,
        to_csv,
        to_json,
    )
    from .experiment.store import STATUSES, ResultStore

    if fmt not in ("table", "csv", "json"):
        raise ValueError(f"--format: must be one of table, csv, json; got {fmt!r}.")
    if status is not None and status not in STATUSES:
        raise ValueError(f"--status: must be one of {', '.join(STATUSES)}; got {status!r}.")
    filters = parse_filters(where or [])
    if status is not None:
        filters["status"] = status
    with ResultStore(directory, create=False) as store:
        records = select_runs(store, filters)
        experiment = store.meta().get("experiment", "?")
    if fmt == "csv":
        sys.stdout.write(to_csv(records))
        return
    if fmt == "json":
        sys.stdout.write(to_json(records))
        return
    table = Table(title=f"{experiment}: {len(records)} runs")
    several = len({r.dataset for r in records}) > 1
    columns = {
        **({"dataset": "dataset"} if several else {}),
        "model": "model",
        "attack": "attack",
        "defense": "defense",
        "seed": "seed",
        "budget": "budget",
        "status": "status",
        "accuracy": "accuracy",
        "success_rate": "success",
        "detection_f1": "det. F1",
        "total_seconds": "s",
    }
    for title in columns.values():
        table.add_column(title, overflow="fold")
    for record in records:
        row = flat_row(record)
        table.add_row(*(_cell(row[c]) for c in columns))
    console.print(table)
    failed = [r for r in records if r.status == "failed"]
    for record in failed[:10]:
        console.print(f"[red]failed[/red] {record.run_id}: {record.error}")
    if len(failed) > 10:
        console.print(f"... and {len(failed) - 10} more failed runs (--format csv lists all).")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


# --------------------------------------------------------------------------------- reports


@app.command("report")
def report_command(
    directory: Annotated[Path, typer.Argument(help="A study's output directory.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="html: one self-contained index.html; png or svg: one file per figure; "
            "md: report.md with PNG figures.",
        ),
    ] = "html",
    budgets: Annotated[
        str | None,
        typer.Option(help="Budgets the per-class figure shows, e.g. 10,30,100."),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="Do not print the tables.")] = False,
) -> None:
    """Plots, tables and an HTML page of a stored study, written into DIR/report/."""
    from .report.build import check_format, print_report, write_report

    check_format(fmt)
    chosen = None if budgets is None else _parse_int_list(budgets, "--budgets")
    report, paths = write_report(directory, fmt, budgets=chosen)
    if not quiet:
        print_report(report, console)
    _say_written(paths)


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


# ------------------------------------------------------------------------------------ audit


_COLUMNS = "Column names, comma-separated (repeatable)."


@app.command("audit")
def audit(
    data: Annotated[
        str, typer.Argument(help="A .csv, .parquet or .npz file, or mnist, digits, openml:NAME.")
    ],
    label: Annotated[
        str | None, typer.Option(help="Label column (default: label, y, target or class).")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="Trusted data with the same columns, to compare against.")
    ] = None,
    expect: Annotated[
        str | None,
        typer.Option(help="Expected label shares, e.g. 'a=0.6,b=0.4': the label test gates."),
    ] = None,
    pred_probs: Annotated[
        Path | None,
        typer.Option(help="Out-of-fold probabilities from your model (columns named by class)."),
    ] = None,
    features: Annotated[
        Path | None, typer.Option(help="Your embeddings, one row per data row (.npz 'features').")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Zoo model for 5-fold out-of-fold probabilities (logreg, knn, ...)."),
    ] = None,
    categorical: Annotated[list[str] | None, typer.Option(help=_COLUMNS)] = None,
    text: Annotated[list[str] | None, typer.Option(help=_COLUMNS)] = None,
    ignore: Annotated[list[str] | None, typer.Option(help=_COLUMNS)] = None,
    id_column: Annotated[
        list[str] | None, typer.Option("--id", help="Row-id column: reported, never a feature.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for suspicious.csv and the report.")] = Path(
        "audit"
    ),
    alpha: Annotated[
        float, typer.Option(help="False-alarm rate of the gate on clean data.")
    ] = 0.01,
    fail_on: Annotated[
        float | None, typer.Option(min=0.0, help="Also fail when a row scores above this.")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="An accepted audit's summary.json: fail on new findings.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here.")] = None,
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
    write_clean: Annotated[
        Path | None, typer.Option(help="Write a sanitized copy of the data here.")
    ] = None,
    clean_action: Annotated[
        str, typer.Option(help="drop or relabel the flagged rows in --write-clean.")
    ] = "drop",
    seed: Annotated[int, typer.Option(help="Seed for the checks' randomness.")] = 0,
    top: Annotated[int, typer.Option(min=0, help="Rows shown in the terminal.")] = 10,
) -> None:
    """Scan a training set for signs of poisoning; exit 1 when a poisoning pattern is found.

    Exit status: 0 passed, 1 findings, 2 user error, 3 internal error (a bug).
    """
    from .audit import cli_support as support

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


# ------------------------------------------------------------------------------- entry point


def _fail(message: str, code: int = 2) -> None:
    sys.stderr.write(f"poisonlab: error: {' '.join(str(message).split())}\n")
    sys.exit(code)


# typer may bundle its own click; take click's exception classes from typer's, whichever it is.
_CLICK_BASES = {c.__name__: c for c in typer.BadParameter.__mro__}
_ClickException, _UsageError = _CLICK_BASES["ClickException"], _CLICK_BASES["UsageError"]


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, turning user errors into one line and exit 2."""
    try:
        code = app(args=argv, prog_name="poisonlab", standalone_mode=False)
    except typer.Abort:
        _fail("aborted", 130)
    except _ClickException as exc:  # bad options or arguments: click's own message
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare group: show its help
            sys.stdout.write(exc.ctx.get_help() + "\n")
            sys.exit(0)
        _fail(exc.format_message(), 2 if isinstance(exc, _UsageError) else exc.exit_code)
    except (ValueError, TypeError) as exc:  # errors a user can cause, raised by the library
        _fail(str(exc))
    # Exit without a last cyclic garbage collection over the ~1,400 modules scikit-learn
    # imports (0.2 s per command); every file we write is closed before this point.
    gc.freeze()
    sys.exit(code if isinstance(code, int) else 0)
