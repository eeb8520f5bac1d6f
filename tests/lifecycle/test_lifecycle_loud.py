"""Loud failures in the lifecycle audit: rare classes, tests that cannot run, text labels, real pipelines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeClassifier
from typer.testing import CliRunner

from mlsiege.cli.main import app
from mlsiege.errors import ConfigError, DataValidationError
from mlsiege.lifecycle.dynamic import binary_labels
from mlsiege.lifecycle.generalization import novel_class_test


def _world(rare: dict[str, int], seed: int = 0):
    rng = np.random.default_rng(seed)
    X = [rng.normal(0, 1, (300, 2))]
    cls = ["benign"] * 300
    for k, (name, n) in enumerate({"a": 60, "b": 60, **rare}.items()):
        X.append(rng.normal([4 + k, -4 * k], 0.3, (n, 2)))
        cls += [name] * n
    y = (np.array(cls) != "benign").astype(int)
    return np.vstack(X), y, np.array(cls)


def test_rare_classes_are_merged_or_skipped_and_listed():
    X, y, cls = _world({"r1": 3, "r2": 4, "r3": 5})
    out = novel_class_test(X, y, DecisionTreeClassifier(random_state=0), cls)
    assert out["merged_rare_classes"] == ["r1", "r2", "r3"]
    assert {r["class"] for r in out["classes"]} == {"a", "b", "rare: r1, r2, r3"}
    X, y, cls = _world({"r1": 2})
    out = novel_class_test(X, y, DecisionTreeClassifier(random_state=0), cls)
    assert out["skipped_rare_classes"] == ["r1"] and {r["class"] for r in out["classes"]} == {"a", "b"}
    with pytest.raises(DataValidationError, match="two abuse classes"):
        novel_class_test(X[cls != "b"], y[cls != "b"], DecisionTreeClassifier(), cls[cls != "b"])


def test_text_labels_are_mapped_or_refused():
    col = pd.Series(["bot", "human", "bot"])
    with pytest.raises(DataValidationError, match="positive_label"):
        binary_labels(col, None, "who")
    assert binary_labels(col, "bot", "who").tolist() == [1, 0, 1]
    with pytest.raises(ConfigError, match="not a value"):
        binary_labels(col, "robot", "who")
    assert binary_labels(pd.Series([0, 1, 1]), None, "y").tolist() == [0, 1, 1]
    with pytest.raises(DataValidationError, match="missing"):
        binary_labels(pd.Series([0, None, 1]), None, "y")


def test_a_test_that_cannot_run_fails_the_gate_and_a_real_pipeline_trains(tmp_path):
    rng = np.random.default_rng(1)
    n = 400
    df = pd.DataFrame({"proto": rng.choice(["tcp", "udp", "icmp"], n), "bytes": rng.gamma(2, 300, n)})
    df["kind"] = np.where(df["bytes"] > 900, "flood", "benign")
    df.loc[df["proto"].eq("icmp") & (df["bytes"] < 200), "kind"] = "ping"
    df["label"] = np.where(df["kind"] == "benign", "normal", "attack")
    df.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "trainer.py").write_text(
        "from sklearn.compose import make_column_transformer\nfrom sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import OneHotEncoder\nfrom sklearn.tree import DecisionTreeClassifier\n"
        "def make():\n    return make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown='ignore'), ['proto']),"
        " remainder='passthrough'), DecisionTreeClassifier(random_state=0))\n")
    base = "stages:\n  collect:\n    sources: [{name: feed, writers: public}]\n  train: {}\n"
    art = "artefacts:\n  data: d.csv\n  label: label\n  class_column: kind\n  trainer: trainer:make\n"
    (tmp_path / "p.yaml").write_text(base + art)
    import sys
    sys.path.insert(0, str(tmp_path))
    try:
        res = CliRunner().invoke(app, ["lifecycle", "audit", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "o"), "--fail-on", "high"])
        assert "could not run" in res.output and "positive_label" in res.output and res.exit_code == 1
        (tmp_path / "p.yaml").write_text(base + art + "  positive_label: attack\n")
        res = CliRunner().invoke(app, ["lifecycle", "audit", str(tmp_path / "p.yaml"), "--out", str(tmp_path / "o2")])
        assert res.exit_code == 0, res.output
        import json
        doc = json.loads((tmp_path / "o2" / "report.json").read_text())
        assert {r["class"] for r in doc["generalization"]["classes"]} == {"flood", "ping"}
        assert not [f for f in doc["findings"] if "could not run" in f["title"]], doc["notes"]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("trainer", None)
