"""Relations mined from data, level names and tolerances in relations, disjunctive projection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mlsiege.cli.main import app
from mlsiege.errors import DataValidationError, SchemaError
from mlsiege.schema import Constraint, Feature, Schema, infer_schema
from mlsiege.schema.mining import mine_relations
from mlsiege.schema.projection import LinearSystem, _milp_row


def mail_table(n: int = 1500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    refused = rng.random(n) < 0.3
    sent = rng.poisson(20, n) + 1
    a = rng.beta(2, 5, n).round(3)
    return pd.DataFrame({
        "city": rng.choice([f"c{k:02d}" for k in range(80)], n),
        "status": np.where(refused, "refused", "ok"),
        "sent": sent,
        "opened": np.minimum(sent, rng.binomial(sent, 0.4)),
        "payload": np.where(refused, 0, rng.lognormal(6, 1.2, n).round()),
        "share_a": a,
        "share_b": ((1 - a) * rng.beta(2, 2, n)).round(3),
    })


def test_mined_relations_hold_and_reject_broken_rows():
    frame = mail_table()
    schema = infer_schema(frame, relations=True)
    exprs = {c.expr for c in schema.constraints}
    assert {"opened <= sent", "share_a + share_b <= 1", "status != 'refused' or payload == 0"} <= exprs
    assert all(c.inferred and c.support and c.support > 0 for c in schema.constraints)
    assert schema.check_frame(frame)[0].all()
    bad = frame.iloc[:3].copy()
    bad["opened"] = bad["sent"] + 1
    assert not schema.check_frame(bad)[0].any()
    refused = frame[frame["status"] == "refused"].iloc[:1].assign(payload=frame["payload"].max())
    assert not schema.check_frame(refused)[0].any()
    assert schema["city"].type == "categorical" and len(schema["city"].levels) == 80


def test_independent_columns_give_no_relation():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.integers(0, 50, (2000, 40)), columns=[f"x{i}" for i in range(40)])
    frame["cat"] = rng.choice(list("abcdefgh"), 2000)
    mined = mine_relations(frame, infer_schema(frame).features)
    assert mined.constraints == [] and mined.tried > 1000


def test_caps_and_transitive_reduction():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 100, 3000)
    frame = pd.DataFrame({f"c{k}": base + 5 * k + rng.integers(0, 5, 3000) for k in range(8)})
    mined = mine_relations(frame, infer_schema(frame).features, max_relations=5, per_feature=2)
    exprs = [c.expr for c in mined.constraints]
    assert 0 < len(exprs) <= 5 and "c0 <= c2" not in exprs  # implied by c0 <= c1 <= c2
    for name in frame.columns:
        assert sum(name in e.split() for e in exprs) <= 2


def test_equalities_and_quoted_names():
    rng = np.random.default_rng(2)
    a, b = rng.integers(0, 90, 500), rng.integers(0, 90, 500)
    frame = pd.DataFrame({"in bytes": a, "out bytes": b, "total bytes": a + b})
    schema = infer_schema(frame, relations=True)
    assert "`total bytes` == `in bytes` + `out bytes`" in {c.expr for c in schema.constraints}
    assert schema.check_frame(frame)[0].all()


def test_max_levels_and_identifiers():
    frame = pd.DataFrame({"id": [f"u{i}" for i in range(300)], "c": [f"l{i % 120}" for i in range(300)]})
    assert len(infer_schema(frame[["c"]])["c"].levels) == 120
    with pytest.raises(DataValidationError, match="max-levels 100"):
        infer_schema(frame[["c"]], max_levels=100)
    with pytest.raises(DataValidationError, match="identifier"):
        infer_schema(frame, max_levels=200)
    assert len(infer_schema(frame, max_levels=None)["id"].levels) == 300


def test_level_names_not_equal_and_tolerance():
    feats = [Feature("status", "categorical", levels=("ok", "refused", "wait")), Feature("payload", "real", 0, 1000),
             Feature("a", "integer", 0, 50), Feature("b", "integer", 0, 50)]
    s = Schema(feats, ["status != 'refused' or payload == 0", Constraint("a <= b - 2", tolerance=1.0)])
    X = np.array([[1, 300, 5, 3], [0, 300, 5, 6]])
    assert s.valid_mask(X).tolist() == [False, True]  # a <= b - 2 + 1 holds for 5, 6
    P = s.project(X, X)
    assert s.valid_mask(P, X).all() and P[0, 2] == P[0, 3] - 1  # the slack is used, not more
    with pytest.raises(SchemaError, match="not a level of 'status'"):
        Schema(feats, ["status == 'nope' or payload == 0"])
    with pytest.raises(SchemaError, match="tolerance"):
        Constraint("a <= b", tolerance=-1)
    doc = s.to_dict()
    doc["constraints"][0] = {"expr": "a <= b", "inferred": True, "support": 7, "why": "x"}
    with pytest.raises(SchemaError, match="valid: expr, name, tolerance, inferred, support"):
        Schema.from_dict(doc)
    doc["constraints"][0].pop("why")
    assert Schema.from_dict(doc).constraints[0] == Constraint("a <= b", inferred=True, support=7)


def test_indicator_projection_matches_enumeration():
    rng = np.random.default_rng(4)
    feats = [Feature("k", "categorical", levels=("x", "y", "z")), Feature("f", "binary")] + [
        Feature(f"v{i}", "real", 0, 10) for i in range(4)]
    s = Schema(feats, ["k != 'y' or v0 == 0", "f != 1 or v1 <= v2", "v2 + v3 <= 12 or k == 'z'"])
    system = LinearSystem(s)
    for _ in range(15):
        x = np.r_[rng.integers(0, 3), rng.integers(0, 2), rng.uniform(0, 10, 4)]
        one = _milp_row(s, system, x, None)  # one program with an indicator per branch
        enum = _best_of_variants(s, system, x)  # one program per combination of branches
        assert s.valid_mask(one[None, :]).all()
        assert np.sum(np.abs(one - x) / s.scale()) == pytest.approx(np.sum(np.abs(enum - x) / s.scale()), abs=1e-6)


def _best_of_variants(s, system, x):
    best, best_cost = None, np.inf
    for A, b in system.variants():
        single = LinearSystem(Schema(s.features))
        single.A, single.b = A, b
        r = _milp_row(s, single, x, None)
        if r is not None and s.valid_mask(r[None, :]).all():
            c = np.sum(np.abs(r - x) / s.scale())
            if c < best_cost:
                best, best_cost = r, c
    return best


def test_schema_infer_cli_writes_inferred_relations(tmp_path):
    frame = mail_table(1500)
    frame.to_csv(tmp_path / "d.csv", index=False)
    res = CliRunner().invoke(app, ["schema", "infer", str(tmp_path / "d.csv"), "-o", str(tmp_path / "s.yaml")])
    assert res.exit_code == 0, res.output
    assert "share_a + share_b <= 1" in res.output and "inferred: true" in (tmp_path / "s.yaml").read_text()
    assert CliRunner().invoke(app, ["schema", "check", str(tmp_path / "d.csv"), "--schema", str(tmp_path / "s.yaml")]).exit_code == 0
    res = CliRunner().invoke(app, ["schema", "infer", str(tmp_path / "d.csv"), "-o", str(tmp_path / "t.yaml"),
                                   "--no-relations", "--max-levels", "10"])
    assert res.exit_code == 2 and "city" in res.output and "--max-levels" in res.output
