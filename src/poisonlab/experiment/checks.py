"""Stage 3 of a spec's validation, against the data: each split within its dataset, and each
attack configuration run once at its largest budgets on the training split, so data-dependent
limits (``budget = 300`` with 220 samples of class '1', an unknown class label) fail before
anything runs or is written.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from .._validation import ParameterError
from .components import (
    estimator_size_errors,
    load_split,
    load_validation,
    make_attack,
    make_detector,
    make_estimator,
    takes_validation,
)
from .grid import attack_variants, defense_variants
from .schema import Spec, SpecError


def check_against_data(spec: Spec) -> None:
    """Stage 3: splits within each dataset, and each attack configuration run once at its
    largest budget(s) on the training split, so data-dependent limits (``budget = 300`` with
    220 samples of class '1', an unknown class label) fail before anything runs.

    Raises
    ------
    SpecError
        Listing every problem found, each with its key path.
    """
    errors: list[str] = []
    for path, dataset in zip(spec.dataset_paths(), spec.dataset_list(), strict=True):
        try:
            config = dataset.as_config(spec.seed_list()[0])
            split, _ = load_split(config)
        except (ValueError, TypeError) as exc:
            where = ".split" if _parameter_of(exc) == "split" else ".name"
            errors.append(f"{path}{where}: {str(exc).rstrip('.')}.")
            continue
        validation = load_validation(config)
        errors += _validation_errors(spec, dataset, path)
        size_errors = _model_size_errors(spec, split.X_train.shape[0], path)
        errors += size_errors or _fit_errors(spec, split, path)
        for i, attack in enumerate(spec.attacks):
            if attack.name == "none":
                continue  # no poisoning: nothing to check against the data
            for params, origin in _largest_budgets(attack_variants(attack)):
                try:
                    make_attack({"name": attack.name, "params": params}, validation).poison(
                        split.X_train, split.y_train, random_state=0
                    )
                except (ValueError, TypeError) as exc:
                    errors.append(_data_error(f"attacks[{i}]", origin, params, exc, path))
    if errors:
        raise SpecError(list(dict.fromkeys(errors)))


def _validation_errors(spec: Spec, dataset, path: str) -> list[str]:
    """A split's validation set that no attack takes, or that an attack also sets itself."""
    if dataset.split.validation_size is None:
        return []
    takers = [i for i, a in enumerate(spec.attacks) if takes_validation(a.name)]
    if not takers:
        return [
            f"{path}.split.validation_size: no attack of the spec takes an attacker's "
            "validation set (attacks with a validation parameter, e.g. svm_gradient, do)."
        ]
    return [
        f"attacks[{i}].params.validation: the split's validation_size gives the validation "
        "set; remove one of them."
        for i in takers
        if "validation" in spec.attacks[i].params
    ]


def _model_size_errors(spec: Spec, n_train: int, dataset: str) -> list[str]:
    """Model parameters the training split is too small for, with their key paths."""
    errors = []
    on = f" (on {dataset})" if dataset != "dataset" else ""
    for path, model in spec.model_entries():
        for config, origin in zip(model.variants(), model.sweep_origins(), strict=True):
            for message in estimator_size_errors(make_estimator(config), n_train):
                where = origin or ".params"
                errors.append(f"{path}{where}{on}: {message}.")
    for i, defense in enumerate(spec.defenses):
        for params in defense_variants(defense):
            detector = make_detector({"name": defense.name, "params": params}, run_seed=0)
            if detector is None:
                continue
            for message in estimator_size_errors(detector, n_train):
                errors.append(f"defenses[{i}]{on}: {message}.")
    return list(dict.fromkeys(errors))


def _fit_errors(spec: Spec, split, dataset: str) -> list[str]:
    """Parameters valid alone but refused together at fit (``penalty = "l1"`` with the default
    ``solver = "lbfgs"``, ``kernel = "precomputed"`` on feature rows): each distinct model and
    detector configuration is fitted once on a few rows of each class of the training split,
    and a refusal is confirmed on the whole split (a handful of rows can be too few where the
    data is not), so a study fails before its first run, not at every run's fit."""
    on = f" (on {dataset})" if dataset != "dataset" else ""
    sample = _few_rows_per_class(split.y_train)
    errors = []
    for i, model in enumerate(spec.models):
        for j in range(model.n_variants()):
            config, origin = model.variant(j)
            error = _refusal(functools.partial(_fit_model, config), split, sample)
            if error:
                where = f"models[{i}]{origin or '.params'}{on}"
                errors.append(f"{where}: {_shown(config['params'])}: {error}.")
    for i, defense in enumerate(spec.defenses):
        if defense.name == "none":
            continue
        for params in defense_variants(defense):
            config = {"name": defense.name, "params": params}
            error = _refusal(functools.partial(_fit_detector, config), split, sample)
            if error:
                errors.append(f"defenses[{i}].params{on}: {_shown(params)}: {error}.")
    return list(dict.fromkeys(errors))


def _shown(params: dict) -> str:
    return ", ".join(f"{k} = {v!r}" for k, v in params.items()) or "the defaults"


def _fit_model(config: dict, X: np.ndarray, y: np.ndarray) -> None:
    make_estimator(config).fit(X, y)


def _fit_detector(config: dict, X: np.ndarray, y: np.ndarray) -> None:
    """What a run asks of a detector: fit it (test-scope) or sanitize the training rows."""
    detector = make_detector(config, run_seed=0)
    (detector.fit if detector.scope == "test" else detector.fit_resample)(X, y)


def _few_rows_per_class(y: np.ndarray, per_class: int = 5) -> np.ndarray:
    """Indices of the first ``per_class`` rows of each class of ``y``."""
    return np.sort(np.concatenate([np.flatnonzero(y == c)[:per_class] for c in np.unique(y)]))


def _refusal(fit, split, sample: np.ndarray) -> str | None:
    """The message of the ValueError or TypeError ``fit(X, y)`` raises on the sample rows and
    again on the whole training split; None if either fit succeeds. Other exceptions are left
    to the runs (a run records them as its failure)."""
    for rows in (sample, slice(None)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence on a handful of rows is no error
                fit(split.X_train[rows], split.y_train[rows])
            return None
        except (ValueError, TypeError) as exc:
            message = " ".join(str(exc).split()).rstrip(".")
    return f"refused at fit (valid alone, not with the other parameters): {message}"


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


def _parameter_of(exc: Exception) -> str | int | None:
    """The first element of a :class:`ParameterError`'s path (None for other errors)."""
    return exc.path[0] if isinstance(exc, ParameterError) and exc.path else None


def _data_error(path: str, origin: dict, params: dict, exc: Exception, dataset: str) -> str:
    """Place an attack's error at the key of the parameter it names (a ParameterError's path);
    an error naming no parameter is placed at the attack entry."""
    key = _parameter_of(exc)
    if key in origin:
        where = f"{path}{origin[key]}"
    elif key in params:
        where = f"{path}.params.{key}"
    else:
        where = path
    on = f" (on {dataset})" if dataset != "dataset" else ""
    return f"{where}{on}: {exc}"
