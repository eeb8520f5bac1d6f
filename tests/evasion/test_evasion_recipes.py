"""Evasion recipes on tiny synthetic targets: success, validity, budgets, goals, failures."""

from __future__ import annotations

import numpy as np
import pytest

from mlsiege.attacks.evasion import (
    boundary_walk_brendel2018,
    hopskipjump_chen2020,
    moeva_simonetto2022,
    one_feature_probe,
    sparse_greedy_search,
    threshold_bisection,
)
from mlsiege.attacks.evasion.hsj import HSJConfig
from mlsiege.attacks.evasion.probing import ThresholdConfig
from mlsiege.errors import ConfigError, DataValidationError
from mlsiege.schema import Constraint, Feature, Schema
from mlsiege.targets import Budgeted, ThresholdOracle, from_callable

ALL = [boundary_walk_brendel2018, hopskipjump_chen2020, moeva_simonetto2022, one_feature_probe,
       sparse_greedy_search, threshold_bisection]


def _schema() -> Schema:
    return Schema(
        [
            Feature("a", "real", -3.0, 3.0),
            Feature("b", "real", -3.0, 3.0),
            Feature("n", "integer", 0, 10),
            Feature("site", "categorical", levels=("x", "y"), mutability="immutable"),
        ],
        [Constraint("a + b <= 4", name="cap")],
    )


def _label(X):
    return (X[:, 0] + 0.5 * X[:, 1] + 0.1 * X[:, 2] > 1.0).astype(int)


def _proba(X):
    p = 1 / (1 + np.exp(-4 * (X[:, 0] + 0.5 * X[:, 1] + 0.1 * X[:, 2] - 1.0)))
    return np.column_stack([1 - p, p])


def _data(seed=0, n=200):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.uniform(-2, 2, n), rng.uniform(-2, 2, n), rng.integers(0, 11, n), rng.integers(0, 2, n)]).astype(float)
    X = _schema().project(X)
    return X, _label(X)


@pytest.fixture(scope="module")
def problem():
    X, y = _data()
    attack = X[y == 1][:5]
    pool = X[120:]
    return attack, pool, y[120:]


@pytest.mark.parametrize("recipe", ALL, ids=lambda r: r.__name__)
def test_recipe_evades_with_valid_rows_within_budget(recipe, problem):
    attack, pool, pool_y = problem
    target = Budgeted(from_callable(_label, proba=_proba))
    res = recipe(target, attack, schema=_schema(), pool_X=pool, pool_y=pool_y, budget=80, seed=0)
    ok = np.asarray(res.artifacts["success"])
    adv = np.asarray(res.artifacts["adversarial"])
    assert ok.mean() >= 0.6, res.artifacts["points"]
    assert np.all(_label(adv[ok]) == 0)
    assert _schema().valid_mask(adv[ok], attack[ok]).all()
    assert np.array_equal(adv[ok][:, 3], attack[ok][:, 3])  # immutable held
    assert np.isnan(adv[~ok]).all()
    points = res.artifacts["points"]
    assert (points["queries"] <= 80).all() and points["queries"].sum() == res.queries == target.queries_used
    assert res.valid_rate == 1.0 and set(res.atlas_techniques) == {"AML.T0043", "AML.T0015"}


def test_hsj_shrinks_distance_with_more_budget(problem):
    attack, pool, pool_y = problem
    d = {}
    for budget in (20, 150):
        res = hopskipjump_chen2020(Budgeted(from_callable(_label)), attack, schema=_schema(), pool_X=pool, pool_y=pool_y, budget=budget)
        d[budget] = res.artifacts["points"]["l2_std"].to_numpy()
    assert np.all(d[150] <= d[20] + 1e-9) and d[150].sum() < d[20].sum()


def test_known_labels_save_queries_and_pool_labels_can_be_bought(problem):
    attack, pool, _ = problem
    res = hopskipjump_chen2020(Budgeted(from_callable(_label)), attack, schema=_schema(), pool_X=pool, budget=30, y=np.ones(len(attack), int))
    assert res.artifacts["success"].all()
    assert (res.artifacts["points"]["queries"] <= 30).all()


