"""Parameters valid alone but refused together (``penalty = "l1"`` with ``solver = "lbfgs"``,
``kernel = "precomputed"``, LinearSVC's ``penalty``/``loss``/``dual``) fail before the sweep:
one line naming the entry's key path and values, status 2, no store; never a study whose runs
all fail at fit (status 1)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from .test_error_paths import one_error_line
from .test_hostile_input import assert_clean_outcome, digest, run_cli

SPEC = """name = "t"
seeds = [0]
[dataset]
name = "digits"
split = {{ train = [0, 120], test = [120, 200] }}
[[models]]
name = "{model}"
params = {{ {params} }}
[[attacks]]
name = "none"
[[defenses]]
name = "{defense}"
"""


def _toml(value) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value).lower()


def _params(draw_dict: dict) -> str:
    return ", ".join(f"{k} = {_toml(v)}" for k, v in draw_dict.items() if v is not None)


LOGREG = st.fixed_dictionaries(
    {
        "penalty": st.sampled_from(["l1", "l2", "elasticnet", None]),
        "solver": st.sampled_from(["lbfgs", "liblinear", "saga", "newton-cg", "sag", None]),
        "l1_ratio": st.sampled_from([0.5, None]),
    }
)
SVC = st.fixed_dictionaries(
    {
        "kernel": st.sampled_from(["linear", "rbf", "poly", "sigmoid", "precomputed", None]),
        "gamma": st.sampled_from(["scale", "auto", 0.01, None]),
        "degree": st.sampled_from([2, 3, None]),
    }
)
LINEAR_SVC = st.fixed_dictionaries(
    {
        "penalty": st.sampled_from(["l1", "l2", None]),
        "loss": st.sampled_from(["hinge", "squared_hinge", None]),
        "dual": st.sampled_from([True, False, "auto", None]),
    }
)
MODELS = st.one_of(
    st.tuples(st.just("logreg"), LOGREG),
    st.tuples(st.just("svc"), SVC),
    st.tuples(st.just("sklearn.svm.LinearSVC"), LINEAR_SVC),
)


# Each example is a whole `poisonlab run` (a second or two): few by default, many in the slow
# profile (HYPOTHESIS_PROFILE=slow).
@settings(max_examples=200 if os.environ.get("HYPOTHESIS_PROFILE") == "slow" else 8, deadline=None)
@given(model=MODELS, defense=st.sampled_from(["none", "knn_label"]))
def test_parameter_combinations_run_or_fail_before_the_sweep(model, defense):
    name, params = model
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "spec.toml"
        spec.write_text(SPEC.format(model=name, params=_params(params), defense=defense))
        before, out = digest(spec), Path(folder) / "out"
        code, _, stderr = run_cli("run", str(spec), "-o", str(out), "--no-report")
        assert code != 1, stderr  # no run failed at fit: the check caught it before
        assert_clean_outcome(code, stderr)
        assert digest(spec) == before
        if code == 2:
            assert "models[0].params: " in stderr and not out.exists(), stderr


def test_the_message_names_the_key_the_values_and_what_is_allowed(tmp_path):
    spec = tmp_path / "spec.toml"
    sweep = 'sweep = { penalty = ["l2", "l1"] }'
    text = SPEC.format(model="logreg", params="", defense="none").replace("params = {  }", sweep)
    spec.write_text(text)
    code, _, stderr = run_cli("run", str(spec), "-o", str(tmp_path / "out"))
    one_error_line(
        code,
        stderr,
        "models[0].sweep.penalty[1]: penalty = 'l1': refused at fit",
        "Solver lbfgs supports only 'l2' or None penalties",
    )
    assert not (tmp_path / "out").exists()
