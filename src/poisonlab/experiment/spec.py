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

import importlib
import inspect
import itertools
import re
import tomllib
from collections.abc import Mapping
from numbers import Integral, Real
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from .measure import DEFAULT_METRICS

#: Top-level packages whose estimators a spec may name by import path.
ALLOWED_MODEL_PACKAGES = ("sklearn", "xgboost", "lightgbm")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


class SpecError(ValueError):
    """A spec that cannot run; ``errors`` holds one message per problem, each with its path."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Strict(BaseModel):
    """Frozen, and unknown keys are errors that list the allowed ones."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = [k for k in data if k not in cls.model_fields]
            if unknown:
                raise ValueError(
                    f"unknown key {unknown[0]!r}; allowed: {', '.join(cls.model_fields)}"
                )
        return data


class SplitSpec(_Strict):
    """Index ranges (``train``/``test``, half-open) or a stratified random split (sizes)."""

    train: list[int] | None = None
    test: list[int] | None = None
    train_size: int | None = None
    test_size: int | None = None
    seed: int | None = None

    @field_validator("train", "test")
    @classmethod
    def _pair(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(value) != 2:
            raise ValueError(f"must be [start, stop], two row numbers; got {value!r}")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> SplitSpec:
        ranges = self.train is not None or self.test is not None
        sizes = self.train_size is not None or self.test_size is not None
        if ranges == sizes or (ranges and None in (self.train, self.test)):
            raise ValueError(
                "give either train = [start, stop] and test = [start, stop] (row ranges), or "
                "train_size and test_size (a stratified random split, optional seed)"
            )
        if sizes and None in (self.train_size, self.test_size):
            raise ValueError("a stratified split needs both train_size and test_size")
        if ranges and self.seed is not None:
            raise ValueError("seed applies only to a stratified split (train_size, test_size)")
        return self

    def as_config(self) -> dict[str, Any]:
        if self.train is not None:
            return {"train": list(self.train), "test": list(self.test)}
        return {"train_size": self.train_size, "test_size": self.test_size, "seed": self.seed or 0}


class DatasetSpec(_Strict):
    name: str
    split: SplitSpec
    label: str | None = None  # label column of a file: dataset

    def as_config(self) -> dict[str, Any]:
        config = {"name": self.name, "split": self.split.as_config()}
        if self.label is not None:
            config["label"] = self.label
        return config


class ModelSpec(_Strict):
    name: str
    params: dict[str, Any] = {}
    label: str | None = None

    @property
    def display(self) -> str:
        """The name in run ids and the ``model`` column."""
        if self.label is not None:
            return self.label
        from .ids import labelled

        return labelled(self.name.rsplit(".", 1)[-1], self.params)

    def as_config(self) -> dict[str, Any]:
        return {"label": self.display, "name": self.name, "params": dict(self.params)}


class BudgetRange(_Strict):
    """Budgets ``start, start + step, ...`` up to and including ``stop``."""

    start: int
    stop: int
    step: int

    def values(self) -> list[int]:
        return list(range(self.start, self.stop + 1, self.step))


class AttackSpec(_Strict):
    name: str
    params: dict[str, Any] = {}
    budget: Any = None  # an int, a float, a list of them, or {start, stop, step}
    sweep: dict[str, list[Any]] = {}

    @field_validator("budget", mode="before")
    @classmethod
    def _budget_form(cls, value: Any) -> Any:
        if value is None or isinstance(value, Mapping):
            return BudgetRange.model_validate(value) if value is not None else None
        values = value if isinstance(value, list) else [value]
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, Integral | Real):
                where = f"[{i}] " if isinstance(value, list) else ""
                raise ValueError(
                    f"budget {where}must be a count (int), a fraction (float >= 0 and < 1), "
                    f"a list of them or {{ start, stop, step }}; got {v!r}"
                )
        return value

    def budgets(self) -> list[int | float] | None:
        """The budgets to sweep, or None when the spec leaves the attack's default."""
        if self.budget is None:
            return None
        if isinstance(self.budget, BudgetRange):
            return self.budget.values()
        return list(self.budget) if isinstance(self.budget, list) else [self.budget]


