"""Study specs: every error names its key path, the value and what is allowed; exit 2 and
nothing written from the command; grids, run ids and seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from poisonlab.experiment.checks import check_against_data
from poisonlab.experiment.grid import expand
from poisonlab.experiment.ids import content_id
from poisonlab.experiment.seeds import derive_seed
from poisonlab.experiment.spec import SpecError, load_spec, parse_spec

from .conftest import run_cli

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.toml"))

BASE = """
name = "t"
seeds = [0, 1]

[dataset]
name = "digits"
split = { train = [0, 1000], test = [1000, 1797] }

[[models]]
name = "svc"

[[attacks]]
name = "label_flip"
params = { source = "1", target = "7", select = "random" }
budget = [0, 20]
"""


def errors_of(text: str, *, data: bool = False) -> list[str]:
    with pytest.raises(SpecError) as info:
        spec = parse_spec(text)
        if data:
            check_against_data(spec)
    return info.value.errors


def test_a_valid_spec_expands_to_its_grid():
    spec = parse_spec(BASE)
    runs = expand(spec)
    assert len(runs) == 4  # 2 budgets x 2 seeds, defense none by default
    assert [r.run_id for r in runs[:2]] == [
        "t/svc/label_flip[source=1,target=7,budget=0,select=random]/none/seed0",
        "t/svc/label_flip[source=1,target=7,budget=0,select=random]/none/seed1",
    ]
    assert runs[0].run_seed == derive_seed(0, content_id(runs[0].config))
    assert len({r.run_seed for r in runs}) == 4 and len({r.key for r in runs}) == 4
    assert runs[2].config["attack"] == {
        "name": "label_flip",
        "params": {"source": "1", "target": "7", "budget": 20, "select": "random"},
    }
    assert runs[0].config["defense"] == {"name": "none", "params": {}}
    with pytest.raises(Exception, match="frozen"):
        spec.name = "other"


def test_seeds_are_hashed_from_seed_and_content():
    assert derive_seed(0, "a") == derive_seed(0, "a")
    assert len({derive_seed(0, "a"), derive_seed(1, "a"), derive_seed(0, "b")}) == 3
    assert 0 <= derive_seed(5, "x") < 2**32


def test_sweeps_ranges_repetitions_and_several_datasets():
    text = (
        BASE.replace("seeds = [0, 1]", "repetitions = 3")
        .replace(
            "budget = [0, 20]",
            'budget = { start = 0, stop = 20, step = 10 }\nsweep = { target = ["7", "8"] }',
        )
        .replace('target = "7", ', "")
    )
    text = text.replace("[dataset]", "[[datasets]]") + (
        '\n[[datasets]]\nname = "mnist"\nsplit = { train_size = 500, test_size = 200 }\n'
    )
    runs = expand(parse_spec(text))
    assert len(runs) == 2 * 2 * 3 * 3  # datasets x targets x budgets x seeds
    assert (
        runs[0].run_id
        == "t/digits/svc/label_flip[source=1,target=7,budget=0,select=random]/none/seed0"
    )
    assert (
        runs[-1].run_id
        == "t/mnist/svc/label_flip[source=1,target=8,budget=20,select=random]/none/seed2"
    )
    assert runs[-1].config["dataset"] == {
        "name": "mnist",
        "split": {"train_size": 500, "test_size": 200, "seed": 0},
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("seeds = [0, 1]", "seeds = [0]\nmodle = 1"), "spec: unknown key 'modle'; allowed: name,"),
        (("[[models]]", "modle = 1\n[[models]]"), "dataset: unknown key 'modle'; allowed: name,"),
        (('name = "svc"', 'name = "svm"'), "models[0].name: unknown model 'svm'; known: svc,"),
        (('name = "svc"', 'name = "os.system"'), "models[0].name: import paths must start with"),
        (
            ('name = "svc"', 'name = "svc"\nparams = { C = 1.0, cc = 2 }'),
            "models[0].params: model 'svc' (SVC) has no parameter 'cc'",
        ),
        (
            ('name = "label_flip"', 'name = "flip"'),
            "attacks[0].name: unknown attack 'flip'; known:",
        ),
        (
            ('select = "random"', 'select = "random", colour = 1'),
            "attacks[0].params.colour: attack 'label_flip' has no parameter 'colour'; valid: ",
        ),
        (
            ('select = "random"', 'select = "best"'),
            "attacks[0].params.select: The 'select' parameter of LabelFlip must be one of {",
        ),
        (
            ("budget = [0, 20]", "budget = [0, -3]"),
            "attacks[0].budget[1]: The 'budget' parameter of LabelFlip must be a count (an int "
            ">= 0) or a fraction (a float >= 0 and < 1); got -3.",
        ),
        (("budget = [0, 20]", 'budget = "lots"'), "attacks[0].budget: budget must be a count"),
        (
            ('select = "random"', 'select = "random", random_state = 3'),
            "attacks[0].params.random_state: set per run by the runner from the spec's seeds",
        ),
        (
            ("seeds = [0, 1]", 'seeds = [0, "x"]'),
            "seeds[1]: input should be a valid integer; got 'x'.",
        ),
        (
            ("seeds = [0, 1]", 'metrics = ["accuracy", "speed"]'),
            "metrics[1]: unknown metric 'speed'",
        ),
        (
            ('name = "t"', 'name = "a b"'),
            "name: name must start with a letter or digit and hold only letters, digits",
        ),
        (
            ("split = { train = [0, 1000], ", "split = { train = [0], "),
            "dataset.split.train: must be [start, stop]",
        ),
        (
            (
                "[[models]]",
                '[[datasets]]\nname = "mnist"\nsplit = { train_size = 9, test_size = 9 }\n'
                "[[models]]",
            ),
            "spec: give either [dataset] or [[datasets]], not both",
        ),
    ],
)
def test_structure_and_registry_errors(change, message):
    old, new = change
    assert old in BASE
    errors = errors_of(BASE.replace(old, new, 1))
    assert any(e.startswith(message) for e in errors), errors


def test_defense_errors_name_their_path():
    text = (
        BASE
        + '\n[[defenses]]\nname = "none"\n\n[[defenses]]\nname = "knn_label"\n'
        + "sweep = { n_neighbors = [5, 0] }\n"
    )
    (error,) = errors_of(text)
    assert error.startswith("defenses[1].sweep.n_neighbors[1]: The 'n_neighbors' parameter of")
    assert error.endswith("got 0.")
    (error,) = errors_of(BASE + '\n[[defenses]]\nname = "nothing"\n')
    assert error.startswith("defenses[0].name: unknown detector 'nothing'; known: ")


def test_budget_beyond_the_class_fails_against_the_data():
    text = BASE.replace("budget = [0, 20]", "budget = [0, 300, 20]")
    (error,) = errors_of(text, data=True)
    assert error == (
        "attacks[0].budget[1]: The 'budget' parameter of LabelFlip must be at most 102 "
        "(the training samples of class '1'); got 300."
    )
    (error,) = errors_of(BASE.replace('source = "1"', 'source = "one"'), data=True)
    assert error.startswith(
        "attacks[0].params.source: The 'source' parameter of LabelFlip must be one"
    )


def test_split_outside_the_dataset_fails_against_the_data():
    (error,) = errors_of(BASE.replace("[1000, 1797]", "[1000, 1900]"), data=True)
    assert error.startswith("dataset.split: the test range [1000, 1900) must lie within the 1797")


def test_repeated_runs_are_an_error():
    text = BASE + BASE[BASE.index("[[attacks]]") :]
    with pytest.raises(SpecError, match="appears twice in the grid"):
        expand(parse_spec(text))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates(path):
    spec, _ = load_spec(path)
    assert expand(spec)
    check_against_data(spec)


@pytest.mark.slow
def test_invalid_spec_exits_2_and_writes_nothing(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text(
        BASE.replace("budget = [0, 20]", "budget = [300]").replace('name = "svc"', 'name = "svm"')
    )
    out = tmp_path / "out"
    proc = run_cli("run", str(spec), "-o", str(out))
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("poisonlab: error: models[0].name: unknown model 'svm'")
    assert not out.exists()
    spec.write_text(BASE.replace("budget = [0, 20]", "budget = [300]"))
    proc = run_cli("run", str(spec), "-o", str(out))
    assert proc.returncode == 2
    assert proc.stderr.startswith("poisonlab: error: attacks[0].budget[0]: The 'budget' parameter")
    assert not out.exists()
    proc = run_cli("run", str(tmp_path / "missing.toml"))
    assert proc.returncode == 2 and "cannot read" in proc.stderr


def test_a_model_sweep_makes_one_model_per_value():
    text = BASE.replace('name = "svc"\n', 'name = "svc"\nsweep = { C = [0.1, 10.0] }\n', 1)
    runs = expand(parse_spec(text))
    assert len(runs) == 8  # 2 values of C x 2 budgets x 2 seeds
    assert sorted({r.model for r in runs}) == ["svc[C=0.1]", "svc[C=10.0]"]
    assert runs[0].run_id.startswith("t/svc[C=0.1]/label_flip[")
    assert runs[0].config["model"] == {"label": "svc[C=0.1]", "name": "svc", "params": {"C": 0.1}}
    assert runs[0].origin["model"] == "models[0].sweep.C[0]"
    labelled = text.replace('name = "svc"\n', 'name = "svc"\nlabel = "rbf"\n', 1)
    assert sorted({r.model for r in expand(parse_spec(labelled))}) == ["rbf[C=0.1]", "rbf[C=10.0]"]


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ("sweep = { C = [] }", "models[0].sweep.C: an empty list sweeps nothing; give values."),
        (
            "params = { C = 1.0 }\nsweep = { C = [2.0] }",
            "models[0].sweep.C: 'C' is also in params; give it in one place.",
        ),
        ("sweep = { C = [1.0, 1.0] }", "models[0]: the label 'svc[C=1.0]' is also models[0]'s"),
    ],
)
def test_model_sweep_errors_name_their_path(sweep, message):
    text = BASE.replace('name = "svc"\n', f'name = "svc"\n{sweep}\n', 1)
    assert any(e.startswith(message) for e in errors_of(text)), errors_of(text)
