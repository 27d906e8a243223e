"""The split a reproduction needs: a draw per seed from a train range, with the attacker's
validation set (``train_size``, ``validation_size``, ``seed = "repetition"``)."""

from __future__ import annotations

import numpy as np
import pytest

from poisonlab.datasets import load
from poisonlab.experiment.components import load_split, load_validation
from poisonlab.experiment.schema import SpecError
from poisonlab.experiment.spec import parse_spec
from poisonlab.experiment.study import prepare_study_text

SPEC = """
name = "draws"
seeds = [0, 1]

[dataset]
name = "digits"
split = {{ train = [0, 1000], test = [1000, 1797], {sizes} }}

[[models]]
name = "svc"
params = {{ kernel = "linear" }}

[[attacks]]
name = "{attack}"
params = {params}
budget = [1]
"""
DRAW = 'train_size = 60, validation_size = 40, seed = "repetition"'
SVM = '{ classes = ["1", "7"], box = [0.0, 16.0], max_iter = 3 }'


def _spec(sizes=DRAW, attack="svm_gradient", params=SVM) -> str:
    return SPEC.format(sizes=sizes, attack=attack, params=params)


def test_each_seed_draws_its_own_rows_and_validation_set():
    runs = prepare_study_text(_spec(), command="test").runs
    splits = [run.config["dataset"]["split"] for run in runs]
    assert [s["seed"] for s in splits] == [0, 1]
    (first, _), (second, _) = (load_split(run.config["dataset"]) for run in runs)
    assert len(first.y_train) == 60 and len(first.y_test) == 797
    assert not np.array_equal(first.train_rows, second.train_rows)
    assert set(first.train_rows) <= set(range(1000)) and list(first.test_rows) == list(
        range(1000, 1797)
    )
    # Seed 0's draw: 100 rows of the train range, the first 60 train, the other 40 validate.
    rows = np.random.default_rng(0).choice(np.arange(1000), 100, replace=False)
    np.testing.assert_array_equal(first.train_rows, np.sort(rows[:60]))
    X_val, y_val = load_validation(runs[0].config["dataset"])
    digits = load("digits")
    np.testing.assert_array_equal(X_val, digits.X[np.sort(rows[60:])])
    np.testing.assert_array_equal(y_val, digits.y[np.sort(rows[60:])])


def test_the_attack_gets_the_validation_set(tmp_path, monkeypatch):
    from poisonlab.attacks._svm_gradient import SVMGradient
    from poisonlab.experiment.store import ResultStore
    from poisonlab.experiment.study import run_study

    seen, poison = [], SVMGradient.poison

    def spy(self, X, y, **kwargs):  # the real attack, recording the validation set it got
        seen.append(None if self.validation is None else self.validation[0].shape)
        return poison(self, X, y, **kwargs)

    monkeypatch.setattr(SVMGradient, "poison", spy)
    run_study(prepare_study_text(_spec(), command="test"), tmp_path / "s")
    with ResultStore(tmp_path / "s", create=False) as store:
        assert {r.status for r in store.runs()} == {"ok"}
    assert seen == [(40, 64)] * 3  # the check against the data, then each seed's run


@pytest.mark.parametrize(
    ("sizes", "attack", "params", "message"),
    [
        (
            'train_size = 60, validation_size = 40, seed = "each"',
            "svm_gradient",
            SVM,
            "seed",
        ),
        ("validation_size = 40, test_size = 5", "svm_gradient", SVM, "give either train"),
        ("seed = 3", "svm_gradient", SVM, "seed applies to a stratified split or a draw"),
        ("validation_size = 0", "svm_gradient", SVM, "must be at least 1"),
        (
            "train_size = 990, validation_size = 40",
            "svm_gradient",
            SVM,
            "dataset.split: train_size (990) + validation_size (40) must be at most the 1000",
        ),
        (
            "validation_size = 40",
            "label_flip",
            '{ source = "1", target = "7" }',
            "dataset.split.validation_size: no attack of the spec takes",
        ),
    ],
)
def test_split_errors_name_the_key(sizes, attack, params, message):
    with pytest.raises(SpecError) as error:
        prepare_study_text(_spec(sizes, attack, params), command="test")
    assert message in str(error.value), str(error.value)


def test_ranges_without_a_draw_are_unchanged():
    spec = parse_spec(
        _spec("", "label_flip", '{ source = "1", target = "7" }').replace(",  }", " }")
    )
    assert spec.dataset.as_config(3)["split"] == {"train": [0, 1000], "test": [1000, 1797]}
