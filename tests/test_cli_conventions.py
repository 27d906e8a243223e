"""The command line follows the conventions scripts and terminals expect: ``--version``, ``-h``,
``--json`` documents, TSV in pipes, tables that fit 80 columns, plain-text ``show``, help with
real metavars, option names in errors, shell completion."""

from __future__ import annotations

import json
import re
from importlib.metadata import version

import pytest
import typer
from typer.testing import CliRunner

from poisonlab._errors import ParameterError
from poisonlab.cli import RunStatus, app
from poisonlab.experiment.store import STATUSES

from .conftest import run_cli

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Every command and group; each must answer -h exactly as --help.
COMMANDS = [
    [],
    ["datasets"],
    ["datasets", "list"],
    ["datasets", "show"],
    ["lab"],
    ["lab", "ml106"],
    ["attacks"],
    ["attacks", "list"],
    ["attacks", "show"],
    ["defenses"],
    ["defenses", "list"],
    ["defenses", "show"],
    ["run"],
    ["results"],
    ["report"],
    ["audit"],
]

STUDY = """
name = "conventions"
seeds = [0]

[dataset]
name = "digits"
split = { train = [0, 300], test = [1000, 1200] }

[[models]]
name = "logreg"

[[attacks]]
name = "label_flip"
params = { source = "1", target = "7" }
budget = [0, 10]

[[defenses]]
name = "none"

[[defenses]]
name = "spectral_signature"
"""


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    from poisonlab.experiment.study import prepare_study, run_study

    root = tmp_path_factory.mktemp("study")
    (root / "spec.toml").write_text(STUDY)
    run_study(prepare_study(root / "spec.toml"), root / "out")
    return root / "out"


def invoke(*args: str) -> str:
    """stdout of ``poisonlab ARGS`` run in this process (for output that needs no terminal)."""
    result = CliRunner().invoke(app, list(args), prog_name="poisonlab")
    assert result.exit_code == 0, result.output
    return result.stdout


def tty(**extra: str) -> dict:
    """Environment of an 80-column terminal (rich's TTY_COMPATIBLE stands in for a tty)."""
    return {"COLUMNS": "80", "TTY_COMPATIBLE": "1", "NO_COLOR": "1", **extra}


def test_version_names_the_package_and_the_libraries_that_compute_results():
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0] == f"poisonlab {version('poisonlab')}"
    for library in ("numpy", "scipy", "scikit-learn", "cleanlab", "imbalanced-learn"):
        assert f"{library} {version(library)}" in lines


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "poisonlab")
def test_every_command_answers_dash_h_and_its_help_has_no_typer_labels(command):
    runner = CliRunner()
    short = runner.invoke(app, [*command, "-h"], prog_name="poisonlab", env={"COLUMNS": "100"})
    long = runner.invoke(app, [*command, "--help"], prog_name="poisonlab", env={"COLUMNS": "100"})
    assert short.exit_code == 0 and short.output == long.output
    assert short.output.startswith("Usage: poisonlab")
    for artefact in ("<str>", "<path>", "<int", "<float", "<list[", "{", "/ --no-force"):
        assert artefact not in short.output, (command, artefact)
    assert "/ --no-quiet" not in short.output


def test_help_shows_metavars_and_choices():
    runner = CliRunner()
    results = runner.invoke(app, ["results", "-h"], env={"COLUMNS": "100"}).output
    assert "Usage: poisonlab results [OPTIONS] DIR" in results
    assert "--format [table|csv|json]" in results and "--status [ok|failed]" in results
    assert "--where COLUMN=VALUE" in results
    run = runner.invoke(app, ["run", "-h"], env={"COLUMNS": "100"}).output
    assert "[OPTIONS] SPEC" in run and "-o, --out DIR" in run and "-j, --jobs N" in run
    assert re.search(r"^\s+--force\s+Rerun", run, re.MULTILINE)


def test_run_status_choices_are_the_stores():
    assert tuple(s.value for s in RunStatus) == STATUSES


