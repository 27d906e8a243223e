"""The lab tells the whole story: the source class's misses and the target class's false
positives beside the lab's own count, a self-describing ``--json``/results.json in the store's
field names, and a report whose rerun hint repeats the lab's options."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from rich.console import Console
from sklearn.metrics import confusion_matrix

from poisonlab import __version__
from poisonlab.experiment.store import ResultStore
from poisonlab.labs.ml106 import run_ml106
from poisonlab.report.lab_tables import STORY_FIELDS, print_lab

from .conftest import POISONLAB, run_cli


@pytest.fixture(scope="module")
def small_lab(tmp_path_factory):
    """Source 7, target 1 on 300 training and 200 test rows of MNIST (seconds)."""
    out = tmp_path_factory.mktemp("lab71")
    result = run_ml106(poison=[20], source="7", target="1", train_size=300, test_size=200, out=out)
    return result, out


def test_story_counts_equal_the_confusion_matrix_of_the_stored_predictions(small_lab):
    result, out = small_lab
    classes = list(result.classes)
    s, t = classes.index("7"), classes.index("1")
    with ResultStore(out, create=False) as store:
        records = {r.run_id: r for r in store.runs()}
        for run in result.runs:
            arrays = store.arrays(records[run.run_id].key, ["y_test", "y_pred"])
            cm = confusion_matrix(arrays["y_test"], arrays["y_pred"], labels=result.classes)
            story = result.story(run)
            assert story == {
                "source_incorrect_by_predicted": cm[:, s].sum() - cm[s, s],
                "source_missed_by_true": cm[s, :].sum() - cm[s, s],
                "source_predicted_as_target": cm[s, t],
                "target_incorrect_by_predicted": cm[:, t].sum() - cm[t, t],
                "target_missed_by_true": cm[t, :].sum() - cm[t, t],
            }
            assert run.n_poisoned == records[run.run_id].budget
    assert [run.n_poisoned for run in result.runs] == [0, 20]


def test_json_says_what_the_lab_is_in_the_store_vocabulary(small_lab):
    result, out = small_lab
    doc = json.loads(json.dumps(result.to_json()))
    assert doc["experiment"] == "ml106" and doc["dataset"] == "mnist" and doc["model"] == "svc"
    assert doc["attack"] == "label_flip" and doc["select"] == "first" and doc["seed"] == 0
    assert (doc["source"], doc["target"]) == ("7", "1")
    assert (doc["train_size"], doc["test_size"]) == (300, 200)
    assert doc["split"] == {"train": [0, 300], "test": [60000, 60200]}
    assert doc["package_version"] == __version__ and doc["environment"]["scikit-learn"]
    assert doc["classes"] == [str(c) for c in range(10)]
    with ResultStore(out, create=False) as store:
        stored = {r.run_id: r.metrics["per_class"] for r in store.runs()}
    for run in doc["runs"]:
        per_class = stored[run["run_id"]]
        # Every per-class field of a run is the store's field of the same name.
        for name in ("correct", "incorrect_by_predicted", "missed_by_true", "train_counts"):
            assert run[name] == per_class[name], name
        assert doc["test_counts"] == per_class["test_counts"]
        assert set(STORY_FIELDS) <= set(run)


def test_summary_shows_the_whole_story(small_lab):
    result, _ = small_lab
    console = Console(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    print_lab(result, console)
    text = console.export_text()
    summary = text[text.index("Summary") :].splitlines()
    assert summary[1].split() == [
        "N", "accuracy", "incorrect", "7's", "7's", "missed", "7's", "as", "1's",
        "incorrect", "1's", "1's", "missed",
    ]  # fmt: skip
    for line, run in zip(summary[2:4], result.runs, strict=True):
        story = result.story(run)
        expected = [str(run.n_poisoned), f"{run.table.accuracy:.3f}"]
        assert line.split() == expected + [str(story[name]) for name in STORY_FIELDS]
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.mark.slow
def test_lab_command_json_files_and_rerun_hint(tmp_path):
    out = tmp_path / "my lab"
    args = ["--source", "7", "--target", "1", "--poison", "20", "--train-size", "300"]
    proc = run_cli("lab", "ml106", *args, "--test-size", "200", "--json", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)  # one document, nothing else on stdout
    assert json.loads((out / "results.json").read_text()) == doc
    with open(out / "summary.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    for row, run in zip(rows, doc["runs"], strict=True):
        assert row["run_id"] == run["run_id"] and int(row["n_poisoned"]) == run["n_poisoned"]
        assert (row["source"], row["target"]) == ("7", "1")
        assert {name: int(row[name]) for name in STORY_FIELDS} == {
            name: run[name] for name in STORY_FIELDS
        }
    with open(out / "per_class.csv", newline="") as file:
        per_class = list(csv.DictReader(file))
    assert len(per_class) == 10 * len(doc["runs"])
    by_class = [r for r in per_class if r["n_poisoned"] == "20"]
    assert [int(r["missed_by_true"]) for r in by_class] == doc["runs"][1]["missed_by_true"]
    # The page says the exact command that reran this lab into this directory.
    page = (out / "report" / "index.html").read_text()
    rerun = (
        "poisonlab lab ml106 --poison 20 --source 7 --target 1 --train-size 300 "
        f"--test-size 200 --out &#39;{out}&#39;"
    )
    assert f"rerun it with <code>{rerun}</code>" in page
    assert np.isclose(doc["runs"][0]["accuracy"], float(rows[0]["accuracy"]), atol=5e-5)


def _imported(*command: str) -> set[str]:
    """Modules a fresh ``python -X importtime COMMAND...`` process imported (its stderr)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *command],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines[1:]}  # [0] is the header


