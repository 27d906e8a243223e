"""The structure of a study spec: frozen pydantic models, one per TOML table.

Stage 1 of validation (types, required and unknown keys); :mod:`.spec` parses TOML into a
:class:`Spec` and checks names and parameters against the registries (stage 2).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .components import CERTIFICATE_PREFIX
from .ids import labelled
from .measure import DEFAULT_METRICS

# A study's name is its results folder's name: it starts with a letter or digit, so "." and
# ".." (which would escape results/) are refused, and it holds no slash.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


#: The most runs a study may hold unless its spec says ``max_runs = N`` (or ``run --max-runs``):
#: a typo such as ``repetitions = 100000000`` is refused in one line, before anything is built.
DEFAULT_MAX_RUNS = 100_000


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
    """Index ranges (``train``/``test``, half-open) or a stratified random split (sizes).

    With ranges, ``train_size`` and ``validation_size`` draw that many rows at random from the
    train range (``seed``) instead of training on all of it: the training rows and, apart from
    them, the attacker's validation set (given to attacks with a ``validation`` parameter; the
    model never sees it). ``seed = "repetition"`` draws anew for each repetition seed.
    """

    train: list[int] | None = None
    test: list[int] | None = None
    train_size: int | None = None
    test_size: int | None = None
    validation_size: int | None = None
    seed: int | str | None = None

    @field_validator("train", "test")
    @classmethod
    def _pair(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(value) != 2:
            raise ValueError(f"must be [start, stop], two row numbers; got {value!r}")
        return value

    @field_validator("train_size", "test_size", "validation_size")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"must be at least 1; got {value}")
        return value

    @field_validator("seed")
    @classmethod
    def _seed_form(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, str) and value != REPETITION:
            raise ValueError(f"must be an int or {REPETITION!r} (a draw per seed); got {value!r}")
        return value

    @model_validator(mode="after")
    def _one_form(self) -> SplitSpec:
        ranges = self.train is not None or self.test is not None
        if ranges:
            if None in (self.train, self.test) or self.test_size is not None:
                raise ValueError(_SPLIT_FORMS)
            if self.seed is not None and self.train_size is self.validation_size is None:
                raise ValueError(
                    "seed applies to a stratified split or a draw from the train range "
                    "(train_size or validation_size)"
                )
        elif None in (self.train_size, self.test_size) or self.validation_size is not None:
            raise ValueError(_SPLIT_FORMS)
        return self

    def as_config(self, repetition: int | None = None) -> dict[str, Any]:
        """The split as plain data; ``seed = "repetition"`` becomes ``repetition``."""
        seed = repetition if self.seed == REPETITION else self.seed
        if self.train is None:
            return {"train_size": self.train_size, "test_size": self.test_size, "seed": seed or 0}
        config: dict[str, Any] = {"train": list(self.train), "test": list(self.test)}
        if self.train_size is not None or self.validation_size is not None:
            sizes = {"train_size": self.train_size, "validation_size": self.validation_size}
            config.update({k: v for k, v in sizes.items() if v is not None}, seed=seed or 0)
        return config


#: ``seed = "repetition"`` in a split: one draw per repetition seed.
REPETITION = "repetition"
_SPLIT_FORMS = (
    "give either train = [start, stop] and test = [start, stop] (row ranges; optional "
    "train_size and validation_size drawn from the train range, and seed), or train_size and "
    "test_size (a stratified random split, optional seed)"
)


class DatasetSpec(_Strict):
    name: str
    split: SplitSpec
    label: str | None = None  # label column of a file: dataset

    def as_config(self, repetition: int | None = None) -> dict[str, Any]:
        """The dataset as plain data, its split drawn for ``repetition`` when it says so."""
        config = {"name": self.name, "split": self.split.as_config(repetition)}
        if self.label is not None:
            config["label"] = self.label
        return config


def combinations(sweep: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """The cartesian product of a sweep's values, one dict per combination (in
    :func:`itertools.product` order); ``[{}]`` for an empty sweep."""
    keys = list(sweep)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*sweep.values())]


def n_combinations(sweep: Mapping[str, list[Any]]) -> int:
    """``len(combinations(sweep))``, counted without building them."""
    return math.prod(len(values) for values in sweep.values())


def combination_at(sweep: Mapping[str, list[Any]], index: int) -> dict[str, int]:
    """Each key's value index in ``combinations(sweep)[index]``, without building the product:
    the index read in mixed radix, the last key varying fastest (:func:`itertools.product`).

    Returns the keys in reverse order (the order they are decoded in)."""
    at, rest = {}, index
    for key in reversed(list(sweep)):
        rest, at[key] = divmod(rest, len(sweep[key]))
    return at


class ModelSpec(_Strict):
    """A model entry; ``sweep = { C = [...] }`` makes one model per combination of values."""

    name: str
    params: dict[str, Any] = {}
    sweep: dict[str, list[Any]] = {}
    label: str | None = None

    @property
    def display(self) -> str:
        """The name in run ids and the ``model`` column (of the first variant)."""
        return self.variant(0)[0]["label"]

    def as_config(self) -> dict[str, Any]:
        """The model config of the first variant (the only one without a sweep)."""
        return self.variant(0)[0]

    def n_variants(self) -> int:
        return n_combinations(self.sweep)

    def variant(self, index: int) -> tuple[dict[str, Any], str]:
        """The ``index``-th combination of the sweep: its model config ``{"label", "name",
        "params"}`` and the key path suffix of its swept values (``.sweep.C[2]``).

        The label is ``label`` when given (followed by the swept values, ``label[C=0.1]``),
        else the class's short name with all its parameters (``svc[C=0.1]``).
        """
        at = combination_at(self.sweep, index)
        combo = {key: self.sweep[key][at[key]] for key in self.sweep}
        params = {**self.params, **combo}
        if self.label is None:
            label = labelled(self.name.rsplit(".", 1)[-1], params)
        else:
            label = labelled(self.label, combo)
        origin = "".join(f".sweep.{key}[{at[key]}]" for key in self.sweep)
        return {"label": label, "name": self.name, "params": params}, origin

    def variants(self) -> list[dict[str, Any]]:
        """Every variant's model config (see :meth:`variant`)."""
        return [self.variant(i)[0] for i in range(self.n_variants())]

    def sweep_origins(self) -> list[str]:
        """Every variant's key path suffix (see :meth:`variant`)."""
        return [self.variant(i)[1] for i in range(self.n_variants())]


