"""Valid parameters of every registered detector on the ``tiny`` fixture (300 digits).

The common check suite requires an entry here for each registered detector, so a new detector
cannot skip the checks.
"""

DETECTOR_CASES: dict[str, dict] = {}


# -- label-poisoning detectors (issue 4, branch detectors-label): trusted data are other digits
# rows than the tiny fixture's 0..299.
def _label_detector_cases() -> dict[str, dict]:
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression

    from poisonlab.datasets import load
    from poisonlab.defenses import TrustedSet

    digits = load("digits")
    X, y = digits.X, digits.y
    reference = FrozenEstimator(LogisticRegression(max_iter=2000).fit(X[300:800], y[300:800]))
    return {
        "label_stats": {"reference": {str(c): 30 for c in range(10)}},
        "knn_label": {"n_neighbors": 5, "n_components": 20},
        "outliers": {"n_estimators": 20, "n_components": 20},
        "confident_learning": {"n_splits": 3},
        "roni": {
            "validation": TrustedSet(X[300:600], y[300:600]),
            "group_size": 10,
            "n_components": 20,
        },
        "output_shift": {"reference": reference, "holdout": TrustedSet(X[800:1100], y[800:1100])},
    }


DETECTOR_CASES.update(_label_detector_cases())

# -- backdoor detectors (issue 4, branch detectors-backdoor)
DETECTOR_CASES.update(
    {
        "spectral_signature": {"representation": "pca", "n_components": 16},
        "activation_clustering": {"representation": "raw", "n_dims": 5},
        "strip": {"n_blends": 8, "n_calibration": 100},
    }
)

# -- sanitizers of Koh, Steinhardt & Liang 2022 (issue 15, branch attacks)
DETECTOR_CASES.update(
    {
        "sphere_filter": {"percentile": 90.0},
        "slab_filter": {"percentile": 90.0},
        "loss_filter": {"loss": "log", "C": 0.1},
        "svd_filter": {"n_components": 5},
    }
)
