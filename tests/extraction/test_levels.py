"""One-feature level sweep: on a known black box it recovers the accepted values, within budget."""

from __future__ import annotations

import numpy as np
import pytest

from mlsiege.attacks.extraction import level_sweep_lowd2005
from mlsiege.attacks.extraction.levels import LevelSweepConfig, feature_levels, sweep_levels
from mlsiege.errors import ConfigError, SchemaError
from mlsiege.schema import Feature, Schema
from mlsiege.targets import Budgeted, from_callable

DEVICES = ("desktop", "mobile", "tablet", "bot")


def _schema() -> Schema:
    return Schema([
        Feature("device", "categorical", levels=DEVICES),
        Feature("fields", "integer", 0, 6),
        Feature("score", "real", 0.0, 1.0),
        Feature("site", "categorical", levels=("a", "b"), mutability="immutable"),
    ])


def _gate(X: np.ndarray) -> np.ndarray:
    """1 = rejected: a bot user agent, fewer than 2 fields, or a score above 0.75."""
    return ((X[:, 0] == 3) | (X[:, 1] < 2) | (X[:, 2] > 0.75)).astype(int)


def _templates(n: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.integers(0, 3, n), rng.integers(2, 7, n), rng.uniform(0, 0.6, n),
                            rng.integers(0, 2, n)]).astype(float)


def test_sweep_recovers_the_accepted_values_of_each_feature():
    api = Budgeted(from_callable(_gate), 1000)
    out = sweep_levels(api, _templates(), _schema(), config=LevelSweepConfig(max_levels=11))
    assert out.features == ("device", "fields", "score")  # mutable features only, in schema order
    assert out.allowed["device"].tolist() == [0.0, 1.0, 2.0]
    assert out.allowed["fields"].tolist() == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert out.allowed["score"].tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    assert out.rates["device"].tolist() == [1.0, 1.0, 1.0, 0.0]
    assert out.queries == api.queries_used == 6 * (4 + 7 + 11)
    fresh = _schema().repair(np.random.default_rng(1).uniform(0, [4, 7, 1, 2], (500, 4)))
    assert np.mean(out.rules.predict(fresh) == _gate(fresh)) > 0.97
    rows = {(r["feature"], r["value"]): r["kept"] for r in out.table()}
    assert rows[("device", "bot")] is False and rows[("device", "mobile")] is True


def test_budget_runs_out_mid_batch_partial_answers_are_kept():
    api = Budgeted(from_callable(_gate), 6 * 4 + 9)  # device fully, then 9 of the 42 rows for fields
    out = sweep_levels(api, _templates(), _schema())
    assert out.queries == api.queries_used == 33
    assert out.allowed["device"].tolist() == [0.0, 1.0, 2.0]
    assert np.isnan(out.rates["fields"][1:]).all() and out.rates["fields"][0] == 0.0  # one value fully answered
    assert out.allowed["score"].tolist() == [] and np.isnan(out.rates["score"]).all()
    capped = sweep_levels(Budgeted(from_callable(_gate), 1000), _templates(), _schema(), budget=10)
    assert capped.queries == 10 and np.isnan(capped.rates["device"][1:]).all()


def test_fallback_when_nothing_is_accepted_and_repair_hook():
    def refuse_mobile_or_desktop(X):
        return (X[:, 0] != 2).astype(int)  # only tablets pass

    seen = []

    def repair(X):
        seen.append(len(X))
        return _schema().repair(X)

    cfg = LevelSweepConfig(features=("fields", "device"), levels={"fields": (2, 4)})
    tpl = _templates(3)
    tpl[:, 0] = 0  # desktops: no value of "fields" passes
    out = sweep_levels(Budgeted(from_callable(refuse_mobile_or_desktop), 100), tpl, _schema(),
                       config=cfg, repair=repair, fallback={"fields": 5})
    assert out.allowed["fields"].tolist() == [5.0] and (out.templates[:, 0] == 2).all()
    assert out.allowed["device"].tolist() == [2.0] and seen  # templates moved to the only accepted device
    with pytest.raises(SchemaError):
        sweep_levels(Budgeted(from_callable(_gate), 10), _templates(), _schema(), fallback={"nope": 1})


def test_recipe_is_seeded_budgeted_and_refuses_unknown_options():
    schema, pool = _schema(), _templates(40, seed=3)
    runs = [level_sweep_lowd2005(Budgeted(from_callable(_gate), 200), schema=schema, pool_X=pool, budget=200,
                                 seed=s, templates=5, eval_X=pool, eval_y=_gate(pool)) for s in (0, 0, 1)]
    a, b, c = runs
    assert a.queries == 5 * (4 + 7 + 10) == len(a.artifacts["queried"])
    assert np.array_equal(a.artifacts["queried"], b.artifacts["queried"])
    assert not np.array_equal(a.artifacts["queried"], c.artifacts["queried"])
    assert a.artifacts["allowed"]["device"].tolist() == [0.0, 1.0, 2.0] and a.metrics["fidelity"] > 0.9
    with pytest.raises(ConfigError, match="unknown option 'sweep'.*valid options: features"):
        level_sweep_lowd2005(Budgeted(from_callable(_gate), 10), schema=schema, budget=10, sweep=2)
    with pytest.raises(ConfigError, match="positive integer"):
        LevelSweepConfig(sweeps=0)
    nothing = level_sweep_lowd2005(Budgeted(from_callable(lambda X: np.ones(len(X), int)), 50), schema=schema,
                                   budget=50)
    assert nothing.status == "failed" and nothing.failure_reason and nothing.queries == 50


def test_feature_levels_refuses_an_unbounded_feature():
    s = Schema([Feature("amount", "real", 0.0, None)])
    with pytest.raises(ConfigError, match="unbounded"):
        feature_levels(s, "amount")
