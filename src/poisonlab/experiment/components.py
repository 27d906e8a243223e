"""The bottom layer of a study: plain run configs (JSON data) to objects.

A run's config names its dataset, model, attack and defense with parameters; these functions
build the split, a fresh estimator, the attack and the detector from it. They read only plain
data, so a worker process (or a Dask worker) can rebuild everything from a ``RunSpec``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import re
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._errors import ParameterError
from .ids import canonical_json
from .seeds import derive_seed

#: Top-level packages whose estimators a spec may name by import path.
ALLOWED_MODEL_PACKAGES = ("sklearn", "xgboost", "lightgbm")
#: Kinds of mitigations that are classifiers, usable as a study's model.
MODEL_MITIGATION_KINDS = ("certified", "robust training")
_MODEL_KEYS = ("name", "params", "label")
#: A model config whose name starts with this is a certificate (a ``[[certificates]]`` entry).
CERTIFICATE_PREFIX = "certificate:"


# ------------------------------------------------------------------------------- data


@functools.lru_cache(maxsize=8)
def _load_split_cached(dataset_json: str):
    from ..datasets import split_by_ranges, split_stratified

    config = json.loads(dataset_json)
    ds = _load_dataset(config["name"], config.get("label"))
    split, validation = config["split"], None
    if "seed" in split and "train" in split:
        s, validation = draw_split(ds, split)
    elif "train" in split:
        s = split_by_ranges(ds, tuple(split["train"]), tuple(split["test"]))
    else:
        s = split_stratified(ds, split["train_size"], split["test_size"], seed=split["seed"])
    return s, np.unique(ds.y), validation


@functools.lru_cache(maxsize=2)
def _load_dataset(name: str, label: str | None):
    # Kept apart from the splits: a study drawing one split per seed loads its dataset once.
    from ..datasets import load

    return load(name, label=label)


def draw_split(ds, split: Mapping[str, Any]):
    """A split whose training rows (``train_size``, default: the rest) and validation rows
    (``validation_size``, default none) are drawn at random (``seed``) from the train range;
    the test rows are the whole test range.

    Returns
    -------
    split : Split
        Training rows in dataset order.
    validation : (X_val, y_val) or None
        The attacker's validation set: X_val of shape (validation_size, n_features).
    """
    from ..datasets import Split, split_by_ranges

    whole = split_by_ranges(ds, tuple(split["train"]), tuple(split["test"]))
    n_val = split.get("validation_size", 0)
    n_train = split.get("train_size", len(whole.train_rows) - n_val)
    if n_train < 1 or n_train + n_val > len(whole.train_rows):
        raise ParameterError(
            f"train_size ({n_train}) + validation_size ({n_val}) must be at most the "
            f"{len(whole.train_rows)} rows of the train range, with at least one to train on.",
            path=("split",),
        )
    rows = np.random.default_rng(split["seed"]).choice(whole.train_rows, n_train + n_val, False)
    train, val = np.sort(rows[:n_train]), np.sort(rows[n_train:])
    drawn = Split(ds.X[train], ds.y[train], whole.X_test, whole.y_test, train, whole.test_rows)
    return drawn, ((ds.X[val], ds.y[val]) if n_val else None)


def load_split(dataset_config: Mapping[str, Any]):
    """``(Split, classes)`` of a run's dataset config, cached per process (workers load once;
    threads asking at once wait for the one load, so all get the same arrays)."""
    with _LOADING:
        return _load_split_cached(canonical_json(dataset_config))[:2]


def load_validation(dataset_config: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """The attacker's validation set ``(X_val, y_val)`` of a run's split, or None."""
    with _LOADING:
        return _load_split_cached(canonical_json(dataset_config))[2]


_LOADING = threading.Lock()


# ----------------------------------------------------------------------------- models


def model_class(name: str) -> type:
    """The estimator class of an import path such as ``sklearn.tree.DecisionTreeClassifier``.

    Only classes from :data:`ALLOWED_MODEL_PACKAGES` are imported: a spec is data, and must not
    be able to run arbitrary code by naming it.
    """
    module_name, _, attr = name.rpartition(".")
    if name.split(".", 1)[0] not in ALLOWED_MODEL_PACKAGES or not module_name:
        raise ValueError(
            f"import paths must start with one of {', '.join(ALLOWED_MODEL_PACKAGES)}; got {name!r}"
        )
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        raise ValueError(f"cannot import {name!r}") from None
    if not (inspect.isclass(cls) and hasattr(cls, "fit") and hasattr(cls, "predict")):
        raise ValueError(f"{name!r} is not an estimator class with fit and predict")
    return cls


def model_mitigations() -> dict[str, type]:
    """The mitigations that are classifiers (usable as a study's model), by name."""
    from ..defenses import MITIGATIONS

    return {n: c for n, c in MITIGATIONS.items() if c.kind in MODEL_MITIGATION_KINDS}


def make_estimator(model: Mapping[str, Any]) -> Any:
    """A fresh unfitted estimator for a model config ``{"name": ..., "params": {...}}``.

    ``name`` is a zoo name, a classifier mitigation (e.g. ``partition_ensemble``, whose
    ``estimator`` parameter is itself a model config such as ``{"name": "svc"}``) or an allowed
    import path; or ``certificate:NAME``, a certificate of the ``CERTIFICATES`` registry as a
    :class:`~poisonlab.certify.CertifiedClassifier` (its ``estimator``, too, a model config).
    """
    name, params = model["name"], dict(model.get("params", {}))
    if name.startswith(CERTIFICATE_PREFIX):
        return _make_certified(name.removeprefix(CERTIFICATE_PREFIX), params)
    if "." not in name:
        from ..models.zoo import MODELS, make_model

        if name in MODELS:
            return make_model(name, **params)
        if name not in model_mitigations():  # e.g. a nested estimator = { name = "knm" }
            raise MODELS.unknown(name, also=f"the mitigations {', '.join(model_mitigations())}")
        return _make_mitigation(name, params)
    cls = model_class(name)
    valid = cls().get_params(deep=False)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ParameterError(
            f"{cls.__name__} has no parameter {unknown[0]!r}; valid: {', '.join(sorted(valid))}",
            path=(unknown[0],),
        )
    return cls(**params)


def check_estimator(estimator: Any) -> None:
    """Refuse what scikit-learn itself would refuse at ``fit``, before anything runs: each
    (nested) estimator's parameters through its own ``_validate_params``, and a model that is
    not a classifier (a regressor "works" and fails every run).

    Raises
    ------
    ValueError
        scikit-learn's message, which names the parameter, the value and what is allowed.
    """
    from sklearn.base import BaseEstimator, is_classifier

    parts = [estimator] + [
        v for v in estimator.get_params(deep=True).values() if isinstance(v, BaseEstimator)
    ]
    for part in parts:
        # poisonlab's own classes check their constraints themselves (house-style messages).
        if hasattr(part, "_validate_params") and not type(part).__module__.startswith("poisonlab."):
            try:
                part._validate_params()
            except (ValueError, TypeError) as exc:
                named = re.match(r"The '(\w+)' parameter", str(exc))
                path = (named.group(1),) if named else ("params",)
                raise ParameterError(str(exc).rstrip("."), path=path) from None
    if not is_classifier(estimator):
        raise ValueError(
            f"{type(_final_step(estimator)).__name__} is not a classifier; a study's model "
            "must predict classes (e.g. svc, logreg, sklearn.tree.DecisionTreeClassifier)"
        )


def _final_step(estimator: Any) -> Any:
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def estimator_size_errors(estimator: Any, n_train: int) -> list[str]:
    """Parameters that need more training rows than there are (``n_neighbors = 100000`` on
    600 rows), as messages naming the parameter, its value and the limit."""
    nested = estimator.get_params(deep=True).values() if hasattr(estimator, "get_params") else []
    parts = [estimator, *nested]
    errors = []
    for part in parts:
        value = getattr(part, "n_neighbors", None)
        if isinstance(value, int) and value > n_train:
            errors.append(
                f"n_neighbors = {value} of {type(part).__name__} needs at least that many "
                f"training rows; the training split has {n_train}"
            )
    return list(dict.fromkeys(errors))


def _make_mitigation(name: str, params: dict[str, Any]) -> Any:
    from .._validation import check_params
    from ..defenses import MITIGATIONS

    cls = model_mitigations()[name]
    estimator = MITIGATIONS.create(name, **_inner_estimator(name, params))
    check_params(cls.__name__, estimator.get_params(deep=False), cls._parameter_constraints)
    return estimator


def _make_certified(name: str, params: dict[str, Any]) -> Any:
    """A certificate as a classifier (:class:`~poisonlab.certify.CertifiedClassifier`)."""
    from .._validation import check_params
    from ..certify import CERTIFICATES, CertifiedClassifier
    from ..certify.model import per_input_certificates

    if name not in per_input_certificates():
        why = ""
        if name in CERTIFICATES:
            why = f"; {name!r} bounds a loss and certifies no prediction: use poisonlab certify"
        raise ParameterError(
            f"a study's certificate must be one of {', '.join(per_input_certificates())}; "
            f"got {name!r}{why}",
            path=("name",),
        )
    certificate = CERTIFICATES.create(name, **_inner_estimator(name, params))
    cls = type(certificate)
    check_params(cls.__name__, certificate.get_params(deep=False), cls._parameter_constraints)
    return CertifiedClassifier(certificate)


def _inner_estimator(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with a nested model entry ``estimator = { name = "svc" }`` built."""
    inner = params.get("estimator")
    if isinstance(inner, Mapping):
        unknown = [k for k in inner if k not in _MODEL_KEYS]
        if unknown or "name" not in inner:
            raise ValueError(
                f"the estimator of {name!r} must be a model entry with keys "
                f"{', '.join(_MODEL_KEYS)} (name required); got {dict(inner)!r}"
            )
        params = {**params, "estimator": make_estimator(inner)}
    return params


# ----------------------------------------------------------------- attacks and detectors


def registry_for(kind: str):
    """The registry of a spec section's component kind: ``"attack"``, ``"detector"`` or
    ``"certificate"``."""
    if kind == "attack":
        from ..attacks import ATTACKS

        return ATTACKS
    if kind == "certificate":
        from ..certify import CERTIFICATES

        return CERTIFICATES
    from ..defenses import DETECTORS

    return DETECTORS


def ordered_params(cls: type, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` in the order of ``cls.__init__``'s signature (so run ids do not depend on the
    order keys were written in the spec)."""
    order = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    return {k: params[k] for k in order if k in params}


def adapted_params(
    attack: str, params: dict[str, Any], defense: str, defense_params: dict[str, Any]
) -> dict[str, Any]:
    """An adaptive attack's parameters against one defense: its own, updated by its
    ``adapt_to(defense, defense_params)``, in signature order.

    The result is part of the run's config, so the run records what its attacker knew, and its
    attack seed and poisoned set are its own."""
    cls = registry_for("attack").get(attack)
    return ordered_params(cls, {**params, **cls.adapt_to(defense, defense_params)})


def make_attack(attack_config: Mapping[str, Any], validation: tuple | None = None) -> Any:
    """The attack instance of a run, or None for the attack ``none``; ``validation`` (the
    split's attacker validation set) goes to an attack with a ``validation`` parameter."""
    if attack_config["name"] == "none":
        return None
    params = dict(attack_config["params"])
    if validation is not None and takes_validation(attack_config["name"]):
        params["validation"] = validation
    return registry_for("attack").create(attack_config["name"], **params)


def takes_validation(attack: str) -> bool:
    """Whether the attack named ``attack`` has a ``validation`` parameter (an attacker's
    validation set, e.g. ``svm_gradient``)."""
    if attack == "none":
        return False
    return "validation" in inspect.signature(registry_for("attack").get(attack)).parameters


def make_detector(defense_config: Mapping[str, Any], run_seed: int) -> Any:
    """The detector instance of a run (seeded from the run's seed), or None for ``none``."""
    if defense_config["name"] == "none":
        return None
    seed = derive_seed(run_seed, "detector")
    return registry_for("detector").create(
        defense_config["name"], **defense_config["params"], random_state=seed
    )
