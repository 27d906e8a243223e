"""Valid parameters of every registered attack on the ``tiny`` fixture (300 digits).

The common check suite requires an entry here for each registered attack, so a new attack
cannot skip the checks.
"""

ATTACK_CASES: dict[str, dict] = {
    "backdoor": {"target": "0", "budget": 15, "trigger": "pattern", "size": 2},
    "inject_noise": {"budget": 20, "distribution": "gaussian"},
    "label_flip": {"source": "1", "target": "7", "budget": 12, "select": "random"},
    "random_flip": {"budget": 0.1},
    # A list, not an array, so that clone's get_params comparison stays a plain equality.
    "targeted_instance": {"victim": [0.0] * 32 + [16.0] * 32, "target": "3", "budget": 5},
    "targeted_instance_inject": {"victim": [0.0] * 32 + [16.0] * 32, "target": "3", "budget": 5},
    "alfa": {"classes": ("1", "7"), "budget": 6, "kernel": "rbf", "max_iter": 5},
    "svm_gradient": {"classes": ("1", "7"), "budget": 2, "kernel": "rbf", "max_iter": 10},
    "logistic_gradient": {"classes": ("1", "7"), "budget": 2, "C": 0.1, "max_iter": 5},
    "ridge_gradient": {"budget": 1, "alpha": 10.0, "max_iter": 2},
    "min_max": {"classes": ("1", "7"), "budget": 4, "defense": ["sphere_filter", "slab_filter"]},
    "kkt": {"classes": ("1", "7"), "budget": 4, "defense": "svd_filter"},
    "feature_collision": {
        "victim": [0.0] * 32 + [16.0] * 32,
        "target": "3",
        "budget": 3,
        "representation": "nystroem",
        "n_components": 20,
        "max_iter": 5,
    },
    "influence": {"classes": ("1", "7"), "budget": 4, "max_iter": 2},
}
