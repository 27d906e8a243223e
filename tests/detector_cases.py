"""Valid parameters of every registered detector on the ``tiny`` fixture (300 digits).

The common check suite requires an entry here for each registered detector, so a new detector
cannot skip the checks.
"""

DETECTOR_CASES: dict[str, dict] = {
    "spectral_signature": {"representation": "pca", "n_components": 16},
    "activation_clustering": {"representation": "raw", "n_dims": 5},
    "strip": {"n_blends": 8, "n_calibration": 100},
}