#: What the lab's --json path may import beyond what `import sklearn.svm` brings (pandas,
#: scipy.stats and rich come with scikit-learn 1.9 itself): the command line (typer and what it
#: needs), the results store (sqlite3), the study spec (tomllib) and the data cache's folder.
LAB_EXTRA_PACKAGES = {
    *("typer", "shellingham", "pydantic", "pydantic_core", "annotated_types", "annotated_doc"),
    *("typing_extensions", "typing_inspection", "sqlite3", "_sqlite3", "tomllib"),
    *("platformdirs", "poisonlab"),
}

#: poisonlab's modules the lab does not need: detectors, the HTML report, Dask, other commands.
LAB_UNNEEDED = (
    "poisonlab.defenses",
    "poisonlab.audit",
    "poisonlab.certify",
    "poisonlab.reproduce",
    "poisonlab.report.html",
    "poisonlab.report.figures",
    "poisonlab.report.build",
    "poisonlab.labs.output",
    "poisonlab.experiment.dask_nodes",
    "poisonlab.experiment.export",
)


def test_lab_json_path_imports_only_what_it_uses():
    """The lab's start-up is most of its time (issue 18: it fell from 19x to 14x faster than
    the plain loop as the runner grew): a heavy import on its --json path fails here."""
    lab = _imported(
        POISONLAB,
        "lab",
        "ml106",
        "--poison",
        "5",
        "--train-size",
        "300",
        "--test-size",
        "100",
        "--json",
    )
    with_sklearn = {name.split(".")[0] for name in _imported("-c", "import sklearn.svm")}
    extra = {name.split(".")[0] for name in lab} - with_sklearn
    assert extra <= LAB_EXTRA_PACKAGES, sorted(extra - LAB_EXTRA_PACKAGES)
    heavy = {"matplotlib", "jinja2", "dask", "distributed", "cleanlab", "imblearn", "PIL"}
    assert not heavy & {name.split(".")[0] for name in lab}
    assert not [name for name in lab if name.startswith(LAB_UNNEEDED)]
