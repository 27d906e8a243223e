"""One check suite over every registered attack: the protocol's promises."""

from __future__ import annotations

from numbers import Real

import numpy as np
import pytest
from sklearn.base import clone

from poisonlab.attacks import ATTACKS, KINDS
from poisonlab.attacks.base import make_rng

from .attack_cases import ATTACK_CASES

NAMES = ATTACKS.names()


def make(name):
    return ATTACKS.create(name, **ATTACK_CASES[name])


def test_every_attack_has_a_case():
    assert sorted(ATTACK_CASES) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_declares_kind_and_reference(name):
    cls = ATTACKS.get(name)
    assert cls.kind in KINDS
    assert cls.reference and cls.__doc__


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_output(name, tiny):
    X, y = tiny
    a, b = make(name).poison(X, y, random_state=7), make(name).poison(X, y, random_state=7)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert np.array_equal(a.poison_indices, b.poison_indices)
    gen = make(name).poison(X, y, random_state=make_rng(7))
    assert np.array_equal(gen.y, a.y) and np.array_equal(gen.X, a.X)


@pytest.mark.parametrize("name", NAMES)
def test_inputs_unchanged(name, tiny):
    X, y = tiny
    X0, y0 = X.copy(), y.copy()
    make(name).poison(X, y, random_state=0)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


@pytest.mark.parametrize("name", NAMES)
def test_indices_are_exactly_the_changed_rows(name, tiny):
    X, y = tiny
    attack = make(name)
    result = attack.poison(X, y, random_state=1)
    idx = result.poison_indices
    assert idx.dtype == np.int64 and np.all(np.diff(idx) > 0)
    assert len(idx) == 0 or (idx[0] >= 0 and idx[-1] < len(result.y))
    n = len(y)
    changed = np.flatnonzero((result.X[:n] != X).any(axis=1) | (result.y[:n] != y))
    added = np.arange(n, len(result.y))
    assert np.array_equal(idx, np.union1d(changed, added))
    if attack.kind == "label":
        assert np.array_equal(result.X, X)
    if attack.kind == "inject":
        assert len(changed) == 0


@pytest.mark.parametrize("name", NAMES)
def test_budget_respected_and_labels_known(name, tiny):
    X, y = tiny
    result = make(name).poison(X, y, random_state=2)
    assert len(result.poison_indices) <= result.info["budget"]
    assert set(np.unique(result.y)) <= set(np.unique(y))


@pytest.mark.parametrize("name", NAMES)
def test_clone_round_trip(name, tiny):
    X, y = tiny
    attack = make(name)
    twin = clone(attack)
    assert twin.get_params() == attack.get_params()
    assert np.array_equal(
        twin.poison(X, y, random_state=3).y, attack.poison(X, y, random_state=3).y
    )


@pytest.mark.parametrize("name", NAMES)
def test_fit_resample_sets_indices(name, tiny):
    X, y = tiny
    attack = make(name).set_params(random_state=4)
    X_out, y_out = attack.fit_resample(X, y)
    assert np.array_equal(
        attack.poison_indices_, attack.poison(X, y, random_state=4).poison_indices
    )
    assert len(X_out) == len(y_out)


def _invalid_values(constraints):
    yield object()
    for c in constraints:
        if hasattr(c, "kind") and c.kind is not None and issubclass(c.kind, Real):
            if c.high is not None:
                yield c.high + 1
            if c.low is not None:
                yield c.low - 1


@pytest.mark.parametrize(
    ("name", "param"), [(n, p) for n in NAMES for p in ATTACKS.get(n)._parameter_constraints]
)
def test_invalid_parameter_is_named(name, param, tiny):
    X, y = tiny
    constraints = ATTACKS.get(name)._parameter_constraints[param]
    for bad in _invalid_values(constraints):
        if any(c.accepts(bad) for c in constraints):
            continue
        attack = make(name).set_params(**{param: bad})
        with pytest.raises(ValueError, match=f"The '{param}' parameter of "):
            attack.poison(X, y)


def test_unknown_attack_and_parameter():
    with pytest.raises(ValueError, match=r"unknown attack 'nope'; known: .*label_flip"):
        ATTACKS.get("nope")
    with pytest.raises(ValueError, match="attack 'label_flip' has no parameter 'budgett'"):
        ATTACKS.create("label_flip", budgett=3)


@pytest.mark.parametrize("name", NAMES)
def test_dataframes_in_dataframes_out(name, tiny):
    import pandas as pd

    X, y = tiny
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    labels = pd.Series(y, name="label")
    array = make(name).poison(X, y, random_state=5)
    result = make(name).poison(frame, labels, random_state=5)
    assert list(result.X.columns) == list(frame.columns) and result.y.name == "label"
    assert (result.X.dtypes == frame.dtypes).all() and result.y.dtype == labels.dtype
    assert np.array_equal(result.X.to_numpy(), array.X)
    assert np.array_equal(result.y.to_numpy(), array.y)
    assert np.array_equal(result.poison_indices, array.poison_indices)
