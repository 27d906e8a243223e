"""A spec's grid of runs: datasets x models x attacks x defenses x seeds, with sweeps.

A grid is data: each :class:`RunSpec` is a plain, picklable description of one run (its id,
config, content hash and seed), which any process (a local worker, a Dask worker) can execute.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from .components import adapted_params, ordered_params, registry_for
from .ids import canonical_json, content_id, labelled, make_run_id, run_config
from .schema import AttackSpec, DefenseSpec, Spec, SpecError, combinations
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


def attack_variants(a: AttackSpec) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each attack configuration of an entry: ``(params in signature order, origin)``.

    ``origin`` maps each parameter that came from a list to its key path suffix, e.g.
    ``{"budget": ".budget[3]", "target": ".sweep.target[1]"}``.
    """
    if a.name == "none":
        return [({}, {})]
    cls = registry_for("attack").get(a.name)
    budgets = a.budgets()
    out = []
    for combo_index, combo in enumerate(combinations(a.sweep)):
        origin = _sweep_origin(a.sweep, combo_index)
        for j, budget in enumerate(budgets if budgets is not None else [None]):
            params = {**a.params, **combo}
            where = dict(origin)
            if budget is not None:
                params["budget"] = budget
                where["budget"] = a.budget_origin(j)
            out.append((ordered_params(cls, params), where))
    return out


def defense_variants(d: DefenseSpec) -> list[dict[str, Any]]:
    """Each detector configuration of an entry, parameters in signature order."""
    if d.name == "none":
        return [{}]
    cls = registry_for("detector").get(d.name)
    return [ordered_params(cls, {**d.params, **combo}) for combo in combinations(d.sweep)]


def _sweep_origin(sweep: dict[str, list], combo_index: int) -> dict[str, str]:
    # Decode the index of itertools.product back into each key's value index.
    where, rest = {}, combo_index
    for key in reversed(list(sweep)):
        rest, j = divmod(rest, len(sweep[key]))
        where[key] = f".sweep.{key}[{j}]"
    return where


def expand(spec: Spec) -> list[RunSpec]:
    """Every run of ``spec``, in grid order (datasets, models, attacks, defenses, seeds)."""
    attacks = [
        (ai, params, origin)
        for ai, attack in enumerate(spec.attacks)
        for params, origin in attack_variants(attack)
    ]
    defenses = [
        (fi, params)
        for fi, defense in enumerate(spec.defenses)
        for params in defense_variants(defense)
    ]
    models = [
        (path, config, origin)
        for path, model in spec.model_entries()
        for config, origin in zip(model.variants(), model.sweep_origins(), strict=True)
    ]
    runs = [
        _run(
            spec,
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
        for di, (model_path, model_config, model_origin), (ai, attack_params, attack_origin), (
            fi,
            defense_params,
        ), seed in itertools.product(
            range(len(spec.dataset_list())),
            models,
            attacks,
            defenses,
            spec.seed_list(),
        )
    ]
    _check_unique_ids(runs)
    return runs


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


def _check_unique_ids(runs: list[RunSpec]) -> None:
    seen: dict[str, RunSpec] = {}
    for run in runs:
        if run.run_id in seen:
            first = seen[run.run_id]
            raise SpecError(
                [
                    f"{run.origin['attack']}: the run {run.run_id!r} appears twice in the grid "
                    f"(also from {first.origin['attack']}, {first.origin['defense']}); "
                    "remove the repeated entry or value."
                ]
            )
        seen[run.run_id] = run


__all__ = [
    "RunSpec",
    "attack_seed_id",
    "attack_variants",
    "combinations",
    "defense_variants",
    "expand",
]
