"""``adaptive = true``: a defense-aware attack takes each run's defense (via ``poisonlab run``)."""

from __future__ import annotations

import inspect
import json

import pytest

from poisonlab.attacks import ATTACKS
from poisonlab.defenses import DETECTORS

from .conftest import run_cli

SPEC = """
name = "adaptive"
seeds = [0]

[dataset]
name = "mnist:7,1"
split = {{ train = [0, 200], test = [200, 500] }}

[[models]]
name = "sklearn.svm.SVC"
params = {{ kernel = "linear" }}

[[attacks]]
name = "{attack}"
budget = 6
adaptive = true

[[defenses]]
name = "none"

[[defenses]]
name = "sphere_filter"
params = {{ percentile = 90.0 }}

[[defenses]]
name = "{last}"
{last_params}
"""


@pytest.mark.slow  # three kkt runs on MNIST rows: about 8 s on a quiet machine
def test_the_attack_takes_each_runs_defense_and_evades_it(tmp_path):
    spec = tmp_path / "a.toml"
    spec.write_text(
        SPEC.format(attack="kkt", last="svd_filter", last_params="params = { n_components = 3 }")
    )
    proc = run_cli("run", str(spec), "-o", str(tmp_path / "o"), "--no-report")
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(run_cli("results", str(tmp_path / "o"), "--format", "json").stdout)
    params = {r["config"]["defense"]["name"]: r["config"]["attack"]["params"] for r in runs}
    assert params == {
        "none": {"budget": 6, "defense": None},
        "sphere_filter": {"budget": 6, "defense": "sphere_filter", "percentile": 90.0},
        "svd_filter": {
            "budget": 6,
            "defense": "svd_filter",
            "percentile": 95.0,
            "n_components": 3,
        },
    }
    # Each run's attacker knew its sanitizer: the sanitizer (fitted on the poisoned set)
    # keeps every poison.
    for r in runs:
        if r["config"]["defense"]["name"] != "none":
            assert r["metrics"]["detection"]["recall"] == 0.0, r["run_id"]


def test_a_detector_it_cannot_model_leaves_the_attacks_own_defense():
    assert ATTACKS.get("kkt").adapt_to("knn_label", {"n_neighbors": 5}) == {}
    assert ATTACKS.get("min_max").adapt_to("none", {}) == {"defense": None}


@pytest.mark.parametrize("name", ["sphere_filter", "slab_filter", "svd_filter"])
def test_the_attack_defaults_are_the_detectors(name):
    # adapt_to fills what the spec leaves out with the attack's defaults: they must be the
    # detector's, or the attacker would model another threshold.
    detector = inspect.signature(DETECTORS.get(name).__init__).parameters
    attack = inspect.signature(ATTACKS.get("influence").__init__).parameters
    for key in ("percentile", "n_components"):
        if key in detector:
            assert attack[key].default == detector[key].default


@pytest.mark.parametrize(
    ("attack", "last", "last_params", "message"),
    [
        (
            "label_flip",
            "slab_filter",
            "",
            "attacks[0].adaptive: attack 'label_flip' cannot take the study's defense; "
            "the attacks that can: influence, kkt, min_max.",
        ),
        (
            "kkt",
            "slab_filter",
            "params = { contamination = 0.1 }",
            "attacks[0].adaptive: against defenses[2]: KKT models slab_filter's percentile "
            "rule only; got contamination = 0.1. Remove it or set adaptive = false.",
        ),
    ],
)
def test_a_spec_the_attack_cannot_adapt_to_is_one_line(
    tmp_path, attack, last, last_params, message
):
    spec = tmp_path / "a.toml"
    spec.write_text(SPEC.format(attack=attack, last=last, last_params=last_params))
    proc = run_cli("run", str(spec), "-o", str(tmp_path / "o"), "--no-report")
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()