def test_report_and_audit_help_list_the_choices_their_checks_allow():
    from poisonlab.audit.output import CLEAN_ACTIONS
    from poisonlab.report.build import FORMATS

    runner = CliRunner()
    report = runner.invoke(app, ["report", "-h"], env={"COLUMNS": "100"}).output
    assert f"--format [{'|'.join(FORMATS)}]" in report
    audit = runner.invoke(app, ["audit", "-h"], env={"COLUMNS": "100"}).output
    assert f"--clean-action [{'|'.join(CLEAN_ACTIONS)}]" in audit


def test_errors_name_the_option_as_typed_with_the_value():
    cases = [
        (["lab", "ml106", "--train-size", "many"], "--train-size: ", "; got 'many'."),
        (["lab", "ml106", "--train-size", "0"], "--train-size: must be in [1, 60000]; got 0.", ""),
        (["results", ".", "--format", "xml"], "--format: 'xml' is not one of", ""),
    ]
    for args, start, end in cases:
        proc = run_cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.startswith(f"poisonlab: error: {start}"), proc.stderr
        assert proc.stderr.rstrip().endswith(end) and proc.stderr.count("\n") == 1
    # The library's own error names its parameter (a ParameterError); main() names the option.
    lab = CliRunner().invoke(app, ["lab", "ml106", "--poison", "9999"])
    assert isinstance(lab.exception, ParameterError) and lab.exception.path == ("poison",)
    assert str(lab.exception).startswith("poison: 9999 is not a valid number")


def test_every_library_parameter_the_cli_names_is_an_option_of_some_command():
    """_OPTION_NAMES is the one mapping from library parameters to options: each entry is an
    option (or an argument) some command really has."""
    from poisonlab.cli import _OPTION_NAMES

    names: set[str] = set()
    stack = [typer.main.get_command(app)]
    while stack:
        command = stack.pop()
        stack += list(getattr(command, "commands", {}).values())
        for param in command.params:
            is_option = param.param_type_name == "option"
            names.update(param.opts if is_option else [(param.name or "").upper()])
    assert set(_OPTION_NAMES.values()) <= names


@pytest.mark.parametrize(
    ("args", "keys"),
    [
        (["datasets", "list"], ["name", "description"]),
        (["attacks", "list"], ["name", "kind", "class", "summary"]),
    ],
)
def test_list_json_is_one_document(args, keys):
    rows = json.loads(invoke(*args, "--json"))
    assert rows and all(list(row) == keys for row in rows)


def test_show_json_and_defenses_json():
    dataset = json.loads(invoke("datasets", "show", "digits", "--json"))
    assert dataset["n_samples"] == 1797 and dataset["n_features"] == 64
    assert dataset["image_shape"] == [8, 8] and sum(c["count"] for c in dataset["classes"]) == 1797
    attack = json.loads(invoke("attacks", "show", "label_flip", "--json"))
    budget = next(p for p in attack["parameters"] if p["name"] == "budget")
    assert budget == {
        "name": "budget",
        "default": 0.05,
        "required": False,
        "allowed": "a count (an int >= 0) or a fraction (a float >= 0 and < 1)",
        "description": "Number of samples, or a fraction of the training set.",
    }
    assert attack["kind"] == "label" and attack["reference"].startswith("ML 106")
    defenses = json.loads(invoke("defenses", "list", "--json"))
    assert {"detectors", "mitigations"} == set(defenses)
    assert "trimmed" in {m["name"] for m in defenses["mitigations"]}
    detector = json.loads(invoke("defenses", "show", "knn_label", "--json"))
    assert detector["role"] == "detector" and detector["class"] == "KNNLabel"


def test_lists_in_a_pipe_are_tab_separated_values():
    proc = run_cli("defenses", "list", env={"COLUMNS": "80"})
    lines = proc.stdout.splitlines()
    assert lines[0] == "name\trole\tkind\tsummary"
    assert all(line.count("\t") == 3 for line in lines)
    assert {line.split("\t")[1] for line in lines[1:]} == {"detector", "mitigation"}


