"""One check suite over every registered detector: the protocol's promises."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from poisonlab.defenses import DETECTORS

from .detector_cases import DETECTOR_CASES

NAMES = DETECTORS.names()


def make(name):
    return DETECTORS.create(name, **DETECTOR_CASES[name])


def poisoned_tiny(tiny):
    """The tiny set with 15 '1's relabelled '7' (rows known)."""
    X, y = tiny
    y = y.copy()
    flipped = np.flatnonzero(y == "1")[:15]
    y[flipped] = "7"
    return X, y, flipped


def test_every_detector_has_a_case():
    assert sorted(DETECTOR_CASES) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_declares_reference_and_scope(name):
    cls = DETECTORS.get(name)
    assert cls.reference and cls.__doc__ and cls.scope in ("train", "test")


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_and_inputs_unchanged(name, tiny):
    X, y, _ = poisoned_tiny(tiny)
    X0, y0 = X.copy(), y.copy()
    a = make(name).set_params(random_state=0).detect(X, y)
    b = make(name).set_params(random_state=0).detect(X, y)
    assert np.array_equal(a.scores, b.scores) and np.array_equal(a.flagged, b.flagged)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_flag_rules(name, tiny):
    X, y, _ = poisoned_tiny(tiny)
    result = make(name).set_params(random_state=0).detect(X, y)
    assert result.scores.shape == (len(y),) and result.flagged.dtype == bool
    assert np.all(np.isfinite(result.scores))
    assert np.array_equal(result.flagged, result.scores >= result.threshold)
    top = make(name).set_params(random_state=0, contamination=0.1).detect(X, y)
    assert top.flagged.sum() == 30
    assert top.scores[top.flagged].min() >= top.scores[~top.flagged].max()


@pytest.mark.parametrize("name", NAMES)
def test_clone_and_fit_resample(name, tiny):
    X, y, _ = poisoned_tiny(tiny)
    detector = make(name).set_params(random_state=0)
    assert clone(detector).get_params() == detector.get_params()
    if detector.scope == "train":
        X_out, y_out = detector.fit_resample(X, y)
        kept = ~detector.detection_.flagged
        if getattr(detector, "action", "drop") == "drop":
            assert np.array_equal(X_out, X[kept]) and np.array_equal(y_out, y[kept])
        else:
            assert len(y_out) == len(y)


@pytest.mark.parametrize(
    ("name", "param"), [(n, p) for n in NAMES for p in DETECTORS.get(n)._parameter_constraints]
)
def test_invalid_parameter_is_named(name, param, tiny):
    X, y, _ = poisoned_tiny(tiny)
    detector = make(name).set_params(**{param: object()})
    with pytest.raises(ValueError, match=f"The '{param}' parameter of "):
        detector.fit(X, y)


def test_unknown_detector():
    with pytest.raises(ValueError, match="unknown detector 'nope'"):
        DETECTORS.get("nope")


@pytest.mark.parametrize("name", NAMES)
def test_outlier_surface_agrees_with_detect(name, tiny):
    X, y, _ = poisoned_tiny(tiny)
    result = make(name).set_params(random_state=0).detect(X, y)
    labels = make(name).set_params(random_state=0).fit_predict(X, y)
    assert labels.dtype.kind == "i" and np.array_equal(labels == -1, result.flagged)
    fitted = make(name).set_params(random_state=0).fit(X, y)
    decision = fitted.decision_function(X, y)
    assert np.array_equal(decision <= 0, result.flagged)
    assert np.array_equal(fitted.predict(X, y), labels)


@pytest.mark.parametrize("name", [n for n in NAMES if DETECTORS.get(n).scope == "train"])
def test_fit_resample_keeps_a_dataframe(name, tiny):
    import pandas as pd

    X, y, _ = poisoned_tiny(tiny)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])], index=range(5, 305))
    X_out, y_out = make(name).set_params(random_state=0).fit_resample(frame, pd.Series(y))
    assert isinstance(X_out, pd.DataFrame) and list(X_out.columns) == list(frame.columns)
    assert isinstance(y_out, pd.Series) and len(y_out) == len(X_out)
    assert set(X_out.index) <= set(frame.index)
