"""Hostile values of the options no other Hypothesis test drives (`audit`, `certify`,
`datasets show`, `report --where/--metric/--facet/--roc-budget`, `run --memory`), through the
real entry point: success or one line with status 2 (`audit` may also exit 1, findings), never a
traceback, and the inputs unchanged by hash. Outputs go to a fresh folder, which is also the
working directory, so a relative path lands there."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poisonlab.datasets import load

from .test_hostile_input import digest, run_cli
from .test_hostile_specs import OPTION_VALUES

SPEC = """name = "t"
seeds = [0]
[dataset]
name = "digits"
split = { train = [0, 120], test = [120, 200] }
[[models]]
name = "logreg"
[[attacks]]
name = "label_flip"
params = { source = "1", target = "7" }
budget = [0, 5]
"""

# Each command with the arguments that make it do real work, and the options to drive.
OPTIONS = {
    "audit": [
        "--label", "--reference", "--expect", "--pred-probs", "--features", "--model",
        "--categorical", "--text", "--ignore", "--id", "--out", "--alpha", "--fail-on",
        "--baseline", "--junit", "--write-clean", "--clean-action", "--seed", "--top",
    ],
    "certify": [
        "--method", "--partitions", "--model", "--model-param", "--features", "--param",
        "--train-rows", "--test-rows", "--classes", "--label", "--out",
    ],
    "datasets show": ["--label"],
    "report": ["--where", "--metric", "--facet", "--roc-budget"],
    "run": ["--memory"],
}  # fmt: skip
CASES = [(command, option) for command, options in OPTIONS.items() for option in options]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """A small CSV table, a spec and a finished store."""
    folder = tmp_path_factory.mktemp("inputs")
    digits = load("digits")
    table = folder / "table.csv"
    rows = [",".join(f"f{i}" for i in range(8)) + ",y"]
    rows += [
        ",".join(map(str, x.astype(int))) + f",{y}"
        for x, y in zip(digits.X[:150, :8], digits.y[:150], strict=True)
    ]
    table.write_text("\n".join(rows) + "\n")
    spec = folder / "spec.toml"
    spec.write_text(SPEC)
    code, _, stderr = run_cli("run", str(spec), "-o", str(folder / "store"), "--no-report")
    assert code == 0, stderr
    return {"table": table, "spec": spec, "store": folder / "store"}


def _argv(command: str, inputs: dict[str, Path], out: Path) -> list[str]:
    return {
        "audit": ["audit", str(inputs["table"]), "--quiet"],
        "certify": ["certify", "digits", "--method", "knn", "--train-rows", "0:150",
                    "--test-rows", "1500:1530"],
        "datasets show": ["datasets", "show", f"file:{inputs['table']}"],
        "report": ["report", str(inputs["store"]), "-o", str(out)],
        "run": ["run", str(inputs["spec"]), "-o", str(out), "--no-report"],
    }[command]  # fmt: skip


# Each example is a whole command (a report renders for seconds): slow, and few unless
# HYPOTHESIS_PROFILE=slow.
@pytest.mark.slow
@settings(
    max_examples=200 if os.environ.get("HYPOTHESIS_PROFILE") == "slow" else 6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=st.sampled_from(CASES), value=OPTION_VALUES)
def test_any_option_value_of_any_command_succeeds_or_is_one_line(inputs, case, value):
    command, option = case
    before = {name: digest(path) for name, path in inputs.items() if path.is_file()}
    store_before = digest(inputs["store"] / "results.sqlite")
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
        argv = [*_argv(command, inputs, Path(folder) / "out"), f"{option}={value}"]
        code, _, stderr = run_cli(*argv)
    assert "Traceback" not in stderr, (argv, stderr)
    allowed = (0, 1, 2) if command == "audit" else (0, 2)
    assert code in allowed, (argv, code, stderr)
    if code == 2:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("poisonlab: error: "), (argv, stderr)
    assert before == {name: digest(path) for name, path in inputs.items() if path.is_file()}
    assert digest(inputs["store"] / "results.sqlite") == store_before
    assert all(path.exists() for path in inputs.values())
