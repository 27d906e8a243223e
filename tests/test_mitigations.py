"""Mitigations: partition_ensemble (DPA), trimmed, and their registry."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier

from poisonlab.defenses import MITIGATIONS
from poisonlab.defenses._partition import canonical_order, certified_radius, hash_partitions
from poisonlab.defenses._trimmed import per_sample_loss

from .conftest import run_cli

# ---------------------------------------------------------------------- registry

VALID = {
    "partition_ensemble": {"n_partitions": 5, "estimator": KNeighborsClassifier(3)},
    "trimmed": {"estimator": LogisticRegression(max_iter=200), "max_iter": 2},
}


def use(mitigation, X, y):
    """Run a mitigation the way its kind is used (every kind is a classifier)."""
    return mitigation.fit(X, y)


def test_every_mitigation_has_a_case_kind_and_reference():
    assert sorted(VALID) == MITIGATIONS.names()
    for _, cls in MITIGATIONS.items():
        assert cls.kind in ("certified", "robust training") and cls.reference


@pytest.mark.parametrize(
    ("name", "param"),
    [(n, p) for n in MITIGATIONS.names() for p in MITIGATIONS.get(n)._parameter_constraints],
)
def test_invalid_parameter_is_named(name, param, tiny):
    X, y = tiny
    mitigation = MITIGATIONS.create(name, **VALID[name]).set_params(**{param: object()})
    with pytest.raises(ValueError, match=f"The '{param}' parameter of "):
        use(mitigation, X, y)


@pytest.mark.parametrize("name", MITIGATIONS.names())
def test_clone_and_inputs_unchanged(name, tiny):
    X, y = tiny
    X0, y0 = X.copy(), y.copy()
    mitigation = MITIGATIONS.create(name, **VALID[name])
    assert clone(mitigation).get_params().keys() == mitigation.get_params().keys()
    use(mitigation, X, y)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


@pytest.mark.slow
def test_cli_lists_and_shows_mitigations():
    listed = run_cli("defenses", "list")
    assert listed.returncode == 0
    for name in MITIGATIONS.names():
        assert name in listed.stdout
    shown = run_cli("defenses", "show", "partition_ensemble")
    assert shown.returncode == 0 and "n_partitions" in shown.stdout
    unknown = run_cli("defenses", "show", "nope")
    assert unknown.returncode == 2 and "mitigations: partition_ensemble" in unknown.stderr


# ---------------------------------------------------------------------- partition ensemble


def test_hash_partitions_is_sha256_of_float64_rows():
    X = np.array([[1, 2, 3], [0, 0, 0]], dtype=np.uint8)
    expected = [
        int.from_bytes(
            hashlib.sha256(np.array(row, dtype=np.float64).tobytes()).digest()[:8], "little"
        )
        % 7
        for row in ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    ]
    assert hash_partitions(X, 7).tolist() == expected
    assert np.array_equal(hash_partitions(X.astype(np.float32), 7), expected)
    assert np.array_equal(hash_partitions(np.array([[-0.0, 0.0, 0.0]]), 7), expected[1:])


def _brute_force_radius(counts):
    """Fewest changed votes that change the winner (ties to the smallest class), minus 1."""
    k, m = sum(counts), len(counts)
    winner = int(np.argmax(counts))
    best = k
    for other in itertools.product(range(k + 1), repeat=m):
        if sum(other) == k and int(np.argmax(other)) != winner:
            moved = sum(max(0, a - b) for a, b in zip(counts, other, strict=True))
            best = min(best, moved)
    return winner, best - 1


def test_certified_radius_exact_and_against_brute_force():
    winner, radius = certified_radius(np.array([[3, 3, 0], [2, 4, 1], [5, 1, 0], [0, 5, 0]]))
    assert winner.tolist() == [0, 1, 0, 1]
    assert radius.tolist() == [0, 0, 2, 2]
    rng = np.random.default_rng(0)
    for _ in range(40):
        counts = np.bincount(rng.integers(3, size=6), minlength=3)
        w, r = certified_radius(counts[None, :])
        assert (int(w[0]), int(r[0])) == _brute_force_radius(counts.tolist())


def test_partition_ensemble_invariants(digits):
    X, y = digits.X[:600], digits.y[:600]
    X_test, y_test = digits.X[600:900], digits.y[600:900]
    k = 7
    model = MITIGATIONS.create("partition_ensemble", n_partitions=k).fit(X, y)
    pred, radius = model.predict_with_radius(X_test)
    assert np.array_equal(pred, model.predict(X_test))
    assert (radius >= 0).all() and (radius <= k // 2).all()
    assert model.vote_counts(X_test).sum(axis=1).tolist() == [k] * len(X_test)
    table = model.certified_accuracy(X_test, y_test)
    assert [row["radius"] for row in table] == list(range(k // 2 + 1))
    assert table[0]["certified_accuracy"] == pytest.approx(model.score(X_test, y_test))
    accs = [row["certified_accuracy"] for row in table]
    assert accs == sorted(accs, reverse=True)


def test_relabelling_a_sample_moves_only_its_partition(digits):
    X, y = digits.X[:400], digits.y[:400]
    model = MITIGATIONS.create("partition_ensemble", n_partitions=5).fit(X, y)
    y2 = y.copy()
    y2[0] = "9" if y[0] != "9" else "8"
    relabelled = MITIGATIONS.create("partition_ensemble", n_partitions=5).fit(X, y2)
    assert np.array_equal(model.partitions_, relabelled.partitions_)
    X_test = digits.X[400:600]
    for p in range(5):
        if p != model.partitions_[0]:
            a, b = model.estimators_[p], relabelled.estimators_[p]
            assert np.array_equal(a.predict(X_test), b.predict(X_test))
    # So the vote counts differ by at most one vote moved: the certificate's premise.
    diff = np.abs(model.vote_counts(X_test) - relabelled.vote_counts(X_test)).sum(axis=1)
    assert diff.max() <= 2


# One pass of SGD without shuffling depends on the order of its rows: the canonical order must
# remove that dependence, or this test fails (it did before the partitions were sorted).
_ORDER_SENSITIVE = SGDClassifier(max_iter=1, tol=None, shuffle=False, random_state=0)


@settings(max_examples=15, deadline=None)
@given(st.randoms(use_true_random=False))
def test_any_permutation_of_training_rows_changes_no_vote(digits, rnd):
    X, y = digits.X[:240], digits.y[:240]
    X_test = digits.X[240:340]
    perm = np.array(rnd.sample(range(len(X)), len(X)))
    base = MITIGATIONS.create("partition_ensemble", n_partitions=4, estimator=_ORDER_SENSITIVE)
    votes = clone(base).fit(X, y).vote_counts(X_test)
    assert np.array_equal(clone(base).fit(X[perm], y[perm]).vote_counts(X_test), votes)


def test_canonical_order_is_by_sha256_of_row_and_label():
    X = np.array([[1.0, 2.0], [0.0, -0.0], [1.0, 2.0]])
    y = np.array(["b", "a", "a"])
    keys = [
        hashlib.sha256(np.array(r, dtype=np.float64).tobytes() + b"\0" + lab.encode()).digest()
        for r, lab in zip([[1.0, 2.0], [0.0, 0.0], [1.0, 2.0]], y, strict=True)
    ]
    assert canonical_order(X, y).tolist() == sorted(range(3), key=keys.__getitem__)


def test_single_class_and_empty_partitions_vote_fixed_classes():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array(["a", "a", "b", "b"])
    model = MITIGATIONS.create("partition_ensemble", n_partitions=9).fit(X, y)
    parts = model.partitions_
    for p in range(9):
        labels = set(y[parts == p])
        if len(labels) < 2:
            expected = labels.pop() if labels else "a"
            assert model.estimators_[p] is None
            assert model.classes_[model.fixed_votes_[p]] == expected


# ---------------------------------------------------------------------- trimmed


def _blobs_with_flips(seed=0):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(100, 2)) - 2.5, rng.normal(size=(100, 2)) + 2.5])
    y = np.array(["a"] * 100 + ["b"] * 100)
    flipped = np.arange(10)  # ten 'a's deep in a's blob, labelled 'b'
    y[flipped] = "b"
    return X, y, flipped


def test_trimmed_drops_the_flipped_labels():
    X, y, flipped = _blobs_with_flips()
    model = MITIGATIONS.create("trimmed", estimator=LogisticRegression(), trim_fraction=0.05).fit(
        X, y
    )
    assert not model.kept_[flipped].any() and model.kept_.sum() == 190
    assert model.converged_ and model.n_iter_ >= 2


def test_trimmed_without_trimming_is_the_plain_model(tiny):
    X, y = tiny
    trimmed = MITIGATIONS.create("trimmed", trim_fraction=0.0).fit(X, y)
    from sklearn.svm import SVC

    plain = SVC(random_state=42).fit(X, y)
    assert trimmed.n_iter_ == 1 and trimmed.kept_.all()
    assert np.array_equal(trimmed.predict(X), plain.predict(X))


def test_per_sample_loss_exact():
    X = np.array([[-1.0], [1.0]])
    y = np.array([0, 1])
    model = LogisticRegression().fit(X, y)
    p = model.predict_proba(X)
    assert np.allclose(per_sample_loss(model, X, y), -np.log(p[[0, 1], [0, 1]]))
    from sklearn.svm import LinearSVC

    svm = LinearSVC().fit(X, y)
    f = svm.decision_function(X)
    assert np.allclose(per_sample_loss(svm, X, y), [f[0], -f[1]])
    assert per_sample_loss(model, X, np.array([0, 7]))[1] == np.inf


@pytest.mark.slow
def test_partition_ensemble_on_the_lab(mnist):
    X, y = mnist.X[:2000], mnist.y[:2000]
    X_test, y_test = mnist.X[60000:61000], mnist.y[60000:61000]
    model = MITIGATIONS.create("partition_ensemble", n_partitions=10).fit(X, y)
    table = model.certified_accuracy(X_test, y_test)
    assert table[0]["certified_accuracy"] > 0.8
    assert table[0]["certified_accuracy"] >= table[2]["certified_accuracy"] > 0.5


def test_certified_accuracy_rejects_bad_radii(tiny):
    X, y = tiny
    model = MITIGATIONS.create("partition_ensemble", n_partitions=3).fit(X, y)
    with pytest.raises(ValueError, match="'radii' parameter of certified_accuracy"):
        model.certified_accuracy(X, y, radii=[-1])
