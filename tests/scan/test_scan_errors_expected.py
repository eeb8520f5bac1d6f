"""The scan turns a recipe's own refusal (an mlsiege error) into a step row, never a recipe bug."""

from __future__ import annotations

import pytest
from scan_fakes import world

from mlsiege.errors import ConfigError
from mlsiege.scenarios.scan import ScanConfig, run_scan
from mlsiege.targets import from_estimator


def _refusing(target, *, schema, pool_X=None, budget, seed=0):
    """Refuses its input (test fake, 2024)."""
    raise ConfigError("this extraction refuses the problem")


def _buggy(target, *, schema, pool_X=None, budget, seed=0):
    """Has a bug (test fake, 2024)."""
    return {}["surrogate"]


def _scan(recipe):
    X, y, schema, model, _ = world()
    recipes = {"extraction": ("fake", recipe)}
    return run_scan(from_estimator(model), X, y, schema=schema, config=ScanConfig(budget=200), recipes=recipes)


def test_a_recipe_refusal_becomes_an_error_step():
    out = _scan(_refusing)
    step = out.step("extraction")
    assert step["status"] == "error" and "refuses the problem" in step["reason"]


def test_a_recipe_bug_is_not_hidden_in_the_report():
    with pytest.raises(KeyError):
        _scan(_buggy)
