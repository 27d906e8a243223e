"""Study specs: a TOML file, validated into a frozen :class:`Spec`.

Validation has three stages, and a spec that fails any of them runs nothing and writes nothing:

1. structure (pydantic): types, required and unknown keys;
2. names and parameters against the registries (attacks, detectors, the model zoo, metrics),
   with each parameter's constraints checked for every value the grid will use;
3. against the data (:func:`check_against_data`): splits within the dataset, and each attack
   run once at its largest budget on the training split, so that ``budget = 300`` with only 220
   samples of class '1' fails before the sweep starts.

Every error names its key path (``attacks[1].budget[3]``), the value and what is allowed; all
errors of a stage are reported together as one :class:`SpecError`.

A minimal spec::

    name = "ml106"
    seeds = [0]

    [dataset]
    name = "mnist"
    split = { train = [0, 2000], test = [60000, 61000] }

    [[models]]
    name = "svc"

    [[attacks]]
    name = "label_flip"
    params = { source = "1", target = "2", select = "first" }
    budget = { start = 0, stop = 220, step = 5 }

    [[defenses]]
    name = "none"
"""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .._errors import ParameterError
from .components import (
    ALLOWED_MODEL_PACKAGES,
    adapted_params,
    check_estimator,
    make_estimator,
    model_mitigations,
    registry_for,
)
from .measure import METRICS
from .schema import (
    AttackSpec,
    BudgetRange,
    CertificateSpec,
    DatasetSpec,
    DefenseSpec,
    ModelSpec,
    Spec,
    SpecError,
    SplitSpec,
    _path,
    combinations,
)

__all__ = [
    "AttackSpec",
    "BudgetRange",
    "CertificateSpec",
    "DatasetSpec",
    "DefenseSpec",
    "ModelSpec",
    "Spec",
    "SpecError",
    "SplitSpec",
    "budget_path",
    "check_names",
    "load_spec",
    "parse_spec",
]


# ------------------------------------------------------------------------------- loading


