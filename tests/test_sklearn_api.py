"""The Python API in scikit-learn's conventions: DataFrames in and out of attacks and
detectors in a pandas-output imbalanced-learn pipeline, the outlier-detector surface, and
attack-success and detection scorers in GridSearchCV and cross_val_score."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from imblearn.pipeline import make_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.preprocessing import StandardScaler

from poisonlab.attacks import ATTACKS
from poisonlab.defenses import DETECTORS
from poisonlab.scoring import attack_success, make_detection_scorer


@pytest.fixture(scope="module")
def frame():
    """Digits as a DataFrame with named columns of mixed dtypes, and a labelled Series."""
    from poisonlab.datasets import load

    ds = load("digits")
    X = pd.DataFrame(ds.X, columns=[f"px{j}" for j in range(ds.X.shape[1])])
    X = X.astype({f"px{j}": "int16" for j in range(0, 64, 2)})  # pixels are whole numbers
    y = pd.Series(ds.y, name="digit")
    return X, y


def test_label_attack_keeps_columns_dtypes_index_and_series(frame):
    X, y = frame
    X, y = X.iloc[100:400], y.iloc[100:400]  # a non-zero-based index, kept as is
    result = ATTACKS.create("label_flip", source="1", target="7", budget=5).poison(X, y)
    assert isinstance(result.X, pd.DataFrame) and isinstance(result.y, pd.Series)
    pd.testing.assert_frame_equal(result.X, X)
    assert result.y.name == "digit" and result.y.dtype == y.dtype
    assert result.y.index.equals(X.index)
    changed = np.flatnonzero(result.y.to_numpy() != y.to_numpy())
    assert changed.tolist() == result.poison_indices.tolist() and len(changed) == 5


def test_inject_attack_returns_a_frame_with_the_same_columns(frame):
    X, y = frame
    result = ATTACKS.create("inject_noise", budget=7, random_state=0).poison(X[:200], y[:200])
    assert list(result.X.columns) == list(X.columns) and len(result.X) == 207
    assert result.X.index.equals(pd.RangeIndex(207)) and result.y.name == "digit"
    # Original rows unchanged; a column keeps its dtype only when the new values fit it.
    pd.testing.assert_frame_equal(result.X.iloc[:200].astype(X.dtypes), X[:200])


def test_detector_fit_resample_keeps_the_frame(frame):
    X, y = frame
    X, y = X[:300], y[:300].copy()
    y.iloc[:10] = (y.iloc[:10].astype(int) + 1).astype(str).to_numpy()
    detector = DETECTORS.create("knn_label", n_neighbors=5, n_components=10, random_state=0)
    X_kept, y_kept = detector.fit_resample(X, y)
    kept = np.flatnonzero(~detector.detection_.flagged)
    assert 0 < len(kept) < len(X)
    pd.testing.assert_frame_equal(X_kept, X.iloc[kept])
    pd.testing.assert_series_equal(y_kept, y.iloc[kept])


def test_pandas_output_pipeline_fits_and_predicts_without_feature_name_warnings(frame):
    X, y = frame
    pipe = make_pipeline(
        ATTACKS.create("label_flip", source="1", target="7", budget=20),
        StandardScaler(),
        DETECTORS.create("knn_label", n_neighbors=5, n_components=10, random_state=0),
        LogisticRegression(max_iter=300),
    ).set_output(transform="pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "X has feature names, but ... without" would fail
        pipe.fit(X[:600], y[:600])
        predicted = pipe.predict(X[600:800])
    assert list(pipe[-1].feature_names_in_) == list(X.columns)
    assert len(predicted) == 200


def test_detectors_have_the_outlier_detector_surface(tiny):
    X, y = tiny
    y = y.copy()
    y[:15] = np.where(y[:15] == "0", "1", "0")
    detector = DETECTORS.create("knn_label", n_neighbors=5, n_components=10, random_state=0)
    labels = detector.fit_predict(X, y)
    flagged = detector.detect(X, y).flagged
    assert set(np.unique(labels)) == {-1, 1}
    np.testing.assert_array_equal(labels == -1, flagged)
    np.testing.assert_array_equal(detector.predict(X, y), labels)
    decision = detector.decision_function(X, y)
    np.testing.assert_array_equal(decision <= 0, flagged)
    # Lower decision = more suspicious: the opposite order of score_samples.
    np.testing.assert_array_equal(
        np.argsort(decision, kind="stable"),
        np.argsort(-detector.score_samples(X, y), kind="stable"),
    )


def test_grid_search_over_the_budget_scored_by_attack_success(frame):
    X, y = frame
    pipe = make_pipeline(
        ATTACKS.create("label_flip", source="1", target="7"),
        StandardScaler(),
        LogisticRegression(max_iter=300),
    ).set_output(transform="pandas")
    search = GridSearchCV(
        pipe,
        {"labelflip__budget": [0, 15, 45]},
        scoring=attack_success,
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        search.fit(X[:900], y[:900])  # about 60 '1's per training fold
    means = search.cv_results_["mean_test_score"]
    assert search.best_params_ == {"labelflip__budget": 45}
    assert means[0] < 0.05 < means[1] < means[2]  # more flipped 1s, more test 1s called 7


def test_detection_scorer_in_cross_val_score(tiny):
    X, y = tiny
    pipe = make_pipeline(
        ATTACKS.create("random_flip", budget=20, random_state=0),
        DETECTORS.create("knn_label", n_neighbors=5, n_components=10, random_state=0),
        LogisticRegression(max_iter=300),
    )
    f1 = cross_val_score(pipe, X, y, cv=2, scoring=make_detection_scorer("f1"))
    auc = cross_val_score(pipe, X, y, cv=2, scoring=make_detection_scorer("roc_auc"))
    assert np.all((f1 > 0.3) & (f1 <= 1)) and np.all(auc > 0.8)


def test_scorer_errors_name_what_is_missing(tiny):
    X, y = tiny
    with pytest.raises(ValueError, match="'metric' parameter of make_detection_scorer"):
        make_detection_scorer("accuracy")
    plain = LogisticRegression(max_iter=300).fit(X, y)
    with pytest.raises(ValueError, match="attack_success: the estimator must be an imblearn"):
        attack_success(plain, X, y)
