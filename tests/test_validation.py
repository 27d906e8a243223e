from numbers import Integral, Real

import numpy as np
import pytest

from poisonlab._validation import (
    RANDOM_STATE,
    Interval,
    Options,
    check_params,
    check_X_y,
    resolve_budget,
)


def test_message_names_parameter_value_and_allowed():
    constraints = {"budget": [Interval(Integral, 0, None), Interval(Real, 0.0, 1.0)]}
    with pytest.raises(ValueError) as err:
        check_params("LabelFlip", {"budget": -3}, constraints)
    assert str(err.value) == (
        "The 'budget' parameter of LabelFlip must be an int in [0, inf) "
        "or a float in [0, 1]; got -3."
    )


@pytest.mark.parametrize("value", [True, 1.5, float("nan"), "3", None])
def test_interval_rejects_bools_out_of_range_and_other_types(value):
    assert not Interval(Real, 0.0, 1.0).accepts(value)


def test_interval_bounds_and_closedness():
    half_open = Interval(Real, 0.0, 0.5, closed="right")
    assert not half_open.accepts(0.0)
    assert half_open.accepts(0.5)
    assert half_open.describe() == "a float in (0, 0.5]"
    assert Interval(Integral, 1, None).accepts(np.int64(7))


def test_options_compare_by_type_and_value():
    opts = Options("first", None)
    assert opts.accepts("first") and opts.accepts(None)
    assert not opts.accepts("FIRST") and not opts.accepts(np.array([1, 2]))
    assert opts.describe() == "one of {'first', None}"


def test_random_state_constraint():
    ok = [None, 0, np.random.default_rng(1)]
    assert all(any(c.accepts(v) for c in RANDOM_STATE) for v in ok)
    assert not any(c.accepts(-1) for c in RANDOM_STATE)


def test_resolve_budget_counts_and_fractions():
    assert resolve_budget(0.05, 2000, owner="A", available=220, what="x") == 100
    assert resolve_budget(7, 2000, owner="A", available=220, what="x") == 7
    with pytest.raises(ValueError, match=r"at most 220 \(the samples of class '1'\); got 300"):
        resolve_budget(300, 2000, owner="A", available=220, what="samples of class '1'")


def test_check_X_y_reports_first_bad_row():
    X = np.zeros((4, 2))
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match="1 rows with NaN or inf values \\(first: row 2\\)"):
        check_X_y(X, np.array(["a", "b", "a", "b"]), owner="T")
    with pytest.raises(ValueError, match="at least two classes"):
        check_X_y(np.zeros((3, 2)), np.array(["a"] * 3), owner="T")


def test_parameter_errors_carry_the_parameter_path():
    from poisonlab._errors import ParameterError
    from poisonlab.attacks import ATTACKS

    with pytest.raises(ParameterError) as info:
        ATTACKS.create("label_flip", source="1", target="2", budget=-3).poison(
            np.zeros((4, 2)), np.array(["1", "2", "1", "2"])
        )
    assert info.value.path == ("budget",) and info.value.parameter == "budget"
    with pytest.raises(ParameterError) as info:
        ATTACKS.create("label_flip", source="1", target="2", budget=3).poison(
            np.zeros((4, 2)), np.array(["1", "2", "1", "2"])
        )
    assert info.value.path == ("budget",)
    assert str(info.value).startswith("The 'budget' parameter of LabelFlip must be at most 2")
    named = ParameterError.named("out", "'x' is not a directory.")
    assert (str(named), named.path, named.detail) == (
        "out: 'x' is not a directory.",
        ("out",),
        "'x' is not a directory.",
    )