def test_lists_on_an_80_column_terminal_keep_words_whole_and_title_tables():
    out = ANSI.sub("", run_cli("defenses", "list", env=tty()).stdout)
    assert out.startswith("Detectors") and "\nMitigations" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "activation_clustering" in out and "partition_ensemble" in out


def test_results_in_a_pipe_and_on_an_80_column_terminal(study_dir):
    piped = run_cli("results", str(study_dir), env={"COLUMNS": "80"})
    assert piped.returncode == 0, piped.stderr
    header, *rows = piped.stdout.splitlines()
    assert header.split("\t")[:3] == ["model", "attack", "defense"]
    assert len(rows) == 4 and all(r.count("\t") == header.count("\t") for r in rows)
    assert {r.split("\t")[2] for r in rows} == {"none", "spectral_signature"}
    table = ANSI.sub("", run_cli("results", str(study_dir), env=tty()).stdout)
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= 80
    head = next(line for line in lines if "attack" in line)
    for word in ("model", "attack", "defense", "budget", "accuracy", "success"):
        assert re.search(rf"\b{word}\b", head), (word, head)
    assert "spectral_signature" in table and "label_flip" in table  # values whole, not folded


def test_results_json_flag(study_dir):
    runs = json.loads(invoke("results", str(study_dir), "--json"))
    assert len(runs) == 4 and {"config", "metrics"} <= runs[0].keys()


def test_show_renders_docstrings_as_plain_text():
    out = run_cli("defenses", "show", "confident_learning", env={"COLUMNS": "80"}).stdout
    assert "Scores. score = issue + (1 - label quality)" in out
    flat = " ".join(out.split())
    assert "higher = more suspicious" in flat and "return -1 for flagged samples" in flat
    for markup in ("``", ":func:", ":mod:", ":class:", "`"):
        assert markup not in out, markup
    assert not re.search(r"\*\*[A-Za-z]", out)
    assert max(len(line) for line in out.splitlines()) <= 80
    attack = invoke("attacks", "show", "label_flip")
    assert "||w_source - w_target||" in attack and "4.29497e+09" not in attack
    assert "None, a seed (an int from 0 to 2**32 - 1) or a numpy.random.Generator" in " ".join(
        attack.split()
    )


def test_shell_completion_completes_commands():
    proc = run_cli(
        env={
            "_POISONLAB_COMPLETE": "complete_bash",
            "COMP_WORDS": "poisonlab att",
            "COMP_CWORD": "1",
        }
    )
    assert proc.returncode == 0 and proc.stdout.split() == ["attacks"]
    # The shell is named, not detected from the parent processes (CI, or a pytest-xdist worker,
    # may run under none): typer's switch turns `--show-completion` into an option taking it.
    script = run_cli(
        "--show-completion", "bash", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    )
    assert script.returncode == 0 and "_poisonlab_completion" in script.stdout


def test_run_json_summary_is_alone_on_stdout(tmp_path):
    spec = tmp_path / "one.toml"
    spec.write_text(STUDY.replace("budget = [0, 10]", "budget = [10]").split("[[defenses]]")[0])
    out = tmp_path / ("a-directory-name-longer-than-a-narrow-terminal-" * 2)
    proc = run_cli("run", str(spec), "-o", str(out), "--no-report", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert {k: summary[k] for k in ("study", "total", "ok", "failed", "skipped")} == {
        "study": "conventions",
        "total": 1,
        "ok": 1,
        "failed": 0,
        "skipped": 0,
    }
    assert "1/1" in proc.stderr  # the progress bar, on stderr
    again = run_cli("run", str(spec), "-o", str(out), "--no-report", env={"COLUMNS": "60"})
    assert "1 already finished" in again.stdout
    assert f"Results in {out}/" in again.stdout  # the path whole, on one line
