import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix

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


@pytest.mark.filterwarnings("ignore:A single label was found")  # scikit-learn's, on a 1x1 case
@settings(max_examples=200, deadline=None)
@given(
    labels=st.lists(st.sampled_from("abcde"), min_size=1, max_size=40),
    predicted=st.lists(st.sampled_from("abcde"), min_size=40, max_size=40),
    classes=st.permutations("abcd").flatmap(lambda p: st.integers(1, 4).map(lambda k: p[:k])),
)
def test_confusion_equals_scikit_learns(labels, predicted, classes):
    """Counted with numpy as scikit-learn counts it, in the order of ``classes`` (any order),
    leaving out labels not among them ("e" never is)."""
    y_true, y_pred = np.array(labels), np.array(predicted[: len(labels)])
    classes = np.array(classes)
    if not np.isin(y_true, classes).any():  # scikit-learn refuses this case; we count zeros
        assert not confusion(y_true, y_pred, classes).any()
        return
    expected = confusion_matrix(y_true, y_pred, labels=classes)
    got = confusion(y_true, y_pred, classes)
    assert got.dtype == expected.dtype and got.tolist() == expected.tolist()
