"""The model zoo: factories of fresh scikit-learn estimators by short name."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from sklearn.base import BaseEstimator

from .._errors import ParameterError
from .._registry import Registry


def _scaled(model: BaseEstimator) -> BaseEstimator:
    # Gradient-based and linear models converge badly on raw 0..255 pixels; kernel SVC with
    # gamma='scale', k-NN and trees do not need it (and the lab's SVC must see raw pixels).
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    return Pipeline([("scale", MinMaxScaler()), ("model", model)])


def _lazy(module: str, name: str, **params: Any) -> Callable[[], BaseEstimator]:
    # Imported on first use: sklearn.ensemble and sklearn.neural_network alone take ~0.7 s to
    # import, which every command validating a model name would otherwise pay.
    def factory() -> BaseEstimator:
        return getattr(importlib.import_module(module), name)(**params)

    return factory


#: name -> (factory of the unconfigured estimator, whether it is wrapped in a scaling pipeline)
MODELS: Registry[tuple[Callable[[], BaseEstimator], bool]] = Registry("model", sort=False)
MODELS.add("svc", (_lazy("sklearn.svm", "SVC", random_state=42), False))
MODELS.add("linear_svc", (_lazy("sklearn.svm", "LinearSVC", random_state=42), True))
MODELS.add("logreg", (_lazy("sklearn.linear_model", "LogisticRegression", max_iter=1000), True))
MODELS.add("knn", (_lazy("sklearn.neighbors", "KNeighborsClassifier"), False))
MODELS.add(
    "random_forest",
    (_lazy("sklearn.ensemble", "RandomForestClassifier", random_state=42, n_jobs=1), False),
)
MODELS.add(
    "mlp", (_lazy("sklearn.neural_network", "MLPClassifier", random_state=42, max_iter=300), True)
)


def make_model(name: str, **params: Any) -> BaseEstimator:
    """A fresh estimator from the zoo, with ``params`` set on the model itself.

    Parameters
    ----------
    name : str
        One of :data:`MODELS`.
    **params
        Parameters of the underlying scikit-learn estimator (e.g. ``C=10`` for ``svc``).

    Returns
    -------
    estimator
        An unfitted estimator (a ``Pipeline`` with a scaler for the models that need one).
    """
    factory, scaled = MODELS.get(name)
    model = factory()
    valid = model.get_params(deep=False)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ParameterError(
            f"model {name!r} ({type(model).__name__}) has no parameter "
            f"{unknown[0]!r}; valid: {', '.join(sorted(valid))}.",
            path=(unknown[0],),
        )
    model.set_params(**params)
    return _scaled(model) if scaled else model
