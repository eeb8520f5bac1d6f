"""The registration world and the defender's detector (mlsiege.sim.registration)."""

from __future__ import annotations

import numpy as np
import pytest

from mlsiege.errors import ConfigError
from mlsiege.sim.registration import (
    BOT_CLASSES,
    RegistrationConfig,
    make_registrations,
    train_detector,
)


@pytest.fixture(scope="module")
def small_world():
    return make_registrations(n_benign=3000, seed=1)


def test_world_layout_and_validity(small_world):
    w = small_world
    assert w.X.shape == (len(w.frame), w.schema.n_features)
    assert w.schema.valid_mask(w.X).all()
    assert set(np.unique(w.bot_class)) == {"benign", *BOT_CLASSES}
    assert (w.is_bot == (w.bot_class != "benign")).all()
    assert len(np.unique(w.source)) >= 10
    assert np.all(np.diff(w.time) >= 0)
    kinds = {f.mutability for f in w.schema.features}
    assert kinds == {"mutable", "immutable", "derived"}
    assert {f.type for f in w.schema.features} == {"real", "integer", "binary", "categorical"}


def test_world_is_seeded():
    a = make_registrations(n_benign=300, seed=4)
    b = make_registrations(n_benign=300, seed=4)
    c = make_registrations(n_benign=300, seed=5)
    assert np.array_equal(a.X, b.X)
    assert not np.array_equal(a.X[:50], c.X[:50])


def test_sample_fresh_rows_of_a_kind(small_world):
    s = small_world.sample(200, kind="headless", seed=3)
    assert len(s) == 200 and (s["bot_class"] == "headless").all() and (s["device"] == "headless").all()
    assert small_world.schema.valid_mask(small_world.encode(s)).all()
    with pytest.raises(ConfigError, match="kind"):
        small_world.sample(5, kind="martian")


def test_bad_config_names_the_field():
    with pytest.raises(ConfigError, match="bot classes"):
        RegistrationConfig(bot_mix={"aliens": 1.0})
    with pytest.raises(ConfigError, match="n_benign"):
        RegistrationConfig(n_benign=3)


@pytest.mark.parametrize("kind", ["supervised", "iforest", "both"])
def test_detector_rejects_known_bots_not_benign(small_world, kind):
    det = train_detector(small_world, kind=kind, seed=0)
    benign = small_world.encode(small_world.sample(1500, seed=9))
    bots = np.vstack([small_world.encode(small_world.sample(300, k, seed=9)) for k in BOT_CLASSES])
    assert det.predict(benign).mean() < 0.05
    assert det.predict(bots).mean() > (0.35 if kind == "iforest" else 0.9)
    assert np.array_equal(det.predict(bots), (det.score(bots) > det.threshold).astype(int))
