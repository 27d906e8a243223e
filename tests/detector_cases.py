"""Valid parameters of every registered detector on the ``tiny`` fixture (300 digits).

The common check suite requires an entry here for each registered detector, so a new detector
cannot skip the checks.
"""

DETECTOR_CASES: dict[str, dict] = {}
