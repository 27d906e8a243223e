"""Valid parameters of every registered detector on the ``tiny`` fixture (300 digits).

The common check suite requires an entry here for each registered detector, so a new detector
cannot skip the checks.
"""

DETECTOR_CASES: dict[str, dict] = {}

# -- label-poisoning detectors (issue 4, branch detectors-label)
DETECTOR_CASES.update(
    {
        "label_stats": {"reference": {str(c): 30 for c in range(10)}},
        "knn_label": {"n_neighbors": 5, "n_components": 20},
        "outliers": {"n_estimators": 20, "n_components": 20},
    }
)

# -- backdoor detectors (issue 4, branch detectors-backdoor)
DETECTOR_CASES.update(
    {
        "spectral_signature": {"representation": "pca", "n_components": 16},
        "activation_clustering": {"representation": "raw", "n_dims": 5},
        "strip": {"n_blends": 8, "n_calibration": 100},
    }
)