def test_targeted_three_classes():
    def label(X):
        return np.digitize(X[:, 0], [-1.0, 1.0])

    X, _ = _data(1)
    attack = X[label(X) == 0][:3]
    res = hopskipjump_chen2020(Budgeted(from_callable(label)), attack, schema=_schema(), pool_X=X, budget=60, target_label=2)
    ok = res.artifacts["success"]
    assert ok.all() and (label(np.asarray(res.artifacts["adversarial"])) == 2).all()


def test_anomaly_scorer_through_threshold_oracle():
    def score(X):  # far from the origin = anomalous
        return np.abs(X[:, 0]) + np.abs(X[:, 1])

    scorer = from_callable(score, "scorer")
    X, _ = _data(2)
    attack = X[score(X) > 2.5][:3]
    res = hopskipjump_chen2020(Budgeted(ThresholdOracle(scorer, 2.0)), attack, schema=_schema(), pool_X=X, budget=60)
    assert res.artifacts["success"].all()
    assert (score(np.asarray(res.artifacts["adversarial"])) <= 2.0).all()
    # a raw scorer with a threshold option: scores read as margins by the score-based search
    res2 = moeva_simonetto2022(Budgeted(scorer), attack, schema=_schema(), pool_X=X, budget=60, threshold=2.0)
    assert res2.artifacts["success"].any()


def test_impossible_point_fails_with_a_reason_never_the_input():
    const = from_callable(lambda X: np.ones(len(X), int))
    X, _ = _data(3)
    res = hopskipjump_chen2020(Budgeted(const), X[:2], schema=_schema(), pool_X=X, budget=30)
    assert res.status == "failed" and not res.artifacts["success"].any()
    assert np.isnan(res.artifacts["adversarial"]).all()
    assert set(res.artifacts["points"]["failure_reason"]) <= {"no_adversarial_found", "point_budget_exhausted"}


def test_total_budget_runs_out_keeps_what_was_found(problem):
    attack, pool, pool_y = problem
    target = Budgeted(from_callable(_label), 90)
    res = hopskipjump_chen2020(target, attack, schema=_schema(), pool_X=pool, pool_y=pool_y, budget=40)
    assert res.status == "budget_exhausted" and target.queries_used == 90
    assert res.artifacts["success"][0]
    assert "total_budget_exhausted" in set(res.artifacts["points"]["failure_reason"].dropna()) or not res.artifacts["success"][-1]


def test_threshold_bisection_finds_the_form_fill_floor():
    schema = Schema([Feature("fill_seconds", "real", 0.0, 120.0, direction="increase"), Feature("fields", "integer", 0, 5)])
    reject = from_callable(lambda X: (X[:, 0] < 7.5).astype(int))
    X = np.array([[1.0, 2.0], [3.0, 0.0]])
    res = threshold_bisection(Budgeted(reject), X, schema=schema, budget=30, scale=np.array([10.0, 1.0]),
                              config=ThresholdConfig(features=("fill_seconds",)))
    adv = np.asarray(res.artifacts["adversarial"])
    assert res.artifacts["success"].all() and np.all((adv[:, 0] >= 7.5) & (adv[:, 0] < 8.5))
    assert np.array_equal(adv[:, 1], X[:, 1])


def test_bad_inputs_are_named():
    X, _ = _data(4, 5)
    with pytest.raises(DataValidationError, match="columns"):
        hopskipjump_chen2020(Budgeted(from_callable(_label)), X[:, :2], schema=_schema(), budget=10)
    with pytest.raises(ConfigError, match="budget"):
        hopskipjump_chen2020(Budgeted(from_callable(_label)), X, schema=_schema(), budget=0)
    with pytest.raises(ConfigError, match="max_eval"):
        HSJConfig(init_eval=50, max_eval=10)
