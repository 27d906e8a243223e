"""Readable run ids and run configs, shared by the runner and the lab.

A run id reads ``experiment[/dataset]/model/attack[params]/defense[params]/seedK``, e.g.
``ml106/svc/label_flip[source=1,target=2,budget=100,select=first]/none/seed0``. The dataset
segment appears only when a study has more than one dataset, so single-dataset ids stay as the
design has them. The id is for people; the store keys runs by the hash of the config.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: equal values give equal text (and equal hashes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def format_value(value: Any) -> str:
    """A parameter value as it appears in a run id: strings bare, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def labelled(name: str, params: Mapping[str, Any]) -> str:
    """``name[key=value,...]`` in the parameters' order, or ``name`` without parameters."""
    if not params:
        return name
    return f"{name}[{','.join(f'{k}={format_value(v)}' for k, v in params.items())}]"


def make_run_id(
    *,
    experiment: str,
    dataset: str | None,
    model: str,
    attack: str,
    attack_params: Mapping[str, Any],
    defense: str,
    defense_params: Mapping[str, Any],
    seed: int,
) -> str:
    """The readable id of one run (``dataset`` None leaves its segment out)."""
    parts = [experiment, *([dataset] if dataset else []), model]
    parts += [labelled(attack, attack_params), labelled(defense, defense_params), f"seed{seed}"]
    return "/".join(parts)


def run_config(
    *,
    experiment: str,
    dataset: Mapping[str, Any],
    model: Mapping[str, Any],
    attack: Mapping[str, Any],
    defense: Mapping[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Everything that defines a run, as plain JSON data; its hash keys the run's row.

    The metrics a study asks for are not part of it: stored metrics are computed from the
    store, so asking for one more does not make a run another run.

    Parameters
    ----------
    experiment : str
    dataset : mapping
        ``{"name": ..., "split": {...}}``.
    model : mapping
        ``{"label": ..., "name": ..., "params": {...}}`` (``name`` a zoo name or an import path).
    attack, defense : mapping
        ``{"name": ..., "params": {...}}``; the defense ``none`` has no parameters.
    seed : int
        The repetition's seed.
    """
    return {
        "experiment": experiment,
        "dataset": dict(dataset),
        "model": dict(model),
        "attack": dict(attack),
        "defense": dict(defense),
        "seed": int(seed),
    }


def content_id(config: Mapping[str, Any]) -> str:
    """What a run *is*, for its seed: the dataset config, the model (name and parameters, not
    its display label), the attack and the defense with their parameters, as canonical JSON.

    The study's name, the run id and the other runs of the grid are not part of it, so a run
    gets the same seed, hence the same result, alone or beside other datasets and models.
    """
    model = config["model"]
    content = {
        "dataset": config["dataset"],
        "model": {"name": model["name"], "params": model["params"]},
        "attack": config["attack"],
        "defense": config["defense"],
    }
    return canonical_json(content)