def load_spec(path: str | Path, *, max_runs: int | None = None) -> tuple[Spec, str]:
    """Read and validate a spec file (stages 1 and 2; see :func:`check_against_data`).

    Returns
    -------
    spec : Spec
    text : str
        The file's text, stored in the results store's ``meta``.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ParameterError.named("spec", f"cannot read {str(path)!r}: {exc.strerror}.") from None
    except UnicodeDecodeError as exc:
        raise ParameterError.named(
            "spec", f"{str(path)!r} is not UTF-8 text (byte {exc.start}); a spec is TOML text."
        ) from None
    return parse_spec(text, source=str(path), max_runs=max_runs), text


def parse_spec(text: str, *, source: str = "<spec>", max_runs: int | None = None) -> Spec:
    """Validate spec text (TOML) against the structure and the registries.

    Parameters
    ----------
    text : str
    source : str
        Where the text came from, for messages.
    max_runs : int, optional
        The most runs the grid may hold; default: the spec's ``max_runs``
        (:data:`~poisonlab.experiment.schema.DEFAULT_MAX_RUNS` unless it says otherwise).
    """
    try:
        data = tomllib.loads(text)
        spec = Spec.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError([f"{source}: not valid TOML: {exc}"]) from None
    except RecursionError:  # e.g. 2,000 nested brackets
        raise SpecError([f"{source}: nested too deeply to be a study spec."]) from None
    except ValidationError as exc:
        raise SpecError([_format_pydantic(e) for e in exc.errors()]) from None
    check_size(spec, spec.max_runs if max_runs is None else max_runs)
    errors = check_names(spec)
    if errors:
        raise SpecError(errors)
    return spec


def _format_pydantic(error: Mapping[str, Any]) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
    path = _path(loc) or "spec"
    msg = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{path}: required key is missing."
    if error["type"] == "value_error":
        return f"{path}: {msg}."
    return f"{path}: {msg[0].lower()}{msg[1:]}; got {error.get('input')!r}."


def check_size(spec: Spec, max_runs: int) -> None:
    """Refuse a grid of more than ``max_runs`` runs, counted before anything is built."""
    if max_runs < 1:
        raise ParameterError.named("max_runs", f"must be at least 1; got {max_runs}.")
    n = spec.n_runs()
    if n > max_runs:
        raise SpecError(
            [
                f"the grid holds {n:,} runs, more than max_runs = {max_runs:,}; make the study "
                "smaller, or raise the limit with max_runs = N in the spec or run --max-runs N."
            ]
        )


# ---------------------------------------------------------------- names and parameters


def check_names(spec: Spec) -> list[str]:
    """Stage 2: every name and parameter against the registries; a list of error messages."""
    errors: list[str] = []
    errors += _check_unique_labels(spec)
    for i, d in enumerate(spec.dataset_list()):
        errors += _check_dataset_name(spec.dataset_paths()[i], d)
    for i, m in enumerate(spec.models):
        errors += _check_model(f"models[{i}]", m)
    for i, c in enumerate(spec.certificates):
        errors += _check_certificate(f"certificates[{i}]", c)
    for i, a in enumerate(spec.attacks):
        errors += _check_attack(f"attacks[{i}]", a)
    for i, d in enumerate(spec.defenses):
        errors += _check_defense(f"defenses[{i}]", d)
    if not errors:
        errors += _check_adaptive(spec)
    for i, name in enumerate(spec.metrics):
        if name not in METRICS:
            errors.append(f"metrics[{i}]: {METRICS.unknown(name)}")
    return errors


def _check_unique_labels(spec: Spec) -> list[str]:
    errors, seen = [], {}
    for path, m in spec.model_entries():
        if m.sweep and any(not values for values in m.sweep.values()):
            continue  # reported by _check_model
        for variant in m.variants():
            label = variant["label"]
            if label in seen:
                errors.append(
                    f"{path}: the label {label!r} is also {seen[label]}'s; "
                    "give one of them a distinct label = ..."
                )
            seen.setdefault(label, path)
    names = [d.name for d in spec.dataset_list()]
    for i, name in enumerate(names):
        if name in names[:i]:
            errors.append(f"datasets[{i}].name: {name!r} is listed twice.")
    return errors


def _check_dataset_name(path: str, d: DatasetSpec) -> list[str]:
    from ..datasets import DATASETS

    if DATASETS.accepts(d.name):
        return []
    return [f"{path}.name: {DATASETS.unknown(d.name)}"]


def _check_model(path: str, m: ModelSpec) -> list[str]:
    if "." not in m.name:
        from ..models.zoo import MODELS

        if m.name not in MODELS and m.name not in model_mitigations():
            also = (
                f"the mitigations {', '.join(model_mitigations())}, or an import path in "
                f"{', '.join(ALLOWED_MODEL_PACKAGES)} (e.g. sklearn.tree.DecisionTreeClassifier)"
            )
            return [f"{path}.name: {MODELS.unknown(m.name, also=also)}"]
    errors = []
    for key, values in m.sweep.items():
        if key in m.params:
            errors.append(f"{path}.sweep.{key}: {key!r} is also in params; give it in one place.")
        if not values:
            errors.append(f"{path}.sweep.{key}: an empty list sweeps nothing; give values.")
    if errors:
        return errors
    for config, origin in zip(m.variants(), m.sweep_origins(), strict=True):
        try:
            check_estimator(make_estimator(config))
        except (ValueError, TypeError) as exc:
            named = isinstance(exc, ParameterError) and m.params
            where = origin or (".params" if named else ".name")
            errors.append(f"{path}{where}: {str(exc).rstrip('.')}.")
    return list(dict.fromkeys(errors))


def _check_certificate(path: str, c: CertificateSpec) -> list[str]:
    """A certificate entry: its name, parameter names and values, and its base model."""
    try:
        make_estimator(c.as_config())
    except ParameterError as exc:
        if exc.path == ("name",):  # not a per-input certificate
            return [f"{path}.name: {exc}."]
    except (ValueError, TypeError):
        pass  # a parameter's error: placed at its key below
    plain = {k: v for k, v in c.params.items() if k != "estimator"}
    errors, _ = _check_component(path, "certificate", c.name, plain, c.sweep)
    if errors:
        return errors
    for config, origin in zip(c.variants(), c.sweep_origins(), strict=True):
        try:
            check_estimator(make_estimator(config))
        except (ValueError, TypeError) as exc:
            errors.append(f"{path}{origin or '.params'}: {str(exc).rstrip('.')}.")
    return list(dict.fromkeys(errors))


def _check_component(
    path: str, kind: str, name: str, params: Mapping[str, Any], sweep: Mapping[str, list]
) -> tuple[list[str], type | None]:
    """Registry name, parameter names, and each value's constraints (the house-style message)."""

    registry = registry_for(kind)
    if name not in registry:
        return [f"{path}.name: {registry.unknown(name)}"], None
    cls = registry.get(name)
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    errors = []
    for section, keys in (("params", list(params)), ("sweep", list(sweep))):
        for key in keys:
            if key == "random_state":
                errors.append(
                    f"{path}.{section}.random_state: set per run by the runner from the spec's "
                    "seeds; remove it."
                )
            elif key not in valid:
                errors.append(
                    f"{path}.{section}.{key}: {kind} {name!r} has no parameter {key!r}; "
                    f"valid: {', '.join(v for v in valid if v != 'random_state')}."
                )
    for key in set(params) & set(sweep):
        errors.append(f"{path}.sweep.{key}: {key!r} is also in params; give it in one place.")
    for key, values in sweep.items():
        if not values:
            errors.append(f"{path}.sweep.{key}: an empty list sweeps nothing; give values.")
    if errors:
        return errors, cls
    checks = [(f"{path}.params.{k}", k, v) for k, v in params.items()]
    checks += [
        (f"{path}.sweep.{k}[{j}]", k, v)
        for k, values in sweep.items()
        for j, v in enumerate(values)
    ]
    for where, key, value in checks:
        errors += _check_value(where, cls, key, value)
    return errors, cls


