"""One Registry type for every family: names, prefixes, listings and "unknown" messages."""

from __future__ import annotations

import pytest

from poisonlab._errors import ParameterError
from poisonlab._registry import Registry
from poisonlab.attacks import ATTACKS
from poisonlab.datasets import DATASETS, load
from poisonlab.defenses import DETECTORS, MITIGATIONS
from poisonlab.experiment.measure import METRICS
from poisonlab.models.zoo import MODELS, make_model

from .conftest import run_cli


def test_names_prefixes_and_the_unknown_message():
    registry: Registry = Registry("thing", sort=False)
    registry.add("b", 2, description="the second")
    registry.add("a", 1)
    registry.add_prefix("file", "<path>", str.upper, description="a file")
    assert registry.names() == ["b", "a"] and registry.forms() == ["b", "a", "file:<path>"]
    assert registry.describe() == [("b", "the second"), ("a", ""), ("file:<path>", "a file")]
    assert registry.accepts("file:x") and not registry.accepts("file:") and "file:x" not in registry
    assert registry.prefix_entry("file:x") == (str.upper, "x")
    with pytest.raises(ValueError, match=r"^unknown thing 'c'; known: b, a, file:<path>\.$"):
        registry.get("c")
    with pytest.raises(RuntimeError, match="registered twice"):
        registry.add("a", 3)


def test_every_family_is_a_registry():
    for registry in (ATTACKS, DETECTORS, MITIGATIONS, METRICS, MODELS, DATASETS):
        assert isinstance(registry, Registry) and len(registry) > 0


def test_models_datasets_and_metrics_say_what_is_known():
    with pytest.raises(ValueError, match=r"^unknown model 'svm'; known: svc, linear_svc, "):
        make_model("svm")
    with pytest.raises(ParameterError) as info:
        make_model("svc", colour="red")
    assert info.value.path == ("colour",)
    with pytest.raises(ValueError, match=r"unknown dataset 'x:y'; known: mnist, digits, openml:"):
        load("x:y")
    assert METRICS.names()[:2] == ["accuracy", "per_class"]  # registration order


def test_datasets_list_reads_the_registry():
    out = run_cli("datasets", "list").stdout
    for form, description in DATASETS.describe():
        assert form in out and " ".join(description.split()[:2]) in out
