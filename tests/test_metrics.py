import numpy as np

from poisonlab.metrics import class_counts, confusion, per_class_table


def test_per_class_table_both_counting_rules():
    classes = np.array(["0", "1", "2"])
    y_true = np.array(["0", "1", "1", "2", "2", "0"])
    y_pred = np.array(["0", "2", "1", "2", "0", "2"])
    t = per_class_table(y_true, y_pred, classes)
    assert t.correct.tolist() == [1, 1, 1]
    assert t.incorrect.tolist() == [1, 0, 2]  # by predicted: '0' once, '2' twice
    assert t.missed.tolist() == [1, 1, 1]  # by true class
    assert t.accuracy == 0.5
    assert class_counts(y_true, classes).tolist() == [2, 2, 2]
    assert confusion(y_true, y_pred, classes).tolist() == [[1, 0, 1], [0, 1, 1], [1, 0, 1]]
