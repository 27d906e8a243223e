"""The ML 106 lab's published figures, through the library and the real command."""

import json

import numpy as np
import pytest
from sklearn.svm import SVC

from poisonlab.labs.ml106 import run_ml106

from .conftest import run_cli

PUBLISHED = {0: (2, 12), 10: (2, 11), 30: (2, 13)}  # N -> (incorrect 1's, incorrect 2's)


@pytest.mark.slow
def test_published_figures_through_the_command(tmp_path):
    proc = run_cli("lab", "ml106", "--json", "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    runs = {r["n_poisoned"]: r for r in json.loads(proc.stdout)["runs"]}
    assert sorted(runs) == [0, 10, 30, 100]
    for n, (ones, twos) in PUBLISHED.items():
        incorrect = runs[n]["incorrect_by_predicted"]
        assert (incorrect[1], incorrect[2]) == (ones, twos)
    assert runs[0]["train_counts"][1:3] == [220, 198]  # "220 1's and 198 2's"
    assert runs[10]["train_counts"][1:3] == [210, 208]
    assert runs[0]["accuracy"] == pytest.approx(0.905)
    written = json.loads((tmp_path / "out" / "results.json").read_text())
    assert written == json.loads(proc.stdout)
    summary = (tmp_path / "out" / "summary.csv").read_text().splitlines()
    assert summary[0] == (
        "run_id,n_poisoned,source,target,accuracy,source_incorrect_by_predicted,"
        "source_missed_by_true,source_predicted_as_target,target_incorrect_by_predicted,"
        "target_missed_by_true"
    )
    assert summary[1].endswith(",0,1,2,0.9050,2,2,0,12,13")


@pytest.mark.slow
def test_fast_path_equals_plain_svc_fits(mnist):
    result = run_ml106(poison=[10, 100, 220])
    X_train, y_train = mnist.X[:2000], mnist.y[:2000]
    X_test = mnist.X[60000:61000]
    for run in result.runs:
        y = y_train.copy()
        y[np.flatnonzero(y == "1")[: run.n_poisoned]] = "2"
        expected = SVC(random_state=42).fit(X_train, y).predict(X_test)
        assert np.array_equal(run.y_pred, expected), run.n_poisoned


@pytest.mark.slow
def test_human_output_shows_both_counting_rules():
    proc = run_cli("lab", "ml106", "--poison", "10")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "First five test predictions" in out
    assert "incorrect (by pred)" in out and "missed (by true)" in out
    assert "Poisoning 10 of the 1's as 2's" in out and "before" in out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--poison", "221"],
            "--poison: 221 is not a valid number of images to poison; the training "
            "set has 220 images of class '1', so the maximum is 220.",
        ),
        (
            ["--source", "x"],
            "--source: unknown class label 'x'; the classes are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9.",
        ),
        (
            ["--poison", "ten"],
            "--poison: expected comma-separated whole numbers such as 10,30,100; got 'ten'.",
        ),
    ],
)
def test_bad_input_one_line_exit_2(args, message, tmp_path):
    proc = run_cli("lab", "ml106", *args, "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert proc.stderr == f"poisonlab: error: {message}\n"
    assert proc.stdout == "" and not (tmp_path / "o").exists()