def _check_value(where: str, cls: type, key: str, value: Any) -> list[str]:
    """The house-style message of ``cls``'s constraints on ``key = value``, if they refuse it."""
    from .._validation import check_params

    constraints = cls._parameter_constraints
    if key not in constraints:
        return []
    try:
        check_params(cls.__name__, {key: value}, {key: constraints[key]})
    except ValueError as exc:
        return [f"{where}: {exc}"]
    return []


def _check_attack(path: str, a: AttackSpec) -> list[str]:
    if a.name == "none":
        if a.params or a.sweep or a.budgets() is not None:
            return [f"{path}: the attack 'none' (no poisoning) takes no params, sweep or budget."]
        return []
    errors, cls = _check_component(path, "attack", a.name, a.params, a.sweep)
    if cls is None or errors:
        return errors
    budgets = a.budgets()
    if budgets is None:
        return []
    if "budget" not in inspect.signature(cls.__init__).parameters:
        return [f"{path}.{a.budget_key}: attack {a.name!r} has no 'budget' parameter."]
    if "budget" in a.params or "budget" in a.sweep:
        return [
            f"{path}.{a.budget_key}: give the budget as budget = ... or fraction = ..., "
            "not also in params or sweep."
        ]
    if not budgets:
        empty = f"the range {a.budget.model_dump()}" if isinstance(a.budget, BudgetRange) else "[]"
        return [f"{path}.{a.budget_key}: {empty} holds no budget."]
    for j, b in enumerate(budgets):
        errors += _check_value(budget_path(path, a, j), cls, "budget", b)
    return errors


def _check_adaptive(spec: Spec) -> list[str]:
    """``adaptive = true`` only on attacks that take a defense (``adapt_to``), and each of the
    study's defenses one they accept."""
    errors = []
    attacks = registry_for("attack")
    for i, a in enumerate(spec.attacks):
        if not a.adaptive:
            continue
        cls = attacks.get(a.name) if a.name != "none" else None
        if not hasattr(cls, "adapt_to"):
            aware = ", ".join(n for n in attacks if hasattr(attacks.get(n), "adapt_to"))
            errors.append(
                f"attacks[{i}].adaptive: attack {a.name!r} cannot take the study's defense; "
                f"the attacks that can: {aware}."
            )
            continue
        for j, d in enumerate(spec.defenses):
            for combo in combinations(d.sweep):
                try:
                    adapted_params(a.name, a.params, d.name, {**d.params, **combo})
                except ValueError as exc:
                    errors.append(f"attacks[{i}].adaptive: against defenses[{j}]: {exc}")
    return list(dict.fromkeys(errors))


def budget_path(path: str, a: AttackSpec, j: int) -> str:
    """Key path of an attack's ``j``-th budget: ``attacks[1].budget``, ``...budget[3]`` or
    ``...fraction[0]``."""
    return path + a.budget_origin(j)


def _check_defense(path: str, d: DefenseSpec) -> list[str]:
    if d.name == "none":
        if d.params or d.sweep:
            return [f"{path}: the defense 'none' takes no params or sweep."]
        return []
    errors, _ = _check_component(path, "detector", d.name, d.params, d.sweep)
    return errors