class DefenseSpec(_Strict):
    name: str
    params: dict[str, Any] = {}
    sweep: dict[str, list[Any]] = {}
    sanitize: bool = True  # train on what the detector keeps (False: only measure detection)


class Spec(_Strict):
    """A validated study: the grid datasets x models x attacks x defenses x seeds."""

    name: str
    description: str = ""
    dataset: DatasetSpec | None = None
    datasets: list[DatasetSpec] | None = None
    models: list[ModelSpec]
    attacks: list[AttackSpec]
    defenses: list[DefenseSpec] = [DefenseSpec(name="none")]
    seeds: list[int] | None = None
    repetitions: int | None = None
    metrics: list[str] = list(DEFAULT_METRICS)

    @field_validator("name")
    @classmethod
    def _name_form(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"name must hold only letters, digits and _ . - (it starts every run id); "
                f"got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _one_dataset_form(self) -> Spec:
        if (self.dataset is None) == (self.datasets is None):
            raise ValueError("give either [dataset] or [[datasets]], not both and not neither")
        if self.seeds is not None and self.repetitions is not None:
            raise ValueError("give either seeds = [...] or repetitions = N, not both")
        return self

    def dataset_list(self) -> list[DatasetSpec]:
        return [self.dataset] if self.dataset is not None else list(self.datasets or [])

    def dataset_paths(self) -> list[str]:
        return (
            ["dataset"]
            if self.dataset is not None
            else [f"datasets[{i}]" for i in range(len(self.datasets or []))]
        )

    def seed_list(self) -> list[int]:
        if self.seeds is not None:
            return list(self.seeds)
        return list(range(self.repetitions if self.repetitions is not None else 1))


# ------------------------------------------------------------------------------- loading


def load_spec(path: str | Path) -> tuple[Spec, str]:
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
        raise ValueError(f"SPEC: cannot read {str(path)!r}: {exc.strerror}.") from None
    return parse_spec(text, source=str(path)), text


def parse_spec(text: str, *, source: str = "<spec>") -> Spec:
    """Validate spec text (TOML) against the structure and the registries."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError([f"{source}: not valid TOML: {exc}"]) from None
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError([_format_pydantic(e) for e in exc.errors()]) from None
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


# ---------------------------------------------------------------- names and parameters


def check_names(spec: Spec) -> list[str]:
    """Stage 2: every name and parameter against the registries; a list of error messages."""
    errors: list[str] = []
    errors += _check_unique_labels(spec)
    for i, d in enumerate(spec.dataset_list()):
        errors += _check_dataset_name(spec.dataset_paths()[i], d)
    for i, m in enumerate(spec.models):
        errors += _check_model(f"models[{i}]", m)
    for i, a in enumerate(spec.attacks):
        errors += _check_attack(f"attacks[{i}]", a)
    for i, d in enumerate(spec.defenses):
        errors += _check_defense(f"defenses[{i}]", d)
    from .measure import METRICS

    for i, name in enumerate(spec.metrics):
        if name not in METRICS:
            errors.append(f"metrics[{i}]: unknown metric {name!r}; known: {', '.join(METRICS)}.")
    return errors


def _check_unique_labels(spec: Spec) -> list[str]:
    errors, seen = [], {}
    for i, m in enumerate(spec.models):
        if m.display in seen:
            errors.append(
                f"models[{i}]: the label {m.display!r} is also models[{seen[m.display]}]'s; "
                "give one of them a distinct label = ..."
            )
        seen.setdefault(m.display, i)
    names = [d.name for d in spec.dataset_list()]
    for i, name in enumerate(names):
        if name in names[:i]:
            errors.append(f"datasets[{i}].name: {name!r} is listed twice.")
    return errors


def _check_dataset_name(path: str, d: DatasetSpec) -> list[str]:
    from ..datasets import DATASETS, PREFIXES, describe_names

    prefix, _, rest = d.name.partition(":")
    if d.name in DATASETS or (prefix in PREFIXES and rest):
        return []
    return [f"{path}.name: unknown dataset {d.name!r}; known: {', '.join(describe_names())}."]


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


#: Kinds of mitigations that are classifiers, usable as a study's model.
MODEL_MITIGATION_KINDS = ("certified", "robust training")


def _model_mitigations() -> dict[str, type]:
    from ..defenses import MITIGATIONS

    return {n: c for n, c in MITIGATIONS.items() if c.kind in MODEL_MITIGATION_KINDS}


def make_estimator(model: ModelSpec) -> Any:
    """A fresh unfitted estimator for a model entry: a zoo name, a classifier mitigation
    (e.g. ``partition_ensemble``, whose ``estimator`` parameter is itself a model entry such
    as ``{ name = "svc" }``) or an allowed import path."""
    if "." not in model.name:
        from ..models.zoo import MODELS, make_model

        if model.name in MODELS:
            return make_model(model.name, **model.params)
        return _make_mitigation(model)
    cls = model_class(model.name)
    valid = cls().get_params(deep=False)
    unknown = sorted(set(model.params) - set(valid))
    if unknown:
        raise ValueError(
            f"{cls.__name__} has no parameter {unknown[0]!r}; valid: {', '.join(sorted(valid))}"
        )
    return cls(**model.params)


def _make_mitigation(model: ModelSpec) -> Any:
    from .._validation import check_params
    from ..defenses import MITIGATIONS

    cls = _model_mitigations()[model.name]
    params = dict(model.params)
    if isinstance(params.get("estimator"), Mapping):
        params["estimator"] = make_estimator(ModelSpec.model_validate(params["estimator"]))
    estimator = MITIGATIONS.create(model.name, **params)
    check_params(cls.__name__, estimator.get_params(deep=False), cls._parameter_constraints)
    return estimator


def _check_model(path: str, m: ModelSpec) -> list[str]:
    if "." not in m.name:
        from ..models.zoo import MODELS

        if m.name not in MODELS and m.name not in _model_mitigations():
            return [
                f"{path}.name: unknown model {m.name!r}; known: {', '.join(MODELS)}, the "
                f"mitigations {', '.join(_model_mitigations())}, or an import path in "
                f"{', '.join(ALLOWED_MODEL_PACKAGES)} (e.g. sklearn.tree.DecisionTreeClassifier)."
            ]
    try:
        make_estimator(m)
    except (ValueError, TypeError) as exc:
        where = ".params" if m.params and "parameter" in str(exc) else ".name"
        return [f"{path}{where}: {str(exc).rstrip('.')}."]
    return []


def _registry_for(kind: str):
    if kind == "attack":
        from ..attacks import ATTACKS

        return ATTACKS
    from ..defenses import DETECTORS

    return DETECTORS


def ordered_params(cls: type, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` in the order of ``cls.__init__``'s signature (so run ids do not depend on the
    order keys were written in the spec)."""
    order = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    return {k: params[k] for k in order if k in params}


def _combinations(sweep: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    keys = list(sweep)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*sweep.values())]


