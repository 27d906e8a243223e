"""A spec's grid of runs: datasets x models x attacks x defenses x seeds, with sweeps.

A grid is data: each :class:`RunSpec` is a plain, picklable description of one run (its id,
config, content hash and seed), which any process (a local worker, a Dask worker) can execute.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .components import adapted_params, ordered_params, registry_for
from .ids import canonical_json, content_id, labelled, make_run_id, run_config
from .schema import (
    AttackSpec,
    DefenseSpec,
    Spec,
    SpecError,
    combination_at,
    combinations,
    n_combinations,
)
from .seeds import derive_seed
from .store import run_key


@dataclass(frozen=True)
class RunSpec:
    """One run of a study.

    Attributes
    ----------
    run_id : str
    key : str
        Content hash of ``config`` (the store's key).
    config : dict
        ``experiment``, ``dataset``, ``model``, ``attack``, ``defense``, ``seed``.
    run_seed : int
        Hashed from the repetition's seed and the run's content (``ids.content_id``); seeds the
        detector.
    attack_seed : int
        Hashed from the repetition's seed, the dataset and the attack's configuration only, so
        that every model and defense of a repetition sees the same poisoned training set.
    origin : dict
        Where each part came from in the spec (``{"attack": "attacks[1]", ...}``), for messages.
    metrics : tuple of str
        The metrics the study asks for (not part of the run's identity).
    """

    run_id: str
    key: str
    config: dict[str, Any]
    run_seed: int
    attack_seed: int
    origin: dict[str, Any]
    metrics: tuple[str, ...] = ()

    @property
    def dataset(self) -> str:
        return self.config["dataset"]["name"]

    @property
    def model(self) -> str:
        return self.config["model"]["label"]

    @property
    def attack(self) -> str:
        return self.config["attack"]["name"]

    @property
    def defense(self) -> str:
        return self.config["defense"]["name"]

    @property
    def seed(self) -> int:
        return self.config["seed"]


class Variants(Sequence):
    """One axis of the grid: the variants of a list of spec entries, each entry ``(count,
    variant_at)``, read by index without building them (an axis may be a million budgets)."""

    def __init__(self, entries: list[tuple[int, Callable[[int], Any]]]) -> None:
        self._entries = entries
        self._ends = list(itertools.accumulate(count for count, _ in entries))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < len(self):
            raise IndexError(index)
        entry = bisect.bisect_right(self._ends, index)
        start = self._ends[entry - 1] if entry else 0
        return self._entries[entry][1](index - start)


def attack_variants(a: AttackSpec) -> Variants:
    """Each attack configuration of an entry: ``(params in signature order, origin)``, the
    sweep's combinations in order, each with every budget.

    ``origin`` maps each parameter that came from a list to its key path suffix, e.g.
    ``{"budget": ".budget[3]", "target": ".sweep.target[1]"}``.
    """
    if a.name == "none":
        return Variants([(1, lambda _: ({}, {}))])
    cls = registry_for("attack").get(a.name)
    budgets, n_budgets = a.budgets(), a.n_budgets()

    def variant_at(index: int) -> tuple[dict[str, Any], dict[str, Any]]:
        combo_index, j = divmod(index, n_budgets)
        at = combination_at(a.sweep, combo_index)
        params = {**a.params, **{key: a.sweep[key][at[key]] for key in a.sweep}}
        where = {key: f".sweep.{key}[{i}]" for key, i in at.items()}
        if budgets is not None:
            params["budget"] = budgets[j]
            where["budget"] = a.budget_origin(j)
        return ordered_params(cls, params), where

    return Variants([(n_combinations(a.sweep) * n_budgets, variant_at)])


def defense_variants(d: DefenseSpec) -> Variants:
    """Each detector configuration of an entry, parameters in signature order."""
    if d.name == "none":
        return Variants([(1, lambda _: {})])
    cls = registry_for("detector").get(d.name)

    def variant_at(index: int) -> dict[str, Any]:
        at = combination_at(d.sweep, index)
        return ordered_params(cls, {**d.params, **{key: d.sweep[key][at[key]] for key in d.sweep}})

    return Variants([(n_combinations(d.sweep), variant_at)])


class Grid(Sequence):
    """Every run of a spec, in grid order (datasets, models, attacks, defenses, seeds), built
    one at a time from its index: counting, indexing and iterating hold no list of runs, so a
    sweep of any size holds only the runs it is working on.

    Each axis is the concatenation of its entries' variants (:class:`Variants`); a run's index
    is read in mixed radix over the five axes, the seeds varying fastest.
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._models = Variants(
            [(m.n_variants(), _tagged(path, m.variant)) for path, m in spec.model_entries()]
        )
        self._attacks = Variants(
            [(len(v), _tagged(i, v.__getitem__)) for i, v in _each(spec.attacks, attack_variants)]
        )
        self._defenses = Variants(
            [(len(v), _tagged(i, v.__getitem__)) for i, v in _each(spec.defenses, defense_variants)]
        )
        self._axes: tuple[Sequence, ...] = (
            range(len(spec.dataset_list())),
            self._models,
            self._attacks,
            self._defenses,
            spec.seed_list(),
        )

    def __len__(self) -> int:
        return math.prod(len(axis) for axis in self._axes)

    def __getitem__(self, index: int | slice) -> RunSpec | list[RunSpec]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        at = []
        for axis in reversed(self._axes):
            index, j = divmod(index, len(axis))
            at.append(axis[j])
        seed, (fi, defense_params), (ai, (attack_params, attack_origin)), model, di = at
        model_path, (model_config, model_origin) = model
        return _run(
            self.spec,
            dataset_index=di,
            model_path=model_path,
            model_config=model_config,
            model_origin=model_origin,
            attack_index=ai,
            attack_params=attack_params,
            attack_origin=attack_origin,
            defense_index=fi,
            defense_params=defense_params,
            seed=seed,
        )

    def __iter__(self) -> Iterator[RunSpec]:
        for index in range(len(self)):
            yield self[index]


def _each(entries: Sequence, variants: Callable) -> list[tuple[int, Sequence]]:
    return [(i, variants(entry)) for i, entry in enumerate(entries)]


def _tagged(entry: int, variant_at: Callable[[int], Any]) -> Callable[[int], tuple[int, Any]]:
    """``variant_at`` whose values carry the index of their spec entry (for key paths)."""
    return lambda index: (entry, variant_at(index))


def expand(spec: Spec) -> Grid:
    """Every run of ``spec``, in grid order (see :class:`Grid`); refuses a run id that appears
    twice (a repeated entry or value)."""
    grid = Grid(spec)
    _check_unique_ids(grid)
    return grid


def _run(
    spec: Spec,
    *,
    dataset_index: int,
    model_path: str,
    model_config: dict[str, Any],
    model_origin: str,
    attack_index: int,
    attack_params: dict[str, Any],
    attack_origin: dict[str, str],
    defense_index: int,
    defense_params: dict[str, Any],
    seed: int,
) -> RunSpec:
    datasets = spec.dataset_list()
    dataset = datasets[dataset_index]
    attack, defense = spec.attacks[attack_index], spec.defenses[defense_index]
    if attack.adaptive:
        attack_params = adapted_params(attack.name, attack_params, defense.name, defense_params)
    run_id = make_run_id(
        experiment=spec.name,
        dataset=dataset.name if len(datasets) > 1 else None,
        model=model_config["label"],
        attack=attack.name,
        attack_params=attack_params,
        defense=defense.name,
        defense_params=defense_params,
        seed=seed,
    )
    defense_config: dict[str, Any] = {"name": defense.name, "params": defense_params}
    if defense.name != "none":
        defense_config["sanitize"] = defense.sanitize
    config = run_config(
        experiment=spec.name,
        dataset=dataset.as_config(seed),
        model=model_config,
        attack={"name": attack.name, "params": attack_params},
        defense=defense_config,
        seed=seed,
    )
    origin = {
        "dataset": spec.dataset_paths()[dataset_index],
        "model": f"{model_path}{model_origin}",
        "attack": f"attacks[{attack_index}]",
        "attack_params": attack_origin,
        "defense": f"defenses[{defense_index}]",
    }
    attack_seed = derive_seed(seed, attack_seed_id(config["dataset"], attack.name, attack_params))
    run_seed = derive_seed(seed, content_id(config))
    return RunSpec(
        run_id, run_key(config), config, run_seed, attack_seed, origin, tuple(spec.metrics)
    )


def attack_seed_id(dataset: dict[str, Any], attack: str, params: dict[str, Any]) -> str:
    """What an attack's seed is hashed from, besides the repetition's seed: the dataset config
    and the attack with its parameters (not the model, the defense or the study's name)."""
    return f"{canonical_json(dataset)}/{labelled(attack, params)}"


def _check_unique_ids(grid: Grid) -> None:
    """Refuse two variants of one axis with the same name in run ids: run ids are unique
    exactly when each axis's are (datasets and model labels are checked by the spec), so this
    holds one axis's names, not the grid's runs."""
    for axis, kind in ((grid._attacks, "attack"), (grid._defenses, "defense")):
        seen: dict[str, int] = {}
        entries = grid.spec.attacks if kind == "attack" else grid.spec.defenses
        for entry, variant in axis:
            params = variant[0] if kind == "attack" else variant
            name = labelled(entries[entry].name, params)
            if name in seen:
                raise SpecError(
                    [
                        f"{kind}s[{entry}]: the {kind} {name!r} appears twice in the grid "
                        f"(also from {kind}s[{seen[name]}]); remove the repeated entry or value."
                    ]
                )
            seen[name] = entry
    listed: set[int] = set()
    for j, seed in enumerate(grid.spec.seeds or []):
        if seed in listed:
            raise SpecError([f"seeds[{j}]: the seed {seed} is listed twice; remove one."])
        listed.add(seed)


__all__ = [
    "Grid",
    "RunSpec",
    "Variants",
    "attack_seed_id",
    "attack_variants",
    "combinations",
    "defense_variants",
    "expand",
]
