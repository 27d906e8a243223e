import numpy as np
import pytest

from poisonlab.defenses import DetectionResult, evaluate_detection


def test_evaluate_detection_exact():
    scores = np.array([0.9, 0.8, 0.1, 0.7, 0.2])
    flagged = scores >= 0.75
    result = DetectionResult(scores, flagged, 0.75)
    m = evaluate_detection(result, [0, 3])
    assert m["precision"] == 0.5 and m["recall"] == 0.5 and m["f1"] == 0.5
    assert m["roc_auc"] == pytest.approx(5 / 6)
    assert m["n_flagged"] == 2 and m["n_poisoned"] == 2


def test_evaluate_detection_without_poison_has_no_auc():
    result = DetectionResult(np.array([0.1, 0.2]), np.array([False, True]), 0.2)
    m = evaluate_detection(result, [])
    assert m["roc_auc"] is None and m["precision"] == 0.0
