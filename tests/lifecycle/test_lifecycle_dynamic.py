"""Dynamic audit: the maturity presets, pointed at real artefacts, agree with the static audit."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from mlsiege.lifecycle.report import run_audit
from mlsiege.lifecycle.templates import render_template

DYNAMIC_OF = {"probe-extract-evade": "probe-evade", "poison-source": "poison-source"}


def _artefacts(tmp_path):
    rng = np.random.default_rng(0)
    n_benign, n_bot = 500, 50

    def rows(n):
        return pd.DataFrame({"fill_seconds": rng.gamma(4, 20, n), "fields": rng.integers(4, 12, n),
                             "per_subnet": rng.poisson(1, n), "disposable": rng.binomial(1, 0.02, n)})

    parts = [rows(n_benign).assign(abuse_type="benign")]
    for cls, col, value in (("burst", "per_subnet", 40), ("disposable", "disposable", 1), ("instant", "fill_seconds", 1.5)):
        parts.append(rows(n_bot).assign(**{col: value, "abuse_type": cls}))
    df = pd.concat(parts, ignore_index=True)
    df["is_bot"] = (df["abuse_type"] != "benign").astype(int)
    df.to_csv(tmp_path / "data.csv", index=False)
    X = df.drop(columns=["is_bot", "abuse_type"])
    joblib.dump(RandomForestClassifier(n_estimators=30, random_state=0).fit(X, df["is_bot"]), tmp_path / "model.joblib")
    artefacts = ("artefacts:\n  data: data.csv\n  label: is_bot\n  class_column: abuse_type\n  model: model.joblib\n"
                 "  trainer: sklearn.tree:DecisionTreeClassifier\n")
    return artefacts


@pytest.mark.filterwarnings("ignore:loading model.joblib unpickles")
def test_presets_audit_consistently_with_their_dynamic_runs(tmp_path):
    artefacts = _artefacts(tmp_path)
    through = {}
    for maturity in ("low", "high"):
        text = render_template(maturity).split("artefacts:")[0] + artefacts
        (tmp_path / f"{maturity}.yaml").write_text(text)
        doc = run_audit(tmp_path / f"{maturity}.yaml", tmp_path / maturity, budget=40, seed=0)
        assert not doc["notes"], doc["notes"]
        attacks = {a["attack"]: a for a in doc["dynamic"]["attacks"]}
        for a in attacks.values():  # every attempt is caught at exactly one stage or gets through
            assert sum(s["caught"] for s in a["stages"]) == a["attempted"]
        # each uncovered path with a dynamic counterpart is one the dynamic run lets through
        for path in doc["uncovered"]:
            if path in DYNAMIC_OF:
                assert attacks[DYNAMIC_OF[path]]["stages"][-1]["caught"] > 0, path
        through[maturity] = {k: a["through_rate"] for k, a in attacks.items()}
        gen = {r["class"]: r for r in doc["generalization"]["classes"]}
        assert set(gen) == {"burst", "disposable", "instant"}
        saved = json.loads((tmp_path / maturity / "report.json").read_text())
        assert saved["dynamic"]["attacks"]
    for attack in ("probe-evade", "poison-source"):
        assert through["high"][attack] <= through["low"][attack]
    assert sum(through["high"].values()) < sum(through["low"].values())