class CertificateSpec(ModelSpec):
    """A ``[[certificates]]`` entry: a certificate trained and evaluated as one of the study's
    models (``name`` from the certificate registry, ``params``, ``sweep``, ``label``); its runs
    store the certified accuracy at every radius."""

    def variant(self, index: int) -> tuple[dict[str, Any], str]:
        config, origin = super().variant(index)
        return {**config, "name": CERTIFICATE_PREFIX + self.name}, origin


class BudgetRange(_Strict):
    """Budgets ``start, start + step, ...`` up to and including ``stop``."""

    start: int
    stop: int
    step: int

    @field_validator("step")
    @classmethod
    def _step_positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be at least 1; got {value}")
        return value

    def __len__(self) -> int:
        return len(range(self.start, self.stop + 1, self.step))

    def values(self) -> range:
        return range(self.start, self.stop + 1, self.step)


class AttackSpec(_Strict):
    name: str
    params: dict[str, Any] = {}
    budget: Any = None  # an int, a float, a list of them, or {start, stop, step}
    fraction: Any = None  # a fraction of the training set in [0, 1), or a list of them
    sweep: dict[str, list[Any]] = {}
    adaptive: bool = False  # hand each run's defense to the attack (its ``adapt_to``)

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

    @field_validator("fraction", mode="before")
    @classmethod
    def _fraction_form(cls, value: Any) -> Any:
        # Explicitly a fraction of the training set, so `fraction = 1` cannot be read as one
        # sample (or `budget = 1.0` as all of them): ints 0 and floats alike are fractions.
        if value is None:
            return None
        values = value if isinstance(value, list) else [value]
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, Integral | Real) or not 0 <= v < 1:
                where = f"[{i}] " if isinstance(value, list) else ""
                raise ValueError(
                    f"fraction {where}must be a fraction of the training set, a number >= 0 "
                    f"and < 1 (budget = N poisons N samples); got {v!r}"
                )
        return [float(v) for v in value] if isinstance(value, list) else float(value)

    @model_validator(mode="after")
    def _one_budget_key(self) -> AttackSpec:
        if self.fraction is not None and self.budget is not None:
            raise ValueError(
                "give budget = (a count or fraction) or fraction = (of the training set), not both"
            )
        return self

    @property
    def budget_key(self) -> str:
        """The key the spec gives the budgets with: ``budget`` or ``fraction``."""
        return "fraction" if self.fraction is not None else "budget"

    def budget_origin(self, j: int) -> str:
        """Key path suffix of the ``j``-th budget: ``.budget``, ``.budget[3]``, ``.fraction[1]``."""
        listed = isinstance(self.fraction if self.fraction is not None else self.budget, list)
        return f".{self.budget_key}" + (f"[{j}]" if listed else "")

    def n_budgets(self) -> int:
        """How many budgets :meth:`budgets` holds (1 when the spec gives none)."""
        budgets = self.budgets()
        return 1 if budgets is None else len(budgets)

    def budgets(self) -> Sequence[int | float] | None:
        """The budgets to sweep, or None when the spec leaves the attack's default; ``fraction``
        values are floats (fractions of the training set)."""
        if self.fraction is not None:
            return list(self.fraction) if isinstance(self.fraction, list) else [self.fraction]
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
    models: list[ModelSpec] = []
    certificates: list[CertificateSpec] = []
    attacks: list[AttackSpec] = Field(min_length=1)
    defenses: list[DefenseSpec] = Field([DefenseSpec(name="none")], min_length=1)
    seeds: list[int] | None = Field(None, min_length=1)
    repetitions: int | None = Field(None, ge=1)
    metrics: list[str] = list(DEFAULT_METRICS)
    max_runs: int = Field(DEFAULT_MAX_RUNS, ge=1)

    @field_validator("name")
    @classmethod
    def _name_form(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"name must start with a letter or digit and hold only letters, digits and "
                f"_ . - (it names the results folder and starts every run id); got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _one_dataset_form(self) -> Spec:
        if (self.dataset is None) == (self.datasets is None):
            raise ValueError("give either [dataset] or [[datasets]], not both and not neither")
        if self.seeds is not None and self.repetitions is not None:
            raise ValueError("give either seeds = [...] or repetitions = N, not both")
        if not self.models and not self.certificates:
            raise ValueError("give at least one [[models]] or [[certificates]] entry")
        return self

    def model_entries(self) -> list[tuple[str, ModelSpec]]:
        """``(key path, entry)`` of every model: the ``[[models]]``, then the certificates."""
        return [(f"models[{i}]", m) for i, m in enumerate(self.models)] + [
            (f"certificates[{i}]", c) for i, c in enumerate(self.certificates)
        ]

    def dataset_list(self) -> list[DatasetSpec]:
        return [self.dataset] if self.dataset is not None else list(self.datasets or [])

    def dataset_paths(self) -> list[str]:
        return (
            ["dataset"]
            if self.dataset is not None
            else [f"datasets[{i}]" for i in range(len(self.datasets or []))]
        )

    def n_runs(self) -> int:
        """The number of runs in the grid, counted without building it."""

        models = sum(m.n_variants() for _, m in self.model_entries())
        attacks = sum(n_combinations(a.sweep) * a.n_budgets() for a in self.attacks)
        defenses = sum(n_combinations(d.sweep) for d in self.defenses)
        return len(self.dataset_list()) * models * attacks * defenses * len(self.seed_list())

    def seed_list(self) -> Sequence[int]:
        """The repetitions' seeds (a ``range`` for ``repetitions = N``: nothing is built)."""
        if self.seeds is not None:
            return self.seeds
        return range(self.repetitions if self.repetitions is not None else 1)
