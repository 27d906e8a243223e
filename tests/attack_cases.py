"""Valid parameters of every registered attack on the ``tiny`` fixture (300 digits).

The common check suite requires an entry here for each registered attack, so a new attack
cannot skip the checks.
"""

ATTACK_CASES: dict[str, dict] = {
    "backdoor": {"target": "0", "budget": 15, "trigger": "pattern", "size": 2},
    "label_flip": {"source": "1", "target": "7", "budget": 12, "select": "random"},
    "alfa": {"classes": ("1", "7"), "budget": 6, "kernel": "rbf", "max_iter": 5},
    "svm_gradient": {"classes": ("1", "7"), "budget": 2, "kernel": "rbf", "max_iter": 10},
}
