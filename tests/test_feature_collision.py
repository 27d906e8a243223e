"""feature_collision: clean-label poisons whose representation collides with the victim's."""

from __future__ import annotations

import numpy as np
import pytest

from poisonlab.attacks import ATTACKS


def test_input_representation_is_the_closed_form():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [4.0, 4.0], [5.0, 4.0], [9.0, 9.0]])
    y = np.array(["a", "a", "b", "b", "b"])
    victim = [1.0, 1.0]
    attack = ATTACKS.create("feature_collision", victim=victim, target="b", budget=2, beta=1.0)
    result = attack.poison(X, y)
    # Nearest 'b' bases to (1, 1): rows 2 then 3; each poison is (victim + base) / 2.
    assert result.info["bases"] == [2, 3]
    np.testing.assert_allclose(result.X[5:], [[2.5, 2.5], [3.0, 2.5]])
    assert result.y[5:].tolist() == ["b", "b"]  # the bases' own (clean) labels
    np.testing.assert_allclose(result.info["base_distances"], [np.sqrt(4.5), 2.5], rtol=1e-6)


def test_beta_zero_copies_the_victim_and_large_beta_the_base():
    X = np.array([[0.0], [1.0], [6.0], [8.0]])
    y = np.array([0, 0, 1, 1])
    make = lambda beta: ATTACKS.create(  # noqa: E731
        "feature_collision", victim=[2.0], target=1, budget=1, beta=beta
    )
    assert make(0.0).poison(X, y).X[-1, 0] == 2.0
    assert make(1e9).poison(X, y).X[-1, 0] == pytest.approx(6.0)


def test_nystroem_collision_moves_features_towards_the_victim(tiny):
    X, y = tiny
    victim = X[np.flatnonzero(y == "1")[0]].astype(float)
    attack = ATTACKS.create(
        "feature_collision",
        victim=victim,
        target="7",
        budget=2,
        beta=1e-5,
        representation="nystroem",
        n_components=50,
        max_iter=50,
        random_state=0,
    )
    result = attack.poison(X, y)
    feature_map = attack._feature_map(X.astype(float), np.random.default_rng(0))
    goal = feature_map.transform(victim[None])[0]
    bases = X[result.info["bases"]].astype(float)
    before = np.linalg.norm(feature_map.transform(bases) - goal, axis=1)
    after = np.linalg.norm(feature_map.transform(result.X[len(X) :]) - goal, axis=1)
    assert np.all(after < 0.5 * before)
    assert result.X[len(X) :].min() >= 0 and result.X[len(X) :].max() <= 16


def test_random_bases_come_from_the_target_class(tiny):
    X, y = tiny
    result = ATTACKS.create(
        "feature_collision", victim=X[0], target="4", budget=3, base="random"
    ).poison(X, y, random_state=0)
    assert all(y[b] == "4" for b in result.info["bases"])


def test_budget_beyond_the_target_class_is_named(tiny):
    X, y = tiny
    with pytest.raises(ValueError, match="The 'budget' parameter of FeatureCollision must be at"):
        ATTACKS.create("feature_collision", victim=X[0], target="4", budget=299).poison(X, y)