def _check_component(
    path: str, kind: str, name: str, params: Mapping[str, Any], sweep: Mapping[str, list]
) -> tuple[list[str], type | None]:
    """Registry name, parameter names, and each value's constraints (the house-style message)."""

    registry = _registry_for(kind)
    if name not in registry:
        return [
            f"{path}.name: unknown {kind} {name!r}; known: {', '.join(registry.names())}."
        ], None
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
        if a.params or a.sweep or a.budget is not None:
            return [f"{path}: the attack 'none' (no poisoning) takes no params, sweep or budget."]
        return []
    errors, cls = _check_component(path, "attack", a.name, a.params, a.sweep)
    if cls is None or errors:
        return errors
    budgets = a.budgets()
    if budgets is None:
        return []
    if "budget" not in inspect.signature(cls.__init__).parameters:
        return [f"{path}.budget: attack {a.name!r} has no 'budget' parameter."]
    if "budget" in a.params or "budget" in a.sweep:
        return [f"{path}.budget: give the budget as budget = ..., not also in params or sweep."]
    if not budgets:
        return [f"{path}.budget: the range {a.budget.model_dump()} holds no budget."]
    for j, b in enumerate(budgets):
        errors += _check_value(budget_path(path, a, j), cls, "budget", b)
    return errors


