"""Unknown recipe options stop the run with a one-line ConfigError naming the valid ones."""

from __future__ import annotations

import pytest

from mlsiege.attacks import poisoning
from mlsiege.checks.harnesses import data_defense_harness, tiny_world
from mlsiege.defenses import data as data_defenses
from mlsiege.errors import ConfigError


@pytest.mark.parametrize("name", poisoning.__all__)
def test_poisoning_recipe_refuses_an_unknown_option(name):
    world = tiny_world(2)
    with pytest.raises(ConfigError, match=rf"{name}: unknown option 'rat'.*valid options: .*") as info:
        getattr(poisoning, name)(world["X"], world["y"], schema=world["schema"], seed=0, rat=0.4)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", data_defenses.__all__)
def test_data_defense_refuses_an_unknown_option(name):
    d = data_defense_harness().data()
    with pytest.raises(ConfigError, match=rf"{name}: unknown option 'rat'.*valid options: .*is_poison"):
        getattr(data_defenses, name)(d["X"], d["y"], d["meta"], seed=0, rat=0.4)


def test_a_close_typo_is_named():
    world = tiny_world(2)
    with pytest.raises(ConfigError, match="did you mean 'rate'"):
        poisoning.label_flip_random_biggio2011(world["X"], world["y"], schema=world["schema"], rat=0.4)
