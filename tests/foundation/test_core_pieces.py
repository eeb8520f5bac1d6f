"""ATLAS catalog, results, errors, extras and the conformance machinery itself."""

from __future__ import annotations

import numpy as np
import pytest

import mlsiege.errors as errors
from mlsiege.atlas import catalog_version, mitigation, mitigations_for, tactic, technique
from mlsiege.checks import yield_checks
from mlsiege.extras import require
from mlsiege.results import AttackResult, DefenseResult, comparable, to_jsonable


def test_atlas_lookups():
    assert catalog_version() == "5.6.0"
    assert technique("AML.T0024.002").parent == "AML.T0024"
    assert tactic("AML.TA0002").name == "Reconnaissance"
    assert "serve" in mitigation("AML.M0004").stages
    assert "AML.M0004" in {m.id for m in mitigations_for("AML.T0024.002")}
    with pytest.raises(errors.UnknownAtlasIdError, match="AML.T9999"):
        technique("AML.T9999")
    with pytest.raises(KeyError):  # an UnknownAtlasIdError is a KeyError too
        mitigation("nope")


def test_results_are_immutable_and_jsonable():
    r = AttackResult("x_2024", "succeeded", artifacts={"a": np.arange(3)}, metrics={"rate": np.float64(0.5)},
                     atlas_techniques=["AML.T0043"])
    with pytest.raises(AttributeError):
        r.status = "failed"
    with pytest.raises(TypeError):
        r.metrics["rate"] = 1.0
    d = r.to_dict(artifacts=True)
    assert d["metrics"]["rate"] == 0.5 and d["artifacts"]["a"] == [0, 1, 2]
    assert r.with_metrics(extra=1).metrics == {"rate": 0.5, "extra": 1}
    with pytest.raises(errors.ConfigError):
        AttackResult("x", "done")
    dr = DefenseResult("d", np.array([True, False]), np.array([0.1, 0.9]))
    with pytest.raises(ValueError):
        dr.keep_mask[0] = False
    assert dr.to_dict()["flagged"] == 1
    assert to_jsonable({"nan": float("nan")}) == {"nan": None}
    assert comparable(dr) == comparable(DefenseResult("d", np.array([True, False]), np.array([0.1, 0.9]), seconds=9.0))


def test_errors_subclass_builtins_and_missing_extra_hint():
    assert issubclass(errors.SchemaError, ValueError)
    assert issubclass(errors.CapabilityError, AttributeError)
    assert issubclass(errors.QueryBudgetExceeded, RuntimeError)
    with pytest.raises(ImportError, match=r"pip install 'mlsiege\[web\]'"):
        require("surely_not_a_module_xyz", extra="web")
    assert set(errors.__all__) == {n for n in dir(errors) if n.endswith(("Error", "Exceeded"))}


def _honest_defense(X, y, meta, *, seed=0):
    """Flags the records farthest from the mean (reference: outlier screening, 2024)."""
    dist = np.linalg.norm(X - X.mean(axis=0), axis=1)
    return DefenseResult("honest", dist < np.quantile(dist, 0.95), dist, seed=seed)


def _mutating_defense(X, y, meta, *, seed=0):
    """Sorts its input in place (reference: none, 2024)."""
    X.sort(axis=0)
    return DefenseResult("bad", np.ones(len(y), bool), np.zeros(len(y)))


def _unseeded_defense(X, y, meta, *, seed=0):
    """Random flags from the global RNG (reference: none, 2024)."""
    return DefenseResult("bad", np.random.random(len(y)) > 0.1, np.zeros(len(y)))


def _greedy_evasion(target, X, *, schema, pool_X=None, pool_y=None, budget, seed=0):
    """Queries far past its budget by unwrapping the target (reference: none, 2024)."""
    raw = target.target
    raw.predict(np.repeat(X, 1000, axis=0))
    return AttackResult("greedy", "failed", artifacts={"adversarial": np.full(X.shape, np.nan), "success": np.zeros(len(X), bool)})


def _run(component, family):
    failures = {}
    for name, check in yield_checks(component, family):
        try:
            check()
        except AssertionError as exc:
            failures[name] = str(exc)
    return failures


def test_checks_pass_an_honest_defense():
    assert _run(_honest_defense, "data_defense") == {}


@pytest.mark.parametrize(
    "component, family, check",
    [
        (_mutating_defense, "data_defense", "check_input_not_mutated"),
        (_unseeded_defense, "data_defense", "check_same_seed_same_result"),
        (_greedy_evasion, "evasion", "check_budget_respected"),
    ],
)
def test_checks_catch_misbehaviour(component, family, check):
    assert check in _run(component, family)


def test_docstring_check_wants_a_citation():
    def undocumented(X, y, meta, *, seed=0):
        return None

    assert "check_docstring_cites_source" in _run(undocumented, "data_defense")
