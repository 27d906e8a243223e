"""``fraction =`` in a spec's attack: budgets that are explicitly fractions of the training set,
so ``1`` (one sample) and ``1.0`` (every sample) cannot be confused (issue 12)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from poisonlab.experiment.checks import check_against_data
from poisonlab.experiment.grid import expand
from poisonlab.experiment.spec import SpecError, parse_spec

SPEC = """
name = "t"

[dataset]
name = "digits"
split = {{ train = [0, 300], test = [1000, 1200] }}

[[models]]
name = "logreg"

[[attacks]]
name = "random_flip"
{budgets}
"""


def errors_of(budgets: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        check_against_data(parse_spec(SPEC.format(budgets=budgets)))
    return info.value.errors


def test_fraction_runs_are_the_budget_runs_of_the_same_floats():
    by_fraction = expand(parse_spec(SPEC.format(budgets="fraction = [0, 0.05, 0.5]")))
    by_budget = expand(parse_spec(SPEC.format(budgets="budget = [0.0, 0.05, 0.5]")))
    assert [r.key for r in by_fraction] == [r.key for r in by_budget]  # same runs, same store
    # An int 0 under `fraction` is a fraction too (a float), so the report plots it as one.
    assert [r.config["attack"]["params"]["budget"] for r in by_fraction] == [0.0, 0.05, 0.5]


@pytest.mark.parametrize(
    ("budgets", "message"),
    [
        (
            "fraction = 1",
            "attacks[0].fraction: fraction must be a fraction of the training set, a number "
            ">= 0 and < 1 (budget = N poisons N samples); got 1.",
        ),
        ("fraction = [0.1, -0.5]", "attacks[0].fraction: fraction [1] must be a fraction"),
        ("fraction = [0.1, true]", "attacks[0].fraction: fraction [1] must be a fraction"),
        ("fraction = 'half'", "attacks[0].fraction: fraction must be a fraction"),
        ("fraction = []", "attacks[0].fraction: [] holds no budget."),
        ("budget = []", "attacks[0].budget: [] holds no budget."),
        (
            "fraction = 0.1\nbudget = 3",
            "attacks[0]: give budget = (a count or fraction) or fraction = (of the training "
            "set), not both.",
        ),
    ],
)
def test_bad_fractions_are_one_error_naming_the_key(budgets, message):
    [error] = errors_of(budgets)
    assert error.startswith(message), error


def test_a_data_error_names_the_fraction_it_came_from():
    # 0.9 of 300 rows is 270; random_flip is fine with that, but label_flip of 1s is not.
    text = SPEC.format(budgets="fraction = [0.01, 0.9]").replace(
        'name = "random_flip"', 'name = "label_flip"\nparams = { source = "1", target = "7" }'
    )
    with pytest.raises(SpecError) as info:
        check_against_data(parse_spec(text))
    assert info.value.errors[0].startswith("attacks[0].fraction[1]: "), info.value.errors


@given(st.floats(min_value=0, max_value=1, exclude_max=True))
def test_every_fraction_in_0_1_is_accepted_as_that_float(value):
    [run] = expand(parse_spec(SPEC.format(budgets=f"fraction = {value!r}")))
    assert run.config["attack"]["params"]["budget"] == value


@given(
    st.one_of(
        st.floats(allow_nan=True).filter(lambda v: not 0 <= v < 1),
        st.integers().filter(lambda v: v != 0),
    )
)
def test_every_value_outside_0_1_is_refused(value):
    text = "nan" if value != value else ("inf" if value == float("inf") else repr(value))
    text = "-inf" if value == float("-inf") else text
    with pytest.raises(SpecError) as info:
        parse_spec(SPEC.format(budgets=f"fraction = {text}"))
    assert info.value.errors[0].startswith("attacks[0].fraction: fraction must be")