def budget_path(path: str, a: AttackSpec, j: int) -> str:
    """Key path of an attack's ``j``-th budget: ``attacks[1].budget`` or ``...budget[3]``."""
    return f"{path}.budget" + (f"[{j}]" if isinstance(a.budget, list) else "")


def _check_defense(path: str, d: DefenseSpec) -> list[str]:
    if d.name == "none":
        if d.params or d.sweep:
            return [f"{path}: the defense 'none' takes no params or sweep."]
        return []
    errors, _ = _check_component(path, "detector", d.name, d.params, d.sweep)
    return errors


# ------------------------------------------------------------------------- against the data


def check_against_data(spec: Spec) -> None:
    """Stage 3: splits within each dataset, and each attack configuration run once at its
    largest budget(s) on the training split, so data-dependent limits (``budget = 300`` with
    220 samples of class '1', an unknown class label) fail before anything runs.

    Raises
    ------
    SpecError
        Listing every problem found, each with its key path.
    """
    from .grid import attack_variants
    from .runner import load_split, make_attack

    errors: list[str] = []
    for path, dataset in zip(spec.dataset_paths(), spec.dataset_list(), strict=True):
        try:
            split, _ = load_split(dataset.as_config())
        except (ValueError, TypeError) as exc:
            where = ".split" if "range" in str(exc) or "size" in str(exc) else ".name"
            errors.append(f"{path}{where}: {str(exc).rstrip('.')}.")
            continue
        for i, attack in enumerate(spec.attacks):
            for params, origin in _largest_budgets(attack_variants(attack)):
                try:
                    make_attack({"name": attack.name, "params": params}).poison(
                        split.X_train, split.y_train, random_state=0
                    )
                except (ValueError, TypeError) as exc:
                    errors.append(_data_error(f"attacks[{i}]", origin, params, exc, path))
    if errors:
        raise SpecError(list(dict.fromkeys(errors)))


def _largest_budgets(variants: list[tuple[dict, dict]]) -> list[tuple[dict, dict]]:
    """Per combination of the other parameters, the variants with the largest int budget and
    the largest fraction (the only ones whose limits the smaller budgets could not exceed)."""
    best: dict[tuple, tuple[dict, dict]] = {}
    for params, origin in variants:
        budget = params.get("budget")
        others = repr(sorted((k, repr(v)) for k, v in params.items() if k != "budget"))
        slot = (others, type(budget).__name__)
        if slot not in best or (budget is not None and budget > best[slot][0]["budget"]):
            best[slot] = (params, origin)
    return list(best.values())


def _data_error(path: str, origin: dict, params: dict, exc: Exception, dataset: str) -> str:
    """Place an attack's error at the key its message names (``The 'budget' parameter ...``)."""
    match = re.search(r"'(\w+)' parameter", str(exc))
    key = match.group(1) if match else None
    if key in origin:
        where = f"{path}{origin[key]}"
    elif key in params:
        where = f"{path}.params.{key}"
    else:
        where = path
    on = f" (on {dataset})" if dataset != "dataset" else ""
    return f"{where}{on}: {exc}"
