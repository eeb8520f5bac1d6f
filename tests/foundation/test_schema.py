"""Schema: definitions, violations, repair/projection (with property tests), YAML, inference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlsiege.errors import DataValidationError, SchemaError
from mlsiege.schema import Constraint, Expression, Feature, Schema, infer_schema


def registration_like() -> Schema:
    return Schema(
        [
            Feature("fields", "integer", 1, 12),
            Feature("fill_seconds", "real", 0.5, 600),
            Feature("speed", "real", mutability="derived", formula="safe_div(fields, fill_seconds)"),
            Feature("subnet", "categorical", levels=("a", "b", "c"), mutability="immutable"),
            Feature("age_days", "integer", 0, 3650, direction="increase"),
            Feature("mobile", "binary", group="device"),
            Feature("desktop", "binary", group="device"),
        ],
        [Constraint("fill_seconds >= 2 * fields", name="human pace")],
    )


def test_feature_errors_name_the_feature():
    with pytest.raises(SchemaError, match="'age'.*inverted"):
        Feature("age", "integer", 10, 5)
    with pytest.raises(SchemaError, match="'c'.*levels"):
        Feature("c", "categorical")
    with pytest.raises(SchemaError, match="unknown feature 'nope'"):
        Schema([Feature("a")], ["a <= nope"])
    with pytest.raises(SchemaError, match="cycle"):
        Schema([Feature("a", mutability="derived", formula="b + 1"), Feature("b", mutability="derived", formula="a")])
    with pytest.raises(SchemaError, match="unsupported syntax"):
        Expression("__import__('os')")


def test_violation_semantics():
    cols = {"a": np.array([1.0, 3.0]), "b": np.array([2.0, 2.0])}
    assert Expression("a <= b").violation(cols).tolist() == [0.0, 1.0]
    assert Expression("a == b", tolerance=0.5).violation(cols).tolist() == [0.5, 0.5]
    # or = min, and = sum
    assert Expression("a <= 0 or b <= 1").violation(cols).tolist() == [1.0, 1.0]
    assert Expression("a <= 0 and b <= 1").violation(cols).tolist() == [2.0, 4.0]
    assert Expression("1 <= a <= 2").violation(cols).tolist() == [0.0, 1.0]
    assert Expression("log(a) + safe_div(b, 0) <= 5").violation(cols).tolist() == [0.0, 0.0]


def test_repair_and_project_registration_like():
    s = registration_like()
    original = np.array([[4, 30.0, 4 / 30, 1, 100, 1, 0]])
    cand = np.array([[9.4, 3.0, 0.0, 2, 50, 0.4, 0.7]])
    out = s.project(cand, original)
    assert s.valid_mask(out, original).all()
    assert out[0, 3] == 1  # immutable kept
    assert out[0, 4] >= 100  # may only increase
    assert out[0, 1] >= 2 * out[0, 0]  # relation solved
    assert out[0, 2] == pytest.approx(out[0, 0] / out[0, 1])  # derived recomputed
    assert out[0, 5] + out[0, 6] == 1


def test_valid_mask_flags_each_rule():
    s = registration_like()
    ok = np.array([4, 30.0, 4 / 30, 1, 100, 1, 0])
    rows = np.array([ok, ok, ok, ok])
    rows[1, 0] = 4.5  # not an integer
    rows[2, 6] = 1  # two devices
    rows[3, 1] = 5.0  # too fast for a human, and derived speed stale
    assert s.valid_mask(rows).tolist() == [True, False, False, False]
    rules = {v.rule for v in s.explain(rows)}
    assert {"type:fields", "group:device", "human pace", "derived:speed"} <= rules


def test_yaml_round_trip(tmp_path):
    s = registration_like()
    path = tmp_path / "s.yaml"
    s.to_yaml(path)
    assert Schema.from_yaml(path) == s
    with pytest.raises(SchemaError, match="invalid YAML"):
        Schema.from_yaml("features: [\n  - oops\n")
    with pytest.raises(SchemaError, match="'x'.*unknown keys"):
        Schema.from_dict({"features": [{"name": "x", "tpye": "real"}]})


def test_encode_decode_and_frames():
    s = registration_like()
    frame = pd.DataFrame({"fields": [4], "fill_seconds": [30.0], "speed": [4 / 30], "subnet": ["b"],
                          "age_days": [100], "mobile": [1], "desktop": [0]})
    X = s.encode(frame)
    assert X[0, 3] == 1
    back = s.decode(X)
    assert back.loc[0, "subnet"] == "b" and back["fields"].dtype.kind == "i"
    with pytest.raises(DataValidationError, match="missing"):
        s.encode(frame.drop(columns=["subnet"]))
    bad = frame.assign(subnet=["zz"], fields=["many"])
    with pytest.raises(DataValidationError, match="non-numeric"):
        s.encode(bad)
    valid, violations = s.check_frame(frame.assign(subnet=["zz"]))
    assert not valid[0] and any(v.rule == "type:subnet" for v in violations)


def test_infer_schema_types_and_bounds():
    frame = pd.DataFrame({"age": [20, 30, 40], "flag": [0, 1, 0], "income": [1.5, 2.0, 3.0], "c": ["x", "y", "x"]})
    s = infer_schema(frame, immutable=["age"], exclude=["income"])
    assert [(f.name, f.type) for f in s.features] == [("age", "integer"), ("flag", "integer"), ("c", "categorical")]
    assert (s["flag"].lower, s["flag"].upper) == (0, 1)  # seen only at 0/1: not called binary without the flag
    assert infer_schema(frame, binary_01=True)["flag"].type == "binary"
    assert s["age"].mutability == "immutable" and (s["age"].lower, s["age"].upper) == (20, 40)
    with pytest.raises(DataValidationError, match="empty"):
        infer_schema(pd.DataFrame())


def test_drop_removes_dependants():
    s = registration_like().drop(["fields"])
    assert "fields" not in s.names and not s.constraints
    assert s["speed"].mutability == "mutable"


# ---------------------------------------------------------------- property tests
@st.composite
def schemas_with_feasible_point(draw):
    """A random schema (integer, real, categorical, one-hot, linear relations) and a point in it."""
    n_num = draw(st.integers(1, 4))
    feats, point = [], []
    for i in range(n_num):
        kind = draw(st.sampled_from(["real", "integer"]))
        lo = draw(st.integers(-20, 20))
        hi = lo + draw(st.integers(1, 30))
        mut = draw(st.sampled_from(["mutable", "mutable", "immutable"]))
        feats.append(Feature(f"n{i}", kind, lo, hi, mutability=mut))
        p = draw(st.integers(lo, hi)) if kind == "integer" else draw(st.floats(lo, hi, allow_nan=False))
        point.append(float(p))
    if draw(st.booleans()):
        levels = draw(st.integers(2, 4))
        feats.append(Feature("cat", "categorical", levels=tuple(f"l{k}" for k in range(levels))))
        point.append(float(draw(st.integers(0, levels - 1))))
    if draw(st.booleans()):
        size = draw(st.integers(2, 3))
        hot = draw(st.integers(0, size - 1))
        for k in range(size):
            feats.append(Feature(f"g{k}", "binary", group="grp"))
            point.append(1.0 if k == hot else 0.0)
    p = np.array(point)
    numeric = [f.name for f in feats if f.type in ("real", "integer")]
    constraints = []
    for _ in range(draw(st.integers(0, 3))):
        coef = [draw(st.integers(-3, 3)) for _ in numeric]
        if not any(coef):
            continue
        lhs_value = float(sum(c * p[i] for i, c in enumerate(coef)))
        slack = draw(st.integers(0, 5))
        expr = " + ".join(f"{c} * {n}" for c, n in zip(coef, numeric, strict=True)) + f" <= {lhs_value + slack!r}"
        constraints.append(Constraint(expr))
    return Schema(feats, constraints), p


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=schemas_with_feasible_point(), noise=st.lists(st.floats(-50, 50), min_size=12, max_size=12))
def test_project_always_lands_in_the_feasible_set(data, noise):
    schema, point = data
    cand = point + np.resize(np.array(noise), point.shape)
    out = schema.project(cand[None, :], point[None, :])
    assert schema.valid_mask(out, point[None, :]).all(), schema.explain(out, point[None, :])


@settings(max_examples=60, deadline=None)
@given(data=schemas_with_feasible_point(), noise=st.lists(st.floats(-50, 50), min_size=12, max_size=12))
def test_repair_satisfies_every_non_relational_rule(data, noise):
    schema, point = data
    cand = point + np.resize(np.array(noise), point.shape)
    out = schema.repair(cand[None, :], point[None, :])
    viol = schema.violations(out, point[None, :])
    relational = {c.label for c in schema.constraints}
    assert all(v[0] <= 1e-6 for k, v in viol.items() if k not in relational)
