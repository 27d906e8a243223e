"""The ``poisonlab`` command: one typer app, thin over the library.

Commands parse their options, call the library and print. Errors a user can cause
(``ValueError``/``TypeError`` from the library, bad options) become one line on stderr and exit
status 2, never a traceback. Heavy modules are imported inside the commands that need them, so
``poisonlab --help`` and the lab start quickly.
"""

from __future__ import annotations

import gc
import json
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
        return
    from .report.lab_tables import print_lab

    print_lab(result, console)
    if out is not None:
        console.print(f"Results written to {out}/")


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
    from .defenses import DETECTORS

    console.print(_registry_table(DETECTORS, None))


@defenses_app.command("show")
def defenses_show(name: Annotated[str, typer.Argument(help="Detector name.")]) -> None:
    """Show a detector's parameters, defaults, description and source."""
    from .defenses import DETECTORS

    _show_class(DETECTORS, name)


# ------------------------------------------------------------------------------------ audit


@app.command("audit")
def audit(
    data: Annotated[
        str, typer.Argument(help="A .csv, .npz or .parquet file, or mnist, digits, openml:NAME.")
    ],
    label: Annotated[
        str | None, typer.Option(help="Label column (CSV, Parquet) or array (NPZ).")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="Trusted data with the same columns, to compare against.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Model for confident learning: svc, logreg, knn, ... (zoo names)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for suspicious.csv and the report.")] = Path(
        "audit"
    ),
    fail_on: Annotated[
        float | None, typer.Option(help="Exit 1 when a row scores above this (default 2.0).")
    ] = None,
    write_clean: Annotated[
        Path | None, typer.Option(help="Write a sanitized copy of the data here.")
    ] = None,
    clean_action: Annotated[
        str, typer.Option(help="drop or relabel the flagged rows in --write-clean.")
    ] = "drop",
    seed: Annotated[int, typer.Option(help="Seed for the checks' randomness.")] = 0,
    top: Annotated[int, typer.Option(help="Rows shown in the terminal.")] = 10,
) -> None:
    """Scan a training set for signs of poisoning; exit 1 if a row scores above --fail-on."""
    from .audit import FAIL_ON
    from .audit import cli_support as support

    estimator = support.make_estimator(model)
    source, dataset, ref = support.load_for_audit(
        data, label, reference, out, write_clean, clean_action
    )
    with support.progress_steps() as on_step:
        result = support.run_and_write(
            dataset,
            ref,
            source=source,
            label=label or "label",
            model=estimator,
            fail_on=FAIL_ON if fail_on is None else fail_on,
            seed=seed,
            out=out,
            clean_to=write_clean,
            clean_action=clean_action,
            on_step=on_step,
        )
    support.print_audit(result, dataset, console, out=out, write_clean=write_clean, top=top)
    if result.flagged.any():
        raise typer.Exit(1)


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
