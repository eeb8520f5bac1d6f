"""Per-account statistics over account shards equal the whole-log computation."""

import numpy as np
import pytest

from mlsiege.checks.reco_defense import planted_platform
from mlsiege.defenses.reco.engagement import as_engagements
from mlsiege.defenses.reco.profiles import account_features
from mlsiege.defenses.reco.sharded import FEATURES, account_statistics
from mlsiege.errors import ConfigError


@pytest.fixture(scope="module")
def platform():
    return planted_platform(300, 120, sybil_fraction=0.02, targets=2, seed=2)


@pytest.mark.parametrize(("shards", "executor"), [(1, "inline"), (7, "inline"), (3, "local")])
def test_sharded_equals_whole(platform, shards, executor):
    whole = account_features(as_engagements(platform.interactions, platform.timestamps), sync=False)
    got = account_statistics(platform.interactions, platform.timestamps, shards=shards, executor=executor)
    for name in FEATURES:
        np.testing.assert_allclose(got[name], whole[name], equal_nan=True)


def test_without_times_the_time_statistics_are_nan(platform):
    got = account_statistics(platform.interactions, shards=2)
    assert np.isnan(got["account_age"]).all() and np.isfinite(got["rating_deviation"]).all()


def test_bad_options_are_named(platform):
    with pytest.raises(ConfigError, match="executor"):
        account_statistics(platform.interactions, executor="spark")
    with pytest.raises(ConfigError, match="shards"):
        account_statistics(platform.interactions, shards=0)
